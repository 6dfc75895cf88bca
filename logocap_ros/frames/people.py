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

"""People over time: one tracker and one One-Euro bank per pipeline (no rclpy).

What the node publishes, per image:

* ``tracking:=true`` (default): ``PersonPose.track_id`` holds the person's track id
  (-1 while the track is tentative, i.e. for the first ``track_min_hits - 1`` frames).
* ``smoothing:=true``: ``poses`` and everything drawn from it (``markers``,
  ``image_annotated``) carry the smoothed joint positions (x, y; joint scores, pose score
  and the order of people are the model's), and ``poses_raw`` carries the unmodified model
  output with the same header and track ids. People of tentative tracks are not smoothed.
  With 3D (``use_depth``), the 3D of ``poses`` is lifted from the smoothed 2D and then
  smoothed in metres by a second One-Euro bank (:meth:`PeopleFilter.smooth_3d`; VALID joints
  only, ``smoothing_beta_3d`` in 1/m); ``poses_raw`` carries the 3D lifted from the model
  output, not smoothed.
  Smoothing follows tracks, so it runs the tracker even with ``tracking:=false`` (then
  ``track_id`` stays -1).
* ``smoothing:=false`` (default): ``poses`` is the model output; ``poses_raw`` is silent.
"""

from dataclasses import dataclass
import threading
from typing import Any, FrozenSet, Optional

from logocap_ros.core.depth import VALID
from logocap_ros.core.result import PoseResult
from logocap_ros.core.smoothing import OneEuroBank
from logocap_ros.core.tracking import PoseTracker
from logocap_ros.frames.config import smoothing_3d_config, smoothing_config, tracker_config
import numpy as np


@dataclass
class PeopleFrame:
    """The people of one image after tracking and smoothing.

    :param result: what ``poses`` shows: smoothed keypoints when smoothing is on, else
        ``raw`` itself.
    :param raw: the model output, unchanged.
    :param track_ids: ``(N,)`` int64 ids for ``PersonPose.track_id``, or None when tracking
        is off (then every ``track_id`` is ``NO_TRACK``).
    :param tracks: ``(N,)`` the tracker's ids, also with ``tracking:=false`` while smoothing
        (keys of the filter states), or None when neither runs.
    :param stamp_s: the image time [s] the people were tracked at.
    """

    result: PoseResult
    raw: PoseResult
    track_ids: Optional[np.ndarray]
    tracks: Optional[np.ndarray] = None
    stamp_s: float = float('nan')

    @property
    def smoothed(self) -> bool:
        """Return True when ``result`` holds smoothed keypoints (publish ``poses_raw``)."""
        return self.result is not self.raw


class PeopleFilter:
    """Tracker + smoother of one pipeline; thread-safe (parameters change on another thread).

    :param cfg: the settings (a ``PipelineConfig``, or anything with its tracking and
        smoothing attributes).
    """

    def __init__(self, cfg: Any) -> None:
        self._lock = threading.Lock()
        self._cfg = cfg
        self._tracker = PoseTracker(tracker_config(cfg))
        self._bank = OneEuroBank(smoothing_config(cfg))
        self._bank_3d = OneEuroBank(smoothing_3d_config(cfg))  # metres: its own beta

    def configure(self, cfg: Any) -> None:
        """Apply changed parameters; new tracker parameters restart tracking (ids go on)."""
        with self._lock:
            self._cfg = cfg
            if tracker_config(cfg) != self._tracker.config:
                self._tracker.reconfigure(tracker_config(cfg))
                self._reset_banks()
            self._bank.config = smoothing_config(cfg)
            self._bank_3d.config = smoothing_3d_config(cfg)
            if not cfg.smoothing:
                self._reset_banks()
            if not (cfg.tracking or cfg.smoothing):
                self._tracker.reset()

    def reset(self) -> None:
        """Forget all tracks and filter states (deactivate / cleanup); ids are not reused."""
        with self._lock:
            self._tracker.reset()
            self._reset_banks()

    def _reset_banks(self) -> None:
        self._bank.reset()
        self._bank_3d.reset()

    @property
    def live_ids(self) -> FrozenSet[int]:
        """Confirmed track ids not yet removed (empty when tracking is off)."""
        with self._lock:
            return self._tracker.live_ids if self._cfg.tracking else frozenset()

    def update(self, result: PoseResult, stamp_s: float) -> PeopleFrame:
        """Track (and smooth) the people of one image taken at ``stamp_s`` [s]."""
        with self._lock:
            cfg = self._cfg
            if not (cfg.tracking or cfg.smoothing):
                return PeopleFrame(result, result, None)
            ids = self._tracker.update(result.keypoints, result.scores, result.boxes, stamp_s)
            shown = result
            if cfg.smoothing:
                shown = self._smooth(result, ids, stamp_s, cfg.keypoint_threshold)
            return PeopleFrame(shown, result, ids if cfg.tracking else None, ids, stamp_s)

    def smooth_3d(self, frame: PeopleFrame, points: np.ndarray,
                  status: np.ndarray) -> np.ndarray:
        """Smooth the 3D joints of a frame from :meth:`update` when its 2D was smoothed.

        Only VALID joints (finite) of confirmed tracks are filtered, at the frame's time; any
        other joint is returned unchanged and its filter restarts at its next VALID sample.

        :param frame: the frame's :class:`PeopleFrame` (its people, in the same order).
        :param points: ``(N, 17, 3)`` metres (NaN where not VALID).
        :param status: ``(N, 17)`` ``Keypoint3D`` status codes.
        :return: ``(N, 17, 3)`` float32 points; ``points`` itself when the frame is not
            smoothed.
        """
        if not frame.smoothed or frame.tracks is None:
            return points
        with self._lock:
            valid = np.asarray(status) == VALID
            smoothed = self._bank_3d.smooth_many(frame.tracks, points, frame.stamp_s, valid)
            self._bank_3d.prune(self._tracker.live_ids)
        return smoothed.astype(np.float32)

    def _smooth(self, result: PoseResult, ids: np.ndarray, stamp_s: float,
                keypoint_threshold: float) -> PoseResult:
        """Smooth x, y of the joints scored >= ``keypoint_threshold`` of confirmed tracks."""
        keypoints = result.keypoints.copy()
        valid = keypoints[..., 2] >= keypoint_threshold
        keypoints[..., :2] = self._bank.smooth_many(ids, keypoints[..., :2], stamp_s, valid)
        self._bank.prune(self._tracker.live_ids)
        return PoseResult(keypoints, result.scores, result.image_size, result.timings)
