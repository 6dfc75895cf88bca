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

"""flake8 with the ament_flake8 configuration (setup.cfg) over every Python file of the repo."""

import subprocess
import sys

from lint_files import python_files, relative, REPO_ROOT
import pytest

#: The plugins ament_flake8 brings on Jazzy and later; without them flake8 checks far less.
REQUIRED_PLUGINS = ('flake8-builtins', 'flake8-comprehensions', 'flake8-docstrings',
                    'flake8-import-order', 'flake8-quotes')


def _flake8(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'flake8', *args], cwd=REPO_ROOT,
                          capture_output=True, text=True)


@pytest.mark.linter
def test_flake8_plugins_present():
    version = _flake8('--version')
    assert version.returncode == 0, version.stderr
    normalized = version.stdout.replace('_', '-')
    missing = [name for name in REQUIRED_PLUGINS if name not in normalized]
    assert not missing, f'flake8 plugins missing: {missing} (flake8 --version: {version.stdout})'


@pytest.mark.linter
def test_flake8():
    files = relative(python_files())
    assert 'setup.py' in files
    result = _flake8('--config', str(REPO_ROOT / 'setup.cfg'), *files)
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    findings = [line for line in result.stdout.splitlines() if ': ' in line and line[:1] != ' ']
    assert result.returncode == 0, (
        f'flake8 found {len(findings)} problem(s) in {len(files)} files:\n' + result.stdout)
