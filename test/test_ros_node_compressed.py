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

"""The node on ``image/compressed`` with reliable QoS: QoS warning, JPEG/PNG, corrupt data."""

from builtin_interfaces.msg import Time
import cv2
from diagnostic_msgs.msg import DiagnosticArray
from logocap_ros.msg import PersonPoseArray
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_helpers import node_command, resend_until, running_nodes, wait_until
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import Header

pytestmark = [pytest.mark.ros, pytest.mark.slow]

IMAGE = np.random.default_rng(3).integers(0, 256, (96, 128, 3), np.uint8)


@pytest.fixture(scope='module')
def graph():
    """Node with input_transport:=compressed, reliability:=reliable; test graph around it."""
    with running_nodes([node_command(weights='random', input_size=64, flip_test=False,
                                     max_people=3, input_transport='compressed',
                                     reliability='reliable', pose_threshold=0.0)],
                       ready='active: listening on /image/compressed', check_exit=False) as g:
        g.poses = g.collect(PersonPoseArray, 'poses')
        g.diag = g.collect(DiagnosticArray, '/diagnostics')
        yield g


def compressed(sec: int, fmt: str, data: bytes) -> CompressedImage:
    """Return a CompressedImage with a distinct stamp."""
    return CompressedImage(header=Header(stamp=Time(sec=sec), frame_id='zcam'), format=fmt,
                           data=data)


def bad_count(g) -> int:
    """Return the node's ``bad_input.corrupt`` counter from the newest diagnostics."""
    for _, array in reversed(g.diag):
        values = {kv.key: kv.value for kv in array.status[0].values}
        return int(values.get('bad_input.corrupt', 0))
    return 0


def test_incompatible_publisher_qos_is_reported(graph):
    best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    graph.node.create_publisher(CompressedImage, 'image/compressed', best_effort)
    assert graph.proc.wait_for('incompatible QoS on /image/compressed', 15), graph.proc.output()
    assert 'set reliability:=best_effort' in graph.proc.output()


def test_jpeg_png_and_corrupt_data(graph):
    pub = graph.node.create_publisher(CompressedImage, 'image/compressed', 10)
    assert wait_until(lambda: pub.get_subscription_count() > 0, 20)
    jpeg = cv2.imencode('.jpg', IMAGE)[1].tobytes()
    png = cv2.imencode('.png', IMAGE)[1].tobytes()
    # the first frame may be dropped while the node's reader still learns of this publisher
    assert resend_until(lambda: pub.publish(compressed(1, 'jpeg', jpeg)),
                        lambda: any(m.header.stamp.sec == 1 for _, m in graph.poses), 60)
    for k, data in enumerate([jpeg[:len(jpeg) // 2], b'\x00garbage' * 10]):
        pub.publish(compressed(10 + k, 'jpeg', data))
        assert wait_until(lambda: bad_count(graph) == k + 1, 15), graph.proc.output()[-1500:]
    pub.publish(compressed(2, 'png', png))
    assert wait_until(lambda: any(m.header.stamp.sec == 2 for _, m in graph.poses), 60)
    stamps = [m.header.stamp.sec for _, m in graph.poses]
    assert sorted(set(stamps)) == [1, 2] and stamps[-1] == 2  # nothing from the corrupt data
    first = graph.poses[0][1]
    assert first.header.frame_id == 'zcam' and (first.image_width, first.image_height) == (128, 96)
    assert 'truncated' in graph.proc.output()
