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

"""The node's optional 3D input: a registered depth image and its camera_info, synchronised.

With ``use_depth:=true`` the node subscribes to ``depth/image_raw`` (``16UC1`` millimetres or
``32FC1`` metres, registered to the colour image: same size, same pixel grid) and
``depth/camera_info`` (remap both, e.g. to a RealSense ``aligned_depth_to_color/...`` pair).

Pairing with the newest-frame mailbox: every colour image the subscription receives is also fed
(before the mailbox) into a ``message_filters.ApproximateTimeSynchronizer`` together with the
depth and camera_info subscribers, with ``slop = depth_slop``. Each synchronised set is stored,
keyed by the colour stamp, in a small table (:class:`DepthPairs`) that keeps the newest few.
The worker thread *claims* the stamp of the frame it takes from the mailbox (its set, present
or still to come, is then kept aside, safe from eviction however long the model runs), runs the
model, then takes the set, waiting at most ``depth_slop`` seconds for a depth image that is
later than its colour image (no wait when no depth stream is running). Frames dropped by the
mailbox simply leave their set unused. When the stamps of an input jump back by more than
:data:`TIME_JUMP_S` (a looping bag, a restarted camera) the synchronizer starts afresh
(``depth.sync_restarts`` on ``/diagnostics``).

When no set comes, the frame is published in 2D only (``keypoints_3d`` empty, no 3D markers),
the reason is logged (rate-limited) and shown on ``/diagnostics`` (``depth.missing_reason``):
no depth/camera_info received yet, the nearest depth stamp is beyond ``depth_slop``, camera_info
stamps do not match the depth stamps, an invalid camera_info, or depth and colour sizes differ.
"""

from collections import deque, OrderedDict
import os
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from logocap_ros.frames.image_conversion import camera_model_from_info, depth_from_msg
from logocap_ros.frames.pipeline import DepthImage, FrameResult
from logocap_ros.frames.stamps import stamp_ns
from logocap_ros.ros.parameters import NodeConfig
from logocap_ros.ros.startup import StartupError
from logocap_ros.ros.stats import RateLimitedLog

DEPTH_TOPIC = 'depth/image_raw'
INFO_TOPIC = 'depth/camera_info'
#: Synchronised sets kept for frames not processed yet (the mailbox holds one frame).
PAIR_CAPACITY = 8
#: Messages per input the synchronizer keeps while looking for a match.
SYNC_QUEUE = 10
#: A stamp this much older than the newest of its input restarts the synchronizer [s] (times
#: at least ``depth_slop``): a looping bag, a restarted camera or a clock jump.
TIME_JUMP_S = 1.0


def import_message_filters() -> Any:
    """Import ``message_filters`` (ROS 2 Python); StartupError naming the package if missing."""
    try:
        import message_filters
    except ImportError as exc:
        distro = os.environ.get('ROS_DISTRO') or '<distro>'
        raise StartupError(f'use_depth:=true needs the message_filters Python package ({exc}); '
                           f'install ros-{distro}-message-filters or set use_depth:=false') \
            from None
    return message_filters


class DepthPairs:
    """Depth + camera_info sets matched to colour stamps by ``ApproximateTimeSynchronizer``.

    :param message_filters: the imported ``message_filters`` module.
    :param depth_filter: a filter (e.g. ``message_filters.Subscriber``) emitting depth images.
    :param info_filter: a filter emitting the depth camera_info.
    :param slop: largest stamp difference within a set [s].
    :param clock: monotonic clock [s] (injectable for tests).
    """

    def __init__(self, message_filters: Any, depth_filter: Any, info_filter: Any, slop: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.slop = float(slop)
        self._clock = clock
        self._message_filters = message_filters
        self._jump_ns = int(max(TIME_JUMP_S, 2 * self.slop) * 1e9)
        self._cond = threading.Condition()
        self._pairs: 'OrderedDict[int, Tuple[Any, Any]]' = OrderedDict()
        self._claimed: Dict[int, Optional[Tuple[Any, Any]]] = {}
        self._depth_stamps: Deque[int] = deque(maxlen=300)
        self._info_stamp: Optional[int] = None
        self._last_depth_time: Optional[float] = None
        self.depth_received = 0
        self.info_received = 0
        self.restarts = 0
        self._newest: List[Optional[int]] = [None, None, None]
        self._start_sync()
        depth_filter.registerCallback(self._on_depth)
        info_filter.registerCallback(self._on_info)

    def _start_sync(self) -> None:
        """(Re)create the synchronizer; its inputs are relays this object feeds.

        ``ApproximateTimeSynchronizer`` trims a full queue by dropping its *oldest* stamps, so
        after stamps jump back (a looping bag, a restarted camera, a stream with an offset
        stopped for another) the stale newer ones would block every new match for good.
        """
        relays = [self._message_filters.SimpleFilter() for _ in range(3)]
        sync = self._message_filters.ApproximateTimeSynchronizer(relays, SYNC_QUEUE, self.slop)
        sync.registerCallback(self._on_synced)
        self._relays, self._sync = relays, sync
        self._newest = [None, None, None]

    def _offer(self, index: int, msg: Any) -> None:
        """Pass a message to input ``index`` (colour, depth, info) of the synchronizer."""
        stamp = stamp_ns(msg.header.stamp)
        with self._cond:
            newest = self._newest[index]
            if newest is not None and newest - stamp > self._jump_ns:
                self.restarts += 1
                self._depth_stamps.clear()
                self._start_sync()
                newest = None
            self._newest[index] = stamp if newest is None else max(newest, stamp)
            relay = self._relays[index]
        relay.signalMessage(msg)

    def add_colour(self, msg: Any) -> None:
        """Offer one colour image to the synchronizer (call for every received image)."""
        self._offer(0, msg)

    def claim(self, colour_stamp_ns: int) -> None:
        """Keep the set of this colour stamp (present or to come) aside until :meth:`take`.

        Call when the frame leaves the mailbox; one frame is in flight, so an older claim is
        dropped.
        """
        with self._cond:
            self._claimed = {colour_stamp_ns: self._pairs.pop(colour_stamp_ns, None)}

    def take(self, colour_stamp_ns: int, timeout: float) -> Optional[Tuple[Any, Any]]:
        """Remove and return ``(depth, camera_info)`` for a colour stamp, or None.

        Waits up to ``timeout`` seconds, but not at all while no depth stream has ever arrived.
        """
        def ready() -> bool:
            return (self._claimed.get(colour_stamp_ns) is not None
                    or colour_stamp_ns in self._pairs)

        with self._cond:
            if self.depth_received:
                self._cond.wait_for(ready, timeout)
            pair = self._claimed.pop(colour_stamp_ns, None)
            return pair if pair is not None else self._pairs.pop(colour_stamp_ns, None)

    def why_missing(self, colour_stamp_ns: int) -> str:
        """Explain why no set exists for a colour stamp (for logs and diagnostics)."""
        with self._cond:
            depth_stamps, info_stamp = list(self._depth_stamps), self._info_stamp
            last = self._last_depth_time
        if not depth_stamps:
            return 'no depth image received yet'
        if info_stamp is None:
            return 'no camera_info received yet'
        if last is not None and self._clock() - last > max(1.0, 4 * self.slop):
            return f'depth stream stalled: last depth image {self._clock() - last:.1f} s ago'
        nearest = min(depth_stamps, key=lambda s: abs(s - colour_stamp_ns))
        offset = (nearest - colour_stamp_ns) / 1e9
        if abs(offset) > self.slop:
            return (f'nearest depth image is {offset:+.3f} s from the colour stamp, beyond '
                    f'depth_slop={self.slop:g} s')
        info_offset = (info_stamp - depth_stamps[-1]) / 1e9
        if abs(info_offset) > self.slop:
            return (f'camera_info stamps differ from the depth stamps by {info_offset:+.3f} s, '
                    f'beyond depth_slop={self.slop:g} s')
        return ('no depth image was synchronised with this colour image (the depth images '
                'within depth_slop were paired with other colour images)')

    def _on_depth(self, msg: Any) -> None:
        self._offer(1, msg)
        with self._cond:
            self.depth_received += 1
            self._depth_stamps.append(stamp_ns(msg.header.stamp))
            self._last_depth_time = self._clock()

    def _on_info(self, msg: Any) -> None:
        self._offer(2, msg)
        with self._cond:
            self.info_received += 1
            self._info_stamp = stamp_ns(msg.header.stamp)

    def _on_synced(self, colour: Any, depth: Any, info: Any) -> None:
        stamp = stamp_ns(colour.header.stamp)
        with self._cond:
            if stamp in self._claimed:
                self._claimed[stamp] = (depth, info)
            else:
                self._pairs[stamp] = (depth, info)
            while len(self._pairs) > PAIR_CAPACITY:
                self._pairs.popitem(last=False)
            self._cond.notify_all()


class DepthInput:
    """The node's 3D input: subscriptions, synchronisation, conversion and its diagnostics.

    :param node: the node (subscriptions are created on it).
    :param cfg: the node's configuration (``depth_*`` parameters, ``reliability``).
    :param message_filters: the module from :func:`import_message_filters`.
    """

    def __init__(self, node: Any, cfg: NodeConfig, message_filters: Any) -> None:
        from logocap_ros.ros.qos import image_qos
        from sensor_msgs.msg import CameraInfo, Image
        qos = image_qos(cfg.reliability)
        qos.depth = 5
        self._node = node
        self._depth_sub = message_filters.Subscriber(node, Image, DEPTH_TOPIC, qos_profile=qos)
        self._info_sub = message_filters.Subscriber(node, CameraInfo, INFO_TOPIC,
                                                    qos_profile=qos)
        self.pairs = DepthPairs(message_filters, self._depth_sub, self._info_sub,
                                cfg.depth_slop)
        self._log_limit = RateLimitedLog(period_s=5.0)
        self._lock = threading.Lock()
        self.frames_3d = 0
        self.frames_2d_only = 0
        self.missing_reason = ''

    @property
    def topics(self) -> str:
        """Return the resolved depth and camera_info topic names."""
        return f'{self._depth_sub.sub.topic_name} + {self._info_sub.sub.topic_name}'

    def on_colour(self, msg: Any) -> None:
        """Feed a received colour image to the synchronizer (subscription callback)."""
        self.pairs.add_colour(msg)

    def claim(self, header: Any) -> None:
        """Reserve the depth of the frame the worker starts on (see :meth:`DepthPairs.claim`)."""
        self.pairs.claim(stamp_ns(header.stamp))

    def take(self, header: Any, cfg: NodeConfig) -> Optional[DepthImage]:
        """Return the depth synchronised to ``header``, or None = 2D only (reason logged).

        :param header: the colour image's header.
        :param cfg: the current configuration (``depth_rectified``).
        """
        stamp = stamp_ns(header.stamp)
        pair = self.pairs.take(stamp, timeout=self.pairs.slop)
        if pair is None:
            return self._missing(self.pairs.why_missing(stamp))
        depth_msg, info = pair
        try:
            return DepthImage(depth_from_msg(depth_msg),
                              camera_model_from_info(info, cfg.depth_rectified),
                              depth_msg.header)
        except ValueError as exc:
            return self._missing(str(exc))

    def report(self, frame: FrameResult) -> None:
        """Count a processed frame as 3D, or log why its depth gave none (sizes differ)."""
        if frame.points_3d is not None:
            with self._lock:
                self.frames_3d += 1
                self.missing_reason = ''
        elif frame.depth_missing:
            self._missing(frame.depth_missing)

    def diagnostic_values(self) -> Dict[str, Any]:
        """Return the ``depth.*`` key/values for ``/diagnostics``."""
        with self._lock:
            return {'depth.topics': self.topics, 'depth.frames_3d': self.frames_3d,
                    'depth.frames_2d_only': self.frames_2d_only,
                    'depth.depth_images_received': self.pairs.depth_received,
                    'depth.camera_infos_received': self.pairs.info_received,
                    'depth.sync_restarts': self.pairs.restarts,
                    'depth.missing_reason': self.missing_reason or 'none'}

    def warning(self) -> Optional[str]:
        """Return a one-line diagnostics warning while frames lack 3D, else None."""
        with self._lock:
            reason = self.missing_reason
        return f'no 3D: {reason}' if reason else None

    def destroy(self) -> None:
        """Destroy the subscriptions."""
        for sub in (self._depth_sub, self._info_sub):
            self._node.destroy_subscription(sub.sub)

    def _missing(self, reason: str) -> None:
        with self._lock:
            self.frames_2d_only += 1
            self.missing_reason = reason
        suppressed = self._log_limit.allow(' '.join(reason.split()[:3]))
        if suppressed is not None:
            more = f' ({suppressed} more since last report)' if suppressed else ''
            self._node.get_logger().warning(f'publishing 2D only: {reason}{more}')
        return None
