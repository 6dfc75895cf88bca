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

"""Launch logocap_node on a camera topic, optionally with a file player and RViz.

Examples::

    ros2 launch logocap_ros pose.launch.py camera_topic:=/camera/color/image_raw weights:=w32
    ros2 launch logocap_ros pose.launch.py play:=/path/video.mp4 weights:=random rviz:=true
    ros2 launch logocap_ros pose.launch.py play:=synthetic:640x480 input_transport:=compressed
    ros2 launch logocap_ros pose.launch.py weights:=w48 arch:=w48 params_file:=my.yaml

The node configures and activates itself (its ``autostart`` parameter, default true). Every
process started here gets the shipped Fast DDS shared-memory profile (``fastdds_profile``),
so full-size best-effort frames arrive. It is set through the one variable the installed
Fast DDS reads (``FASTDDS_DEFAULT_PROFILES_FILE`` on Kilted and later,
``FASTRTPS_DEFAULT_PROFILES_FILE`` on Humble and Jazzy), and the other one is removed; a
camera driver started elsewhere needs the same (README, "Fast DDS profile"). With
``input_transport:=compressed`` the player also publishes ``<camera_topic>/compressed``.

Node parameters: the node's defaults (``config/logocap.yaml``), then ``params_file``, then
the node-parameter arguments given on the command line (:data:`NODE_ARGUMENTS`); one not
given leaves the value before it, and ``weights`` is ``w32`` when neither sets it. When the
node or the player exits, the launch ends, and its last line names the process and its exit
code.
``rviz:=true`` without RViz 2 installed stops before anything starts.
"""

from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, LogInfo, OpaqueFunction,
                            RegisterEventHandler, SetEnvironmentVariable, Shutdown,
                            UnsetEnvironmentVariable)
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit, OnProcessStart
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare
from logocap_ros.ros.fastdds_profile import variables_to_set_and_unset
from logocap_ros.ros.parameters import PARAMETERS

PACKAGE = 'logocap_ros'
#: Seconds the node gets after SIGINT before launch escalates (SIGTERM, then SIGKILL 5 s later):
#: it finishes the frame in progress first, which can take seconds on a CPU.
SHUTDOWN_GRACE_S = '20'

ARGUMENTS = (
    ('camera_topic', '/camera/image_raw', 'input sensor_msgs/Image topic (remaps `image`; '
     '`<topic>/compressed` is used with input_transport:=compressed)'),
    ('depth_topic', 'depth/image_raw', 'use_depth: the registered depth image topic (remaps '
     '`depth/image_raw`)'),
    ('depth_info_topic', 'depth/camera_info', "use_depth: the depth image's camera_info topic "
     '(remaps `depth/camera_info`)'),
    ('namespace', '', 'namespace of the node and its topics'),
    ('params_file', '', 'parameter YAML file for the node (empty: the defaults of '
     'config/logocap.yaml); the arguments below override it only where given'),
    ('rviz', 'false', 'start RViz with the shipped configuration (needs rviz2 installed)'),
    ('play', '', 'video file, image folder or image to publish on camera_topic (empty: off)'),
    ('play_rate', 'auto', "frames per second of the player; auto: a video's own rate, 10 for "
     'images and synthetic frames'),
    ('play_compression', 'jpeg', 'jpeg or png: format of the compressed frames the player '
     'publishes when input_transport:=compressed'),
    ('frame_id', 'camera', 'header.frame_id of the played frames'),
    ('fastdds_profile', PathJoinSubstitution([FindPackageShare(PACKAGE), 'config',
                                              'fastdds_shm.xml']),
     'Fast DDS XML profile for all processes started here (empty: leave the environment)'),
)
#: Launch arguments that set the node parameter of the same name, only when given (not
#: empty); otherwise params_file's value (else the node default) stays.
NODE_ARGUMENTS = (
    ('weights', 'checkpoint path, w32, w48, random or random:w48 (untrained demo weights); '
     'not given and not in params_file: w32'),
    ('arch', 'HRNet backbone, w32 or w48; must match the weights'),
    ('model', 'a LOGO-CAP model file (torch-free runtime); passed only when given'),
    ('backend', 'auto, torch, onnxruntime, openvino, tensorrt or triton'),
    ('device', 'auto, cpu, cuda or cuda:N'),
    ('input_transport', 'raw or compressed'),
    ('input_size', 'short side of the network input, multiple of 64 (0: model default)'),
    ('flip_test', 'true or false: average with the flipped image'),
    ('use_depth', 'true: 3D joints from depth_topic + depth_info_topic'),
    ('publish_detections', 'true: vision_msgs detections (needs vision_msgs)'),
    ('hri_enable', 'true: REP-155 bodies on /humans/bodies (needs hri_msgs)'),
    # backend:=triton - the network runs on a shared Triton server (README "Many cameras")
    ('triton_url', "backend triton: the server's HTTP endpoint, host:port"),
    ('triton_model', 'backend triton: model name on the server'),
    ('triton_model_version', 'backend triton: model version (not given: latest)'),
    ('triton_timeout_s', 'backend triton: timeout per request [s]'),
)
#: Node parameters the launch sets unless params_file or the command line does.
LAUNCH_DEFAULTS = {'weights': 'w32'}
#: The processes whose exit ends the launch.
ESSENTIAL = ('logocap_node', 'camera_publisher')
RVIZ_MISSING = ("rviz:=true, but RViz 2 is not installed (no package 'rviz2'): install it "
                '(sudo apt install ros-$ROS_DISTRO-rviz2) or leave rviz:=false')


def _not_empty(name: str) -> IfCondition:
    return IfCondition(PythonExpression(["'", LaunchConfiguration(name), "' != ''"]))


def given_node_parameters(launch_configurations: dict) -> dict:
    """Return the node parameters given as launch arguments (name -> value for launch_ros).

    Text parameters stay text; the others are read as YAML (``64``, ``true``), as in a params
    file, so a wrong type (``input_size:=abc``) reaches the node, which names it.
    """
    given = {}
    for name, _ in NODE_ARGUMENTS:
        text = launch_configurations.get(name, '')
        if text == '':
            continue
        spec = PARAMETERS.get(name)
        if spec is None or isinstance(spec.default, str):
            given[name] = ParameterValue(text, value_type=str)
        else:
            value = _yaml_scalar(text)
            given[name] = value if isinstance(value, (bool, int, float)) else text
    return given


def _yaml_scalar(text: str) -> object:
    import yaml
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def file_sets(path: str, name: str) -> bool:
    """Return True unless the params file at ``path`` surely does not set ``name``."""
    import yaml

    def sets(entry: object) -> bool:
        if not isinstance(entry, dict):
            return False
        values = entry.get('ros__parameters')
        return (isinstance(values, dict) and name in values) or any(
            sets(v) for k, v in entry.items() if k != 'ros__parameters')
    try:
        with open(path, encoding='utf-8') as handle:
            return sets(yaml.safe_load(handle))
    except (OSError, yaml.YAMLError):
        return True  # the node reports the file


def node_parameters(launch_configurations: dict) -> list:
    """Return the node's ``parameters``: ``[params_file,] {launch defaults it lacks + given}``.

    One dict after the file, not defaults before it: rcl lets the node name inserted last win
    (``/**`` against ``/logocap_node``), so only the last entry surely overrides the file.
    """
    params_file = launch_configurations.get('params_file', '')
    defaults = {k: v for k, v in LAUNCH_DEFAULTS.items()
                if not (params_file and file_sets(params_file, k))}
    last = {**defaults, **given_node_parameters(launch_configurations)}
    return [params_file, last] if params_file else [last]


def _node(context) -> list:
    cfg = {name: LaunchConfiguration(name) for name, _, _ in ARGUMENTS}
    camera = cfg['camera_topic']
    return [Node(
        package=PACKAGE, executable='logocap_node', name='logocap_node', output='screen',
        namespace=cfg['namespace'],
        parameters=node_parameters(context.launch_configurations),
        remappings=[('image', camera), ('image/compressed', [camera, '/compressed']),
                    ('depth/image_raw', cfg['depth_topic']),
                    ('depth/camera_info', cfg['depth_info_topic'])],
        sigterm_timeout=SHUTDOWN_GRACE_S)]


def _check_rviz(context) -> list:
    """Stop the launch before anything starts when rviz:=true and RViz 2 is missing."""
    if IfCondition(LaunchConfiguration('rviz')).evaluate(context):
        from ament_index_python.packages import get_package_prefix, PackageNotFoundError
        try:
            get_package_prefix('rviz2')
        except PackageNotFoundError:
            raise RuntimeError(RVIZ_MISSING) from None
    return []


class EndOnExit:
    """Ends the launch when an :data:`ESSENTIAL` process exits; says why on the last line.

    Counts the running processes, so the reason is logged after the last one has exited.
    """

    def __init__(self) -> None:
        self.running = 0
        self.reason = ''

    def started(self, event, context) -> list:
        """Count a started process."""
        self.running += 1
        return []

    def exited(self, event, context) -> list:
        """Shut down when an essential process ended by itself; log why after the last."""
        self.running -= 1
        actions = []
        executable = getattr(event.action, 'node_executable', '')
        if not self.reason and executable in ESSENTIAL and not context.is_shutdown:
            code = event.returncode
            how = f'was killed by signal {-code}' if code < 0 else f'exited with code {code}'
            self.reason = (f'the launch ended because {event.process_name} {how} (its output '
                           'above says why)')
            actions.append(Shutdown(reason=self.reason))
        if self.running <= 0 and self.reason:
            actions.append(LogInfo(msg=self.reason))
        return actions


def generate_launch_description() -> LaunchDescription:
    """Build the launch description (see the module docstring for the arguments)."""
    cfg = {name: LaunchConfiguration(name) for name, _, _ in ARGUMENTS}
    camera = cfg['camera_topic']
    use_var, drop_var = variables_to_set_and_unset()
    profile_env = [
        SetEnvironmentVariable(use_var, cfg['fastdds_profile'],
                               condition=_not_empty('fastdds_profile')),
        UnsetEnvironmentVariable(drop_var, condition=_not_empty('fastdds_profile'))]
    compression = PythonExpression([
        "'", LaunchConfiguration('play_compression'), "' if '",
        LaunchConfiguration('input_transport'), "' == 'compressed' else 'none'"])
    player = Node(
        package=PACKAGE, executable='camera_publisher', name='camera_publisher',
        namespace=cfg['namespace'], output='screen', condition=_not_empty('play'),
        arguments=[cfg['play'], '--rate', cfg['play_rate'], '--frame-id', cfg['frame_id'],
                   '--compressed', compression, '--loop'],
        remappings=[('image', camera), ('image/compressed', [camera, '/compressed'])])
    rviz = Node(
        package='rviz2', executable='rviz2', name='rviz2', output='log',
        arguments=['-d', PathJoinSubstitution([FindPackageShare(PACKAGE), 'rviz',
                                               'logocap.rviz'])],
        condition=IfCondition(cfg['rviz']))
    end = EndOnExit()
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text)
         for name, default, text in ARGUMENTS]
        + [DeclareLaunchArgument(name, default_value='', description=text)
           for name, text in NODE_ARGUMENTS]
        + profile_env
        + [OpaqueFunction(function=_check_rviz),
           RegisterEventHandler(OnProcessStart(on_start=end.started)),
           RegisterEventHandler(OnProcessExit(on_exit=end.exited)),
           OpaqueFunction(function=_node), player, rviz])
