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

"""``ros2 launch logocap_ros pose.launch.py``, for real: params file, dead processes, RViz.

A params file's model settings hold unless a launch argument is given; a dead node or player
ends the launch with the reason on its last line; ``rviz:=true`` without RViz 2 starts
nothing and leaves no process behind. Needs the ROS 2 sources that ``make build`` builds
(skipped, naming ROS2_EXTRA_SRC, without them).
"""

from pathlib import Path

from launch_helpers import (LaunchedSystem, require_ros2_cli, SMALL_ARGS, SMALL_PARAMS,
                            write_params)
from logocap_ros.msg import PersonPoseArray
import pytest
from ros_helpers import private_domain, TestGraph, wait_until

require_ros2_cli()

pytestmark = [pytest.mark.ros, pytest.mark.slow]

TIMEOUT = 120.0  # s; node start-up (torch import, model) on a loaded 2-core machine


def _session_processes(sid: int) -> list:
    """Return ``pid command`` of every live process in session ``sid`` (from /proc)."""
    found = []
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[1].split()
            command = (stat.parent / 'cmdline').read_bytes().replace(b'\0', b' ').decode()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != 'Z':
            found.append(f'{stat.parent.name} {command}')
    return found


def _run_to_end(domain_id: int, **arguments: object) -> LaunchedSystem:
    """Launch, wait until ``ros2 launch`` ends by itself (fail after TIMEOUT), return it."""
    launched = LaunchedSystem(domain_id, **arguments)
    try:
        ended = wait_until(lambda: launched.popen.poll() is not None, TIMEOUT)
        left = _session_processes(launched.popen.pid)
        launched.close()
    finally:
        launched.kill()
    assert ended, f'the launch did not end by itself:\n{launched.output()}'
    assert left == [], left
    return launched


def test_params_file_model_settings_without_launch_arguments(tmp_path):
    """The file's weights/backend/device hold (the launch defaults used to override them)."""
    params = write_params(tmp_path / 'params.yaml', {**SMALL_PARAMS, **SMALL_ARGS})
    with private_domain() as domain_id:
        graph = TestGraph(domain_id)
        launched = LaunchedSystem(domain_id, play='synthetic:96x64', params_file=params,
                                  input_size=128)  # given: overrides the file's 64
        try:
            poses = graph.collect(PersonPoseArray, '/poses')
            assert wait_until(lambda: poses, TIMEOUT), launched.output()
            out = launched.output()
        finally:
            graph.close()
            launched.close()
    assert 'random-untrained torch cpu' in out and 'input=128' in out, out
    assert 'not downloaded' not in out


def test_dead_player_ends_the_launch_with_the_reason_last():
    with private_domain() as domain_id:
        launched = _run_to_end(domain_id, play='/nonexistent/video.mp4', **SMALL_ARGS)
    out = launched.output()
    assert launched.exit_codes()['camera_publisher-2'] == 1, out
    assert '[camera_publisher] error: source not found: /nonexistent/video.mp4' in out
    last = out.strip().splitlines()[-1]
    assert 'the launch ended because camera_publisher-2 exited with code 1' in last, out


def test_dead_node_ends_the_launch_and_stops_the_player():
    with private_domain() as domain_id:
        launched = _run_to_end(domain_id, play='synthetic:64x48', weights='/nonexistent/w.pth',
                               backend='torch', device='cpu')
    out = launched.output()
    assert launched.exit_codes() == {'logocap_node-1': 1, 'camera_publisher-2': 0}, out
    last = out.strip().splitlines()[-1]
    assert 'the launch ended because logocap_node-1 exited with code 1' in last, out


def test_rviz_without_rviz2_starts_nothing_and_leaves_nothing():
    from ament_index_python.packages import get_package_prefix, PackageNotFoundError
    try:
        pytest.skip(f'rviz2 is installed here ({get_package_prefix("rviz2")}): this checks '
                    'the launch without it')
    except PackageNotFoundError:
        pass
    with private_domain() as domain_id:
        launched = _run_to_end(domain_id, play='synthetic:64x48', rviz='true', **SMALL_ARGS)
    out = launched.output()
    assert launched.popen.returncode == 1, out
    assert 'process started' not in out, out
    errors = [line for line in out.splitlines() if 'ERROR' in line]
    assert len(errors) == 1 and 'RViz 2 is not installed' in errors[0], out
    assert 'sudo apt install ros-$ROS_DISTRO-rviz2' in errors[0], out
