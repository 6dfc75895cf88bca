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

"""Every source, build and configuration file starts with the Apache-2.0 header."""

import re
from typing import List, Optional

from lint_files import is_python_script, relative, repo_files, REPO_ROOT
import pytest

#: The header as plain text lines (comment markers removed); the year may differ.
HEADER = [re.sub(r'^# ?', '', line)
          for line in (REPO_ROOT / '.copyright_header.txt').read_text().strip().splitlines()]
YEAR = re.compile(r'^Copyright (19|20)\d\d(-(19|20)\d\d)? ')

HASH_SUFFIXES = {'.py', '.sh', '.bash', '.cmake', '.ini', '.cfg', '.toml', '.yaml', '.yml'}
HASH_NAMES = {'CMakeLists.txt', 'Makefile'}


def _needs_hash_header(path) -> bool:
    if path.name in HASH_NAMES or path.suffix in HASH_SUFFIXES:
        return True
    if path.suffix:
        return False
    with open(path, 'rb') as f:
        return f.read(2) == b'#!' or is_python_script(path)


def _hash_comment_block(text: str) -> List[str]:
    """Return the leading ``#`` comment lines (after a shebang), without the markers."""
    lines = text.splitlines()
    if lines and lines[0].startswith('#!'):
        lines = lines[1:]
    block = []
    for line in lines:
        if not line.startswith('#'):
            break
        block.append(re.sub(r'^# ?', '', line))
    return block


def _xml_comment_block(text: str) -> List[str]:
    match = re.search(r'<!--(.*?)-->', text, re.DOTALL)
    if not match:
        return []
    return [line.strip() for line in match.group(1).strip('\n').splitlines()]


def _matches(block: List[str]) -> Optional[str]:
    """Return None if ``block`` starts with the header, else what differs."""
    expected = [line.strip() for line in HEADER]
    got = [line.strip() for line in block[:len(expected)]]
    if len(got) < len(expected):
        return 'header missing or incomplete'
    if not YEAR.match(got[0]) or YEAR.sub('', got[0]) != YEAR.sub('', expected[0]):
        return f'first line {got[0]!r}'
    for want, have in zip(expected[1:], got[1:]):
        if want != have:
            return f'expected {want!r}, found {have!r}'
    return None


def _problems() -> List[str]:
    problems = []
    for path in repo_files():
        if _needs_hash_header(path):
            block = _hash_comment_block(path.read_text(encoding='utf-8', errors='replace'))
        elif path.name == 'package.xml':
            block = _xml_comment_block(path.read_text(encoding='utf-8'))
        else:
            continue
        why = _matches(block)
        if why:
            problems.append(f'{relative([path])[0]}: {why}')
    return problems


@pytest.mark.linter
def test_copyright_headers():
    problems = _problems()
    assert not problems, 'files without the Apache-2.0 header:\n' + '\n'.join(problems)


@pytest.mark.linter
def test_header_check_rejects_a_missing_header():
    assert _matches(['Copyright 2026 Somebody Else']) is not None
    assert _matches(_hash_comment_block('\n'.join('# ' + line for line in HEADER))) is None
