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

"""The real node with ``backend:=triton`` against the real Triton server (loopback).

Two nodes in namespaces share one server (CPU repository, 64x64, no flip, random weights);
the server is killed and restarted while they run; a node pointed at no server exits at
startup with one line.
"""

from diagnostic_msgs.msg import DiagnosticArray
from logocap_ros.msg import PersonPoseArray
import pytest
from ros_helpers import (image_msg as random_image, node_command, Proc, resend_until,
                         running_nodes, wait_until)
from sensor_msgs.msg import Image
from triton_helpers import (single_image_onnx, triton_install_or_skip, tritonclient_or_skip,
                            write_repository)

pytestmark = [pytest.mark.ros, pytest.mark.slow]

CAMERAS = ('cam_a', 'cam_b')
FRAME_TIMEOUT = 90.0  # s; a 2-core machine shared with other test processes is slow


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """Start a server with the CPU repository; stop it at teardown."""
    tritonclient_or_skip()
    triton_install_or_skip()
    from logocap_ros.backends.triton_server import LocalTritonServer
    root = write_repository(tmp_path_factory.mktemp('triton_models'), single_image_onnx())
    srv = LocalTritonServer(root, 'cpu', work_dir=tmp_path_factory.mktemp('srv'))
    with srv:
        yield srv


@pytest.fixture(scope='module')
def graph(server):
    """Two triton nodes (namespaces cam_a, cam_b) and a test graph on their topics."""
    with running_nodes([node_command(backend='triton', triton_url=server.url, max_people=5,
                                     pose_threshold=0.0, no_image_warn_s=0.0)
                        + ['-r', f'__ns:=/{cam}'] for cam in CAMERAS],
                       ready='active: listening on') as g:
        g.server = server
        g.poses = {cam: g.collect(PersonPoseArray, f'/{cam}/poses') for cam in CAMERAS}
        g.diag = g.collect(DiagnosticArray, '/diagnostics')
        g.pubs = {cam: g.node.create_publisher(Image, f'/{cam}/image', 10)
                  for cam in CAMERAS}
        assert wait_until(lambda: all(p.get_subscription_count() for p in g.pubs.values()),
                          20)
        yield g


def image_msg(sec: int) -> Image:
    """Return a 64x64 bgr8 image (the served model's input size) stamped ``sec``."""
    return random_image(sec, 64, 64, 'cam')


def poses_for(g, cam: str, sec: int) -> list:
    """Return the ``poses`` messages of ``cam`` stamped ``sec``."""
    return [m for _, m in g.poses[cam] if m.header.stamp.sec == sec]


def diag_count(g, cam: str, key: str) -> int:
    """Return the newest diagnostics counter ``key`` of the node of camera ``cam`` (or 0)."""
    for _, array in reversed(g.diag):
        for status in array.status:
            values = {kv.key: kv.value for kv in status.values}
            if values.get('input_topic') == f'/{cam}/image' and key in values:
                return int(values[key])
    return 0


def sender(graph, cameras, sec: int):
    """Return a function that sends frame ``sec`` to ``cameras``."""
    def send() -> None:
        for cam in cameras:
            graph.pubs[cam].publish(image_msg(sec))
    return send


def test_nodes_in_namespaces_share_one_server(graph):
    for node in graph.procs:
        text = node.output()
        assert 'configured: logocap-hrnet-w32 random-untrained triton' in text
        assert 'input=64x64' in text and 'UNTRAINED' in text
        assert 'weights:=' not in text  # a Triton node has no weights to set
    assert resend_until(sender(graph, CAMERAS, 11),
                        lambda: all(poses_for(graph, c, 11) for c in CAMERAS),
                        FRAME_TIMEOUT, period_s=5.0), \
        [p.output()[-1500:] for p in graph.procs]
    a, b = (poses_for(graph, c, 11)[0] for c in CAMERAS)
    assert len(a.people) == len(b.people) > 0  # same image, same server: same people
    assert [p.score for p in a.people] == [p.score for p in b.people]


def test_server_killed_errors_reported_then_recovered(graph):
    graph.server.kill()
    graph.pubs['cam_a'].publish(image_msg(21))
    node = graph.procs[0]
    assert node.wait_for('TritonUnavailable', FRAME_TIMEOUT), node.output()[-1500:]
    assert 'is unreachable' in node.output()
    assert wait_until(lambda: diag_count(graph, 'cam_a', 'bad_input.inference_error') >= 1, 10)
    assert node.popen.poll() is None  # still running
    graph.server.start()
    assert resend_until(sender(graph, ['cam_a'], 22), lambda: poses_for(graph, 'cam_a', 22),
                        FRAME_TIMEOUT, period_s=5.0), \
        node.output()[-1500:]


def test_unreachable_server_at_startup_is_one_line(ros_env):
    tritonclient_or_skip()
    from logocap_ros.backends.triton_server import free_port
    proc = Proc(node_command(backend='triton', triton_url=f'127.0.0.1:{free_port()}'), ros_env)
    try:
        assert proc.popen.wait(120) != 0
    finally:
        proc.stop()
    errors = [line for line in proc.output_at_exit.splitlines() if 'ERROR' in line]
    assert len(errors) == 1, proc.output_at_exit
    assert 'cannot configure: Triton server' in errors[0] and 'is unreachable' in errors[0]
    assert 'Traceback' not in proc.output_at_exit
