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

"""RViz markers of metric 3D skeletons (pure conversion, no node).

With 3D on, the ``markers`` topic carries, after a ``DELETEALL``, per person: a ``SPHERE_LIST``
of its VALID joints (ns ``joints``), a ``LINE_LIST`` of the limbs whose two ends are VALID
(ns ``limbs``), and, for a tracked person (``track_id >= 0``), a ``TEXT_VIEW_FACING`` with the
track id above the head (ns ``track_ids``). Everything is in metres in the depth optical
frame (the depth image's header); marker ids are the person index; colours follow the track id
when there is one, else the person index (:func:`conversions.person_color`).
"""

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from geometry_msgs.msg import Point
from logocap_ros.core.depth import VALID
from logocap_ros.core.keypoints import SKELETON_EDGES
from logocap_ros.ros.conversions import JOINTS_NS, LIMBS_NS, make_marker, person_color
import numpy as np
from visualization_msgs.msg import Marker, MarkerArray

TRACK_IDS_NS = 'track_ids'


@dataclass(frozen=True)
class Marker3DStyle:
    """Sizes of the 3D skeleton markers, in metres.

    :param joint_diameter_m: sphere diameter.
    :param line_width_m: limb line width.
    :param text_height_m: height of the track id text.
    :param text_offset_m: the text sits this far above the highest joint (optical frame -y).
    """

    joint_diameter_m: float = 0.05
    line_width_m: float = 0.02
    text_height_m: float = 0.15
    text_offset_m: float = 0.2


def skeleton_markers_3d(points: np.ndarray, status: np.ndarray, header: Any,
                        track_ids: Optional[Sequence[int]] = None,
                        style: Marker3DStyle = Marker3DStyle()) -> MarkerArray:
    """Build the 3D skeleton markers described in the module docstring.

    :param points: ``(N, 17, 3)`` metres in the depth optical frame.
    :param status: ``(N, 17)`` ``Keypoint3D`` status; only VALID joints are drawn.
    :param header: the depth image's header (frame and stamp of ``points``).
    :param track_ids: ``(N,)`` track ids (``-1`` = not tracked), or None.
    :param style: sizes, see :class:`Marker3DStyle`.
    :return: the :class:`MarkerArray`; its first marker is always ``DELETEALL``.
    """
    markers = [Marker(header=header, action=Marker.DELETEALL)]
    for i in range(len(points)):
        ok = (np.asarray(status[i]) == VALID) & np.isfinite(points[i]).all(axis=1)
        if not ok.any():
            continue
        track = int(track_ids[i]) if track_ids is not None else -1
        color = person_color(track if track >= 0 else i)
        pts = [Point(x=x, y=y, z=z) for x, y, z in points[i].astype(float).tolist()]
        joints = [pts[j] for j in np.flatnonzero(ok)]
        limbs = [pts[j] for a, b in SKELETON_EDGES if ok[a] and ok[b] for j in (a, b)]
        markers.append(make_marker(header, JOINTS_NS, i, Marker.SPHERE_LIST, joints, color,
                                   style.joint_diameter_m))
        if limbs:
            markers.append(make_marker(header, LIMBS_NS, i, Marker.LINE_LIST, limbs, color,
                                       style.line_width_m))
        if track >= 0:
            markers.append(_label(header, i, track, points[i][ok], color, style))
    return MarkerArray(markers=markers)


def _label(header: Any, index: int, track: int, valid: np.ndarray, color: Any,
           style: Marker3DStyle) -> Marker:
    marker = make_marker(header, TRACK_IDS_NS, index, Marker.TEXT_VIEW_FACING, [], color,
                         style.text_height_m)
    marker.text = str(track)
    marker.pose.position = Point(x=float(np.mean(valid[:, 0])),
                                 y=float(np.min(valid[:, 1]) - style.text_offset_m),
                                 z=float(np.median(valid[:, 2])))
    return marker
