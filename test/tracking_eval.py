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

"""Synthetic multi-person pose sequences with known identities, and MOT scores of trackers.

Used by the tracker tests and ``benchmarks/bench_tracking.py``; handy for tuning
:class:`~logocap_ros.core.tracking.TrackerConfig` too::

    from tracking_eval import evaluate, make_scene  # test/ on sys.path
    scene = make_scene('crossing', seed=0)
    print(evaluate(PoseTracker(), scene))       # {'num_switches': ..., 'idf1': ...}

A scene is a list of frames; each frame holds what a detector would report (keypoints
``(M, 17, 3)`` with noise, dropped joints and missed people, boxes ``(M, 4)`` as the extent
of all 17 joints like ``PoseResult.boxes``) and, per detection, the true person id.

People walk with a leg/arm swing; each has a height (near people are taller and hide the
farther ones), a facing (towards or away from the camera: left and right joints swap sides)
and a personal pose. A person is not detected while fewer than 9 of its joints are visible
(hidden by a nearer person, a pillar, or the image border); hidden joints are reported with a
low score at a wrong position (or NaN), like a bottom-up model does.

:func:`evaluate` scores a tracker with ``motmetrics`` (a test/benchmark dependency). Ground
truth of a frame = the people detected in it, so identity switches and fragmentations count
only the tracker's mistakes, not the detector's.
"""

from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from logocap_ros.core.tracking_cost import box_iou
import numpy as np
from scipy.optimize import linear_sum_assignment

#: Standing person facing the camera, in body heights, origin between the hips, y down.
#: The person's left joints are on the image's right.
TEMPLATE = np.array([
    (0.00, -0.42), (0.03, -0.45), (-0.03, -0.45), (0.06, -0.43), (-0.06, -0.43),
    (0.11, -0.30), (-0.11, -0.30), (0.14, -0.15), (-0.14, -0.15), (0.15, -0.02),
    (-0.15, -0.02), (0.07, 0.00), (-0.07, 0.00), (0.07, 0.25), (-0.07, 0.25),
    (0.07, 0.50), (-0.07, 0.50)])
#: Joint index groups for the walking swing (+ and - swing in opposite phase).
_LEGS = ((13, 15), (14, 16))
_ARMS = ((8, 10), (7, 9))
MIN_VISIBLE_JOINTS = 9
SCENES = ('crossing', 'occlusion', 'enter_leave', 'crowd30')


@dataclass(frozen=True)
class Walker:
    """One synthetic person.

    :param start: ``(x, y)`` hip centre [px] at t = 0.
    :param velocity: ``(vx, vy)`` [px/s].
    :param height: body height [px] (also the depth order: taller = nearer).
    :param facing: +1 towards the camera, -1 away (mirrored left/right).
    :param style: ``(17, 2)`` personal pose offsets [body heights].
    :param phase: walking phase at t = 0 [rad]; the swing runs at 2 steps per second.
    :param window: ``(t_start, t_end)`` [s] while the person is in the scene.
    :param sway: ``(amplitude [px], period [s])`` of a sideways sine added to the straight
        path (people do not walk at constant velocity).
    """

    start: Tuple[float, float]
    velocity: Tuple[float, float]
    height: float
    facing: int
    style: np.ndarray
    phase: float = 0.0
    window: Tuple[float, float] = (-np.inf, np.inf)
    sway: Tuple[float, float] = (0.0, 1.0)

    def joints(self, t: float) -> np.ndarray:
        """Return the true ``(17, 2)`` joint positions [px] at time ``t`` [s]."""
        pose = TEMPLATE + self.style
        pose = pose * np.array([self.facing, 1.0])
        swing = 0.08 * np.sin(self.phase + 4.0 * np.pi * t)
        pose = pose.copy()
        for sign, group in zip((1.0, -1.0), _LEGS):
            pose[list(group), 0] += sign * swing
        for sign, group in zip((1.0, -1.0), _ARMS):
            pose[list(group), 0] += sign * 0.6 * swing
        centre = np.asarray(self.start) + np.asarray(self.velocity) * t
        speed = float(np.hypot(*self.velocity)) or 1.0
        side = np.array([-self.velocity[1], self.velocity[0]]) / speed
        centre = centre + side * self.sway[0] * np.sin(2.0 * np.pi * t / self.sway[1])
        return centre + pose * self.height


@dataclass
class SceneFrame:
    """What a detector reports for one frame, with the truth.

    :param stamp_s: frame time [s].
    :param keypoints: ``(M, 17, 3)`` x, y [px], score.
    :param boxes: ``(M, 4)`` extent of the 17 joints [px].
    :param person_ids: ``(M,)`` true person id of each detection.
    """

    stamp_s: float
    keypoints: np.ndarray
    boxes: np.ndarray
    person_ids: np.ndarray

    @property
    def scores(self) -> np.ndarray:
        """``(M,)`` pose scores: mean joint score."""
        return np.nanmean(self.keypoints[..., 2], axis=1) if len(self.keypoints) else \
            np.zeros(0)


@dataclass
class Scene:
    """A synthetic sequence: frames plus how it was made."""

    name: str
    frames: List[SceneFrame]
    image_size: Tuple[int, int]
    walkers: List[Walker] = field(default_factory=list)


@dataclass(frozen=True)
class Noise:
    """Detector imperfections.

    :param sigma_px: joint position noise [px] (plus ``sigma_rel`` x height).
    :param sigma_rel: joint position noise relative to the body height.
    :param drop_joint: probability that a visible joint is reported as not detected.
    :param miss_person: probability that a detectable person is not reported at all.
    :param nan_fraction: fraction of undetected joints reported as NaN (else wrong, low score).
    """

    sigma_px: float = 1.5
    sigma_rel: float = 0.008
    drop_joint: float = 0.1
    miss_person: float = 0.03
    nan_fraction: float = 0.3


def make_scene(name: str, seed: int = 0, fps: float = 30.0, noise: Noise = Noise()) -> Scene:
    """Build one of :data:`SCENES` (deterministic for a seed).

    * ``crossing``: 3 pairs walking towards each other, crossing in front of/behind each
      other (the farther one is hidden for several frames) - 4 s, 1280x720.
    * ``occlusion``: 4 people walking behind 2 pillars (hidden 6-12 frames) - 4 s, 1280x720.
    * ``enter_leave``: 8 people entering and leaving through the image borders at different
      times - 6 s, 1280x720.
    * ``crowd30``: 30 people at once walking in all directions - 4 s, 1920x1080.
    """
    rng = np.random.default_rng(seed)
    builders: Dict[str, Callable] = {'crossing': _crossing, 'occlusion': _occlusion,
                                     'enter_leave': _enter_leave, 'crowd30': _crowd}
    if name not in builders:
        raise ValueError(f'unknown scene {name!r}; use one of {", ".join(SCENES)}')
    walkers, size, seconds, pillars = builders[name](rng)
    frames = [_detect(walkers, k / fps, size, pillars, noise, rng)
              for k in range(int(round(seconds * fps)))]
    return Scene(name, frames, size, walkers)


def crowd_scene(count: int, seed: int = 0, seconds: float = 4.0, fps: float = 30.0,
                noise: Noise = Noise()) -> Scene:
    """Build a ``crowd30``-like scene with ``count`` people for ``seconds`` (benchmarks)."""
    rng = np.random.default_rng(seed)
    walkers, size, _, pillars = _crowd(rng, count)
    frames = [_detect(walkers, k / fps, size, pillars, noise, rng)
              for k in range(int(round(seconds * fps)))]
    return Scene(f'crowd{count}', frames, size, walkers)


def _walker(rng, start, velocity, height, window=(-np.inf, np.inf)) -> Walker:
    return Walker(start=tuple(start), velocity=tuple(velocity), height=float(height),
                  facing=int(rng.choice([-1, 1])), style=rng.normal(0.0, 0.025, (17, 2)),
                  phase=float(rng.uniform(0, 2 * np.pi)), window=window,
                  sway=(float(rng.uniform(0.0, 0.25 * height)), float(rng.uniform(2.0, 4.0))))


def _crossing(rng):
    walkers = []
    for k, y in enumerate((260.0, 420.0, 560.0)):
        speed = rng.uniform(60, 120)
        near, far = rng.uniform(230, 260), rng.uniform(190, 215)
        dy = rng.uniform(-15, 15)
        walkers.append(_walker(rng, (400 + 40 * k, y), (speed, 0), near))
        walkers.append(_walker(rng, (880 - 40 * k, y + dy), (-speed, 0), far))
    return walkers, (1280, 720), 4.0, []


def _occlusion(rng):
    pillars = [(420.0, 0.0, 470.0, 720.0), (820.0, 0.0, 880.0, 720.0)]
    walkers = [_walker(rng, (rng.uniform(80, 300), y), (rng.uniform(150, 220) * d, 0),
                       rng.uniform(180, 240))
               for y, d in ((250, 1), (400, 1), (330, -1), (520, -1))]
    walkers = [w if w.velocity[0] > 0 else replace(w, start=(1280 - w.start[0], w.start[1]))
               for w in walkers]
    return walkers, (1280, 720), 4.0, pillars


def _enter_leave(rng):
    walkers = []
    for k in range(8):
        direction = 1 if k % 2 == 0 else -1
        speed = rng.uniform(200, 300)
        t0 = 0.6 * k
        x0 = -60.0 if direction > 0 else 1340.0
        start = (x0 - direction * speed * t0, rng.uniform(200, 560))
        walkers.append(_walker(rng, start, (direction * speed, rng.uniform(-20, 20)),
                               rng.uniform(150, 230)))
    return walkers, (1280, 720), 6.0, []


def _crowd(rng, count: int = 30):
    walkers = []
    for _ in range(count):
        angle = rng.uniform(0, 2 * np.pi)
        speed = rng.uniform(40, 120)
        walkers.append(_walker(rng, (rng.uniform(150, 1770), rng.uniform(150, 930)),
                               (speed * np.cos(angle), 0.4 * speed * np.sin(angle)),
                               rng.uniform(120, 200)))
    return walkers, (1920, 1080), 4.0, []


def _detect(walkers: Sequence[Walker], t: float, size, pillars, noise: Noise,
            rng) -> SceneFrame:
    """Simulate the detector output of one frame."""
    present = [i for i, w in enumerate(walkers) if w.window[0] <= t <= w.window[1]]
    present.sort(key=lambda i: -walkers[i].height)  # nearest first
    truth = {i: walkers[i].joints(t) for i in present}
    front_boxes: List[np.ndarray] = []
    kps, ids = [], []
    for i in present:
        xy = truth[i]
        visible = _inside(xy, (0, 0, size[0], size[1]))
        for box in list(pillars) + front_boxes:
            visible &= ~_inside(xy, box)
        front_boxes.append(_shrink(_extent(xy), 0.15))
        if visible.sum() < MIN_VISIBLE_JOINTS or rng.random() < noise.miss_person:
            continue
        kps.append(_observe(xy, visible, walkers[i].height, noise, rng))
        ids.append(i)
    keypoints = np.array(kps, np.float32).reshape(-1, 17, 3)
    boxes = np.concatenate([np.nanmin(keypoints[..., :2], axis=1),
                            np.nanmax(keypoints[..., :2], axis=1)], axis=1)
    return SceneFrame(t, keypoints, boxes, np.array(ids, np.int64))


def _observe(xy: np.ndarray, visible: np.ndarray, height: float, noise: Noise,
             rng) -> np.ndarray:
    """Noisy keypoints ``(17, 3)`` of one person: dropped joints get a low score."""
    detected = visible & (rng.random(17) >= noise.drop_joint)
    sigma = noise.sigma_px + noise.sigma_rel * height
    out = np.empty((17, 3))
    out[:, :2] = xy + rng.normal(0.0, sigma, (17, 2))
    out[:, 2] = rng.uniform(0.4, 1.0, 17)
    lost = ~detected
    out[lost, :2] = xy[lost] + rng.normal(0.0, 0.1 * height, (int(lost.sum()), 2))
    out[lost, 2] = rng.uniform(0.0, 0.05, int(lost.sum()))
    out[lost & (rng.random(17) < noise.nan_fraction)] = np.nan
    return out


def _inside(xy: np.ndarray, box) -> np.ndarray:
    return (xy[:, 0] >= box[0]) & (xy[:, 0] <= box[2]) & (xy[:, 1] >= box[1]) & \
        (xy[:, 1] <= box[3])


def _extent(xy: np.ndarray) -> np.ndarray:
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def _shrink(box: np.ndarray, fraction: float) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    return box + np.array([w, h, -w, -h]) * fraction


class IoUTracker:
    """Baseline: the same track states as ``PoseTracker``, matched by box IoU only.

    No keypoints, no motion model: a track's box is the last matched detection box, the
    assignment is :func:`scipy.optimize.linear_sum_assignment` on ``1 - IoU`` with pairs
    below ``iou_threshold`` excluded. Same call signature as ``PoseTracker.update``.
    """

    def __init__(self, min_hits: int = 3, max_age: int = 30,
                 iou_threshold: float = 0.3) -> None:
        self.min_hits, self.max_age, self.iou_threshold = min_hits, max_age, iou_threshold
        self._boxes = np.zeros((0, 4))
        self._hits = np.zeros(0, np.int64)
        self._misses = np.zeros(0, np.int64)
        self._ids = np.zeros(0, np.int64)
        self._next_id = 0

    def update(self, keypoints, scores, boxes, stamp_s) -> np.ndarray:
        """Return ``(N,)`` ids (-1 while tentative) for the boxes of one frame."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        iou = box_iou(self._boxes, boxes)
        rows, cols = (linear_sum_assignment(1.0 - iou) if iou.size else ([], []))
        pairs = [(r, c) for r, c in zip(rows, cols) if iou[r, c] >= self.iou_threshold]
        rows = np.array([r for r, _ in pairs], np.int64)
        cols = np.array([c for _, c in pairs], np.int64)
        self._misses += 1
        self._boxes[rows], self._hits[rows], self._misses[rows] = boxes[cols], \
            self._hits[rows] + 1, 0
        new = np.setdiff1d(np.arange(len(boxes)), cols)
        self._boxes = np.concatenate([self._boxes, boxes[new]])
        self._hits = np.concatenate([self._hits, np.ones(len(new), np.int64)])
        self._misses = np.concatenate([self._misses, np.zeros(len(new), np.int64)])
        self._ids = np.concatenate([self._ids, np.full(len(new), -1, np.int64)])
        promote = (self._ids < 0) & (self._hits >= self.min_hits) & (self._misses == 0)
        self._ids[promote] = np.arange(self._next_id, self._next_id + promote.sum())
        self._next_id += int(promote.sum())
        det_of_row = np.full(len(self._ids), -1, np.int64)
        det_of_row[rows] = cols
        det_of_row[len(det_of_row) - len(new):] = new
        out = np.full(len(boxes), -1, np.int64)
        out[det_of_row[det_of_row >= 0]] = self._ids[det_of_row >= 0]
        keep = np.where(self._ids >= 0, self._misses <= self.max_age, self._misses == 0)
        self._boxes, self._hits = self._boxes[keep], self._hits[keep]
        self._misses, self._ids = self._misses[keep], self._ids[keep]
        return out


def run_tracker(tracker, scene: Scene) -> List[np.ndarray]:
    """Feed every frame of ``scene`` to ``tracker.update``; return the ids per frame."""
    return [tracker.update(f.keypoints, f.scores, f.boxes, f.stamp_s) for f in scene.frames]


METRICS = ('num_switches', 'num_fragmentations', 'idf1', 'mota', 'num_misses',
           'num_false_positives', 'num_unique_objects', 'mostly_tracked')


def evaluate(tracker, scene: Scene, metrics: Sequence[str] = METRICS,
             track_ids: Optional[List[np.ndarray]] = None) -> Dict[str, float]:
    """Run ``tracker`` over ``scene`` and score it with ``motmetrics``.

    :param tracker: object with ``update(keypoints, scores, boxes, stamp_s) -> ids``.
    :param scene: from :func:`make_scene`.
    :param metrics: ``motmetrics`` metric names.
    :param track_ids: ids per frame already computed (then ``tracker`` is not run).
    :return: ``{metric: value}``.
    :raises ImportError: when ``motmetrics`` is not installed (``pip install motmetrics``).
    """
    import motmetrics
    ids_per_frame = track_ids if track_ids is not None else run_tracker(tracker, scene)
    acc = motmetrics.MOTAccumulator(auto_id=True)
    for frame, ids in zip(scene.frames, ids_per_frame):
        truth = frame.person_ids
        shown = ids >= 0
        dist = np.where(truth[:, None] == truth[shown][None, :], 0.0, np.nan)
        acc.update(truth.tolist(), ids[shown].tolist(), dist)
    summary = motmetrics.metrics.create().compute(acc, metrics=list(metrics), name='run')
    return {name: float(summary[name].iloc[0]) for name in metrics}
