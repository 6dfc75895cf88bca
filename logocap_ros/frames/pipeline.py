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


"""The work on one frame, the same in the node and in ``logocap-offline`` (no rclpy).

``FramePipeline(config, estimator)(image, stamp_ns, depth=None) -> FrameResult``:

1. the estimator (any backend) on the BGR image;
2. the pose threshold (``pose_threshold``; the estimator itself keeps every person, so the
   threshold can change while the node runs);
3. the tracker and the 2D One-Euro smoothing (:class:`~logocap_ros.frames.people.PeopleFilter`);
4. with a depth image: the 3D lift of the shown (smoothed) 2D joints
   (:func:`logocap_ros.core.depth.lift_keypoints`), then the 3D One-Euro smoothing.

The caller turns its input into arrays (a ROS message, a bag record, a video frame) and its
time stamp into integer nanoseconds, and turns the :class:`FrameResult` into its outputs.
Thread-safe: :meth:`FramePipeline.configure` may run on another thread than the frames.
"""

from dataclasses import dataclass, field
import threading
import time
from typing import Any, Callable, Dict, FrozenSet, Optional, Tuple, Union

from logocap_ros.core.camera_model import CameraModel
from logocap_ros.core.depth import lift_keypoints
from logocap_ros.core.result import PoseResult
from logocap_ros.frames.config import lift_config, PipelineConfig
from logocap_ros.frames.people import PeopleFilter, PeopleFrame
from logocap_ros.frames.stamps import ns_to_seconds
import numpy as np


@dataclass
class DepthImage:
    """A depth image registered to the colour image, with its camera model.

    :param depth: ``(H, W)`` uint16 millimetres or float32 metres (same grid as the colour).
    :param camera: the depth image's camera model.
    :param header: what the 3D points are stamped with (e.g. the depth message's header);
        passed through untouched.
    """

    depth: np.ndarray
    camera: CameraModel
    header: Any = None


@dataclass
class Points3D:
    """3D joints of one frame: ``points`` ``(N, 17, 3)`` [m], ``status`` ``(N, 17)``.

    ``points`` are NaN where ``status`` is not VALID; ``header`` is the depth's.
    """

    points: np.ndarray
    status: np.ndarray
    header: Any = None


@dataclass
class FrameResult:
    """Everything the outputs of one frame need.

    :param people: the people to show: smoothed keypoints with ``smoothing``, else ``raw``.
    :param raw: the model output after the pose threshold.
    :param track_ids: ``(N,)`` int64 track ids (-1 = tentative), or None with tracking off.
    :param live_ids: the confirmed track ids alive after this frame (empty: tracking off).
    :param stamp_s: the frame time [s] tracking and smoothing used.
    :param points_3d: the 3D of ``people`` (smoothed in metres with ``smoothing``), or None.
    :param depth_missing: why a given depth image gave no 3D ('' when it did, or none given).
    :param timings: seconds per stage: the estimator's, plus ``people`` and ``depth``.
    """

    people: PoseResult
    raw: PoseResult
    track_ids: Optional[np.ndarray]
    live_ids: FrozenSet[int] = frozenset()
    stamp_s: float = float('nan')
    points_3d: Optional[Points3D] = None
    depth_missing: str = ''
    timings: Dict[str, float] = field(default_factory=dict)
    _lift_raw: Optional[Callable[[], Points3D]] = field(default=None, repr=False)

    @property
    def smoothed(self) -> bool:
        """Return True when ``people`` holds smoothed keypoints (then ``raw`` differs)."""
        return self.people is not self.raw

    def raw_3d(self) -> Optional[Points3D]:
        """Return the 3D lifted from ``raw`` (not smoothed; computed on first use), or None."""
        if self._lift_raw is None:
            return None
        if not self.smoothed:
            return self.points_3d
        raw = self._lift_raw()
        self._lift_raw = lambda: raw  # lifted once
        return raw


#: A depth image, a callable giving one (or None) after the estimator, or None (2D only).
DepthSource = Union[DepthImage, Callable[[], Optional[DepthImage]], None]


def apply_pose_threshold(result: PoseResult, threshold: float) -> PoseResult:
    """Drop the people scored below ``threshold`` (``result`` itself when none is)."""
    keep = result.scores >= threshold
    if keep.all():
        return result
    return PoseResult(result.keypoints[keep], result.scores[keep], result.image_size,
                      result.timings)


class FramePipeline:
    """Estimator, pose threshold, tracker, smoothing, depth lift (see the module docstring).

    :param config: the settings (:class:`~logocap_ros.frames.config.PipelineConfig` or any
        object with those attributes).
    :param estimator: ``estimator(image, color='bgr') -> PoseResult``; may be set later
        (:attr:`estimator`), e.g. when the node loads its model at configure.
    """

    def __init__(self, config: Any = PipelineConfig(),
                 estimator: Optional[Callable[..., PoseResult]] = None) -> None:
        self.estimator = estimator
        self._lock = threading.Lock()
        self._config = config
        self._people = PeopleFilter(config)

    @property
    def config(self) -> Any:
        """Return the current settings."""
        return self._config

    def configure(self, config: Any) -> None:
        """Apply changed settings; new tracker settings restart tracking (ids go on)."""
        with self._lock:
            self._config = config
        self._people.configure(config)

    def reset(self) -> None:
        """Forget all tracks and filter states; ids are not reused."""
        self._people.reset()

    @property
    def live_ids(self) -> FrozenSet[int]:
        """Confirmed track ids not yet removed (empty when tracking is off)."""
        return self._people.live_ids

    def __call__(self, image: np.ndarray, stamp_ns: int, depth: DepthSource = None,
                 color: str = 'bgr') -> FrameResult:
        """Run one frame.

        :param image: ``(H, W, 3)`` uint8 in ``color`` order.
        :param stamp_ns: the frame time [ns] (the image stamp; any monotonic clock will do).
        :param depth: the frame's registered depth image, or a callable returning it (or
            None) that is called after the estimator (a live depth image later than its
            colour image may arrive while the model runs), or None for 2D only.
        :raises RuntimeError: no estimator set.
        """
        if self.estimator is None:
            raise RuntimeError('FramePipeline: no estimator set')
        with self._lock:
            cfg = self._config
        result = apply_pose_threshold(self.estimator(image, color=color), cfg.pose_threshold)
        started = time.perf_counter()
        frame = self._people.update(result, ns_to_seconds(stamp_ns))
        timings = dict(result.timings, people=time.perf_counter() - started)
        out = FrameResult(frame.result, frame.raw, frame.track_ids, self._people.live_ids,
                          frame.stamp_s, timings=timings)
        if callable(depth):
            depth = depth()
        if depth is not None:
            started = time.perf_counter()
            self._add_3d(out, frame, depth, image.shape[:2], cfg)
            timings['depth'] = time.perf_counter() - started
        return out

    def _add_3d(self, out: FrameResult, frame: PeopleFrame, depth: DepthImage,
                image_hw: Tuple[int, int], cfg: Any) -> None:
        """Lift the shown people to 3D and smooth them (``out.depth_missing`` on failure)."""
        config = lift_config(cfg)

        def lift(keypoints: np.ndarray) -> Points3D:
            points, status = lift_keypoints(keypoints, depth.depth, depth.camera, config,
                                            image_size=image_hw)
            return Points3D(points, status, depth.header)

        try:
            shown = lift(out.people.keypoints)
        except ValueError as exc:
            out.depth_missing = str(exc)
            return
        shown.points = self._people.smooth_3d(frame, shown.points, shown.status)
        out.points_3d = shown
        out._lift_raw = lambda: lift(out.raw.keypoints)
