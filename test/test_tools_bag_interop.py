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


"""Bags written by ``logocap-offline`` (rosbags) against the colcon-built ROS 2 messages."""

import json
from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from builtin_interfaces.msg import Time
from logocap_ros.core.result import PoseResult
from logocap_ros.msg import PersonPoseArray
from logocap_ros.tools import bag_io
import numpy as np
import pytest
from rclpy.serialization import deserialize_message
from std_msgs.msg import Header

pytestmark = pytest.mark.ros

TYPES = ('PersonPoseArray', 'PersonPose', 'Keypoint2D', 'Keypoint3D', 'BoundingBox2D',
         'SkeletonInfo')


def test_rosbags_serialised_poses_deserialise_with_rclpy():
    store = bag_io.logocap_typestore()
    types = store.types
    header = types['std_msgs/msg/Header'](
        stamp=types['builtin_interfaces/msg/Time'](sec=1700000000, nanosec=123456789),
        frame_id='camera_optical_frame')
    kps = np.random.default_rng(0).random((2, 17, 3)).astype(np.float32) * 100
    result = PoseResult(kps, [0.5, 0.25], (480, 640))
    raw = store.serialize_cdr(bag_io.poses_message(store, result, header), bag_io.POSES_TYPE)
    msg = deserialize_message(bytes(raw), PersonPoseArray)
    assert msg.header == Header(stamp=Time(sec=1700000000, nanosec=123456789),
                                frame_id='camera_optical_frame')
    assert (msg.image_width, msg.image_height) == (640, 480)
    assert [p.score for p in msg.people] == [0.5, 0.25]
    for person, pose in zip(msg.people, kps):
        assert person.track_id == -1 and list(person.keypoints_3d) == []
        got = np.array([[k.x, k.y, k.score] for k in person.keypoints], np.float32)
        np.testing.assert_array_equal(got, pose)
        assert person.bbox.x_max == pytest.approx(pose[:, 0].max())


def test_type_hashes_match_rosidl():
    store = bag_io.logocap_typestore()
    share = Path(get_package_share_directory('logocap_ros')) / 'msg'
    for name in TYPES:
        description = json.loads((share / f'{name}.json').read_text())
        expected = {h['type_name']: h['hash_string'] for h in description['type_hashes']}
        assert store.hash_rihs01(f'logocap_ros/msg/{name}') == \
            expected[f'logocap_ros/msg/{name}'], name
