#!/usr/bin/env python3
# Copyright 2026 The logocap_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Make the CMake files of the PyPI ROS 2 wheels usable for building messages in this venv.

Two kinds of fixes, applied in place to ``<venv>/share/**/*.cmake``; run this with the venv's
interpreter (it is idempotent):

* The ``ros-*`` wheels export CMake targets whose include paths name the machine that built
  them (``/opt/python/cp311-cp311/...`` for Python 3.11, ``cp312`` for Jazzy's 3.12: the
  running interpreter's version); they are pointed at this venv's Python and numpy headers.
* rosidl_generator_py adds numpy's include folder to the *public* interface of the generated
  ``<pkg>__rosidl_generator_py`` library. When the venv lies inside the package's source tree
  (``.venv`` in this repository), CMake refuses to export such a target ("prefixed in the
  source directory"). Only the build needs that folder, so it is wrapped in
  ``$<BUILD_INTERFACE:...>``.
"""

import argparse
import pathlib
import sys
import sysconfig

import numpy

_PY = f'{sys.version_info.major}.{sys.version_info.minor}'
#: Where the wheels of this Python version were built (manylinux image layout).
_BUILD_PREFIX = '/opt/python/cp{0}-cp{0}'.format(_PY.replace('.', ''))


def replacements() -> list[tuple[str, str]]:
    """Return the ``(wheel build path, local path)`` pairs, the longest first."""
    return [
        (f'{_BUILD_PREFIX}/lib/python{_PY}/site-packages/numpy/_core/include',
         numpy.get_include()),
        (f'{_BUILD_PREFIX}/include/python{_PY}', sysconfig.get_paths()['include']),
    ]


#: rosidl_generator_py_generate_interfaces.cmake: numpy headers only for the build itself.
_NUMPY_PUBLIC = ('${Python3_INCLUDE_DIRS} ${Python3_NumPy_INCLUDE_DIRS})',
                 '${Python3_INCLUDE_DIRS} "$<BUILD_INTERFACE:${Python3_NumPy_INCLUDE_DIRS}>")')


def fix_tree(share: pathlib.Path) -> int:
    """Rewrite every ``*.cmake`` file below ``share``; return the number of files changed."""
    changed = 0
    pairs = replacements() + [_NUMPY_PUBLIC]
    for path in sorted(share.rglob('*.cmake')):
        text = path.read_text(encoding='utf-8', errors='surrogateescape')
        new = text
        for old, local in pairs:
            new = new.replace(old, local)
        if new != text:
            path.write_text(new, encoding='utf-8', errors='surrogateescape')
            changed += 1
    return changed


def main(argv=None) -> int:
    """Command-line entry: ``fix_venv_cmake.py [VENV]`` (default: this interpreter's prefix)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('venv', nargs='?', default=sys.prefix, help='virtual environment root')
    args = parser.parse_args(argv)
    share = pathlib.Path(args.venv) / 'share'
    if not share.is_dir():
        print(f'fix_venv_cmake: no share/ folder in {args.venv}', file=sys.stderr)
        return 1
    print(f'fix_venv_cmake: rewrote {fix_tree(share)} CMake files in {share}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
