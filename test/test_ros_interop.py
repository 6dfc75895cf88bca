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

"""vision_msgs / REP-155 conversions against hand-computed values; bridge bookkeeping in-process.

Needs the real ``vision_msgs`` and ``hri_msgs`` (the dev environment builds them).
"""

try:  # optional ROS 2 packages: without them this module is skipped, naming them
    import hri_msgs  # noqa: F401
    import vision_msgs  # noqa: F401
except ImportError as exc:
    from optional_ros import skip_missing
    skip_missing(exc)

import random
import sys
from types import SimpleNamespace

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from hri_msgs.msg import IdsList, Skeleton2D
from interop_scenario import frame
from logocap_ros.core.keypoints import KEYPOINT_NAMES
from logocap_ros.msg import BoundingBox2D, Keypoint2D, Keypoint3D, PersonPose, PersonPoseArray
from logocap_ros.ros import interop, skeleton_maps
from logocap_ros.ros.hri_bridge import (auto_body_id_prefix, body_roi, HriBridge, skeleton2d,
                                        skeleton2d_messages)
from logocap_ros.ros.parameters import NodeConfig
from logocap_ros.ros.qos import output_qos
from logocap_ros.ros.startup import StartupError
from logocap_ros.ros.vision_bridge import (detection_id, has_3d, header_3d,
                                           pose_array_to_detections,
                                           pose_array_to_detections_3d)
import numpy as np
import pytest
import rclpy
from ros_helpers import wait_until
from std_msgs.msg import Header

pytestmark = pytest.mark.ros

HEADER = Header(stamp=Time(sec=42, nanosec=9), frame_id='cam_optical')
# Skeleton2D slot -> x [px] of the test keypoints below (COCO joint i at x = 10 i); NECK is the
# shoulders' midpoint (50 + 60) / 2.
EXPECTED_X = [0, 55, 60, 80, 100, 50, 70, 90, 120, 140, 160, 110, 130, 150, 10, 20, 30, 40]


def coco_keypoints() -> np.ndarray:
    """COCO joint i at (10 i, 100 + 2 i) px with score 0.5 + 0.02 i."""
    i = np.arange(17, dtype=np.float64)
    return np.stack([10 * i, 100 + 2 * i, 0.5 + 0.02 * i], axis=1)


def pose_msg(kps: np.ndarray, track_id: int = 3, score: float = 0.7,
             box=(100.0, 50.0, 260.0, 130.0)) -> PersonPose:
    person = PersonPose(track_id=track_id, score=score)
    person.keypoints = [Keypoint2D(x=x, y=y, score=s) for x, y, s in kps.tolist()]
    person.bbox = BoundingBox2D(x_min=box[0], y_min=box[1], x_max=box[2], y_max=box[3])
    return person


# ------------------------------------------------------------------ skeleton mapping

def test_slot_constants_equal_hri_msgs_skeleton2d():
    for slot, name in enumerate(skeleton_maps.OPENPOSE18_NAMES):
        assert getattr(Skeleton2D, name.upper()) == slot
    assert skeleton_maps.NECK == Skeleton2D.NECK
    assert len(Skeleton2D().skeleton) == len(skeleton_maps.OPENPOSE18_NAMES) == 18


def test_coco_index_of_every_slot_matches_the_joint_names():
    for slot, coco in enumerate(skeleton_maps.COCO17_FOR_OPENPOSE18):
        name = skeleton_maps.OPENPOSE18_NAMES[slot]
        assert coco == (-1 if name == 'neck' else KEYPOINT_NAMES.index(name)), name


def test_coco17_to_openpose18_hand_computed():
    out = skeleton_maps.coco17_to_openpose18(coco_keypoints())
    assert out.shape == (18, 3)
    assert out[:, 0].tolist() == EXPECTED_X
    assert out[Skeleton2D.NECK].tolist() == pytest.approx([55.0, 111.0, 0.60])
    assert out[Skeleton2D.RIGHT_SHOULDER].tolist() == pytest.approx([60.0, 112.0, 0.62])
    assert out[Skeleton2D.LEFT_EAR].tolist() == pytest.approx([30.0, 106.0, 0.56])
    assert out[Skeleton2D.RIGHT_ANKLE].tolist() == pytest.approx([160.0, 132.0, 0.82])
    with pytest.raises(ValueError, match=r'17, 3\)'):
        skeleton_maps.coco17_to_openpose18(np.zeros((18, 3)))


def test_many_people_at_once_equal_one_at_a_time():
    first, second = coco_keypoints(), coco_keypoints()[::-1].copy()
    second[6, 2] = np.nan
    both = skeleton_maps.normalised_skeleton(np.stack([first, second]), 320, 240)
    assert both.shape == (2, 18, 3)
    np.testing.assert_array_equal(both[0], skeleton_maps.normalised_skeleton(first, 320, 240))
    np.testing.assert_array_equal(both[1], skeleton_maps.normalised_skeleton(second, 320, 240))
    assert both[1, Skeleton2D.NECK].tolist() == [0.0, 0.0, 0.0]
    msgs = skeleton2d_messages([pose_msg(first), pose_msg(second)], 320, 240, HEADER)
    for msg, want in zip(msgs, both):
        np.testing.assert_allclose([(q.x, q.y, q.c) for q in msg.skeleton], want, rtol=1e-6)
    assert skeleton2d_messages([], 320, 240, HEADER) == []


def test_neck_confidence_is_the_smaller_shoulder_score():
    kps = coco_keypoints()
    kps[5, 2], kps[6, 2] = 0.9, 0.3
    assert skeleton_maps.coco17_to_openpose18(kps)[Skeleton2D.NECK, 2] == pytest.approx(0.3)
    kps[5, 2], kps[6, 2] = 0.2, 0.8
    assert skeleton_maps.coco17_to_openpose18(kps)[Skeleton2D.NECK, 2] == pytest.approx(0.2)


def test_normalisation_uses_pixel_corners_and_clips():
    xy = skeleton_maps.normalise_xy(np.array([[319.5, 239.5], [-0.5, -0.5], [-3.0, 700.0],
                                              [639.5, 10.0]]), 640, 480)
    np.testing.assert_allclose(xy, [[0.5, 0.5], [0.0, 0.0], [0.0, 1.0], [1.0, 10.5 / 480]])
    with pytest.raises(ValueError, match='positive'):
        skeleton_maps.normalise_xy(np.zeros(2), 0, 480)
    assert skeleton_maps.normalised_box((-0.5, 9.5, 319.5, 479.5), 640, 480) == \
        pytest.approx((0.0, 10 / 480, 0.5, 1.0))


def test_normalised_skeleton_clips_scores_and_zeroes_non_finite_joints():
    kps = coco_keypoints()
    kps[0, 2], kps[1, 2] = 1.3, -0.2
    kps[16] = np.nan                       # right ankle
    points = skeleton_maps.normalised_skeleton(kps, 320, 240)
    assert points[Skeleton2D.NOSE].tolist() == pytest.approx([0.5 / 320, 100.5 / 240, 1.0])
    assert points[Skeleton2D.LEFT_EYE, 2] == 0.0
    assert points[Skeleton2D.RIGHT_ANKLE].tolist() == [0.0, 0.0, 0.0]
    assert points[Skeleton2D.NECK].tolist() == pytest.approx([55.5 / 320, 111.5 / 240, 0.60])
    kps[6, 0] = np.nan                     # right shoulder: no neck either
    points = skeleton_maps.normalised_skeleton(kps, 320, 240)
    assert points[Skeleton2D.NECK].tolist() == [0.0, 0.0, 0.0]
    assert points[Skeleton2D.RIGHT_SHOULDER].tolist() == [0.0, 0.0, 0.0]


# ------------------------------------------------------------------------ hri_msgs

def test_skeleton2d_message():
    msg = skeleton2d(pose_msg(coco_keypoints()), 320, 240, HEADER)
    assert msg.header.stamp.sec == 42 and msg.header.frame_id == 'cam_optical'
    assert len(msg.skeleton) == 18
    neck = msg.skeleton[Skeleton2D.NECK]
    assert (neck.x, neck.y, neck.c) == pytest.approx((55.5 / 320, 111.5 / 240, 0.60))
    wrist = msg.skeleton[Skeleton2D.LEFT_WRIST]
    assert (wrist.x, wrist.y, wrist.c) == pytest.approx((90.5 / 320, 118.5 / 240, 0.68))


def test_body_roi_message():
    roi = body_roi(pose_msg(coco_keypoints(), score=1.4), 640, 480, HEADER)
    assert roi.header.stamp.nanosec == 9
    assert (roi.xmin, roi.ymin, roi.xmax, roi.ymax) == pytest.approx(
        (100.5 / 640, 50.5 / 480, 260.5 / 640, 130.5 / 480))
    assert roi.c == 1.0


def test_auto_body_id_prefix_is_short_and_starts_with_a_letter():
    prefix = auto_body_id_prefix(random.Random(1))
    assert len(prefix) == 5 and prefix[:4].isalpha() and prefix[:4].islower()
    assert prefix.endswith('_')
    assert prefix == auto_body_id_prefix(random.Random(1))
    assert len({auto_body_id_prefix() for _ in range(20)}) > 1


# ---------------------------------------------------------------------- vision_msgs

def test_detections_hand_computed():
    msg = PersonPoseArray(header=HEADER, image_width=640, image_height=480)
    msg.people = [pose_msg(coco_keypoints(), track_id=7, score=0.7),
                  pose_msg(coco_keypoints(), track_id=-1, score=0.25,
                           box=(10.0, 20.0, 11.0, 60.0))]
    dets = pose_array_to_detections(msg)
    assert dets.header.stamp.sec == 42 and dets.header.frame_id == 'cam_optical'
    assert [d.id for d in dets.detections] == ['7', '']
    first, second = dets.detections
    assert first.header.frame_id == 'cam_optical'
    assert (first.bbox.center.position.x, first.bbox.center.position.y) == (180.0, 90.0)
    assert (first.bbox.size_x, first.bbox.size_y, first.bbox.center.theta) == (160.0, 80.0, 0.0)
    assert (second.bbox.center.position.x, second.bbox.center.position.y) == (10.5, 40.0)
    assert (second.bbox.size_x, second.bbox.size_y) == (1.0, 40.0)
    assert [len(d.results) for d in dets.detections] == [1, 1]
    assert first.results[0].hypothesis.class_id == 'person'
    assert first.results[0].hypothesis.score == pytest.approx(0.7)
    assert second.results[0].hypothesis.score == pytest.approx(0.25)
    assert pose_array_to_detections(PersonPoseArray(header=HEADER)).detections == []
    assert (detection_id(0), detection_id(12), detection_id(-1)) == ('0', '12', '')


def keypoint_3d(x: float, y: float, z: float, status: int) -> Keypoint3D:
    return Keypoint3D(position=Point(x=x, y=y, z=z), score=0.8, status=status)


def test_detections_3d_use_only_valid_joints():
    nan = float('nan')
    person = pose_msg(coco_keypoints(), track_id=4, score=0.6)
    person.keypoints_3d = [keypoint_3d(1.0, 2.0, 3.0, Keypoint3D.VALID),
                           keypoint_3d(2.0, 0.0, 5.0, Keypoint3D.VALID),
                           keypoint_3d(1.5, 1.0, 4.0, Keypoint3D.VALID),
                           keypoint_3d(10.0, 10.0, 10.0, Keypoint3D.OCCLUDED),
                           keypoint_3d(-9.0, 9.0, 0.2, Keypoint3D.OUT_OF_RANGE)] + \
        [keypoint_3d(nan, nan, nan, Keypoint3D.NO_DEPTH)] * 12
    no_valid = pose_msg(coco_keypoints(), track_id=-1)
    no_valid.keypoints_3d = [keypoint_3d(nan, nan, nan, Keypoint3D.NO_DEPTH)] * 17
    msg = PersonPoseArray(header=HEADER, image_width=640, image_height=480,
                          people=[no_valid, person])
    dets = pose_array_to_detections_3d(msg)
    assert dets.header.frame_id == 'cam_optical' and dets.header.stamp.sec == 42
    assert len(dets.detections) == 1
    det = dets.detections[0]
    assert det.id == '4' and det.header.frame_id == 'cam_optical'
    c, s = det.bbox.center, det.bbox.size
    assert (c.position.x, c.position.y, c.position.z) == (1.5, 1.0, 4.0)
    assert (c.orientation.x, c.orientation.y, c.orientation.z, c.orientation.w) == (0, 0, 0, 1)
    assert (s.x, s.y, s.z) == (1.0, 2.0, 2.0)
    hyp = det.results[0]
    assert hyp.hypothesis.class_id == 'person' and hyp.hypothesis.score == pytest.approx(0.6)
    assert hyp.pose.pose.position.z == 4.0
    depth = Header(stamp=Time(sec=41), frame_id='depth_optical')
    assert pose_array_to_detections_3d(msg, depth).header == depth
    assert pose_array_to_detections_3d(msg).detections[0].header == HEADER


def test_3d_header_is_the_depth_header_when_set():
    depth = Header(stamp=Time(sec=41), frame_id='depth_optical')
    person = pose_msg(coco_keypoints())
    with_depth = SimpleNamespace(header=HEADER, depth_header=depth, people=[])
    unset = SimpleNamespace(header=HEADER, depth_header=Header(), people=[])
    older = SimpleNamespace(header=HEADER, people=[person])  # a message without the field
    assert header_3d(with_depth) is depth and has_3d(with_depth)
    assert header_3d(unset) is HEADER and not has_3d(unset)
    assert header_3d(older) is HEADER and not has_3d(older)
    person.keypoints_3d = [keypoint_3d(1.0, 1.0, 1.0, Keypoint3D.VALID)] * 17
    assert has_3d(older) and has_3d(SimpleNamespace(header=HEADER, depth_header=Header(),
                                                    people=[person]))


# ------------------------------------------------------- parameters and dependencies

@pytest.mark.parametrize('name, value, ok', [
    ('hri_prefix', '/humans', True), ('hri_prefix', 'humans', True),
    ('hri_prefix', '/robot/humans_front', True), ('hri_prefix', '', False),
    ('hri_prefix', '/humans/', False), ('hri_prefix', '/1humans', False),
    ('hri_prefix', '/hu mans', False), ('hri_body_id_prefix', '', True),
    ('hri_body_id_prefix', 'front_', True), ('hri_body_id_prefix', 'cam2', True),
    ('hri_body_id_prefix', '2cam', False), ('hri_body_id_prefix', 'a/b', False),
])
def test_interop_parameters_are_validated(name, value, ok):
    cfg = NodeConfig(**{name: value})
    if ok:
        cfg.validate([name])
    else:
        with pytest.raises(ValueError, match=name):
            cfg.validate([name])


@pytest.mark.parametrize('parameter, package', [('publish_detections', 'vision_msgs'),
                                                ('hri_enable', 'hri_msgs')])
def test_missing_package_fails_with_one_line_naming_it(monkeypatch, parameter, package):
    cfg = NodeConfig(**{parameter: True})
    interop.require_packages(cfg)                       # installed here: no error
    monkeypatch.setitem(sys.modules, f'{package}.msg', None)  # what a missing package gives
    with pytest.raises(StartupError) as info:
        interop.require_packages(cfg)
    text = str(info.value)
    assert '\n' not in text and package in text and f'{parameter}:=false' in text
    assert 'ros-$ROS_DISTRO-' + package.replace('_', '-') in text
    interop.require_packages(NodeConfig())              # feature off: never imported


# ------------------------------------------------------------ bridge bookkeeping

@pytest.fixture
def ros_node():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('interop_unit', context=context)
    yield node
    node.destroy_node()
    rclpy.shutdown(context=context)


def own_topics(node) -> set:
    return {name for name, _ in
            node.get_publisher_names_and_types_by_node(node.get_name(), node.get_namespace())}


def test_bridge_creates_and_destroys_body_publishers_with_live_ids(ros_node):
    tracked = []
    ros_node.create_subscription(IdsList, '/humans_unit/bodies/tracked', tracked.append, 10)
    bridge = HriBridge(ros_node, output_qos(), '/humans_unit', 'cam_')
    assert bridge.tracked_topic == '/humans_unit/bodies/tracked'
    body_topics = {f'/humans_unit/bodies/cam_{i}/{t}' for i in (0, 1, 2)
                   for t in ('skeleton2d', 'roi')}

    def bodies():
        return own_topics(ros_node) & body_topics

    expected = {0: {0, 1}, 1: {0, 1}, 2: {0, 1}, 3: {1, 2}, 4: {2}, 5: set()}
    for k, live in expected.items():
        bridge.update(*frame(k))
        assert bridge.live_track_ids == sorted(live)
        want = {f'/humans_unit/bodies/cam_{i}/{t}' for i in live for t in ('skeleton2d', 'roi')}
        assert wait_until(lambda: bodies() == want, 5), (k, bodies())
    bridge.update(*frame(1))
    assert wait_until(lambda: len(bodies()) == 4, 5)
    bridge.reset()
    assert bridge.live_track_ids == [] and wait_until(lambda: not bodies(), 5)
    bridge.destroy()
    assert wait_until(lambda: '/humans_unit/bodies/tracked' not in own_topics(ros_node), 5)
    assert bridge.body_id(12) == 'cam_12'


def test_interop_outputs_off_creates_nothing(ros_node):
    before = own_topics(ros_node)
    outputs = interop.InteropOutputs(ros_node, NodeConfig(), output_qos())
    outputs.update(*frame(0))
    assert outputs.describe() == [] and own_topics(ros_node) == before
    outputs.reset()
    outputs.destroy()


def test_relative_prefix_follows_the_node_namespace():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('interop_ns', namespace='/front', context=context)
    try:
        bridge = HriBridge(node, output_qos(), 'humans', 'f_')
        assert bridge.tracked_topic == '/front/humans/bodies/tracked'
        bridge.update(*frame(0))
        assert wait_until(lambda: '/front/humans/bodies/f_1/skeleton2d' in own_topics(node), 5)
        bridge.destroy()
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)


def test_second_publisher_of_tracked_is_warned_once(ros_node, capfd):
    other = rclpy.create_node('interop_other', namespace='/rear', context=ros_node.context)
    try:
        mine = HriBridge(ros_node, output_qos(), '/humans_dup', 'a_')
        theirs = HriBridge(other, output_qos(), '/humans_dup', 'b_')
        lonely = HriBridge(ros_node, output_qos(), '/humans_alone', 'c_')

        def updated():
            mine.update(*frame(0))
            return mine.shared_with
        assert wait_until(updated, 10)
        assert mine.shared_with == ['/rear/interop_other']
        for _ in range(3):
            mine.update(*frame(1))
            lonely.update(*frame(1))
        assert lonely.shared_with == []
        err = capfd.readouterr().err
        assert err.count('/rear/interop_other also publish(es) /humans_dup/bodies/tracked') == 1
        assert 'hri_prefix:=/humans_front' in err
        for bridge in (mine, theirs, lonely):
            bridge.destroy()
    finally:
        other.destroy_node()
