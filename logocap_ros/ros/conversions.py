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

"""Pure conversions from :class:`PoseResult` to ROS messages (no node, no spinning).

Marker convention (image frame): a keypoint at pixel ``(u, v)`` is drawn at
``(u * metres_per_pixel, v * metres_per_pixel, plane_z)`` in the image's ``frame_id``; the
default ``metres_per_pixel = 0.001`` means 1 px = 1 mm, so a 640x480 image spans 0.64 m x
0.48 m on the plane ``z = plane_z`` of the camera optical frame (x right, y down, z forward).
"""

from dataclasses import dataclass
import math
from typing import Any, Dict, Optional, Sequence

from builtin_interfaces.msg import Duration
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point
from logocap_ros.core.keypoints import FORMAT, KEYPOINT_NAMES, OKS_SIGMAS, SKELETON_EDGES
from logocap_ros.core.result import PoseResult
from logocap_ros.msg import (BoundingBox2D, Keypoint2D, Keypoint3D, PersonPose,
                             PersonPoseArray, SkeletonInfo)
import numpy as np
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

#: Distinct colours (r, g, b in 0..1) for people / tracks, cycled by id.
PALETTE = (
    (0.90, 0.10, 0.10), (0.10, 0.60, 0.95), (0.20, 0.80, 0.20), (1.00, 0.60, 0.00),
    (0.60, 0.20, 0.90), (0.00, 0.80, 0.80), (0.95, 0.30, 0.70), (0.60, 0.45, 0.20),
    (0.70, 0.85, 0.10), (0.50, 0.50, 0.50),
)

JOINTS_NS = 'joints'
LIMBS_NS = 'limbs'


@dataclass(frozen=True)
class MarkerStyle:
    """How keypoints are drawn as RViz markers.

    :param metres_per_pixel: scale from image pixels to metres (0.001: 1 px = 1 mm).
    :param plane_z: ``z`` [m] of the plane the skeletons are drawn on, in the image frame.
    :param joint_diameter_px: sphere diameter in pixels (scaled like the coordinates).
    :param line_width_px: limb line width in pixels.
    :param keypoint_threshold: joints with a lower score are not drawn (and their limbs).
    """

    metres_per_pixel: float = 0.001
    plane_z: float = 0.0
    joint_diameter_px: float = 8.0
    line_width_px: float = 3.0
    keypoint_threshold: float = 0.1


def person_color(index: int, alpha: float = 1.0) -> ColorRGBA:
    """Return the colour of a person index or track id (components in 0..1)."""
    r, g, b = PALETTE[int(index) % len(PALETTE)]
    return ColorRGBA(r=r, g=g, b=b, a=float(alpha))


def person_color_bgr(index: int) -> tuple:
    """Return the same colour as :func:`person_color` as a BGR 0..255 tuple (for OpenCV)."""
    r, g, b = PALETTE[int(index) % len(PALETTE)]
    return (round(b * 255), round(g * 255), round(r * 255))


def result_to_pose_array(result: PoseResult, header: Any,
                         track_ids: Optional[Sequence[int]] = None,
                         points_3d: Optional[np.ndarray] = None,
                         status_3d: Optional[np.ndarray] = None,
                         depth_header: Any = None) -> PersonPoseArray:
    """Build the ``poses`` message for one image.

    :param result: people found; keypoints ``(N, 17, 3)`` in original-image pixels.
    :param header: the input image's ``std_msgs/Header``, copied verbatim.
    :param track_ids: ``(N,)`` track ids, or None for ``PersonPose.NO_TRACK``.
    :param points_3d: ``(N, 17, 3)`` metres in the depth optical frame (NaN where not VALID),
        or None to leave ``keypoints_3d`` empty.
    :param status_3d: ``(N, 17)`` ``Keypoint3D`` status codes (required with ``points_3d``).
    :param depth_header: header of the depth image the 3D points come from (``depth_header``).
    :return: one :class:`PersonPoseArray` with image size and every person (17 keypoints each).
    """
    msg = PersonPoseArray()
    msg.header = header
    msg.image_height, msg.image_width = (int(v) for v in result.image_size[:2])
    boxes = result.boxes
    people = []
    for i in range(len(result)):
        person = PersonPose()
        person.track_id = int(track_ids[i]) if track_ids is not None else PersonPose.NO_TRACK
        person.score = float(result.scores[i])
        x0, y0, x1, y1 = (float(v) for v in boxes[i])
        person.bbox = BoundingBox2D(x_min=x0, y_min=y0, x_max=x1, y_max=y1)
        person.keypoints = [Keypoint2D(x=float(x), y=float(y), score=float(s))
                            for x, y, s in result.keypoints[i].tolist()]
        if points_3d is not None:
            person.keypoints_3d = _keypoints_3d(points_3d[i], status_3d[i],
                                                result.keypoints[i, :, 2])
        people.append(person)
    msg.people = people
    if points_3d is not None and depth_header is not None:
        msg.depth_header = depth_header
    return msg


def _keypoints_3d(points: np.ndarray, status: np.ndarray, scores: np.ndarray) -> list:
    """Return 17 :class:`Keypoint3D` from ``(17, 3)`` metres, ``(17,)`` status and scores."""
    out = []
    for (x, y, z), s, st in zip(points.astype(float).tolist(), scores.astype(float).tolist(),
                                status.tolist()):
        keypoint = Keypoint3D(score=s, status=st)  # fill its own Point: one object less
        position = keypoint.position
        position.x, position.y, position.z = x, y, z
        out.append(keypoint)
    return out


def skeleton_info(method: str, keypoint_threshold: float, pose_threshold: float,
                  header: Any = None) -> SkeletonInfo:
    """Build the latched :class:`SkeletonInfo` (COCO-17 names, edges, OKS sigmas)."""
    msg = SkeletonInfo()
    if header is not None:
        msg.header = header
    msg.format = FORMAT
    msg.keypoint_names = list(KEYPOINT_NAMES)
    msg.edges = [int(i) for edge in SKELETON_EDGES for i in edge]
    msg.oks_sigmas = [float(s) for s in OKS_SIGMAS]
    msg.method = method
    msg.keypoint_threshold = float(keypoint_threshold)
    msg.pose_threshold = float(pose_threshold)
    return msg


def result_to_markers(result: PoseResult, header: Any, style: MarkerStyle = MarkerStyle(),
                      track_ids: Optional[Sequence[int]] = None) -> MarkerArray:
    """Build RViz markers: DELETEALL, then per person a SPHERE_LIST and a LINE_LIST.

    Ids are the person index (namespaces ``joints`` and ``limbs``); the colour follows the
    track id when given, else the person index. Joints below ``style.keypoint_threshold`` and
    non-finite joints are left out, and so are limbs touching them.

    :param result: people found, keypoints in original-image pixels.
    :param header: the input image's header (markers are in the image's frame).
    :param style: scale and thresholds, see :class:`MarkerStyle`.
    :param track_ids: optional track ids, used for the colour.
    :return: the :class:`MarkerArray`; its first marker is always ``DELETEALL``.
    """
    clear = Marker(header=header, action=Marker.DELETEALL)
    markers = [clear]
    scale = style.metres_per_pixel
    for i in range(len(result)):
        kps = result.keypoints[i]
        ok = np.isfinite(kps).all(axis=1) & (kps[:, 2] >= style.keypoint_threshold)
        points = [Point(x=float(x) * scale, y=float(y) * scale, z=style.plane_z)
                  for x, y, _ in kps.tolist()]
        color = person_color(track_ids[i] if track_ids is not None and track_ids[i] >= 0
                             else i)
        joints = [points[j] for j in range(len(points)) if ok[j]]
        limbs = [points[j] for a, b in SKELETON_EDGES if ok[a] and ok[b] for j in (a, b)]
        if joints:
            markers.append(make_marker(header, JOINTS_NS, i, Marker.SPHERE_LIST, joints, color,
                                       style.joint_diameter_px * scale))
        if limbs:
            markers.append(make_marker(header, LIMBS_NS, i, Marker.LINE_LIST, limbs, color,
                                       style.line_width_px * scale))
    return MarkerArray(markers=markers)


def clear_markers(header: Any) -> MarkerArray:
    """Return a ``MarkerArray`` holding only ``DELETEALL`` (sent on deactivate/shutdown)."""
    return MarkerArray(markers=[Marker(header=header, action=Marker.DELETEALL)])


def make_marker(header: Any, ns: str, marker_id: int, marker_type: int, points: list,
                color: ColorRGBA, size: float) -> Marker:
    """One ADD marker with uniform ``size`` [m] that stays until replaced (lifetime 0)."""
    marker = Marker(header=header, ns=ns, id=int(marker_id), type=marker_type,
                    action=Marker.ADD, points=points, color=color)
    marker.pose.orientation.w = 1.0
    marker.scale.x = marker.scale.y = marker.scale.z = float(size)
    marker.lifetime = Duration(sec=0, nanosec=0)
    return marker


def diagnostics_array(name: str, hardware_id: str, values: Dict[str, Any], level: int,
                      message: str, stamp: Any) -> DiagnosticArray:
    """Build a one-status :class:`DiagnosticArray`.

    :param name: status name, e.g. ``logocap_node: pose estimation``.
    :param hardware_id: e.g. the backend and device.
    :param values: key/value pairs (formatted with ``str``; floats with 3 decimals).
    :param level: ``DiagnosticStatus.OK``, ``WARN`` or ``ERROR`` (as int).
    :param message: one-line summary.
    :param stamp: ``builtin_interfaces/Time`` of the array header.
    """
    status = DiagnosticStatus(level=bytes([int(level)]), name=name, message=message,
                              hardware_id=hardware_id)
    status.values = [KeyValue(key=str(k), value=_fmt(v)) for k, v in values.items()]
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return 'nan' if math.isnan(value) else f'{value:.3f}'
    return str(value)
