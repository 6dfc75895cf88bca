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

"""The ROS side of 3D: message filling, 3D markers, depth/colour synchronisation, node glue.

Synchronisation is tested with the real ``message_filters.ApproximateTimeSynchronizer`` fed
directly (no DDS), so early/late/missing depth are deterministic.
"""

import math
import threading
import time

from builtin_interfaces.msg import Time
from depth_scenes import camera, CAMERAS, keypoints_for, person_3d, plane
from logocap_ros.core import depth as core_depth
from logocap_ros.core.result import PoseResult
from logocap_ros.frames.config import pipeline_config
from logocap_ros.frames.pipeline import FramePipeline
from logocap_ros.frames.stamps import stamp_ns
from logocap_ros.msg import Keypoint3D, PersonPose
from logocap_ros.ros import conversions
from logocap_ros.ros.depth_input import (camera_model_from_info, DepthInput, DepthPairs,
                                         import_message_filters)
from logocap_ros.ros.markers_3d import skeleton_markers_3d, TRACK_IDS_NS
from logocap_ros.ros.outputs import markers_3d_or_clear
from logocap_ros.ros.parameters import NodeConfig
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

pytestmark = pytest.mark.ros

try:
    import message_filters
except ImportError:  # the message and marker tests do not need it
    message_filters = None

needs_message_filters = pytest.mark.skipif(
    message_filters is None, reason='message_filters (Python) is not on PYTHONPATH; source '
    'scripts/env.sh with build/ros2_extra, or install ros-<distro>-message-filters')

W, H = 640, 480
SLOP = 0.05


def header(t: float, frame: str = 'cam_optical') -> Header:
    """Return a header stamped ``t`` seconds."""
    sec = int(t)
    return Header(stamp=Time(sec=sec, nanosec=int(round((t - sec) * 1e9))), frame_id=frame)


def depth_msg(t: float, depth_m: np.ndarray, encoding: str = '32FC1',
              frame: str = 'cam_optical') -> Image:
    """Return a depth image message (32FC1 metres or 16UC1 millimetres)."""
    pixels = depth_m.astype(np.float32) if encoding == '32FC1' \
        else np.rint(depth_m * 1000).astype(np.uint16)
    return Image(header=header(t, frame), height=pixels.shape[0], width=pixels.shape[1],
                 encoding=encoding, step=pixels.shape[1] * pixels.itemsize,
                 data=pixels.tobytes())


def info_msg(t: float, model: str = 'plumb_bob', width: int = W, height: int = H,
             frame: str = 'cam_optical') -> CameraInfo:
    """Return the camera_info of one of the test cameras."""
    k, d = CAMERAS[model]
    return CameraInfo(header=header(t, frame), width=width, height=height,
                      distortion_model=model, k=k, d=d)


def colour_msg(t: float) -> Image:
    """Return a (header-only matters) colour image message."""
    return Image(header=header(t), height=H, width=W, encoding='bgr8', step=W * 3)


# --------------------------------------------------------------------------- messages
def test_status_constants_equal_keypoint3d_msg():
    assert (core_depth.VALID, core_depth.NO_DEPTH, core_depth.OUT_OF_RANGE,
            core_depth.OCCLUDED) == (Keypoint3D.VALID, Keypoint3D.NO_DEPTH,
                                     Keypoint3D.OUT_OF_RANGE, Keypoint3D.OCCLUDED)


def _result_and_3d():
    cam = camera('plumb_bob')
    truth = np.stack([person_3d(-0.4, -0.05, 2.5), person_3d(0.5, 0.0, 3.0)])
    kps = keypoints_for(cam, truth)
    depth = plane(W, H, 2.5)
    depth[:, W // 2 + 40:] = 3.0
    kps[1, 3, 2] = 0.0
    points, status = core_depth.lift_keypoints(kps, depth, cam)
    return PoseResult(kps, kps[:, :, 2].mean(axis=1), (H, W)), points, status, truth


def test_pose_array_carries_3d_in_the_depth_frame():
    result, points, status, truth = _result_and_3d()
    assert status[1, 3] == Keypoint3D.NO_DEPTH and (np.delete(status, 3, 1) == 0).all()
    depth_header = header(10.01, 'depth_optical')
    msg = conversions.result_to_pose_array(result, header(10.0), points_3d=points,
                                           status_3d=status, depth_header=depth_header)
    assert msg.header.frame_id == 'cam_optical' and msg.depth_header == depth_header
    for i, person in enumerate(msg.people):
        assert len(person.keypoints_3d) == PersonPose.NUM_KEYPOINTS
        got = np.array([[k.position.x, k.position.y, k.position.z]
                        for k in person.keypoints_3d])
        np.testing.assert_allclose(got, points[i], atol=1e-6, equal_nan=True)
        assert [k.status for k in person.keypoints_3d] == status[i].tolist()
        assert [k.score for k in person.keypoints_3d] == pytest.approx(
            result.keypoints[i, :, 2].tolist())
    assert math.isnan(msg.people[1].keypoints_3d[3].position.z)
    np.testing.assert_allclose(points[0], truth[0], atol=1e-4)
    plain = conversions.result_to_pose_array(result, header(10.0))
    assert all(len(p.keypoints_3d) == 0 for p in plain.people)
    assert plain.depth_header.frame_id == ''


def test_3d_markers_valid_joints_only_coloured_by_track_with_text():
    result, points, status, _ = _result_and_3d()
    status = status.copy()
    status[0, 9] = Keypoint3D.OCCLUDED  # left wrist: its elbow-wrist limb must go
    hdr = header(10.0, 'depth_optical')
    array = skeleton_markers_3d(points, status, hdr, track_ids=[7, -1])
    markers = array.markers
    assert markers[0].action == Marker.DELETEALL
    assert {m.header.frame_id for m in markers} == {'depth_optical'}
    by_key = {(m.ns, m.id): m for m in markers[1:]}
    assert set(by_key) == {('joints', 0), ('limbs', 0), (TRACK_IDS_NS, 0), ('joints', 1),
                           ('limbs', 1)}
    joints0 = np.array([[p.x, p.y, p.z] for p in by_key[('joints', 0)].points])
    np.testing.assert_allclose(joints0, np.delete(points[0], 9, axis=0), atol=1e-6)
    assert len(by_key[('joints', 1)].points) == 16
    limbs0 = by_key[('limbs', 0)].points
    assert len(limbs0) == 2 * 18  # 19 COCO edges, one touches the left wrist
    assert 2.4 < min(p.z for p in limbs0) and max(p.z for p in limbs0) < 2.6  # metres
    text = by_key[(TRACK_IDS_NS, 0)]
    assert text.type == Marker.TEXT_VIEW_FACING and text.text == '7'
    assert text.pose.position.y < points[0, :, 1][status[0] == 0].min()
    assert by_key[('joints', 0)].color == conversions.person_color(7)
    assert by_key[('joints', 1)].color == conversions.person_color(1)
    assert 0.01 < by_key[('joints', 0)].scale.x < 0.2
    clear = markers_3d_or_clear(None, header(10.0))
    assert [m.action for m in clear.markers] == [Marker.DELETEALL]


# --------------------------------------------------------------------- synchronisation
class _Pairs:
    """DepthPairs wired to plain filters, fed by hand."""

    def __init__(self, slop: float = SLOP) -> None:
        self.depth = message_filters.SimpleFilter()
        self.info = message_filters.SimpleFilter()
        self.pairs = DepthPairs(message_filters, self.depth, self.info, slop)

    def send(self, t: float, what: str = 'both') -> None:
        if what in ('both', 'depth'):
            self.depth.signalMessage(depth_msg(t, plane(4, 3, 2.0)))
        if what in ('both', 'info'):
            self.info.signalMessage(info_msg(t))


def _ns(t: float) -> int:
    return int(round(t * 1e9))


@needs_message_filters
def test_depth_early_within_slop_pairs_immediately():
    feed = _Pairs()
    feed.send(99.98)
    feed.pairs.add_colour(colour_msg(100.0))
    started = time.monotonic()
    pair = feed.pairs.take(_ns(100.0), timeout=5.0)
    assert time.monotonic() - started < 1.0
    assert pair is not None and pair[0].header.stamp == header(99.98).stamp


@needs_message_filters
def test_depth_late_within_slop_is_waited_for():
    feed = _Pairs()
    feed.send(99.0)  # an earlier set: the depth stream is running
    feed.pairs.add_colour(colour_msg(100.0))
    timer = threading.Timer(0.2, feed.send, args=(100.03,))
    timer.start()
    try:
        pair = feed.pairs.take(_ns(100.0), timeout=3.0)
    finally:
        timer.join()
    assert pair is not None and pair[0].header.stamp == header(100.03).stamp


@needs_message_filters
@pytest.mark.parametrize('offset', [-0.2, 0.08])
def test_depth_beyond_slop_gives_no_pair_and_says_why(offset):
    feed = _Pairs()
    feed.send(100.0 + offset)
    feed.pairs.add_colour(colour_msg(100.0))
    assert feed.pairs.take(_ns(100.0), timeout=0.1) is None
    reason = feed.pairs.why_missing(_ns(100.0))
    assert f'{offset:+.3f} s from the colour stamp' in reason and 'depth_slop=0.05' in reason


@needs_message_filters
def test_missing_depth_or_info_returns_at_once_with_the_reason():
    feed = _Pairs()
    feed.pairs.add_colour(colour_msg(100.0))
    started = time.monotonic()
    assert feed.pairs.take(_ns(100.0), timeout=5.0) is None
    assert time.monotonic() - started < 0.5  # no depth stream: no waiting
    assert feed.pairs.why_missing(_ns(100.0)) == 'no depth image received yet'
    feed.send(100.0, 'depth')
    assert feed.pairs.take(_ns(100.0), timeout=0.1) is None
    assert feed.pairs.why_missing(_ns(100.0)) == 'no camera_info received yet'
    feed.send(101.0, 'info')  # camera_info with stamps that never match the depth
    feed.send(101.5, 'depth')
    feed.pairs.add_colour(colour_msg(101.5))
    assert feed.pairs.take(_ns(101.5), timeout=0.1) is None
    assert 'camera_info stamps differ from the depth stamps by -0.500 s' in \
        feed.pairs.why_missing(_ns(101.5))


@needs_message_filters
def test_each_depth_pairs_once_and_the_table_is_bounded():
    feed = _Pairs()
    for k in range(20):
        t = 100.0 + k / 30
        feed.send(t)
        feed.pairs.add_colour(colour_msg(t))
    assert feed.pairs.take(_ns(100.0), timeout=0.0) is None  # evicted (capacity 8)
    t = 100.0 + 19 / 30
    assert feed.pairs.take(_ns(t), timeout=0.0) is not None
    assert feed.pairs.take(_ns(t), timeout=0.0) is None


@needs_message_filters
def test_a_claimed_frame_keeps_its_depth_while_the_model_runs():
    feed = _Pairs()
    feed.send(100.0)
    feed.pairs.add_colour(colour_msg(100.0))
    feed.pairs.claim(_ns(100.0))            # set already there
    feed.pairs.add_colour(colour_msg(101.0))
    feed.pairs.claim(_ns(101.0))            # set still to come; replaces the older claim
    feed.send(101.0)
    for k in range(1, 30):                  # the camera runs on while the model works
        t = 101.0 + k / 30
        feed.send(t)
        feed.pairs.add_colour(colour_msg(t))
    pair = feed.pairs.take(_ns(101.0), timeout=0.0)
    assert pair is not None and pair[0].header.stamp == header(101.0).stamp
    assert feed.pairs.take(_ns(100.0), timeout=0.0) is None


# ------------------------------------------------------------------------- node glue
class _FakeSub:
    def __init__(self, topic: str) -> None:
        self.topic_name = '/' + topic


class _Logger:
    def __init__(self) -> None:
        self.lines = []

    def warning(self, text: str) -> None:
        self.lines.append(text)


class _FakeNode:
    """Enough of a node for ``message_filters.Subscriber`` and :class:`DepthInput`."""

    def __init__(self) -> None:
        self.logger = _Logger()

    def create_subscription(self, msg_type, topic, callback, qos_profile, **kwargs):
        return _FakeSub(topic)

    def destroy_subscription(self, sub) -> None:
        pass

    def get_logger(self) -> _Logger:
        return self.logger


def _lift(depth_in, hdr, result, cfg):
    """Run one frame of ``result`` through the pipeline with ``depth_in``'s depth."""
    pipeline = FramePipeline(pipeline_config(cfg), lambda image, color: result)
    frame = pipeline(np.zeros((H, W, 3), np.uint8), stamp_ns(hdr.stamp),
                     lambda: depth_in.take(hdr, cfg))
    depth_in.report(frame)
    return frame.points_3d


def _depth_input(**cfg):
    node = _FakeNode()
    config = NodeConfig(weights='random', use_depth=True, depth_slop=SLOP, **cfg)
    return node, DepthInput(node, config, import_message_filters()), config


@needs_message_filters
@pytest.mark.parametrize('encoding', ['16UC1', '32FC1'])
def test_depth_input_lifts_a_synchronised_frame(encoding):
    node, depth_in, cfg = _depth_input()
    result, _, _, truth = _result_and_3d()
    depth = plane(W, H, 2.5)
    depth[:, W // 2 + 40:] = 3.0
    depth_in._depth_sub.signalMessage(depth_msg(5.01, depth, encoding, 'depth_optical'))
    depth_in._info_sub.signalMessage(info_msg(5.01, frame='depth_optical'))
    depth_in.on_colour(colour_msg(5.0))
    lifted = _lift(depth_in, header(5.0), result, cfg)
    assert lifted is not None and lifted.header.frame_id == 'depth_optical'
    valid = lifted.status == 0
    assert valid.sum() == 33
    error = np.linalg.norm(lifted.points - truth, axis=2)[valid]
    assert error.max() < (1e-3 if encoding == '16UC1' else 1e-4)
    values = depth_in.diagnostic_values()
    assert values['depth.frames_3d'] == 1 and values['depth.missing_reason'] == 'none'
    assert values['depth.topics'] == '/depth/image_raw + /depth/camera_info'
    assert depth_in.warning() is None and not node.logger.lines


@needs_message_filters
def test_depth_input_missing_depth_is_logged_rate_limited_and_in_diagnostics():
    node, depth_in, cfg = _depth_input()
    result, _, _, _ = _result_and_3d()
    for k in range(5):
        depth_in.on_colour(colour_msg(6.0 + k))
        assert _lift(depth_in, header(6.0 + k), result, cfg) is None
    assert node.logger.lines == ['publishing 2D only: no depth image received yet']
    values = depth_in.diagnostic_values()
    assert values['depth.frames_2d_only'] == 5 and values['depth.frames_3d'] == 0
    assert values['depth.missing_reason'] == 'no depth image received yet'
    assert depth_in.warning() == 'no 3D: no depth image received yet'


@needs_message_filters
def test_depth_input_size_mismatch_and_bad_camera_info_are_reported():
    node, depth_in, cfg = _depth_input()
    result, _, _, _ = _result_and_3d()
    depth_in._depth_sub.signalMessage(depth_msg(7.0, plane(320, 240, 2.0)))
    depth_in._info_sub.signalMessage(info_msg(7.0, width=320, height=240))
    depth_in.on_colour(colour_msg(7.0))
    assert _lift(depth_in, header(7.0), result, cfg) is None
    assert 'depth image is 320x240 but the colour image is 640x480' in \
        depth_in.diagnostic_values()['depth.missing_reason']
    bad = info_msg(8.0)
    bad.k = [0.0] * 9
    depth_in._depth_sub.signalMessage(depth_msg(8.0, plane(W, H, 2.0)))
    depth_in._info_sub.signalMessage(bad)
    depth_in.on_colour(colour_msg(8.0))
    assert _lift(depth_in, header(8.0), result, cfg) is None
    assert 'focal length' in node.logger.lines[-1]


def test_camera_model_from_info_message():
    info = info_msg(1.0, 'equidistant')
    cam = camera_model_from_info(info)
    assert cam.distortion_model == 'equidistant' and (cam.width, cam.height) == (W, H)
    np.testing.assert_allclose(cam.d, CAMERAS['equidistant'][1])


@needs_message_filters
@pytest.mark.parametrize('stale', ['depth', 'colour'])
def test_stamps_jumping_back_restart_the_synchronisation(stale):
    """A looping bag or a restarted camera: stamps far in the past of the queued ones."""
    feed = _Pairs()
    for k in range(12):                    # 12 sets, one input 1000 s ahead of the others
        t = 100.0 + k / 30
        if stale == 'depth':
            feed.send(t + 1000.0)
            feed.pairs.add_colour(colour_msg(t))
        else:
            feed.send(t)
            feed.pairs.add_colour(colour_msg(t + 1000.0))
    for k in range(5):                     # then a consistent stream from an earlier time
        t = 50.0 + k / 30
        feed.send(t)
        feed.pairs.add_colour(colour_msg(t))
    pair = feed.pairs.take(_ns(50.0 + 4 / 30), timeout=0.0)
    assert pair is not None and pair[0].header.stamp == header(50.0 + 4 / 30).stamp
    assert feed.pairs.restarts >= 1
