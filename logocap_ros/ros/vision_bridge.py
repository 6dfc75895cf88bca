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

"""``vision_msgs`` detections from a filled ``PersonPoseArray`` (imports ``vision_msgs``).

Only imported when ``publish_detections`` is on (see :mod:`logocap_ros.ros.interop`).

* ``detections`` (``Detection2DArray``): one ``Detection2D`` per person, in the order of
  ``poses``; header copied from the image (array and each detection); ``id`` = the track id as
  a string, ``''`` for a person without a confirmed track; one hypothesis ``class_id 'person'``
  whose score is the pose score; ``bbox`` = centre and size [px] of the keypoint extent
  (``PersonPose.bbox``), ``theta`` 0, in the same pixel convention as ``Keypoint2D``.
* ``detections_3d`` (``Detection3DArray``), for messages with 3D: per person with at least
  one ``VALID`` 3D joint, the axis-aligned box of its valid joints (centre and size [m],
  identity orientation); the hypothesis pose is the box centre; people without a valid joint
  are left out. Header: ``poses.depth_header`` (the depth image's: its frame is the frame of
  the 3D keypoints) when set, else the image header.
"""

from typing import Any, Optional

from geometry_msgs.msg import Point, Vector3
from logocap_ros.msg import Keypoint3D, PersonPose, PersonPoseArray
import numpy as np
from vision_msgs.msg import (Detection2D, Detection2DArray, Detection3D, Detection3DArray,
                             ObjectHypothesis, ObjectHypothesisWithPose)

PERSON_CLASS = 'person'
DETECTIONS_TOPIC = 'detections'
DETECTIONS_3D_TOPIC = 'detections_3d'


def detection_id(track_id: int) -> str:
    """Return the ``Detection2D.id`` of a track id: its decimal string, ``''`` when < 0."""
    return str(int(track_id)) if track_id >= 0 else ''


def _hypothesis(score: float) -> ObjectHypothesisWithPose:
    return ObjectHypothesisWithPose(
        hypothesis=ObjectHypothesis(class_id=PERSON_CLASS, score=float(score)))


def person_detection(person: PersonPose, header: Any) -> Detection2D:
    """Build the ``Detection2D`` of one person (see the module docstring)."""
    det = Detection2D(header=header, id=detection_id(person.track_id))
    box = person.bbox
    det.bbox.center.position.x = (float(box.x_min) + float(box.x_max)) / 2.0
    det.bbox.center.position.y = (float(box.y_min) + float(box.y_max)) / 2.0
    det.bbox.center.theta = 0.0
    det.bbox.size_x = float(box.x_max) - float(box.x_min)
    det.bbox.size_y = float(box.y_max) - float(box.y_min)
    det.results = [_hypothesis(person.score)]
    return det


def pose_array_to_detections(msg: PersonPoseArray) -> Detection2DArray:
    """Build ``detections`` for one ``poses`` message (one detection per person, same order)."""
    return Detection2DArray(header=msg.header,
                            detections=[person_detection(p, msg.header) for p in msg.people])


def valid_points_3d(person: PersonPose) -> np.ndarray:
    """Return the ``(K, 3)`` positions [m] of the person's finite ``VALID`` 3D joints."""
    points = np.array([(k.position.x, k.position.y, k.position.z) for k in person.keypoints_3d
                       if k.status == Keypoint3D.VALID], np.float64).reshape(-1, 3)
    return points[np.isfinite(points).all(axis=1)]


def person_detection_3d(person: PersonPose, header: Any) -> Optional[Detection3D]:
    """Build the ``Detection3D`` of one person, or None without a valid 3D joint."""
    points = valid_points_3d(person)
    if not len(points):
        return None
    low, high = points.min(axis=0), points.max(axis=0)
    centre = Point(**dict(zip('xyz', ((low + high) / 2.0).tolist())))
    det = Detection3D(header=header, id=detection_id(person.track_id))
    det.bbox.center.position = centre
    det.bbox.size = Vector3(**dict(zip('xyz', (high - low).tolist())))
    hypothesis = _hypothesis(person.score)
    hypothesis.pose.pose.position = centre
    det.results = [hypothesis]
    return det


def header_3d(msg: PersonPoseArray) -> Any:
    """Return the header of the 3D data: ``msg.depth_header`` when set, else ``msg.header``."""
    depth = getattr(msg, 'depth_header', None)  # the field comes with the depth feature
    return depth if depth is not None and depth.frame_id else msg.header


def has_3d(msg: PersonPoseArray) -> bool:
    """Return whether ``msg`` carries 3D data (a depth header, or any 3D keypoints)."""
    depth = getattr(msg, 'depth_header', None)
    return bool(depth is not None and depth.frame_id) or \
        any(len(p.keypoints_3d) for p in msg.people)


def pose_array_to_detections_3d(msg: PersonPoseArray, header: Any = None) -> Detection3DArray:
    """Build ``detections_3d`` for one ``poses`` message.

    :param msg: ``poses`` with ``keypoints_3d`` filled (people without valid joints are skipped).
    :param header: header of the result; default :func:`header_3d`.
    """
    header = header_3d(msg) if header is None else header
    dets = [person_detection_3d(p, header) for p in msg.people]
    return Detection3DArray(header=header, detections=[d for d in dets if d is not None])


class DetectionPublisher:
    """Publishes ``detections`` and ``detections_3d``, building each only while subscribed.

    ``detections_3d`` goes out for the messages that carry 3D data (:func:`has_3d`).
    """

    def __init__(self, node: Any, qos_profile: Any) -> None:
        self._node = node
        self._pub = node.create_publisher(Detection2DArray, DETECTIONS_TOPIC, qos_profile)
        self._pub_3d = node.create_publisher(Detection3DArray, DETECTIONS_3D_TOPIC, qos_profile)

    def publish(self, msg: PersonPoseArray) -> None:
        """Convert and publish ``msg`` on the topics that have subscribers."""
        if self._pub.get_subscription_count() > 0:
            self._pub.publish(pose_array_to_detections(msg))
        if has_3d(msg) and self._pub_3d.get_subscription_count() > 0:
            self._pub_3d.publish(pose_array_to_detections_3d(msg))

    def destroy(self) -> None:
        """Destroy both publishers."""
        self._node.destroy_publisher(self._pub)
        self._node.destroy_publisher(self._pub_3d)
