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

"""Tracking and smoothing in the node, over real DDS between processes.

The node process is the real ``logocap_node`` whose estimator replays the synthetic
``crossing`` scene (``test/scripted_pose_node.py``: six people, two pairs hide each other,
noise, dropped joints, people listed in a different order every frame). The test process
sends one small image per frame (the frame number is written in its pixels, the stamp is
30 fps) and checks what comes back on ``poses``, ``poses_raw`` and ``markers`` against the
truth and against the library (``PeopleFilter``) run on the same data in this process.
"""

import sys
import time

from builtin_interfaces.msg import Time
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from logocap_ros.frames.people import PeopleFilter
from logocap_ros.msg import PersonPoseArray
from logocap_ros.ros.conversions import person_color
from logocap_ros.ros.parameters import NodeConfig
import numpy as np
import pytest
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from ros_helpers import ROOT, running_nodes, wait_until
from scripted_pose_node import scene_order, scene_result
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from tracking_eval import make_scene
from visualization_msgs.msg import MarkerArray

pytestmark = [pytest.mark.ros, pytest.mark.slow]

SCENE, SEED = 'crossing', 0
FPS = 30.0
BASE_S = 1000
TIMEOUT = 30.0
PARAMS = {'weights': 'scripted', 'pose_threshold': 0.0, 'smoothing': True,
          'reliability': 'reliable', 'no_image_warn_s': 0.0}


@pytest.fixture(scope='module')
def graph():
    """Start the scripted node process and a test graph subscribed to its outputs."""
    args = [sys.executable, str(ROOT / 'test' / 'scripted_pose_node.py'), SCENE, str(SEED),
            '--ros-args'] + [a for k, v in PARAMS.items()
                             for a in ('-p', f'{k}:={str(v).lower() if v is True else v}')]
    with running_nodes([args], timeout=60) as g:
        g.scene = make_scene(SCENE, SEED)
        g.poses = g.collect(PersonPoseArray, 'poses')
        g.raw = g.collect(PersonPoseArray, 'poses_raw')
        g.markers = g.collect(MarkerArray, 'markers')
        g.pub = g.node.create_publisher(Image, 'image', 10)
        assert wait_until(lambda: g.pub.get_subscription_count() > 0 and
                          g.node.count_publishers('poses_raw') > 0, 20)
        time.sleep(1.0)  # let the node discover the poses_raw subscription too
        yield g


def stamp_of(k: int, run: int) -> Time:
    """Stamp of frame ``k`` in test run ``run`` (each run starts 100 s later)."""
    nanos = int(round(k / FPS * 1e9))
    return Time(sec=BASE_S + 100 * run + nanos // 10**9, nanosec=nanos % 10**9)


def image_for(k: int, run: int) -> Image:
    """Return a 16x16 bgr8 image carrying the frame number ``k`` in its first pixel."""
    pixels = np.zeros((16, 16, 3), np.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1] = k % 256, k // 256
    return Image(header=Header(stamp=stamp_of(k, run), frame_id='cam'), height=16, width=16,
                 encoding='bgr8', step=48, data=pixels.tobytes())


def _match(items, stamp: Time):
    for _, msg in items:
        head = msg.markers[0].header if isinstance(msg, MarkerArray) else msg.header
        if head.stamp.sec == stamp.sec and head.stamp.nanosec == stamp.nanosec:
            return msg
    return None


def play(g, frames, run: int, raw_expected: bool = True):
    """Send ``frames`` one at a time; return ``[(poses, poses_raw or None, markers)]``."""
    out = []
    for k in frames:
        g.pub.publish(image_for(k, run))
        stamp = stamp_of(k, run)
        assert wait_until(lambda: _match(g.poses, stamp) is not None and
                          (not raw_expected or _match(g.raw, stamp) is not None), TIMEOUT), \
            g.proc.output()[-2000:]
        out.append((_match(g.poses, stamp), _match(g.raw, stamp), stamp))
    return out


def keypoints(msg: PersonPoseArray) -> np.ndarray:
    """``(N, 17, 3)`` keypoints of a ``PersonPoseArray``."""
    return np.array([[(kp.x, kp.y, kp.score) for kp in p.keypoints] for p in msg.people],
                    np.float32).reshape(-1, 17, 3)


def reference(scene, frames, run: int):
    """Run the library on the same input; return ``[(ids, shown keypoints)]`` per frame."""
    people = PeopleFilter(NodeConfig(weights='scripted', smoothing=True))
    out = []
    for k in frames:
        stamp = stamp_of(k, run)
        frame = people.update(scene_result(scene, k), stamp.sec + stamp.nanosec * 1e-9)
        out.append((frame.track_ids, frame.result.keypoints))
    return out


def test_stable_ids_smoothed_poses_raw_poses_and_markers(graph):
    frames = range(len(graph.scene.frames))
    got = play(graph, frames, run=0)
    expected = reference(graph.scene, frames, run=0)
    owner = {}                                   # track id -> true person id
    for k, ((poses, raw, _), (ids, shown)) in enumerate(zip(got, expected)):
        truth = scene_order(graph.scene, k)
        track = np.array([p.track_id for p in poses.people])
        assert track.tolist() == ids.tolist()                       # node == library
        assert [p.track_id for p in raw.people] == track.tolist()
        np.testing.assert_array_equal(keypoints(raw), scene_result(graph.scene, k).keypoints)
        np.testing.assert_allclose(keypoints(poses), shown, atol=1e-3, equal_nan=True)
        for person, tid in zip(truth, track):
            if tid >= 0:
                assert owner.setdefault(int(tid), int(person)) == person, (k, owner)
    assert sorted(owner.values()) == list(range(6))              # one id per person, no switch
    later = [(keypoints(p), keypoints(r)) for p, r, _ in got[10:]]
    assert any(np.nanmax(np.abs(a - b)) > 0.5 for a, b in later)  # smoothing changed poses


def test_markers_coloured_by_track_id(graph):
    stamp = stamp_of(len(graph.scene.frames) - 1, 0)
    assert wait_until(lambda: _match(graph.markers, stamp) is not None, 10)
    poses = _match(graph.poses, stamp)
    joints = [m for m in _match(graph.markers, stamp).markers if m.ns == 'joints']
    assert joints
    for marker in joints:
        tid = poses.people[marker.id].track_id
        want = person_color(tid)
        assert tid >= 0
        assert (marker.color.r, marker.color.g, marker.color.b) == pytest.approx(
            (want.r, want.g, want.b), abs=1e-6)


def test_deactivate_resets_tracks_and_ids_are_not_reused(graph):
    change = graph.node.create_client(ChangeState, '/logocap_node/change_state')
    before = max(p.track_id for m in (msg for _, msg in graph.poses) for p in m.people)
    for tid in (Transition.TRANSITION_DEACTIVATE, Transition.TRANSITION_ACTIVATE):
        assert graph.call(change, ChangeState.Request(transition=Transition(id=tid)),
                          60).success
    assert wait_until(lambda: graph.pub.get_subscription_count() > 0, 20)
    got = play(graph, range(4), run=1)
    ids = [[p.track_id for p in poses.people] for poses, _, _ in got]
    assert ids[0] and set(ids[0]) == {-1} and set(ids[1]) == {-1}  # tentative again
    assert min(i for i in ids[3] if i >= 0) > before


def test_tracking_and_smoothing_off_at_run_time(graph):
    client = graph.node.create_client(SetParameters, '/logocap_node/set_parameters')
    request = SetParameters.Request(parameters=[
        Parameter('tracking', value=False).to_parameter_msg(),
        Parameter('smoothing', value=False).to_parameter_msg()])
    assert all(r.successful for r in graph.call(client, request).results)
    got = play(graph, range(5), run=2, raw_expected=False)
    for k, (poses, raw, _) in enumerate(got):
        assert {p.track_id for p in poses.people} == {-1}
        assert raw is None
        np.testing.assert_array_equal(keypoints(poses), scene_result(graph.scene, k).keypoints)
