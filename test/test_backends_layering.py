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


"""Import direction of the layers: core <- backends <- tools and ros (read from the sources).

Every ``import`` and ``from ... import`` in a module counts, also those inside functions
(lazy imports are imports too).
"""

import ast
from pathlib import Path
from typing import Iterator, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / 'logocap_ros'
#: Layer -> sub-packages of logocap_ros it must never import.
FORBIDDEN = {'core': ('backends', 'tools', 'ros'), 'backends': ('tools', 'ros')}


def imported_modules(path: Path) -> Iterator[Tuple[int, str, Tuple[str, ...]]]:
    """Yield ``(line, absolute module, imported names)`` for every import in ``path``."""
    package = ['logocap_ros'] + list(path.relative_to(PACKAGE).parent.parts)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = '.'.join(base + ([node.module] if node.module else []))
            yield node.lineno, module, tuple(a.name for a in node.names)


def _targets(module: str, names: Tuple[str, ...]) -> Iterator[str]:
    yield module
    for name in names:             # 'from .. import backends' imports the sub-package
        yield f'{module}.{name}'


@pytest.mark.parametrize('layer', sorted(FORBIDDEN))
def test_lower_layers_never_import_upper_ones(layer):
    bad = []
    for path in sorted((PACKAGE / layer).rglob('*.py')):
        for line, module, names in imported_modules(path):
            for target in _targets(module, names):
                parts = target.split('.')
                if parts[0] == 'logocap_ros' and len(parts) > 1 \
                        and parts[1] in FORBIDDEN[layer]:
                    bad.append(f'{path.relative_to(PACKAGE.parent)}:{line} imports {target}')
    assert not bad, f'{layer} must not import ' + ', '.join(FORBIDDEN[layer]) + ':\n' + \
        '\n'.join(bad)


def test_backends_use_no_private_core_helpers():
    bad = []
    for path in sorted((PACKAGE / 'backends').rglob('*.py')):
        for line, module, names in imported_modules(path):
            if module.startswith('logocap_ros.core'):
                bad += [f'{path.name}:{line} {module}.{n}' for n in names
                        if n.startswith('_')]
    assert not bad, bad


def test_only_ros_imports_rclpy():
    bad = [f'{path.relative_to(PACKAGE)}:{line}'
           for path in sorted(PACKAGE.rglob('*.py')) if 'ros' not in path.relative_to(
               PACKAGE).parts[:1]
           for line, module, _ in imported_modules(path) if module.split('.')[0] == 'rclpy']
    assert not bad, bad


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    """The scanner resolves relative imports and finds imports inside functions."""
    fake = PACKAGE / 'core' / '_layering_probe.py'
    fake.write_text('def f():\n    from ..backends import registry\n    import logocap_ros.ros\n')
    try:
        found = {m for _, m, _ in imported_modules(fake)}
    finally:
        fake.unlink()
    assert found == {'logocap_ros.backends', 'logocap_ros.ros'}
