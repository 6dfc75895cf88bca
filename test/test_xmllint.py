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

"""package.xml: well-formed, format 3, and consistent with the code and the build files."""

import ast
import re
from typing import List, Set
import xml.etree.ElementTree as ElementTree

from lint_files import python_files, REPO_ROOT
import pytest

PACKAGE_XML = REPO_ROOT / 'package.xml'
DEPEND_TAGS = ('depend', 'build_depend', 'build_export_depend', 'exec_depend',
               'buildtool_depend', 'buildtool_export_depend', 'test_depend', 'doc_depend')
#: Format 3 requires these first, in this order.
LEADING_TAGS = ['name', 'version', 'description', 'maintainer', 'license']
#: Imported top-level modules that are ROS packages (need a package.xml dependency).
ROS_MODULES = re.compile(r'^(rclpy|cv_bridge|launch|launch_ros|launch_testing|ament_index_python'
                         r'|[a-z0-9_]+_msgs|[a-z0-9_]+_interfaces)$')


@pytest.fixture(scope='module')
def root() -> ElementTree.Element:
    return ElementTree.parse(PACKAGE_XML).getroot()


def _deps(root: ElementTree.Element, *tags: str) -> List[str]:
    return [e.text.strip() for tag in tags for e in root.findall(tag)]


def _imported_ros_packages() -> Set[str]:
    """Top-level ROS modules imported by our Python code (tests excluded)."""
    found = set()
    for path in python_files():
        if path.relative_to(REPO_ROOT).parts[0] in ('test',):
            continue
        tree = ast.parse(path.read_text(encoding='utf-8'))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            found |= {n.split('.')[0] for n in names if ROS_MODULES.match(n.split('.')[0])}
    return found


@pytest.mark.linter
def test_format_3_and_leading_tags(root):
    assert root.tag == 'package'
    assert root.get('format') == '3'
    assert [child.tag for child in root][:len(LEADING_TAGS)] == LEADING_TAGS
    assert root.findtext('name') == 'logocap_ros'
    assert root.findtext('license') == 'Apache-2.0'
    maintainer = root.find('maintainer')
    assert maintainer.get('email') and '@' in maintainer.get('email')
    assert maintainer.text.strip()
    assert root.findtext('description').strip()


@pytest.mark.linter
def test_version_matches_python_package(root):
    init = (REPO_ROOT / 'logocap_ros' / '__init__.py').read_text(encoding='utf-8')
    version = re.search(r"^__version__ = '([^']+)'", init, re.MULTILINE).group(1)
    assert root.findtext('version') == version
    assert re.fullmatch(r'\d+\.\d+\.\d+', version)


@pytest.mark.linter
def test_build_type_and_interface_package(root):
    assert root.findtext('export/build_type') == 'ament_cmake'
    assert 'rosidl_interface_packages' in _deps(root, 'member_of_group')
    buildtool = _deps(root, 'buildtool_depend')
    for needed in ('ament_cmake', 'ament_cmake_python', 'rosidl_default_generators'):
        assert needed in buildtool
    assert 'rosidl_default_runtime' in _deps(root, 'exec_depend', 'depend')


@pytest.mark.linter
def test_no_duplicate_dependencies(root):
    deps = [(tag, name) for tag in DEPEND_TAGS for name in _deps(root, tag)]
    assert len(deps) == len(set(deps)), f'duplicates: {sorted(deps)}'
    plain = set(_deps(root, 'depend'))
    narrow = set(_deps(root, 'build_depend', 'exec_depend', 'build_export_depend'))
    assert not plain & narrow, f'both <depend> and a narrower tag: {sorted(plain & narrow)}'


@pytest.mark.linter
def test_message_dependencies_declared(root):
    cmake = (REPO_ROOT / 'CMakeLists.txt').read_text(encoding='utf-8')
    used = set(re.search(r'DEPENDENCIES ([\w ]+)', cmake).group(1).split())
    for msg in sorted((REPO_ROOT / 'msg').glob('*.msg')):
        used |= set(re.findall(r'^\s*(\w+_msgs)/', msg.read_text(), re.MULTILINE))
    missing = used - set(_deps(root, 'depend', 'build_depend'))
    assert not missing, f'message dependencies not in package.xml: {sorted(missing)}'


@pytest.mark.linter
def test_imported_ros_packages_declared(root):
    declared = set(_deps(root, 'depend', 'exec_depend', 'test_depend'))
    missing = _imported_ros_packages() - declared - {'logocap_ros'}
    assert not missing, f'imported ROS packages missing from package.xml: {sorted(missing)}'
