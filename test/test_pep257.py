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

"""pep257 docstring checks (pydocstyle) with ament_pep257's ignore list."""

import subprocess
import sys

from lint_files import python_files, relative, REPO_ROOT
import pytest

#: ament_pep257's settings: the pep257 convention (which leaves out D203, D212, D213, D404, ...)
#: without the missing-docstring checks D100-D107.
AMENT_PEP257_IGNORE = 'D100,D101,D102,D103,D104,D105,D106,D107'


@pytest.mark.linter
def test_pep257():
    files = relative(python_files())
    result = subprocess.run(
        [sys.executable, '-m', 'pydocstyle', '--match=.*', '--match-dir=.*',
         '--convention=pep257', f'--add-ignore={AMENT_PEP257_IGNORE}', *files],
        cwd=REPO_ROOT, capture_output=True, text=True)
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    assert result.returncode == 0, f'pydocstyle found problems:\n{result.stdout}{result.stderr}'
