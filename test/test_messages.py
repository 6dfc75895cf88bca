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

"""The colcon-built messages: import, constants vs. the core layout, serialization, DDS."""

import math
import time

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from logocap_ros.core import keypoints as kp
from logocap_ros.msg import (BoundingBox2D, Keypoint2D, Keypoint3D, PersonPose,
                             PersonPoseArray, SkeletonInfo)
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.serialization import deserialize_message, serialize_message
from rosidl_adapter.parser import parse_message_file
from std_msgs.msg import Header

pytestmark = pytest.mark.ros


def _person(seed: int, with_3d: bool = False) -> PersonPose:
    """Build a PersonPose whose every field depends on ``seed`` (exactly representable floats)."""
    person = PersonPose(track_id=seed - 1, score=0.25 * seed)
    person.bbox = BoundingBox2D(x_min=1.0 * seed, y_min=2.0, x_max=300.5, y_max=400.25)
    for i in range(kp.NUM_KEYPOINTS):
        person.keypoints[i] = Keypoint2D(x=10.0 * i + seed, y=5.5 * i, score=i / 32.0)
    if with_3d:
        person.keypoints_3d = [
            Keypoint3D(position=Point(x=0.125 * i, y=-0.5, z=2.0 + i), score=i / 64.0,
                       status=Keypoint3D.VALID)
            for i in range(kp.NUM_KEYPOINTS)]
        person.keypoints_3d[4] = Keypoint3D(
            position=Point(x=math.nan, y=math.nan, z=math.nan), status=Keypoint3D.NO_DEPTH)
    return person


def _pose_array() -> PersonPoseArray:
    header = Header(stamp=Time(sec=1700000000, nanosec=123456789), frame_id='camera_optical')
    return PersonPoseArray(header=header, image_width=640, image_height=480,
                           people=[_person(1), _person(2, with_3d=True)])


def test_msg_file_constants_match_core_layout(repo_root):
    spec = parse_message_file('logocap_ros', str(repo_root / 'msg' / 'PersonPose.msg'))
    constants = {c.name: c.value for c in spec.constants}
    names = [name.upper() for name in kp.KEYPOINT_NAMES]
    assert [c.name for c in spec.constants if c.type == 'uint8'] == names + ['NUM_KEYPOINTS']
    assert [constants[name] for name in names] == list(range(kp.NUM_KEYPOINTS))
    assert constants['NUM_KEYPOINTS'] == kp.NUM_KEYPOINTS == len(kp.KEYPOINT_NAMES)
    assert constants['NO_TRACK'] == -1


def test_generated_constants_match_core_layout():
    for index, name in enumerate(kp.KEYPOINT_NAMES):
        assert getattr(PersonPose, name.upper()) == index
    assert PersonPose.NUM_KEYPOINTS == kp.NUM_KEYPOINTS
    statuses = [Keypoint3D.VALID, Keypoint3D.NO_DEPTH, Keypoint3D.OUT_OF_RANGE,
                Keypoint3D.OCCLUDED]
    assert len(set(statuses)) == 4


def test_keypoints_array_is_fixed_size_17():
    fields = PersonPose.get_fields_and_field_types()
    assert fields['keypoints'] == f'logocap_ros/Keypoint2D[{kp.NUM_KEYPOINTS}]'
    assert fields['keypoints_3d'] == 'sequence<logocap_ros/Keypoint3D>'
    # Kilted and later check field values only on request (Humble always does). Serializing a
    # keypoints array of the wrong length crashes the process, so publishers must fill all 17.
    checked = {'check_fields': True} if '_check_fields' in PersonPose.__slots__ else {}
    person = PersonPose(**checked)
    assert len(person.keypoints) == kp.NUM_KEYPOINTS
    with pytest.raises(AssertionError):
        person.keypoints = [Keypoint2D()] * (kp.NUM_KEYPOINTS - 1)
    assert len(PersonPose().keypoints_3d) == 0


def test_person_pose_array_round_trip():
    original = _pose_array()
    data = serialize_message(original)
    assert isinstance(data, bytes) and len(data) > 2 * kp.NUM_KEYPOINTS * 12
    copy = deserialize_message(data, PersonPoseArray)
    assert copy.header == original.header
    assert (copy.image_width, copy.image_height) == (640, 480)
    assert copy.people[0] == original.people[0]
    second, want = copy.people[1], original.people[1]
    assert second.keypoints == want.keypoints and second.bbox == want.bbox
    assert [k.status for k in second.keypoints_3d] == [k.status for k in want.keypoints_3d]
    assert math.isnan(second.keypoints_3d[4].position.z)
    assert second.keypoints_3d[16].position == Point(x=2.0, y=-0.5, z=18.0)


def test_skeleton_info_round_trip():
    edges = [i for edge in kp.SKELETON_EDGES for i in edge]
    info = SkeletonInfo(format=kp.FORMAT, keypoint_names=list(kp.KEYPOINT_NAMES), edges=edges,
                        oks_sigmas=list(kp.OKS_SIGMAS), method='test', keypoint_threshold=0.1)
    copy = deserialize_message(serialize_message(info), SkeletonInfo)
    assert list(copy.keypoint_names) == list(kp.KEYPOINT_NAMES)
    assert list(copy.edges) == edges
    assert copy.oks_sigmas.tolist() == pytest.approx(kp.OKS_SIGMAS, abs=1e-7)
    assert copy.format == 'coco17'


def test_publish_subscribe_over_dds(ros_domain_id):
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    received = []
    try:
        node = rclpy.create_node('logocap_msg_test', context=context)
        pub = node.create_publisher(PersonPoseArray, 'poses', 10)
        node.create_subscription(PersonPoseArray, 'poses', received.append, 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        sent = _pose_array()
        deadline = time.monotonic() + 20.0
        while not received and time.monotonic() < deadline:
            pub.publish(sent)
            executor.spin_once(timeout_sec=0.1)
        executor.shutdown()
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
    assert received, 'no PersonPoseArray came back within 20 s'
    assert received[0].people[0] == sent.people[0]
    assert received[0].header.frame_id == 'camera_optical'
