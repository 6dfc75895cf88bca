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

"""Which files of the repository the linter tests look at (shared by the test_* linters)."""

import os
from pathlib import Path
import subprocess
from typing import List

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Folders never linted: environments, build outputs, caches.
SKIP_DIRS = {'.git', '.venv', '.venv-triton', '.venv-jazzy', '.venv-py310', 'build', 'install',
             'log', 'out', '.pytest_cache',
             '.hypothesis', '__pycache__', 'dist', '.whl'}


def repo_files() -> List[Path]:
    """Return every file of the checkout that git tracks or would track (sorted, absolute).

    Untracked files that ``.gitignore`` does not exclude count too, so new files are linted
    before their first commit. Without git (e.g. an unpacked sdist) the tree is walked.
    """
    try:
        out = subprocess.run(
            ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
            cwd=REPO_ROOT, capture_output=True, check=True).stdout.decode()
        names = [n for n in out.split('\0') if n]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for root, dirs, files in os.walk(REPO_ROOT):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith('.egg-info')]
            names += [os.path.relpath(os.path.join(root, f), REPO_ROOT) for f in files]
    paths = {REPO_ROOT / n for n in names}
    return sorted(p for p in paths if p.is_file() and not set(p.parts) & SKIP_DIRS)


def is_python_script(path: Path) -> bool:
    """Tell whether an extension-less file is a Python script (``python`` shebang)."""
    if path.suffix:
        return False
    try:
        with open(path, 'rb') as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b'#!') and b'python' in first


def python_files() -> List[Path]:
    """Return our Python sources: ``*.py`` files and Python scripts without a suffix."""
    return [p for p in repo_files() if p.suffix == '.py' or is_python_script(p)]


def relative(paths: List[Path]) -> List[str]:
    """Return ``paths`` relative to the repository root, as strings."""
    return [str(p.relative_to(REPO_ROOT)) for p in paths]
