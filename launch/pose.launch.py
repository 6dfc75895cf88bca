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

The node configures and activates itself (its ``autostart`` parameter, default true). Every
process started here gets the shipped Fast DDS shared-memory profile (``fastdds_profile``),
so full-size best-effort frames arrive. It is set through the one variable the installed
Fast DDS reads (``FASTDDS_DEFAULT_PROFILES_FILE`` on Kilted and later,
``FASTRTPS_DEFAULT_PROFILES_FILE`` on Humble and Jazzy), and the other one is removed; a
camera driver started elsewhere needs the same (README, "Fast DDS profile"). With
``input_transport:=compressed`` the player also publishes ``<camera_topic>/compressed``.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable, UnsetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare
from logocap_ros.ros.fastdds_profile import variables_to_set_and_unset

PACKAGE = 'logocap_ros'
#: Seconds the node gets after SIGINT before launch escalates (SIGTERM, then SIGKILL 5 s later):
#: it finishes the frame in progress first, which can take seconds on a CPU.
SHUTDOWN_GRACE_S = '20'

ARGUMENTS = (
    ('camera_topic', '/camera/image_raw', 'input sensor_msgs/Image topic (remaps `image`; '
     '`<topic>/compressed` is used with input_transport:=compressed)'),
    ('weights', 'w32', 'checkpoint path, w32, w48, or random (untrained demo weights)'),
    ('backend', 'auto', 'auto, torch, onnxruntime, tensorrt or triton'),
    ('device', 'auto', 'auto, cpu, cuda or cuda:N'),
    ('input_transport', 'raw', 'raw or compressed'),
    ('namespace', '', 'namespace of the node and its topics'),
    ('params_file', PathJoinSubstitution([FindPackageShare(PACKAGE), 'config', 'logocap.yaml']),
     'parameter YAML file (defaults for every node parameter)'),
    ('rviz', 'false', 'start RViz with the shipped configuration'),
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
# backend:=triton - the network runs on a shared Triton server (README "Many cameras, one server")
TRITON_ARGUMENTS = (
    ('triton_url', '127.0.0.1:8000', "backend triton: the server's HTTP endpoint, host:port"),
    ('triton_model', 'logocap', 'backend triton: model name on the server'),
    ('triton_model_version', '', 'backend triton: model version (empty = latest)'),
    ('triton_timeout_s', '10.0', 'backend triton: timeout per request [s]'),
)
ARGUMENTS += TRITON_ARGUMENTS


def _not_empty(name: str) -> IfCondition:
    return IfCondition(PythonExpression(["'", LaunchConfiguration(name), "' != ''"]))


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
        "'", cfg['play_compression'], "' if '", cfg['input_transport'],
        "' == 'compressed' else 'none'"])
    node = Node(
        package=PACKAGE, executable='logocap_node', name='logocap_node', output='screen',
        namespace=cfg['namespace'],
        parameters=[cfg['params_file'], {
            'weights': cfg['weights'], 'backend': cfg['backend'], 'device': cfg['device'],
            'input_transport': cfg['input_transport'],
            **{name: ParameterValue(cfg[name], value_type=float if name.endswith('_s') else str)
               for name, _, _ in TRITON_ARGUMENTS}}],
        remappings=[('image', camera), ('image/compressed', [camera, '/compressed'])],
        sigterm_timeout=SHUTDOWN_GRACE_S)
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
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text)
         for name, default, text in ARGUMENTS]
        + profile_env
        + [node, player, rviz])
