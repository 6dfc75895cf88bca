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

"""Pure ROS-layer pieces: messages, markers, diagnostics, QoS check, frame slot, stats."""

import threading
import time
from types import SimpleNamespace

from builtin_interfaces.msg import Time
from logocap_ros.core.keypoints import KEYPOINT_NAMES, SKELETON_EDGES
from logocap_ros.core.result import PoseResult
from logocap_ros.ros import conversions, qos
from logocap_ros.ros.latest_frame import FrameWorker, LatestFrameSlot
from logocap_ros.ros.stats import NodeStats, RateLimitedLog, RateMeter
import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, ReliabilityPolicy
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

pytestmark = pytest.mark.ros


def two_people() -> PoseResult:
    """Two people in a 480x640 image; person 1 has joints 0..4 below 0.3."""
    kps = np.zeros((2, 17, 3), np.float32)
    kps[:, :, 0] = np.arange(17)[None] * 10 + np.array([[100.0], [300.0]])
    kps[:, :, 1] = np.arange(17)[None] * 5 + 50
    kps[:, :, 2] = 0.9
    kps[1, :5, 2] = 0.2
    return PoseResult(kps, np.array([0.8, 0.6], np.float32), (480, 640))


HEADER = Header(stamp=Time(sec=12, nanosec=345), frame_id='cam_optical')


def test_pose_array_copies_header_and_keeps_every_joint():
    msg = conversions.result_to_pose_array(two_people(), HEADER)
    assert msg.header.frame_id == 'cam_optical' and msg.header.stamp.nanosec == 345
    assert (msg.image_width, msg.image_height) == (640, 480)
    assert len(msg.people) == 2 and all(len(p.keypoints) == 17 for p in msg.people)
    p1 = msg.people[1]
    assert p1.track_id == -1 and p1.score == pytest.approx(0.6)
    assert (p1.keypoints[3].x, p1.keypoints[3].y) == (330.0, 65.0)
    assert p1.keypoints[3].score == pytest.approx(0.2)  # low-score joints are kept
    assert (p1.bbox.x_min, p1.bbox.x_max, p1.bbox.y_max) == (300.0, 460.0, 130.0)
    empty = conversions.result_to_pose_array(PoseResult.empty((10, 20)), HEADER)
    assert empty.people == [] and empty.image_width == 20


def test_markers_deleteall_first_then_joints_and_limbs_per_person():
    style = conversions.MarkerStyle(metres_per_pixel=0.01, plane_z=2.0, keypoint_threshold=0.3)
    markers = conversions.result_to_markers(two_people(), HEADER, style).markers
    assert markers[0].action == Marker.DELETEALL
    body = markers[1:]
    assert [(m.ns, m.id, m.type) for m in body] == [
        ('joints', 0, Marker.SPHERE_LIST), ('limbs', 0, Marker.LINE_LIST),
        ('joints', 1, Marker.SPHERE_LIST), ('limbs', 1, Marker.LINE_LIST)]
    assert all(m.header.frame_id == 'cam_optical' and m.action == Marker.ADD for m in body)
    assert len(body[0].points) == 17 and len(body[2].points) == 12
    assert len(body[1].points) == 2 * len(SKELETON_EDGES)
    assert len(body[3].points) % 2 == 0
    assert len(body[3].points) == 2 * sum(a >= 5 and b >= 5 for a, b in SKELETON_EDGES)
    p = body[0].points[3]
    assert (p.x, p.y, p.z) == pytest.approx((1.3, 0.65, 2.0))  # (130 px, 65 px) * 0.01
    for m in body:
        c = m.color
        assert 0 <= min(c.r, c.g, c.b) and max(c.r, c.g, c.b) <= 1 and c.a == 1
        assert m.pose.orientation.w == 1.0 and m.scale.x > 0
    assert body[0].color != body[2].color


def test_markers_skip_nan_joints_and_use_track_colour():
    result = two_people()
    result.keypoints[0, 0, 0] = np.nan
    markers = conversions.result_to_markers(result, HEADER, track_ids=[7, -1]).markers
    assert len(markers[1].points) == 16
    assert markers[1].color == conversions.person_color(7)
    assert markers[3].color == conversions.person_color(1)


def test_skeleton_info_and_diagnostics():
    info = conversions.skeleton_info('m', 0.1, 0.2)
    assert list(info.keypoint_names) == list(KEYPOINT_NAMES) and len(info.edges) == 38
    assert info.method == 'm' and info.pose_threshold == pytest.approx(0.2)
    diag = conversions.diagnostics_array('n', 'cpu', {'rate': 1.23456, 'dropped': 3}, 1, 'ok',
                                         Time(sec=5))
    status = diag.status[0]
    assert status.level == b'\x01' and diag.header.stamp.sec == 5
    assert {kv.key: kv.value for kv in status.values} == {'rate': '1.235', 'dropped': '3'}


def test_bgr_colours_match_marker_colours():
    for i in range(12):
        c = conversions.person_color(i)
        assert conversions.person_color_bgr(i) == (round(c.b * 255), round(c.g * 255),
                                                   round(c.r * 255))


def test_qos_incompatibility_rules():
    best, rel = qos.image_qos('best_effort'), qos.image_qos('reliable')
    assert best.depth == 1 and best.reliability == ReliabilityPolicy.BEST_EFFORT
    pub_best = SimpleNamespace(reliability=ReliabilityPolicy.BEST_EFFORT,
                               durability=DurabilityPolicy.VOLATILE)
    pub_rel = SimpleNamespace(reliability=ReliabilityPolicy.RELIABLE,
                              durability=DurabilityPolicy.VOLATILE)
    assert 'reliability:=best_effort' in qos.incompatibility(pub_best, rel)
    assert qos.incompatibility(pub_rel, best) is None
    assert qos.incompatibility(pub_best, best) is None
    info = SimpleNamespace(node_name='cam', node_namespace='/', qos_profile=pub_best)
    assert qos.incompatible_publishers([info], rel) == [
        '/cam (best_effort, volatile): ' + qos.incompatibility(pub_best, rel)]


def test_latest_frame_slot_keeps_newest_and_counts_drops():
    slot = LatestFrameSlot()
    assert slot.put(1) is False and slot.put(2) is True and slot.put(3) is True
    assert slot.get(0) == 3 and slot.dropped == 2 and slot.get(0.01) is None
    slot.close()
    assert slot.get(1.0) is None


def test_worker_never_builds_a_backlog_and_survives_errors():
    seen, errors = [], []

    def process(item):
        if item == 'bad':
            raise RuntimeError('boom')
        time.sleep(0.05)
        seen.append(item)

    worker = FrameWorker(process, errors.append)
    worker.start()
    worker.slot.put('bad')
    time.sleep(0.1)
    for i in range(50):  # 50 frames in ~50 ms while one takes 50 ms
        worker.slot.put(i)
        time.sleep(0.001)
    time.sleep(0.3)
    worker.stop()
    assert len(errors) == 1 and seen[-1] == 49
    assert len(seen) < 10 and worker.slot.dropped >= 40
    assert seen == sorted(seen)
    assert not any(t.name == 'logocap_worker' for t in threading.enumerate())


def test_rate_stays_meaningful_when_frames_take_longer_than_the_window():
    now = [0.0]
    meter = RateMeter(window_s=5.0, clock=lambda: now[0])
    for _ in range(3):  # a slow CPU: one frame every 11 s
        meter.tick()
        now[0] += 11.0
    now[0] -= 8.0  # 3 s after the third frame
    assert meter.rate() == pytest.approx(1 / 11.0)
    now[0] += 60.0  # nothing for a long time: stopped
    assert meter.rate() == 0.0


def test_stats_rates_and_rate_limited_log():
    now = [0.0]
    meter = RateMeter(window_s=2.0, clock=lambda: now[0])
    for _ in range(11):
        meter.tick()
        now[0] += 0.1
    assert meter.rate() == pytest.approx(10.0)
    now[0] += 5
    assert meter.rate() == 0.0
    log = RateLimitedLog(period_s=1.0, clock=lambda: now[0])
    assert log.allow('a') == 0 and log.allow('a') is None and log.allow('b') == 0
    now[0] += 1.5
    assert log.allow('a') == 1
    stats = NodeStats(clock=lambda: now[0])
    stats.on_input()
    stats.on_processed(0.05, 0.02)
    stats.on_bad_input('layout')
    for _ in range(4):
        stats.on_dropped()
    snap = stats.snapshot()
    assert snap['frames_dropped'] == 4 and snap['bad_input.layout'] == 1
    assert snap['latency_ms_mean'] == pytest.approx(50.0)
