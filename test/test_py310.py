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

"""Python 3.10 and ROS 2 Humble compatibility of every Python file (static checks).

The package supports Ubuntu 22.04 + Humble (Python 3.10) as well as newer distributions, while
development here runs on Python 3.11 with Kilted: nothing else would catch 3.11-only code.
"""

import ast
from typing import Dict, List, Tuple

from lint_files import python_files, relative
import pytest

#: Standard-library names that do not exist on Python 3.10: {module: names}.
PY311_NAMES: Dict[str, Tuple[str, ...]] = {
    'typing': ('Self', 'LiteralString', 'Never', 'assert_never', 'reveal_type',
               'Required', 'NotRequired', 'TypeVarTuple', 'Unpack', 'dataclass_transform',
               'override', 'TypeAliasType', 'ReadOnly', 'TypeIs'),
    'datetime': ('UTC',),
    'asyncio': ('TaskGroup', 'timeout', 'timeout_at', 'Runner'),
    'enum': ('StrEnum', 'ReprEnum', 'verify', 'member', 'nonmember', 'global_enum'),
    'hashlib': ('file_digest',),
    'contextlib': ('chdir',),
    'operator': ('call',),
    'itertools': ('batched',),
}
PY311_MODULES = ('tomllib', 'wsgiref.types')
PY311_BUILTINS = ('ExceptionGroup', 'BaseExceptionGroup')
#: rclpy API missing on Humble (use add_on_set_parameters_callback instead).
HUMBLE_MISSING_METHODS = ('add_pre_set_parameters_callback', 'add_post_set_parameters_callback')


def _module_aliases(tree: ast.AST) -> Dict[str, str]:
    """Map local names bound by ``import x`` / ``import x as y`` to module names."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split('.')[0]] = (
                    alias.name if alias.asname else alias.name.split('.')[0])
    return aliases


def _import_problems(node: ast.AST) -> List[str]:
    found = []
    if isinstance(node, ast.Import):
        found += [f'import {a.name}' for a in node.names if a.name in PY311_MODULES]
    elif isinstance(node, ast.ImportFrom) and node.level == 0:
        if node.module in PY311_MODULES:
            found.append(f'from {node.module} import ...')
        bad = PY311_NAMES.get(node.module or '', ())
        found += [f'from {node.module} import {a.name}' for a in node.names if a.name in bad]
    return found


def _usage_problems(node: ast.AST, aliases: Dict[str, str]) -> List[str]:
    found = []
    if isinstance(node, ast.Attribute):
        if node.attr in HUMBLE_MISSING_METHODS:
            found.append(f'{node.attr} (not in rclpy on Humble)')
        if isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module and node.attr in PY311_NAMES.get(module, ()):
                found.append(f'{module}.{node.attr}')
    elif isinstance(node, ast.Name) and node.id in PY311_BUILTINS:
        found.append(node.id)
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            call = item.context_expr
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == 'init' and isinstance(call.func.value, ast.Name)
                    and aliases.get(call.func.value.id) == 'rclpy'):
                found.append('with rclpy.init() (rclpy >= 8 only; use try/finally)')
    return found


def check_source(source: str, name: str = '<string>') -> List[str]:
    """Return the Python 3.10 / Humble incompatibilities found in ``source``."""
    try:
        tree = ast.parse(source, filename=name, feature_version=(3, 10))
    except SyntaxError as err:
        return [f'line {err.lineno}: not Python 3.10 syntax: {err.msg}']
    aliases = _module_aliases(tree)
    problems = []
    for node in ast.walk(tree):
        for what in _import_problems(node) + _usage_problems(node, aliases):
            problems.append(f'line {getattr(node, "lineno", "?")}: {what}')
    return problems


@pytest.mark.linter
def test_python310_compatible():
    files = python_files()
    report = []
    for path, rel in zip(files, relative(files)):
        report += [f'{rel}: {p}' for p in check_source(path.read_text(encoding='utf-8'), rel)]
    assert not report, 'Python 3.10 / Humble incompatibilities:\n' + '\n'.join(report)


@pytest.mark.linter
@pytest.mark.parametrize('source', [
    'import tomllib\n',
    'from typing import Self\n',
    'import datetime\nx = datetime.UTC\n',
    'import asyncio as aio\nasync def f():\n    async with aio.TaskGroup():\n        pass\n',
    'raise ExceptionGroup("x", [ValueError()])\n',
    'try:\n    pass\nexcept* ValueError:\n    pass\n',
    'type Alias = int\n',
    'import rclpy\nwith rclpy.init():\n    pass\n',
    'node.add_post_set_parameters_callback(cb)\n',
])
def test_checker_catches(source):
    assert check_source(source), f'not detected: {source!r}'


@pytest.mark.linter
def test_checker_accepts_humble_code():
    source = ('import rclpy\nfrom typing import Optional\n'
              'def main(args: Optional[list] = None) -> None:\n'
              '    rclpy.init(args=args)\n    try:\n        pass\n'
              '    finally:\n        rclpy.try_shutdown()\n'
              'match = 3\n')
    assert check_source(source) == []
