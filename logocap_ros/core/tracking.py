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

"""Multi-person pose tracking: stable ids across frames from keypoints, boxes and motion.

Per frame, :meth:`PoseTracker.update` takes the people found in one image and returns one id
per person::

    tracker = PoseTracker()
    ids = tracker.update(result.keypoints, result.scores, result.boxes, stamp_s)

**Motion model.** Each track has one 2D velocity [px/s] shared by its joints and its box
(constant-velocity model). Before matching, every track is moved to the new stamp
(``x + v * dt``). After a match the velocity is corrected with an alpha-beta filter, the
steady-state Kalman filter of the constant-velocity model: with the mean residual ``r`` of the
joints seen in both, ``v += velocity_gain * r / dt`` (the first correction takes ``r / dt``
as it is); positions take the detected values (alpha = 1). Joints not detected in a frame are
carried on with the velocity.

**Association.** For every track/detection pair::

    similarity = oks_weight * OKS + (1 - oks_weight) * IoU

OKS is the COCO object keypoint similarity of the predicted track joints and the detected
joints (COCO sigmas, track box area as the scale; for a lost track the area grows by
``lost_area_growth`` per missed frame, because its prediction gets less certain), IoU that of
the predicted track box and the detection box. The assignment maximising the total similarity
is found with :func:`scipy.optimize.linear_sum_assignment`; pairs below ``match_threshold``
are never matched.

**Track states.** A detection that matches nothing starts a *tentative* track. After
``min_hits`` matched frames in a row it is *confirmed* and gets the next id (small
non-negative ints, never reused by one tracker, also not after :meth:`PoseTracker.reset`). A
tentative track that misses a frame is dropped. A confirmed track that misses a frame is
*lost*: it keeps its id and is still predicted and matchable for up to ``max_age`` frames,
then *removed*. So a person hidden for a few frames gets the same id back.

Joints count as detected when finite with score >= ``keypoint_threshold``. A track remembers
a joint for ``joint_memory`` matched frames after it was last detected.
"""

from dataclasses import dataclass
from typing import FrozenSet, NamedTuple

import numpy as np

from .keypoints import NUM_KEYPOINTS
from .tracking_cost import (assign, box_area, box_centre, box_iou, candidate_pairs,
                            object_keypoint_similarity)

#: Id returned for a person whose track is not (yet) confirmed.
NO_TRACK = -1


@dataclass(frozen=True)
class TrackerConfig:
    """Parameters of :class:`PoseTracker` (see the module docstring for the model).

    :param min_hits: matched frames in a row before a track is confirmed and gets an id
        (1 = at once).
    :param max_age: frames a confirmed track may go unmatched (lost) before it is removed.
    :param match_threshold: smallest similarity (0..1) of a track/detection pair to match.
    :param oks_weight: weight of OKS against box IoU in the similarity (0 = IoU only).
    :param keypoint_threshold: joints with a lower score are treated as not detected.
    :param velocity_gain: alpha-beta filter gain of the velocity (0 = no motion model).
    :param lost_area_growth: relative growth of the OKS scale area per missed frame.
    :param joint_memory: matched frames a track keeps an undetected joint.
    :param max_prediction_s: longest time step [s] a track is extrapolated over in one
        update (a pause in the stream does not throw tracks across the image).
    """

    min_hits: int = 3
    max_age: int = 30
    match_threshold: float = 0.3
    oks_weight: float = 0.6
    keypoint_threshold: float = 0.1
    velocity_gain: float = 0.4
    lost_area_growth: float = 0.3
    joint_memory: int = 5
    max_prediction_s: float = 0.5

    def __post_init__(self) -> None:
        """Check the ranges.

        :raises ValueError: naming every out-of-range field.
        """
        checks = {
            'min_hits': self.min_hits >= 1, 'max_age': self.max_age >= 0,
            'match_threshold': 0.0 < self.match_threshold <= 1.0,
            'oks_weight': 0.0 <= self.oks_weight <= 1.0,
            'velocity_gain': 0.0 <= self.velocity_gain <= 1.0,
            'lost_area_growth': self.lost_area_growth >= 0.0,
            'joint_memory': self.joint_memory >= 0,
            'max_prediction_s': self.max_prediction_s >= 0.0,
        }
        bad = [f'{name}={getattr(self, name)!r}' for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f'TrackerConfig: out of range: {", ".join(bad)} (min_hits >= 1, '
                             'max_age >= 0, 0 < match_threshold <= 1, oks_weight and '
                             'velocity_gain in [0, 1], the rest >= 0)')


class TrackCounts(NamedTuple):
    """Number of tracks per state."""

    tentative: int
    confirmed: int
    lost: int


class _Tracks:
    """Struct of arrays: one row per track (``T`` rows)."""

    def __init__(self) -> None:
        self.xy = np.zeros((0, NUM_KEYPOINTS, 2))                 # [px] joints at `stamp`
        self.joint_age = np.zeros((0, NUM_KEYPOINTS), np.int64)   # matched frames since seen
        self.box = np.zeros((0, 4))                               # [px] at `stamp`
        self.vel = np.zeros((0, 2))                               # [px/s]
        self.hits = np.zeros(0, np.int64)                         # matched frames in a row
        self.misses = np.zeros(0, np.int64)                       # unmatched frames in a row
        self.ids = np.zeros(0, np.int64)                          # NO_TRACK until confirmed

    _FIELDS = ('xy', 'joint_age', 'box', 'vel', 'hits', 'misses', 'ids')

    def __len__(self) -> int:
        return len(self.ids)

    def keep(self, mask: np.ndarray) -> None:
        for name in self._FIELDS:
            setattr(self, name, getattr(self, name)[mask])

    def append(self, **values: np.ndarray) -> None:
        for name in self._FIELDS:
            setattr(self, name, np.concatenate([getattr(self, name), values[name]]))


class PoseTracker:
    """Assigns stable ids to the people of consecutive frames (see the module docstring).

    :param config: parameters; the defaults suit 10-60 fps video of walking people.
    """

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self._next_id = 0
        self._tracks = _Tracks()
        self._stamp = None

    def reset(self) -> None:
        """Forget every track; new ids continue after the last one handed out."""
        self._tracks = _Tracks()
        self._stamp = None

    def reconfigure(self, config: TrackerConfig) -> None:
        """Use new parameters; forgets every track (like :meth:`reset`)."""
        self.config = config
        self.reset()

    @property
    def live_ids(self) -> FrozenSet[int]:
        """Ids of the confirmed tracks not yet removed (including lost ones)."""
        ids = self._tracks.ids
        return frozenset(int(i) for i in ids[ids >= 0])

    @property
    def counts(self) -> TrackCounts:
        """Number of tentative, confirmed (seen in the last frame) and lost tracks."""
        t = self._tracks
        confirmed = t.ids >= 0
        return TrackCounts(int((~confirmed).sum()), int((confirmed & (t.misses == 0)).sum()),
                           int((confirmed & (t.misses > 0)).sum()))

    def update(self, keypoints: np.ndarray, scores: np.ndarray, boxes: np.ndarray,
               stamp_s: float) -> np.ndarray:
        """Match the people of one frame to the tracks and return their ids.

        :param keypoints: ``(N, 17, 3)`` x, y [px] and joint score; NaN where unknown.
        :param scores: ``(N,)`` pose scores (only checked for shape).
        :param boxes: ``(N, 4)`` ``x_min, y_min, x_max, y_max`` [px]; a non-finite box is
            replaced by the extent of the detected joints.
        :param stamp_s: time of the frame [s] (e.g. the image stamp); steps <= 0 or
            non-finite steps predict no motion.
        :return: ``(N,)`` int64 track id per person, :data:`NO_TRACK` (-1) while its track
            is tentative or when the person has no usable joint or box.
        :raises ValueError: on inconsistent shapes.
        """
        xy, valid, box, usable = _prepare(keypoints, scores, boxes, self.config)
        dt = self._advance(stamp_s)
        tracks = self._tracks
        pred_xy, pred_box = tracks.xy, tracks.box
        if dt > 0:
            pred_xy = pred_xy + tracks.vel[:, None, :] * dt
            pred_box = pred_box + tracks.vel[:, [0, 1, 0, 1]] * dt
        rows, cols = self._associate(pred_xy, pred_box, xy, valid, box, usable)
        self._correct(rows, cols, pred_xy, pred_box, xy, valid, box, dt)
        unmatched = usable.copy()
        unmatched[cols] = False
        new = np.flatnonzero(unmatched)
        self._start_tracks(new, xy, valid, box)
        det_of_row = np.full(len(self._tracks), -1, np.int64)
        det_of_row[rows] = cols
        det_of_row[len(det_of_row) - len(new):] = new
        return self._promote_and_prune(det_of_row, len(box))

    # ------------------------------------------------------------------ update steps
    def _advance(self, stamp_s: float) -> float:
        """Return the prediction step [s] to ``stamp_s`` and remember the stamp.

        A stamp that does not move forward (repeated, or a bag loop / simulation restart
        going back in time) predicts no motion.
        """
        stamp = float(stamp_s)
        if not np.isfinite(stamp):
            return 0.0
        last, self._stamp = self._stamp, stamp
        if last is None or stamp <= last:
            return 0.0
        return min(stamp - last, self.config.max_prediction_s)

    def _associate(self, pred_xy, pred_box, xy, valid, box, usable):
        cfg, tracks = self.config, self._tracks
        if len(tracks) == 0 or not usable.any():
            empty = np.zeros(0, np.int64)
            return empty, empty
        track_valid = tracks.joint_age <= cfg.joint_memory
        area = box_area(pred_box) * (1.0 + cfg.lost_area_growth * tracks.misses)
        similarity = (1.0 - cfg.oks_weight) * box_iou(pred_box, box)
        if cfg.oks_weight > 0:
            ti, di = np.nonzero(candidate_pairs(pred_box, box, area) & usable[None, :])
            similarity[ti, di] += cfg.oks_weight * object_keypoint_similarity(
                pred_xy[ti], track_valid[ti], xy[di], valid[di], area[ti])
        return assign(similarity, cfg.match_threshold, allowed=usable[None, :])

    def _correct(self, rows, cols, pred_xy, pred_box, xy, valid, box, dt) -> None:
        """Move every track to the new stamp; matched ones take the detections."""
        cfg, tracks = self.config, self._tracks
        tracks.xy, tracks.box = pred_xy, pred_box
        tracks.misses += 1
        if len(rows) == 0:
            return
        det_valid, det_xy, old_xy = valid[cols], xy[cols], pred_xy[rows]
        seen = det_valid & (tracks.joint_age[rows] <= cfg.joint_memory)
        count = seen.sum(axis=1)
        mean_res = (np.where(seen[..., None], det_xy - old_xy, 0.0).sum(axis=1)
                    / np.maximum(count, 1)[:, None])
        blind = count == 0  # no joint seen in both: use the box centres
        if blind.any():
            box_res = box_centre(box[cols[blind]]) - box_centre(pred_box[rows[blind]])
            mean_res[blind] = np.where(np.isfinite(box_res), box_res, 0.0)
        if dt > 0:
            gain = np.where(tracks.hits[rows] <= 1, 1.0, cfg.velocity_gain)
            tracks.vel[rows] += gain[:, None] * mean_res / dt
        tracks.xy[rows] = np.where(det_valid[..., None], det_xy, old_xy)
        tracks.joint_age[rows] = np.where(det_valid, 0, tracks.joint_age[rows] + 1)
        tracks.box[rows] = box[cols]
        tracks.hits[rows] += 1
        tracks.misses[rows] = 0

    def _start_tracks(self, new: np.ndarray, xy, valid, box) -> None:
        """Append one tentative track per detection index in ``new``."""
        n = len(new)
        if n == 0:
            return
        never = self.config.joint_memory + 1
        self._tracks.append(
            xy=np.where(valid[new][..., None], xy[new], 0.0),
            joint_age=np.where(valid[new], 0, never).astype(np.int64), box=box[new],
            vel=np.zeros((n, 2)), hits=np.ones(n, np.int64), misses=np.zeros(n, np.int64),
            ids=np.full(n, NO_TRACK, np.int64))

    def _promote_and_prune(self, det_of_row: np.ndarray, num_dets: int) -> np.ndarray:
        """Confirm tracks with enough hits, drop stale ones; return the id per detection.

        :param det_of_row: ``(T,)`` detection index of each track this frame, -1 if none.
        :param num_dets: number of detections ``N``.
        """
        cfg, tracks = self.config, self._tracks
        promote = (tracks.ids < 0) & (tracks.hits >= cfg.min_hits) & (tracks.misses == 0)
        count = int(promote.sum())
        if count:
            tracks.ids[promote] = np.arange(self._next_id, self._next_id + count)
            self._next_id += count
        out = np.full(num_dets, NO_TRACK, np.int64)
        has_det = det_of_row >= 0
        out[det_of_row[has_det]] = tracks.ids[has_det]
        alive = np.where(tracks.ids >= 0, tracks.misses <= cfg.max_age, tracks.misses == 0)
        if not alive.all():
            tracks.keep(alive)
        return out


def _prepare(keypoints, scores, boxes, cfg: TrackerConfig):
    """Check shapes; return ``(xy, valid, box, usable)`` as float64/bool arrays."""
    kps = np.asarray(keypoints, np.float64)
    if kps.ndim != 3 or kps.shape[1:] != (NUM_KEYPOINTS, 3):
        raise ValueError(f'keypoints must have shape (N, {NUM_KEYPOINTS}, 3), got {kps.shape}')
    n = len(kps)
    box = np.asarray(boxes, np.float64)
    if box.shape != (n, 4) or np.shape(scores) != (n,):
        raise ValueError(f'for {n} people, boxes must be ({n}, 4) and scores ({n},); got '
                         f'{box.shape} and {np.shape(scores)}')
    xy = kps[..., :2]
    valid = np.isfinite(kps).all(axis=-1) & (kps[..., 2] >= cfg.keypoint_threshold)
    box_ok = np.isfinite(box).all(axis=1) & (box[:, 2] >= box[:, 0]) & (box[:, 3] >= box[:, 1])
    if not box_ok.all():
        box = box.copy()
        box[~box_ok] = _extent(xy[~box_ok], valid[~box_ok])
    usable = valid.any(axis=1) | box_ok
    return xy, valid, box, usable


def _extent(xy: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(M, 4)`` box around the valid joints of each person (NaN when none is valid)."""
    lo = np.where(valid[..., None], xy, np.inf).min(axis=1)
    hi = np.where(valid[..., None], xy, -np.inf).max(axis=1)
    box = np.concatenate([lo, hi], axis=1)
    box[~valid.any(axis=1)] = np.nan
    return box
