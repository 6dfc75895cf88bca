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

The launch file is executed here against recording stand-ins of the ``launch``/``launch_ros``
classes (which PyPI lacks): that checks its arguments, remappings, parameters, conditions and
file references even without the real launch system; test_ros_launch*.py run it for real.
"""

import importlib.util
from pathlib import Path
import sys
import types

from logocap_ros.ros.estimator_loader import parse_weights, resolve_device, StartupError
from logocap_ros.ros.fastdds_profile import variables_to_set_and_unset
from logocap_ros.ros.parameters import (change_problem, declare_parameters, NodeConfig,
                                        PARAMETERS, parse_image_size, read_config)
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


def test_descriptors_access_and_ranges(node):
    assert declare_parameters(node) == []
    cfg = read_config(lambda n: node.get_parameter(n).value).validate()
    assert cfg.weights == 'random' and cfg.pose_threshold == PARAMETERS['pose_threshold'].default
    desc = node.describe_parameters(['autostart', 'pose_threshold', 'input_size', 'weights'])
    assert desc[0].read_only and 'read-only' in desc[0].description
    assert not desc[1].read_only and desc[1].floating_point_range[0].to_value == 1.0
    assert desc[2].integer_range[0].step == 64
    # model parameters are not read-only: the node accepts them while unconfigured
    assert not desc[3].read_only and 'unconfigured' in desc[3].description
    results = node.set_parameters([Parameter('autostart', value=False),
                                   Parameter('pose_threshold', value=1.5),
                                   Parameter('input_size', value=100),
                                   Parameter('keypoint_threshold', value=0.4)])
    assert [r.successful for r in results] == [False, False, False, True]


def test_configure_time_parameters_change_only_while_unconfigured():
    assert change_problem('input_size', 128, configured=False) is None
    assert 'unconfigured' in change_problem('input_size', 128, configured=True)
    assert "backend:='tf'" in change_problem('backend', 'tf', configured=False)
    assert change_problem('pose_threshold', 0.3, configured=True) is None
    assert 'startup' in change_problem('autostart', False, configured=False)
    assert change_problem('use_sim_time', True, configured=True) is None


def test_integers_accepted_for_float_parameters():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('param_int_test', context=context, parameter_overrides=[
        Parameter('weights', value='random'), Parameter('pose_threshold', value=1),
        Parameter('pose_treshold', value=0.3)])
    try:
        warnings = declare_parameters(node)
        assert node.get_parameter('pose_threshold').value == 1.0
        assert warnings == ["unknown parameter 'pose_treshold' is ignored; did you mean "
                            "'pose_threshold'?"]
        result = node.set_parameters([Parameter('keypoint_threshold', value=0)])[0]
        assert result.successful, result.reason
        assert node.get_parameter('keypoint_threshold').value == 0.0
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)


def test_warmup_image_size_parsing():
    assert parse_image_size('') is None
    assert parse_image_size('640x480') == (480, 640)
    assert parse_image_size(' 1280 X 720 ') == (720, 1280)
    for bad in ('640', '640x', 'x480', '0x480', '640x99999', '640*480'):
        with pytest.raises(ValueError, match='warmup_image_size'):
            parse_image_size(bad)
    assert NodeConfig(weights='random', warmup_image_size='64x48').warmup_hw == (48, 64)


class _Recorder:
    """Stand-in for a launch class: records its constructor arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def _load_launch_with_stubs(monkeypatch):
    names = {
        'launch': ['LaunchDescription'],
        'launch.actions': ['DeclareLaunchArgument', 'LogInfo', 'OpaqueFunction',
                           'RegisterEventHandler', 'SetEnvironmentVariable', 'Shutdown',
                           'UnsetEnvironmentVariable'],
        'launch.conditions': ['IfCondition'],
        'launch.event_handlers': ['OnProcessExit', 'OnProcessStart'],
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
    return module, module.generate_launch_description()


class _Context:
    """Stand-in for the launch context: the launch arguments given on the command line."""

    def __init__(self, **given):
        self.launch_configurations = given


def _launched_node(entities, **given):
    """Run the launch file's node-building OpaqueFunction; return the Node's arguments."""
    build = [e for e in entities if type(e).__name__ == 'OpaqueFunction'
             and e.kwargs['function'].__name__ == '_node']
    assert len(build) == 1
    (node,) = build[0].kwargs['function'](_Context(**given))
    return node.kwargs


def test_launch_file_structure(monkeypatch):
    module, description = _load_launch_with_stubs(monkeypatch)
    entities = description.args[0]
    declared = {e.args[0] for e in entities if type(e).__name__ == 'DeclareLaunchArgument'}
    assert {'camera_topic', 'weights', 'backend', 'device', 'namespace', 'params_file', 'rviz',
            'play', 'fastdds_profile', 'arch', 'model', 'input_size', 'flip_test', 'use_depth',
            'depth_topic', 'depth_info_topic', 'publish_detections', 'hri_enable'} <= declared
    env = [(type(e).__name__, e.args[0]) for e in entities if 'Environment' in type(e).__name__]
    use, drop = variables_to_set_and_unset()  # exactly the one this ROS 2 reads
    assert env == [('SetEnvironmentVariable', use), ('UnsetEnvironmentVariable', drop)]
    nodes = {e.kwargs['executable']: e.kwargs for e in entities if type(e).__name__ == 'Node'}
    assert set(nodes) == {'camera_publisher', 'rviz2'}
    main = _launched_node(entities)
    assert main['name'] == 'logocap_node' and main['package'] == 'logocap_ros'
    assert [r[0] for r in main['remappings']] == ['image', 'image/compressed',
                                                  'depth/image_raw', 'depth/camera_info']
    node_arguments = {name for name, _ in module.NODE_ARGUMENTS}
    assert node_arguments - {'model'} <= set(PARAMETERS)  # model: the torch-free issue
    triton = {'triton_url', 'triton_model', 'triton_model_version', 'triton_timeout_s'}
    assert triton <= declared and triton <= node_arguments
    assert 'condition' in nodes['camera_publisher'] and 'condition' in nodes['rviz2']
    kinds = [type(e).__name__ for e in entities]
    checks = kinds.index('OpaqueFunction')  # the rviz2 check runs before any process starts
    assert entities[checks].kwargs['function'].__name__ == '_check_rviz'
    assert checks < min(i for i, kind in enumerate(kinds) if kind == 'Node')
    shipped = [p.args[0][1:] for e in entities if type(e).__name__ == 'DeclareLaunchArgument'
               for p in [e.kwargs['default_value']] if type(p).__name__ == 'PathJoinSubstitution']
    shipped.append(nodes['rviz2']['arguments'][1].args[0][1:])
    for parts in shipped:
        assert (ROOT.joinpath(*parts)).is_file(), parts
    cmake = (ROOT / 'CMakeLists.txt').read_text()
    for folder in ('launch', 'config', 'rviz'):
        assert folder in cmake


def test_launch_arguments_not_given_leave_the_params_file(monkeypatch, tmp_path):
    module, description = _load_launch_with_stubs(monkeypatch)
    entities = description.args[0]
    defaults = {e.args[0]: e.kwargs['default_value'] for e in entities
                if type(e).__name__ == 'DeclareLaunchArgument'}
    assert {defaults[name] for name, _ in module.NODE_ARGUMENTS} == {''}
    assert defaults['params_file'] == ''
    # nothing given: the node's defaults plus weights w32
    assert _launched_node(entities)['parameters'] == [{'weights': 'w32'}]
    mine = tmp_path / 'my.yaml'
    mine.write_text('/**:\n  ros__parameters:\n    weights: random\n')
    given = _launched_node(entities, params_file=str(mine), arch='w48', input_size='128',
                           flip_test='false', hri_enable='true', device='',
                           model='/m/logocap.model')
    params_file, overrides = given['parameters']  # the file, then only what was given
    assert params_file == str(mine)
    assert set(overrides) == {'arch', 'input_size', 'flip_test', 'hri_enable', 'model'}
    text = {k: v.args[0] for k, v in overrides.items() if type(v).__name__ == 'ParameterValue'}
    assert text == {'arch': 'w48', 'model': '/m/logocap.model'}
    assert all(overrides[k].kwargs['value_type'] is str for k in text)
    # numbers and booleans are read as YAML, as in a params file; a wrong type reaches the node
    assert (overrides['input_size'], overrides['flip_test'], overrides['hri_enable']) == \
        (128, False, True)
    assert _launched_node(entities, input_size='abc')['parameters'][-1]['input_size'] == 'abc'
    # a file without weights (here under a nested node name) still gets w32
    mine.write_text('ns:\n  logocap_node:\n    ros__parameters:\n      input_size: 64\n')
    assert module.node_parameters({'params_file': str(mine)}) == [str(mine), {'weights': 'w32'}]
    mine.write_text('ns:\n  logocap_node:\n    ros__parameters:\n      weights: w48\n')
    assert module.node_parameters({'params_file': str(mine)}) == [str(mine), {}]


def test_max_people_has_one_range_true_to_the_model(node, repo_root):
    from logocap_ros.core.estimator import EstimatorConfig
    from logocap_ros.core.pipeline import TOP_K
    from logocap_ros.core.result import MAX_PEOPLE
    assert MAX_PEOPLE == TOP_K == 30  # the model refines its top-30 centre candidates
    EstimatorConfig(max_people=MAX_PEOPLE).validate()
    with pytest.raises(ValueError, match='max_people'):
        EstimatorConfig(max_people=MAX_PEOPLE + 1).validate()
    assert PARAMETERS['max_people'].limits[:2] == (1, MAX_PEOPLE)
    declare_parameters(node)
    assert node.describe_parameter('max_people').integer_range[0].to_value == MAX_PEOPLE
    assert not node.set_parameters([Parameter('max_people', value=MAX_PEOPLE + 1)])[0].successful
    row = next(line for line in (repo_root / 'README.md').read_text().splitlines()
               if line.startswith('| `max_people`'))
    assert f'| 1..{MAX_PEOPLE} |' in row, row


def test_wrong_architecture_hint_uses_the_node_parameter(tmp_path):
    import torch
    from logocap_ros.ros.estimator_loader import load_estimator
    path = tmp_path / 'looks_like_w48.pth'
    torch.save({'backbone.transition1.0.0.weight': torch.zeros(48, 256, 3, 3)}, path)
    with pytest.raises(StartupError) as info:
        load_estimator(NodeConfig(weights=str(path), arch='w32', backend='torch',
                                  device='cpu').validate())
    assert 'arch:=w48' in str(info.value) and '--arch' not in str(info.value)


@pytest.mark.parametrize('warmup, expected', [('320x240', (240, 320)), ('', None)])
def test_warmup_size_is_the_size_engines_are_built_for(warmup, expected):
    from logocap_ros.ros.estimator_loader import load_estimator
    loaded = load_estimator(NodeConfig(weights='random', backend='torch', device='cpu',
                                       input_size=64, flip_test=False,
                                       warmup_image_size=warmup).validate())
    assert loaded.estimator.config.expected_image_hw == expected


def test_command_line_problem_checks_types_of_every_override():
    from logocap_ros.ros.parameters import command_line_problem
    ok = ['logocap_node', '--ros-args', '-p', 'input_size:=64', '-p', 'pose_threshold:=1',
          '-p', 'weights:=random', '-p', 'flip_test:=false', '-r', 'image:=/cam']
    assert command_line_problem(ok, 'logocap_node') is None
    later = ok + ['-p', 'input_size:=abc']
    assert 'input_size must be an integer' in command_line_problem(later, 'logocap_node')
    assert 'true or false' in command_line_problem(ok + ['--param', 'flip_test:=2'],
                                                   'logocap_node')
    other = ok + ['-p', 'other_node:input_size:=abc']  # another node's override: not ours
    assert command_line_problem(other, 'logocap_node') is None
    mine = ok + ['-p', '/ns/logocap_node:input_size:=x']
    assert 'input_size' in command_line_problem(mine, 'logocap_node')
    bogus = ['logocap_node', '--bogus', '--ros-args', '-p', 'x:=1', '--', 'y']
    assert 'unknown argument(s) --bogus y' in command_line_problem(bogus, 'logocap_node')
