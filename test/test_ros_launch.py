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

"""``ros2 launch logocap_ros pose.launch.py`` and the ``ros2`` CLI, for real.

One launched system (node + ``camera_publisher`` playing synthetic frames, a params file,
``namespace:=cam1``, ``camera_topic:=cam/image``) serves the tests of this module, in order:
its outputs, its graph, ``ros2 param`` and ``ros2 lifecycle`` against it, and finally SIGINT
to ``ros2 launch``. Before it, one launch with a startup error. Needs the ROS 2 sources that
``make build`` builds (skipped, naming ROS2_EXTRA_SRC, without them).
"""

import re
import time

from diagnostic_msgs.msg import DiagnosticArray
from launch_helpers import (LaunchedSystem, require_ros2_cli, ros2, ros2_daemon, SMALL_ARGS,
                            SMALL_PARAMS, write_params)
from logocap_ros.msg import PersonPoseArray, SkeletonInfo
from logocap_ros.ros.fastdds_profile import variables_to_set_and_unset
from logocap_ros.ros.qos import latched_qos
import pytest
from ros_helpers import private_domain, TestGraph, wait_until

require_ros2_cli()

pytestmark = [pytest.mark.ros, pytest.mark.slow]

NS = 'cam1'
NODE = f'/{NS}/logocap_node'
FRAME_ID = 'cam_optical'
WIDTH, HEIGHT = 160, 120
TIMEOUT = 120.0  # s; node start-up (torch import, model) on a loaded 2-core machine


def test_startup_error_shows_the_nodes_one_line_message():
    with private_domain() as domain_id:
        launched = LaunchedSystem(domain_id, weights='/nonexistent/logocap_w32.pth',
                                  backend='torch')
        try:
            code = launched.finish(TIMEOUT)  # nothing left to run: launch ends by itself
            out = launched.output()
        finally:
            launched.close()
    node_lines = [line for line in out.splitlines() if line.startswith('[logocap_node-1]')]
    assert len(node_lines) == 1, out
    assert 'cannot configure: weights file not found' in node_lines[0], out
    assert '/nonexistent/logocap_w32.pth' in node_lines[0], out
    assert launched.exit_codes() == {'logocap_node-1': 1}, out
    assert 'Traceback' not in out and code == 0, out


def _launch(domain_id: int, folder) -> LaunchedSystem:
    """Launch node and synthetic player in ``domain_id``, with a params file in ``folder``."""
    params = write_params(folder / 'params.yaml', SMALL_PARAMS)
    return LaunchedSystem(domain_id, play=f'synthetic:{WIDTH}x{HEIGHT}', params_file=params,
                          namespace=NS, camera_topic='cam/image', frame_id=FRAME_ID,
                          **SMALL_ARGS)


@pytest.fixture(scope='module')
def system(tmp_path_factory):
    """Launch the system; a test graph in the same private domain listens to its outputs."""
    with private_domain() as domain_id:
        launched = _launch(domain_id, tmp_path_factory.mktemp('launch'))
        graph = TestGraph(domain_id)
        try:
            graph.launched = launched
            graph.poses = graph.collect(PersonPoseArray, f'/{NS}/poses')
            graph.diag = graph.collect(DiagnosticArray, '/diagnostics')
            with ros2_daemon(domain_id):
                assert launched.wait_for('active: listening on', TIMEOUT), launched.output()
                yield graph
        finally:
            graph.close()
            launched.close()


def _people(system):
    return [m for _, m in system.poses if m.people]


def test_poses_carry_the_players_frame_id_and_image_size(system):
    assert wait_until(lambda: len(_people(system)) >= 2, TIMEOUT), system.launched.output()
    msgs = [m for _, m in system.poses]
    assert {m.header.frame_id for m in msgs} == {FRAME_ID}
    assert {(m.image_width, m.image_height) for m in msgs} == {(WIDTH, HEIGHT)}
    assert all(len(p.keypoints) == 17 for m in msgs for p in m.people)
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in msgs]
    assert stamps == sorted(stamps) and stamps[0] > 0
    assert 'input=64' in system.launched.output()  # from the params file


def test_skeleton_info_is_latched(system):
    late = system.collect(SkeletonInfo, f'/{NS}/skeleton_info', latched_qos())
    assert wait_until(lambda: late, 20)
    info = late[0][1]
    assert info.format == 'coco17' and len(info.keypoint_names) == 17
    assert SMALL_ARGS['backend'] in info.method


def test_diagnostics_report(system):
    def ours():
        return [s for _, a in system.diag for s in a.status if 'logocap_node' in s.name]
    assert wait_until(ours, 20), system.launched.output()
    values = {kv.key: kv.value for kv in ours()[-1].values}
    assert values.get('backend') == SMALL_ARGS['backend'], values


def test_namespace_and_camera_topic_remap(system):
    g = system.node
    names = set(g.get_node_names_and_namespaces())
    assert {('logocap_node', f'/{NS}'), ('camera_publisher', f'/{NS}')} <= names
    subs = g.get_subscriptions_info_by_topic(f'/{NS}/cam/image')
    pubs = g.get_publishers_info_by_topic(f'/{NS}/cam/image')
    assert [(i.node_name, i.node_namespace) for i in subs] == [('logocap_node', f'/{NS}')]
    assert [(i.node_name, i.node_namespace) for i in pubs] == [('camera_publisher', f'/{NS}')]
    assert g.count_subscribers('/camera/image_raw') == 0 and g.count_publishers('/image') == 0
    by_node = g.get_publisher_names_and_types_by_node('logocap_node', f'/{NS}')
    outputs = {name for name, _ in by_node}
    outside = {t for t in outputs if not t.startswith(f'/{NS}/')}
    assert f'/{NS}/poses' in outputs and outside <= {'/diagnostics', '/rosout',
                                                     '/parameter_events'}, outputs


def test_fastdds_profile_variable_set_once(system):
    use, drop = variables_to_set_and_unset()
    pid = re.search(r'\[logocap_node-1\]: process started with pid \[(\d+)\]',
                    system.launched.output()).group(1)
    with open(f'/proc/{pid}/environ', 'rb') as handle:
        env = dict(item.split(b'=', 1) for item in handle.read().split(b'\0') if b'=' in item)
    assert env[use.encode()].endswith(b'share/logocap_ros/config/fastdds_shm.xml')
    assert drop.encode() not in env
    out = system.launched.output()
    assert 'XMLPARSER' not in out and 'deprecated' not in out, out


def test_cli_param_get_and_set(system):
    domain = system.launched.domain_id
    got = ros2(domain, 'param', 'get', NODE, 'input_size')
    assert 'Integer value is: 64' in got.stdout, got
    info = system.collect(SkeletonInfo, f'/{NS}/skeleton_info', latched_qos())
    done = ros2(domain, 'param', 'set', NODE, 'keypoint_threshold', '0.4')
    assert 'Set parameter successful' in done.stdout, done
    assert wait_until(lambda: any(abs(m.keypoint_threshold - 0.4) < 1e-6 for _, m in info), 20)
    refused = ros2(domain, 'param', 'set', NODE, 'input_size', '128')
    text = refused.stdout + refused.stderr
    assert 'Setting parameter failed' in text and 'while the node is unconfigured' in text, refused
    again = ros2(domain, 'param', 'get', NODE, 'input_size')
    assert 'Integer value is: 64' in again.stdout, again


def test_cli_topic_echo_decodes_the_poses(system):
    echo = ros2(system.launched.domain_id, 'topic', 'echo', '--once', f'/{NS}/poses',
                'logocap_ros/msg/PersonPoseArray', '--field', 'header.frame_id')
    assert echo.returncode == 0 and echo.stdout.splitlines()[0] == FRAME_ID, echo


def test_cli_lifecycle_deactivate_stops_and_activate_resumes_poses(system):
    domain = system.launched.domain_id
    assert wait_until(lambda: system.poses, TIMEOUT)
    done = ros2(domain, 'lifecycle', 'set', NODE, 'deactivate')
    assert 'Transitioning successful' in done.stdout, done
    stopped_at = len(system.poses)
    state = ros2(domain, 'lifecycle', 'get', NODE)
    assert state.stdout.startswith('inactive'), state
    time.sleep(2.0)  # after the transition returned, no frame may be published
    assert len(system.poses) == stopped_at
    done = ros2(domain, 'lifecycle', 'set', NODE, 'activate')
    assert 'Transitioning successful' in done.stdout, done
    assert wait_until(lambda: len(system.poses) > stopped_at + 1, TIMEOUT), \
        system.launched.output()[-3000:]


def test_sigint_to_launch_ends_every_process_cleanly(tmp_path):
    """A launch of its own (not the module's, which the other tests have driven around)."""
    with private_domain() as domain_id:
        launched = _launch(domain_id, tmp_path)
        graph = TestGraph(domain_id)
        try:
            poses = graph.collect(PersonPoseArray, f'/{NS}/poses')
            assert wait_until(lambda: len(poses) > 0, TIMEOUT), launched.output()
            launched.interrupt()
            assert launched.finish(60) == 0, launched.output()
            assert launched.exit_codes() == {'logocap_node-1': 0, 'camera_publisher-2': 0}, \
                launched.output()
            assert launched.forbidden_lines() == [], launched.output()
        finally:
            graph.close()
            launched.close()
