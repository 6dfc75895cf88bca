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


"""The node's per-frame outputs: one ``FrameResult`` in, every topic of the frame out.

In: :class:`~logocap_ros.frames.pipeline.FrameResult`; out: ``poses``, ``poses_raw``,
``markers`` (2D or 3D), ``image_annotated``, detections and REP-155 bodies.

Costly outputs are built only while someone subscribes (``poses_raw``, ``markers``,
``image_annotated``; the interop ones decide for themselves, see :mod:`.interop`).
"""

from typing import Any, Dict, Optional

from logocap_ros.frames.draw import draw_poses
from logocap_ros.frames.image_conversion import bgr_to_image_msg
from logocap_ros.frames.pipeline import FrameResult, Points3D
from logocap_ros.msg import PersonPoseArray
from logocap_ros.ros import conversions, interop
from logocap_ros.ros.markers_3d import skeleton_markers_3d
from sensor_msgs.msg import Image
from visualization_msgs.msg import MarkerArray


def pose_array_3d_kwargs(points: Optional[Points3D]) -> Dict[str, Any]:
    """Return the 3D keyword arguments of ``conversions.result_to_pose_array`` (none: 2D)."""
    if points is None:
        return {}
    return {'points_3d': points.points, 'status_3d': points.status,
            'depth_header': points.header}


def markers_3d_or_clear(points: Optional[Points3D], header: Any, track_ids: Any = None) -> Any:
    """Return the 3D markers of a frame, or only a ``DELETEALL`` when it has no 3D.

    With 3D on, a frame without depth draws nothing rather than a 2D skeleton in a different
    scale and frame (the reason is in the log and on ``/diagnostics``).

    :param points: the frame's 3D, or None.
    :param header: the colour image's header (used only for the ``DELETEALL``).
    :param track_ids: ``(N,)`` track ids for colours and labels, or None.
    """
    if points is not None:
        return skeleton_markers_3d(points.points, points.status, points.header, track_ids)
    return conversions.clear_markers(header)


class FrameOutputs:
    """The publishers of one configured node and the per-frame work of filling them.

    :param node: the node (publishers are created on it).
    :param cfg: the node's configuration (interop features).
    :param qos_profile: the QoS of every output.
    """

    def __init__(self, node: Any, cfg: Any, qos_profile: Any) -> None:
        self._node = node
        self._pubs = {
            'poses': node.create_publisher(PersonPoseArray, 'poses', qos_profile),
            'poses_raw': node.create_publisher(PersonPoseArray, 'poses_raw', qos_profile),
            'markers': node.create_publisher(MarkerArray, 'markers', qos_profile),
            'annotated': node.create_publisher(Image, 'image_annotated', qos_profile),
        }
        self.interop = interop.InteropOutputs(node, cfg, qos_profile)

    def describe(self):
        """Return one line per enabled interop output (for the configure log)."""
        return self.interop.describe()

    def publish(self, header: Any, image: Any, frame: FrameResult, cfg: Any) -> None:
        """Publish every output of one frame.

        :param header: the colour image's header (copied into every output).
        :param image: the BGR image (``image_annotated`` draws on a copy).
        :param frame: the pipeline's result for the image.
        :param cfg: the current configuration (output switches, marker style).
        """
        people, ids = frame.people, frame.track_ids
        poses = conversions.result_to_pose_array(people, header, ids,
                                                 **pose_array_3d_kwargs(frame.points_3d))
        self._pubs['poses'].publish(poses)
        self.interop.update(poses, frame.live_ids)  # REP-155 bodies follow the live ids
        raw = self._pubs['poses_raw']
        if frame.smoothed and raw.get_subscription_count() > 0:
            raw.publish(conversions.result_to_pose_array(
                frame.raw, header, ids, **pose_array_3d_kwargs(frame.raw_3d())))
        markers = self._pubs['markers']
        if cfg.publish_markers and markers.get_subscription_count() > 0:
            markers.publish(self._markers(header, frame, cfg))
        annotated = self._pubs['annotated']
        if cfg.publish_annotated_image and annotated.get_subscription_count() > 0:
            colors = [conversions.person_color_bgr(i if ids is None or ids[i] < 0 else ids[i])
                      for i in range(len(people))]
            drawn = draw_poses(image, people, keypoint_threshold=cfg.keypoint_threshold,
                               colors=colors)
            annotated.publish(bgr_to_image_msg(drawn, header, Image))

    def _markers(self, header: Any, frame: FrameResult, cfg: Any) -> Any:
        if cfg.use_depth:
            return markers_3d_or_clear(frame.points_3d, header, frame.track_ids)
        style = conversions.MarkerStyle(metres_per_pixel=cfg.marker_scale, plane_z=cfg.marker_z,
                                        keypoint_threshold=cfg.keypoint_threshold)
        return conversions.result_to_markers(frame.people, header, style, frame.track_ids)

    def clear_markers(self, header: Any) -> None:
        """Remove this node's skeletons from RViz."""
        self._pubs['markers'].publish(conversions.clear_markers(header))

    def reset(self) -> None:
        """Forget the interop state (deactivate)."""
        self.interop.reset()

    def destroy(self) -> None:
        """Destroy every publisher."""
        for pub in self._pubs.values():
            self._node.destroy_publisher(pub)
        self._pubs = {}
        self.interop.destroy()
