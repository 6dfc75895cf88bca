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


"""Import direction of the layers: core <- backends <- frames <- tools | ros (from the sources).

Every ``import`` and ``from ... import`` in a module counts, also those inside functions
(lazy imports are imports too). ``tools`` and ``ros`` sit side by side and never import each
other; ``ros/triton_loader.py`` never imports ``ros/estimator_loader.py`` (no cycle).
"""

import ast
from pathlib import Path
from typing import Iterator, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / 'logocap_ros'
#: Layer -> sub-packages of logocap_ros it must never import.
FORBIDDEN = {'core': ('backends', 'frames', 'tools', 'ros'),
             'backends': ('frames', 'tools', 'ros'),
             'frames': ('tools', 'ros'),
             'tools': ('ros',),
             'ros': ('tools',)}
#: Files that must not be in the package (test/benchmark helpers, CLIs outside tools/).
NOT_IN_PACKAGE = ('tools/tracking_eval.py', 'backends/cache_cli.py')


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


def _imports_of(path: Path):
    for line, module, names in imported_modules(path):
        for target in _targets(module, names):
            yield line, target


def test_no_import_cycle_between_the_model_loaders():
    """``triton_loader`` never imports ``estimator_loader`` (they share ``ros/startup.py``)."""
    bad = [f'ros/triton_loader.py:{line} imports {target}'
           for line, target in _imports_of(PACKAGE / 'ros' / 'triton_loader.py')
           if target.startswith('logocap_ros.ros.estimator_loader')]
    assert not bad, bad


def test_misplaced_modules_stay_out():
    present = [name for name in NOT_IN_PACKAGE if (PACKAGE / name).exists()]
    assert not present, f'{present}: tracking_eval is a test helper (test/), CLIs live in tools/'


def test_every_room_says_what_it_holds():
    """Each package ``__init__.py`` opens with a docstring (not only the licence comment)."""
    bad = [str(init.relative_to(PACKAGE.parent)) for init in sorted(PACKAGE.rglob('__init__.py'))
           if not ast.get_docstring(ast.parse(init.read_text()))]
    assert not bad, bad


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


@pytest.mark.parametrize('layer, source, target', [
    ('tools', 'from logocap_ros.ros.image_conversion import image_to_bgr', 'ros'),
    ('ros', 'from logocap_ros.tools.draw import draw_poses', 'tools'),
    ('ros', 'def f():\n    from logocap_ros.tools import weights', 'tools'),
    ('backends', 'from logocap_ros.tools.weights import resolve_weights', 'tools'),
    ('frames', 'from ..ros import conversions', 'ros'),
    ('core', 'from logocap_ros.frames.pipeline import FramePipeline', 'frames'),
])
def test_the_forbidden_arrows_are_caught(layer, source, target):
    """Each arrow the issue names (tools <-> ros, backends -> tools, ...) fails the check."""
    probe = PACKAGE / layer / '_layering_probe.py'
    probe.write_text(source + '\n')
    try:
        hits = [t for _, t in _imports_of(probe)
                if t.split('.')[:2] == ['logocap_ros', target]]
    finally:
        probe.unlink()
    assert hits and target in FORBIDDEN[layer]
