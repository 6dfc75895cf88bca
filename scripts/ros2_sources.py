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

"""Fetch the pinned ROS 2 sources of a ``ros2/<distro>.repos`` manifest (``make ros2-sources``).

Runs ``vcs import --shallow`` (vcstool) into the destination folder, then writes the packaging
of ``message_filters_py``: upstream ``message_filters`` is an ``ament_cmake`` package whose C++
library needs ``rclcpp`` (not on PyPI), so only its Python sources (``upstream/src``) are
installed, under the same package name and version. A copy of the manifest in the destination
(``.fetched.repos``, empty while incomplete) marks a fetch; a changed manifest fetches again.
Without network it fails with one line saying what to do instead.
"""

import argparse
import pathlib
import re
import shutil
import subprocess
import sys
from typing import Optional, Sequence

STAMP = '.fetched.repos'

_PACKAGE_XML = """<?xml version="1.0"?>
<package format="3">
  <name>message_filters</name>
  <version>{version}</version>
  <description>The Python part of message_filters {version} (upstream/src)</description>
  <maintainer email="none@example.invalid">scripts/ros2_sources.py</maintainer>
  <license>BSD</license>
  <exec_depend>builtin_interfaces</exec_depend>
  <exec_depend>rclpy</exec_depend>
  <exec_depend>std_msgs</exec_depend>
  <export>
    <build_type>ament_python</build_type>
  </export>
</package>
"""

_SETUP_PY = """\"\"\"Install message_filters {version} from upstream/src.\"\"\"
from setuptools import setup

setup(
    name='message_filters',
    version='{version}',
    packages=['message_filters'],
    package_dir={{'': 'upstream/src'}},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/message_filters']),
        ('share/message_filters', ['package.xml']),
    ],
)
"""


def package_message_filters(folder: pathlib.Path) -> None:
    """Write package.xml, setup.py and the ament index marker beside ``folder/upstream``."""
    upstream = (folder / 'upstream' / 'package.xml').read_text(encoding='utf-8')
    version = re.search(r'<version>\s*([^<\s]+)\s*</version>', upstream).group(1)
    (folder / 'package.xml').write_text(_PACKAGE_XML.format(version=version), encoding='utf-8')
    (folder / 'setup.py').write_text(_SETUP_PY.format(version=version), encoding='utf-8')
    (folder / 'resource').mkdir(exist_ok=True)
    (folder / 'resource' / 'message_filters').write_text('', encoding='utf-8')


def offline_hint(repos: pathlib.Path, detail: str) -> str:
    """Return the one-line message for a fetch that failed (``detail``: vcstool's first error)."""
    return (f'make ros2-sources: could not fetch the sources of {repos} ({detail}); offline, run '
            f'`vcs import DIR < {repos}` where there is network and copy DIR here with '
            'ROS2_EXTRA_SRC=DIR (or use ../shared/ros2_src); with ROS 2 installed none of this '
            'is needed (rosdep)')


def first_error(output: str) -> str:
    """Return the most telling line of vcstool's output (its first error or ``fatal:``)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ('fatal:', 'Could not', 'error', 'Error'):
        for line in lines:
            if marker in line:
                return line[:200]
    return lines[-1][:200] if lines else 'no output'


def fetch(repos: pathlib.Path, dest: pathlib.Path, vcs: str) -> int:
    """Import ``repos`` into ``dest`` unless that was done already; return an exit status."""
    stamp = dest / STAMP
    manifest = repos.read_text(encoding='utf-8')
    if stamp.is_file() and stamp.read_text(encoding='utf-8') == manifest:
        print(f'ros2_sources: {dest} is up to date with {repos}')
        return 0
    if stamp.is_file():
        shutil.rmtree(dest)  # an earlier fetch of another manifest
    elif dest.is_dir() and any(dest.iterdir()):
        print(f'make ros2-sources: {dest} exists and is no earlier fetch: remove it first',
              file=sys.stderr)
        return 1
    dest.mkdir(parents=True, exist_ok=True)
    stamp.write_text('', encoding='utf-8')  # ours from now on; the manifest once complete
    with repos.open('rb') as manifest_file:
        proc = subprocess.run([vcs, 'import', '--shallow', '--retry', '1', str(dest)],
                              stdin=manifest_file, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        print(offline_hint(repos, first_error(proc.stdout)), file=sys.stderr)
        return 1
    if (dest / 'message_filters_py' / 'upstream').is_dir():
        package_message_filters(dest / 'message_filters_py')
    stamp.write_text(manifest, encoding='utf-8')
    print(f'ros2_sources: fetched {repos} into {dest}')
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry: ``ros2_sources.py MANIFEST DEST [--vcs VCS]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('repos', type=pathlib.Path, help='vcstool manifest (ros2/<distro>.repos)')
    parser.add_argument('dest', type=pathlib.Path, help='folder to fetch the sources into')
    parser.add_argument('--vcs', default=shutil.which('vcs') or 'vcs', help='vcstool command')
    args = parser.parse_args(argv)
    if shutil.which(args.vcs) is None:
        print(f'make ros2-sources: vcstool ({args.vcs}) is missing: pip install vcstool '
              '(requirements/dev.txt has it)', file=sys.stderr)
        return 1
    return fetch(args.repos, args.dest, args.vcs)


if __name__ == '__main__':
    sys.exit(main())
