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

"""The environment variable that points Fast DDS at an XML profile file, per ROS 2 release.

Fast DDS 2.x (Humble, Jazzy) reads only ``FASTRTPS_DEFAULT_PROFILES_FILE``. Fast DDS 3
(Kilted and later) reads ``FASTDDS_DEFAULT_PROFILES_FILE`` and still reads the old name with a
deprecation warning; with both set it loads the profile twice and rejects it (``There is
other transport with the same id``). So exactly one of them must be set.

The installed Fast DDS decides (its CMake version file or library name in the ament prefixes
and the Python prefix); when none is found, ``ROS_DISTRO`` does; when that is unset too, the
current name is assumed. Pure Python, no ROS import, so launch files and tests can use it.
"""

import os
from pathlib import Path
import re
import sys
from typing import Iterable, List, Mapping, Optional, Tuple

#: Read by Fast DDS 3 (ROS 2 Kilted and later).
FASTDDS_VARIABLE = 'FASTDDS_DEFAULT_PROFILES_FILE'
#: Read by Fast DDS 2.x (ROS 2 Humble, Iron, Jazzy); deprecated in Fast DDS 3.
FASTRTPS_VARIABLE = 'FASTRTPS_DEFAULT_PROFILES_FILE'
#: ROS 2 releases whose Fast DDS is 2.x (all later ones ship Fast DDS 3).
FASTDDS2_DISTROS = frozenset({'foxy', 'galactic', 'humble', 'iron', 'jazzy'})

_CMAKE_VERSION = re.compile(r'set\(PACKAGE_VERSION\s+"(\d+)\.')
#: (CMake package folder, library name) of Fast DDS 3 and of Fast DDS 2.x.
_LAYOUTS = (('fastdds', 'libfastdds'), ('fastrtps', 'libfastrtps'))


def profile_variable(fastdds_major: Optional[int], ros_distro: Optional[str]) -> str:
    """Return the variable that Fast DDS ``fastdds_major`` (or, if None, ``ros_distro``) reads.

    :param fastdds_major: major version of the installed Fast DDS, None when unknown.
    :param ros_distro: value of ``ROS_DISTRO`` (e.g. ``humble``), None or '' when unset.
    """
    if fastdds_major is not None:
        return FASTDDS_VARIABLE if fastdds_major >= 3 else FASTRTPS_VARIABLE
    if (ros_distro or '').strip().lower() in FASTDDS2_DISTROS:
        return FASTRTPS_VARIABLE
    return FASTDDS_VARIABLE


def installed_fastdds_major(prefixes: Iterable[str]) -> Optional[int]:
    """Return the major version of the first Fast DDS found in ``prefixes``, or None.

    Looks for ``share/<pkg>/cmake/<pkg>-config-version.cmake`` and then ``lib/<lib>.so.N*``
    (``fastdds``/``libfastdds`` is Fast DDS 3+, ``fastrtps``/``libfastrtps`` is 2.x).
    """
    for prefix in prefixes:
        root = Path(prefix)
        for package, library in _LAYOUTS:
            major = _cmake_major(root / 'share' / package / 'cmake' /
                                 f'{package}-config-version.cmake')
            if major is None:
                major = _library_major(root / 'lib', library)
            if major is not None:
                return major
    return None


def search_prefixes(environ: Mapping[str, str]) -> List[str]:
    """Return the install prefixes to search: ``AMENT_PREFIX_PATH``, then ``sys.prefix``."""
    prefixes = [p for p in environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    return prefixes + [sys.prefix]


def variable_for_environment(environ: Optional[Mapping[str, str]] = None) -> str:
    """Return the profile variable of the ROS 2 that ``environ`` (default: os.environ) runs."""
    environ = os.environ if environ is None else environ
    return profile_variable(installed_fastdds_major(search_prefixes(environ)),
                            environ.get('ROS_DISTRO'))


def variables_to_set_and_unset(environ: Optional[Mapping[str, str]] = None) -> Tuple[str, str]:
    """Return ``(variable to set, variable to remove)`` for the running ROS 2."""
    use = variable_for_environment(environ)
    return use, FASTRTPS_VARIABLE if use == FASTDDS_VARIABLE else FASTDDS_VARIABLE


def _cmake_major(path: Path) -> Optional[int]:
    try:
        match = _CMAKE_VERSION.search(path.read_text(encoding='utf-8', errors='replace'))
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _library_major(folder: Path, library: str) -> Optional[int]:
    majors = []
    for path in folder.glob(f'{library}.so.*'):
        head = path.name[len(library) + 4:].split('.', 1)[0]
        if head.isdigit():
            majors.append(int(head))
    return max(majors) if majors else None
