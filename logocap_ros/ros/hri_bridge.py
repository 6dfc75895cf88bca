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

"""REP-155 (ROS4HRI) bodies from a filled ``PersonPoseArray`` (imports ``hri_msgs``).

Only imported when ``hri_enable`` is on (see :mod:`logocap_ros.ros.interop`). For every
confirmed track (an id in ``live_ids``) the bridge owns a body with a short, unique id
``<body_id_prefix><track id>`` (e.g. ``kqzf_3``, or ``front_3`` with ``body_id_prefix:=front_``)
and publishes, for the frames in which the track is seen:

* ``<prefix>/bodies/<body id>/skeleton2d`` (``hri_msgs/Skeleton2D``): the 18 OpenPose-COCO
  points, normalised (see :mod:`logocap_ros.ros.skeleton_maps`), NECK = midpoint of the
  shoulders with the smaller of their scores;
* ``<prefix>/bodies/<body id>/roi`` (``hri_msgs/NormalizedRegionOfInterest2D``): the normalised
  keypoint extent, ``c`` = pose score clipped to [0, 1];

and on every frame ``<prefix>/bodies/tracked`` (``hri_msgs/IdsList``): the body ids of all live
tracks (also those not seen in this frame but not yet removed), sorted by track id. A body's
publishers are created when its track id first appears in ``live_ids`` and destroyed when it
leaves. Headers are the image's. A person with ``track_id`` -1 (tentative) gets no body.
QoS: reliable, volatile (what ``libhri`` subscribes with); per-body messages are only built while
someone subscribes to them. Another node publishing the same ``tracked`` topic (two cameras
with one ``hri_prefix``) gets one warning naming it and the fix.
"""

import math
import random
import string
import time
from typing import Any, Dict, Iterable, List, Optional

from hri_msgs.msg import IdsList, NormalizedPointOfInterest2D, NormalizedRegionOfInterest2D, \
    Skeleton2D
from logocap_ros.msg import PersonPose, PersonPoseArray
from logocap_ros.ros.skeleton_maps import normalised_box, normalised_skeleton
import numpy as np

DEFAULT_PREFIX = '/humans'
AUTO_ID_LENGTH = 4
#: Seconds between two looks for another publisher of ``tracked`` (until one is found).
SHARED_CHECK_S = 2.0


def auto_body_id_prefix(rng: Optional[random.Random] = None) -> str:
    """Return a random ``'abcd_'`` body id prefix (4 lowercase letters, then ``_``).

    Used when ``hri_body_id_prefix`` is empty: ids then differ between node instances and
    restarts (REP-155: body ids are unique and not persistent).
    """
    rng = rng or random.SystemRandom()
    return ''.join(rng.choice(string.ascii_lowercase) for _ in range(AUTO_ID_LENGTH)) + '_'


def shared_tracked_warning(topic: str, others: List[str]) -> str:
    """Return the warning for ``tracked`` published by other nodes too."""
    return (f'{", ".join(others)} also publish(es) {topic}: the REP-155 body lists of the '
            'cameras overwrite each other; give each node its own hri_prefix (e.g. '
            'hri_prefix:=/humans_front)')


def skeleton2d_messages(people: List[PersonPose], width: int, height: int,
                        header: Any) -> List[Skeleton2D]:
    """Build the normalised 18-point ``Skeleton2D`` of each person (one numpy pass for all)."""
    if not people:
        return []
    kps = np.array([[(k.x, k.y, k.score) for k in p.keypoints] for p in people], np.float64)
    out = []
    for points in normalised_skeleton(kps, width, height).tolist():
        msg = Skeleton2D(header=header)
        msg.skeleton = [NormalizedPointOfInterest2D(x=x, y=y, c=c) for x, y, c in points]
        out.append(msg)
    return out


def skeleton2d(person: PersonPose, width: int, height: int, header: Any) -> Skeleton2D:
    """Build the normalised 18-point ``Skeleton2D`` of one person."""
    return skeleton2d_messages([person], width, height, header)[0]


def body_roi(person: PersonPose, width: int, height: int,
             header: Any) -> NormalizedRegionOfInterest2D:
    """Build the normalised region of interest (keypoint extent) of one person."""
    box = person.bbox
    xmin, ymin, xmax, ymax = normalised_box((box.x_min, box.y_min, box.x_max, box.y_max),
                                            width, height)
    score = min(max(float(person.score), 0.0), 1.0) if math.isfinite(person.score) else 0.0
    return NormalizedRegionOfInterest2D(header=header, xmin=xmin, ymin=ymin, xmax=xmax,
                                        ymax=ymax, c=score)


class _Body:
    """The publishers of one body."""

    def __init__(self, node: Any, namespace: str, qos_profile: Any) -> None:
        self.skeleton = node.create_publisher(Skeleton2D, f'{namespace}/skeleton2d', qos_profile)
        self.roi = node.create_publisher(NormalizedRegionOfInterest2D, f'{namespace}/roi',
                                         qos_profile)

    def destroy(self, node: Any) -> None:
        node.destroy_publisher(self.skeleton)
        node.destroy_publisher(self.roi)


class HriBridge:
    """Owns the REP-155 body topics of one node (see the module docstring).

    :param node: the rclpy node that owns the publishers.
    :param qos_profile: QoS of every topic (reliable, volatile).
    :param prefix: topic prefix, ``/humans`` by default; relative prefixes resolve in the node's
        namespace, so two cameras can publish side by side.
    :param body_id_prefix: prepended to the track id to make the body id; must start with a
        letter (ROS name tokens cannot start with a digit).
    """

    def __init__(self, node: Any, qos_profile: Any, prefix: str = DEFAULT_PREFIX,
                 body_id_prefix: str = 'body_') -> None:
        self._node = node
        self._qos = qos_profile
        self._bodies_ns = prefix.rstrip('/') + '/bodies'
        self.body_id_prefix = body_id_prefix
        self._bodies: Dict[int, _Body] = {}
        self._tracked = node.create_publisher(IdsList, f'{self._bodies_ns}/tracked', qos_profile)
        self.shared_with: List[str] = []  # other nodes seen publishing ``tracked``
        self._checked_at = -math.inf

    @property
    def tracked_topic(self) -> str:
        """Return the resolved name of the ``tracked`` topic."""
        return self._tracked.topic_name

    def body_id(self, track_id: int) -> str:
        """Return the REP-155 body id of a track id."""
        return f'{self.body_id_prefix}{int(track_id)}'

    def body_topic(self, track_id: int, name: str) -> str:
        """Return the (unresolved) topic ``<prefix>/bodies/<body id>/<name>``."""
        return f'{self._bodies_ns}/{self.body_id(track_id)}/{name}'

    @property
    def live_track_ids(self) -> List[int]:
        """Return the track ids that currently own publishers, sorted."""
        return sorted(self._bodies)

    def update(self, msg: PersonPoseArray, live_ids: Iterable[int]) -> None:
        """Sync the bodies with ``live_ids``, publish this frame's bodies and ``tracked``.

        :param msg: the frame's ``poses`` message (track ids filled).
        :param live_ids: confirmed track ids not yet removed (``PoseTracker.live_ids``).
        """
        live = sorted({int(i) for i in live_ids if int(i) >= 0})
        self._sync(live)
        width, height = int(msg.image_width), int(msg.image_height)
        seen = [(p, self._bodies[p.track_id]) for p in msg.people if p.track_id in self._bodies]
        if width > 0 and height > 0:
            wanted = [(p, b) for p, b in seen if b.skeleton.get_subscription_count() > 0]
            skeletons = skeleton2d_messages([p for p, _ in wanted], width, height, msg.header)
            for (_, body), skeleton in zip(wanted, skeletons):
                body.skeleton.publish(skeleton)
            for person, body in seen:
                if body.roi.get_subscription_count() > 0:
                    body.roi.publish(body_roi(person, width, height, msg.header))
        self._tracked.publish(IdsList(header=msg.header, ids=[self.body_id(i) for i in live]))
        self._check_shared()

    def reset(self, header: Any = None) -> None:
        """Publish an empty ``tracked`` list and destroy every body's publishers."""
        self._sync([])
        msg = IdsList(ids=[])
        if header is not None:
            msg.header = header
        self._tracked.publish(msg)

    def destroy(self) -> None:
        """Reset, then destroy the ``tracked`` publisher; the bridge is unusable afterwards."""
        self.reset()
        self._node.destroy_publisher(self._tracked)

    def _check_shared(self) -> None:
        """Warn once when another node publishes ``tracked`` (every SHARED_CHECK_S until then)."""
        now = time.monotonic()
        if self.shared_with or now - self._checked_at < SHARED_CHECK_S:
            return
        self._checked_at = now
        me = (self._node.get_name(), self._node.get_namespace())
        self.shared_with = sorted(
            f"{info.node_namespace.rstrip('/')}/{info.node_name}"
            for info in self._node.get_publishers_info_by_topic(self.tracked_topic)
            if (info.node_name, info.node_namespace) != me)
        if self.shared_with:
            self._node.get_logger().warning(shared_tracked_warning(self.tracked_topic,
                                                                   self.shared_with))

    def _sync(self, live: List[int]) -> None:
        for track_id in [i for i in self._bodies if i not in live]:
            self._bodies.pop(track_id).destroy(self._node)
        for track_id in live:
            if track_id not in self._bodies:
                namespace = f'{self._bodies_ns}/{self.body_id(track_id)}'
                self._bodies[track_id] = _Body(self._node, namespace, self._qos)
