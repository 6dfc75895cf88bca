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

"""A scripted sequence of filled ``poses`` messages with track ids and live ids (test data).

Shared by ``interop_driver.py`` (which publishes it through the interop bridges) and the tests
(which compute what must arrive). Frame ``k`` has stamp ``FIRST_SEC + k`` s:

==== ================================== ==========
k    people (track ids; -1 = tentative) live ids
==== ================================== ==========
0    0, 1, -1                           {0, 1}
1    0, 1, -1                           {0, 1}
2    1, -1   (track 0 lost, still kept) {0, 1}
3    1, 2    (track 0 removed)          {1, 2}
4    2       (track 1 removed)          {2}
5    none                               {}
==== ================================== ==========

Every tracked person has 3D keypoints: joints 0..9 VALID, 10..16 NO_DEPTH (NaN); the tentative
person has none VALID. Where ``PersonPoseArray`` has ``depth_header`` (the depth feature), every
frame sets it (frame ``DEPTH_FRAME_ID``, stamp nanosec 8), as the node does with depth on.
"""

from typing import FrozenSet, List, Tuple

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from logocap_ros.core.keypoints import KEYPOINT_NAMES
from logocap_ros.msg import BoundingBox2D, Keypoint2D, Keypoint3D, PersonPose, PersonPoseArray
from logocap_ros.ros.skeleton_maps import OPENPOSE18_NAMES
import numpy as np
from std_msgs.msg import Header

WIDTH, HEIGHT = 640, 480
FRAME_ID = 'cam_interop'
DEPTH_FRAME_ID = 'depth_interop'
FIRST_SEC = 100
HAS_DEPTH_HEADER = hasattr(PersonPoseArray(), 'depth_header')
#: (people as (track id, x0, y0, score), live ids) per frame
FRAMES: List[Tuple[List[Tuple[int, float, float, float]], FrozenSet[int]]] = [
    ([(0, 20.0, 30.0, 0.8), (1, 300.0, 60.0, 0.7), (-1, 500.0, 300.0, 0.3)], frozenset({0, 1})),
    ([(0, 25.0, 32.0, 0.8), (1, 305.0, 61.0, 0.7), (-1, 500.0, 300.0, 0.3)], frozenset({0, 1})),
    ([(1, 310.0, 62.0, 0.75), (-1, 501.0, 301.0, 0.3)], frozenset({0, 1})),
    ([(1, 315.0, 63.0, 0.75), (2, 100.0, 200.0, 0.6)], frozenset({1, 2})),
    ([(2, 104.0, 201.0, 0.65)], frozenset({2})),
    ([], frozenset()),
]


def person(track_id: int, x0: float, y0: float, score: float) -> PersonPose:
    """One person: joint i at (x0 + 10 i, y0 + 12 i) px, score 0.9 - 0.02 i; 3D as above."""
    p = PersonPose(track_id=track_id, score=score)
    p.keypoints = [Keypoint2D(x=x0 + 10.0 * i, y=y0 + 12.0 * i, score=0.9 - 0.02 * i)
                   for i in range(17)]
    p.bbox = BoundingBox2D(x_min=x0, y_min=y0, x_max=x0 + 160.0, y_max=y0 + 192.0)
    nan = float('nan')
    p.keypoints_3d = [
        Keypoint3D(position=Point(x=0.01 * x0 + 0.05 * i, y=0.01 * y0 - 0.1 * i, z=2.0 + 0.01 * i),
                   score=0.9, status=Keypoint3D.VALID)
        if i < 10 and track_id >= 0 else
        Keypoint3D(position=Point(x=nan, y=nan, z=nan), score=0.5, status=Keypoint3D.NO_DEPTH)
        for i in range(17)]
    return p


def frame(k: int) -> Tuple[PersonPoseArray, FrozenSet[int]]:
    """Return the ``poses`` message and live ids of frame ``k``."""
    people, live = FRAMES[k]
    msg = PersonPoseArray(image_width=WIDTH, image_height=HEIGHT)
    msg.header = Header(stamp=Time(sec=FIRST_SEC + k, nanosec=7), frame_id=FRAME_ID)
    msg.people = [person(*p) for p in people]
    if HAS_DEPTH_HEADER:
        msg.depth_header = Header(stamp=Time(sec=FIRST_SEC + k, nanosec=8),
                                  frame_id=DEPTH_FRAME_ID)
    return msg, live


def frames_with_3d() -> List[int]:
    """Return the frames that carry 3D data (all with a depth header, else those with people)."""
    return [k for k, (people, _) in enumerate(FRAMES) if HAS_DEPTH_HEADER or people]


def expected_skeleton(person: PersonPose, width: int, height: int) -> np.ndarray:
    """Return the documented Skeleton2D rule, written out again for the tests.

    Slots by joint name, NECK = shoulders' midpoint with the smaller score, ``(x + 0.5) / width``
    clipped to [0, 1], scores clipped to [0, 1]; ``(18, 3)``.
    """
    kps = {name: (k.x, k.y, k.score) for name, k in zip(KEYPOINT_NAMES, person.keypoints)}
    left, right = kps['left_shoulder'], kps['right_shoulder']
    kps['neck'] = ((left[0] + right[0]) / 2, (left[1] + right[1]) / 2, min(left[2], right[2]))
    return np.array([(min(max((kps[n][0] + 0.5) / width, 0), 1),
                      min(max((kps[n][1] + 0.5) / height, 0), 1),
                      min(max(kps[n][2], 0), 1)) for n in OPENPOSE18_NAMES])
