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

"""The pinned ROS 2 source manifests (ros2/*.repos) and their fetcher (scripts/ros2_sources.py).

The fetch is tested against local ``file://`` git repositories (a tag, a commit, the
message_filters layout) and an unreachable one; the manifests against the sources they pin
(``../shared/ros2_src`` and ``../shared/ros2_src_jazzy``, where present).
"""

from pathlib import Path
import re
import shutil
import subprocess
import sys
from typing import Dict

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / 'scripts' / 'ros2_sources.py'
SHARED = ROOT.parent / 'shared'
#: The source folders each distro builds: Jazzy takes message_filters_py from its own folder.
SOURCES = {'kilted': [SHARED / 'ros2_src'],
           'jazzy': [SHARED / 'ros2_src_jazzy', SHARED / 'ros2_src']}


def vcs_command() -> str:
    exe = shutil.which('vcs') or str(Path(sys.executable).parent / 'vcs')
    if not Path(exe).is_file():
        pytest.skip('vcstool is not installed: pip install vcstool (requirements/dev.txt)')
    return exe


def manifest(distro: str) -> Dict[str, dict]:
    return yaml.safe_load((ROOT / 'ros2' / f'{distro}.repos').read_text())['repositories']


def package_version(folder: Path) -> str:
    return re.search(r'<version>([^<]+)</version>', (folder / 'package.xml').read_text()).group(1)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t@example.invalid',
                           '-c', 'init.defaultBranch=main', *args], cwd=str(cwd), check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def make_repo(path: Path, files: Dict[str, str], tag: str = '') -> str:
    """Create a git repository with ``files``; return its commit hash."""
    path.mkdir(parents=True)
    git(path, 'init', '-q')
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, 'add', '-A')
    git(path, 'commit', '-qm', 'release')
    if tag:
        git(path, 'tag', tag)
    return git(path, 'rev-parse', 'HEAD')


def run_fetch(repos: Path, dest: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), '--vcs', vcs_command(), str(repos),
                           str(dest)], capture_output=True, text=True, timeout=120)


def pkg_xml(name: str, version: str) -> str:
    return f'<package format="3"><name>{name}</name><version>{version}</version></package>\n'


@pytest.mark.parametrize('distro', sorted(SOURCES))
def test_manifest_pins_the_versions_of_the_sources_that_are_tested(distro):
    folders = [f for f in SOURCES[distro] if f.is_dir()]
    if len(folders) < len(SOURCES[distro]):
        pytest.skip(f'needs {", ".join(map(str, SOURCES[distro]))} beside the checkout (the '
                    'sources CI builds) to compare the pins with')
    repos = manifest(distro)
    tested = {}
    for folder in reversed(folders):  # the distro's own folder wins
        tested.update({p.parent.name: p.parent for p in folder.glob('*/package.xml')})
    assert {path.split('/')[0] for path in repos} == set(tested)
    for path, entry in repos.items():
        assert entry['type'] == 'git' and entry['url'].startswith('https://'), entry
        folder = tested[path.split('/')[0]]
        release = re.fullmatch(r'release/(\w+)/(\w+)/([\d.]+)-\d+', entry['version'])
        if release:  # a ros2-gbp release tag: release/<distro>/<package>/<version>-<inc>
            assert f'<name>{release.group(2)}</name>' in (folder / 'package.xml').read_text()
            assert release.group(3) == package_version(folder), path
        elif path == 'hri_msgs':  # a commit of ros4hri/hri_msgs, as the sources' README says
            assert entry['version'] in (folder.parent / 'README.md').read_text()
        else:  # an upstream tag: the version itself
            assert entry['version'] == package_version(folder), path


def test_fetch_from_local_repositories_builds_the_message_filters_packaging(tmp_path):
    make_repo(tmp_path / 'launch-release', {'package.xml': pkg_xml('launch', '3.8.6')},
              tag='release/kilted/launch/3.8.6-1')
    commit = make_repo(tmp_path / 'hri', {'package.xml': pkg_xml('hri_msgs', '2.0.0')})
    make_repo(tmp_path / 'mf', {'package.xml': pkg_xml('message_filters', '4.11.2'),
                                'src/message_filters/__init__.py': 'X = 1\n'}, tag='4.11.2')
    repos = tmp_path / 'test.repos'
    repos.write_text(yaml.safe_dump({'repositories': {
        'launch': {'type': 'git', 'url': (tmp_path / 'launch-release').as_uri(),
                   'version': 'release/kilted/launch/3.8.6-1'},
        'hri_msgs': {'type': 'git', 'url': (tmp_path / 'hri').as_uri(), 'version': commit},
        'message_filters_py/upstream': {'type': 'git', 'url': (tmp_path / 'mf').as_uri(),
                                        'version': '4.11.2'}}}))
    dest = tmp_path / 'src'
    done = run_fetch(repos, dest)
    assert done.returncode == 0, done
    assert package_version(dest / 'launch') == '3.8.6'
    assert git(dest / 'hri_msgs', 'rev-parse', 'HEAD') == commit
    mf = dest / 'message_filters_py'
    assert package_version(mf) == '4.11.2' and '<name>message_filters</name>' in \
        (mf / 'package.xml').read_text()
    assert "package_dir={'': 'upstream/src'}" in (mf / 'setup.py').read_text()
    assert (mf / 'resource' / 'message_filters').is_file()
    again = run_fetch(repos, dest)
    assert again.returncode == 0 and 'up to date' in again.stdout, again


def test_unreachable_repository_fails_with_one_line_saying_what_to_do(tmp_path):
    repos = tmp_path / 'test.repos'
    repos.write_text(yaml.safe_dump({'repositories': {'launch': {
        'type': 'git', 'url': (tmp_path / 'no-such-repository.git').as_uri(),
        'version': 'release/kilted/launch/3.8.6-1'}}}))
    done = run_fetch(repos, tmp_path / 'src')
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f'make ros2-sources: could not fetch the sources of {repos}')
    assert 'ROS2_EXTRA_SRC=DIR' in lines[0] and 'rosdep' in lines[0]
    assert 'Traceback' not in done.stdout + done.stderr


def test_a_folder_that_is_no_earlier_fetch_is_left_alone(tmp_path):
    dest = tmp_path / 'src'
    (dest / 'mine').mkdir(parents=True)
    repos = tmp_path / 'test.repos'
    repos.write_text('repositories: {}\n')
    done = run_fetch(repos, dest)
    assert done.returncode == 1 and 'is no earlier fetch' in done.stderr
    assert (dest / 'mine').is_dir()
