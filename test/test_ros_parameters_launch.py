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

"""Parameter table, config validation, defaults YAML, and the launch file's structure.

``launch``/``launch_ros`` are not installable here, so the launch file is executed against
recording stand-ins of their classes: that checks its arguments, remappings, parameters,
conditions and file references, not the real launch system.
"""

import importlib.util
from pathlib import Path
import sys
import types

from logocap_ros.ros.estimator_loader import parse_weights, resolve_device, StartupError
from logocap_ros.ros.parameters import declare_parameters, NodeConfig, PARAMETERS, read_config
import pytest
import rclpy
from rclpy.parameter import Parameter
import yaml

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_yaml_matches_parameter_table():
    values = yaml.safe_load((ROOT / 'config' / 'logocap.yaml').read_text())['/**'][
        'ros__parameters']
    assert set(values) == set(PARAMETERS)
    for name, value in values.items():
        assert value == PARAMETERS[name].default and type(value) is type(PARAMETERS[name].default)


def test_validate_lists_every_problem():
    NodeConfig(weights='random').validate()
    bad = NodeConfig(weights=' ', arch='w99', device='gpu', backend='tf', input_size=100,
                     reliability='fast', pose_threshold=2.0)
    with pytest.raises(ValueError) as info:
        bad.validate()
    text = str(info.value)
    for word in ('weights is empty', "arch:='w99'", "device:='gpu'", "backend:='tf'",
                 'multiple of 64', "reliability:='fast'", 'pose_threshold:=2.0'):
        assert word in text
    NodeConfig(weights='', pose_threshold=0.5).validate(['pose_threshold'])  # only that one


def test_weights_and_device_resolution():
    assert parse_weights('random', 'w32') == (None, 'w32')
    assert parse_weights('random:w48', 'w32') == (None, 'w48')
    assert parse_weights('/x/y.pth', 'w48') == ('/x/y.pth', 'w48')
    with pytest.raises(StartupError, match='unknown architecture'):
        parse_weights('random:w99', 'w32')
    assert resolve_device('auto', lambda: False) == 'cpu'
    assert resolve_device('auto', lambda: True) == 'cuda:0'
    with pytest.raises(StartupError, match='device:=cpu'):
        resolve_device('cuda:1', lambda: False)


@pytest.fixture
def node():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('param_test', context=context,
                             parameter_overrides=[Parameter('weights', value='random')])
    yield node
    node.destroy_node()
    rclpy.shutdown(context=context)


def test_descriptors_read_only_and_ranges(node):
    declare_parameters(node)
    cfg = read_config(lambda n: node.get_parameter(n).value).validate()
    assert cfg.weights == 'random' and cfg.pose_threshold == PARAMETERS['pose_threshold'].default
    desc = node.describe_parameters(['weights', 'pose_threshold', 'input_size'])
    assert desc[0].read_only and 'read-only' in desc[0].description
    assert not desc[1].read_only and desc[1].floating_point_range[0].to_value == 1.0
    assert desc[2].integer_range[0].step == 64
    results = node.set_parameters([Parameter('weights', value='x'),
                                   Parameter('pose_threshold', value=1.5),
                                   Parameter('input_size', value=100),
                                   Parameter('keypoint_threshold', value=0.4)])
    assert [r.successful for r in results] == [False, False, False, True]


class _Recorder:
    """Stand-in for a launch class: records its constructor arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def _load_launch_with_stubs(monkeypatch):
    names = {
        'launch': ['LaunchDescription'],
        'launch.actions': ['DeclareLaunchArgument', 'SetEnvironmentVariable'],
        'launch.conditions': ['IfCondition'],
        'launch.substitutions': ['LaunchConfiguration', 'PathJoinSubstitution',
                                 'PythonExpression'],
        'launch_ros.actions': ['Node'],
        'launch_ros.parameter_descriptions': ['ParameterValue'],
        'launch_ros.substitutions': ['FindPackageShare'],
    }
    for module, classes in names.items():
        stub = types.ModuleType(module)
        for cls in classes:
            setattr(stub, cls, type(cls, (_Recorder,), {}))
        monkeypatch.setitem(sys.modules, module, stub)
    monkeypatch.setitem(sys.modules, 'launch_ros', types.ModuleType('launch_ros'))
    spec = importlib.util.spec_from_file_location('pose_launch', ROOT / 'launch' /
                                                  'pose.launch.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def test_launch_file_structure(monkeypatch):
    entities = _load_launch_with_stubs(monkeypatch).args[0]
    declared = {e.args[0] for e in entities if type(e).__name__ == 'DeclareLaunchArgument'}
    assert {'camera_topic', 'weights', 'backend', 'device', 'namespace', 'params_file', 'rviz',
            'play', 'fastdds_profile'} <= declared
    env = [e.args[0] for e in entities if type(e).__name__ == 'SetEnvironmentVariable']
    assert env == ['FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE']
    nodes = {e.kwargs['executable']: e.kwargs for e in entities if type(e).__name__ == 'Node'}
    assert set(nodes) == {'logocap_node', 'camera_publisher', 'rviz2'}
    main = nodes['logocap_node']
    assert main['name'] == 'logocap_node' and main['package'] == 'logocap_ros'
    assert [r[0] for r in main['remappings']] == ['image', 'image/compressed']
    overrides = main['parameters'][1]
    assert set(overrides) <= set(PARAMETERS)
    triton = {'triton_url', 'triton_model', 'triton_model_version', 'triton_timeout_s'}
    assert triton <= declared and triton <= set(overrides)
    assert overrides['triton_timeout_s'].kwargs['value_type'] is float
    assert 'condition' in nodes['camera_publisher'] and 'condition' in nodes['rviz2']
    shipped = [p.args[0][1:] for e in entities if type(e).__name__ == 'DeclareLaunchArgument'
               for p in [e.kwargs['default_value']] if type(p).__name__ == 'PathJoinSubstitution']
    shipped.append(nodes['rviz2']['arguments'][1].args[0][1:])
    for parts in shipped:
        assert (ROOT.joinpath(*parts)).is_file(), parts
    cmake = (ROOT / 'CMakeLists.txt').read_text()
    for folder in ('launch', 'config', 'rviz'):
        assert folder in cmake
