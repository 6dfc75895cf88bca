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

"""PoseTracker: track states, ids, bad input, and MOT scores against a box-IoU baseline.

The MOT tests run the synthetic scenes of ``test/tracking_eval.py`` (people
crossing and hiding each other, walking behind pillars, entering and leaving, 30 at once;
joint noise, dropped and NaN joints, missed people) and count identity switches and
fragmentations with ``motmetrics``.
"""

from logocap_ros.core.tracking import NO_TRACK, PoseTracker, TrackerConfig
from logocap_ros.core.tracking_cost import assign, box_iou, object_keypoint_similarity
import numpy as np
import pytest
from tracking_eval import (evaluate, IoUTracker, make_scene, SCENES,
                           TEMPLATE)

SEEDS = (0, 1, 2)
FPS = 30.0


def person(x: float, y: float, height: float = 200.0, facing: int = 1) -> np.ndarray:
    """``(17, 3)`` keypoints of a standing person with hips at (x, y), all joints scored 0.9."""
    xy = TEMPLATE * np.array([facing, 1.0]) * height + (x, y)
    return np.concatenate([xy, np.full((17, 1), 0.9)], axis=1)


def frame(*people: np.ndarray):
    """``(keypoints, scores, boxes)`` for the given people."""
    kps = np.array(people, np.float64).reshape(-1, 17, 3)
    known = np.isfinite(kps[..., :2])
    boxes = np.concatenate([np.where(known, kps[..., :2], np.inf).min(axis=1),
                            np.where(known, kps[..., :2], -np.inf).max(axis=1)], axis=1)
    return kps, np.full(len(kps), 0.9), boxes


def step(tracker: PoseTracker, k: int, *people: np.ndarray) -> np.ndarray:
    """Update with the people of frame ``k`` (30 fps stamps); return the ids."""
    return tracker.update(*frame(*people), k / FPS)


# ---------------------------------------------------------------------- track states
def test_confirmed_after_min_hits_and_stable_ids():
    tracker = PoseTracker(TrackerConfig(min_hits=3))
    ids = [step(tracker, k, person(100 + 3 * k, 300), person(600 - 3 * k, 300))
           for k in range(10)]
    assert ids[0].tolist() == [NO_TRACK, NO_TRACK] and ids[1].tolist() == [NO_TRACK, NO_TRACK]
    assert sorted(ids[2].tolist()) == [0, 1]
    assert all((i == ids[2]).all() for i in ids[2:])
    assert tracker.live_ids == frozenset({0, 1})
    assert ids[0].dtype == np.int64


def test_min_hits_one_confirms_at_once():
    tracker = PoseTracker(TrackerConfig(min_hits=1))
    assert step(tracker, 0, person(100, 300)).tolist() == [0]


def test_tentative_track_that_misses_a_frame_is_dropped():
    tracker = PoseTracker(TrackerConfig(min_hits=3))
    step(tracker, 0, person(100, 300))
    step(tracker, 1, person(100, 300))
    step(tracker, 2)
    assert tracker.counts.tentative == 0
    ids = [step(tracker, k, person(100, 300)) for k in range(3, 6)]
    assert [i.tolist() for i in ids] == [[NO_TRACK], [NO_TRACK], [0]]


def test_hidden_person_keeps_id_up_to_max_age_then_is_removed():
    tracker = PoseTracker(TrackerConfig(min_hits=2, max_age=8))
    for k in range(5):
        a, b = step(tracker, k, person(100 + 4 * k, 300), person(700, 300))
    hidden = range(5, 13)  # 8 frames: person A walks on behind something
    for k in hidden:
        (only_b,) = step(tracker, k, person(700, 300))
        assert only_b == b
        assert tracker.live_ids == {a, b} and tracker.counts.lost == 1
    back = step(tracker, 13, person(100 + 4 * 13, 300), person(700, 300))
    assert back.tolist() == [a, b]
    for k in range(14, 14 + 9):
        step(tracker, k, person(700, 300))
    assert tracker.live_ids == {b}
    returns = [step(tracker, k, person(100 + 4 * k, 300), person(700, 300))[0]
               for k in range(23, 25)]
    assert returns[-1] not in (a, b) and returns[-1] > max(a, b)


def test_ids_never_reused_also_after_reset():
    tracker = PoseTracker(TrackerConfig(min_hits=1, max_age=0))
    seen = []
    for k in range(6):
        seen += step(tracker, k, person(100 + 300 * (k % 2), 300)).tolist()
    tracker.reset()
    assert tracker.live_ids == frozenset() and tracker.counts == (0, 0, 0)
    seen += step(tracker, 6, person(100, 300)).tolist()
    assert seen == list(range(7))


def test_people_far_apart_never_match():
    tracker = PoseTracker(TrackerConfig(min_hits=1))
    first = step(tracker, 0, person(100, 300))
    second = step(tracker, 1, person(1000, 300))
    assert first.tolist() == [0] and second.tolist() == [1], 'a new track, not a jump'
    assert tracker.live_ids == frozenset({0, 1}) and tracker.counts == (0, 1, 1)  # 0 is lost
    third = step(tracker, 2, person(1000, 300), person(100, 300))
    assert third.tolist() == [1, 0], 'both tracks continue where they were'


# --------------------------------------------------------------------------- bad input
def test_wrong_shapes_raise_clear_errors():
    tracker = PoseTracker()
    with pytest.raises(ValueError, match=r'keypoints must have shape \(N, 17, 3\)'):
        tracker.update(np.zeros((2, 17, 2)), np.zeros(2), np.zeros((2, 4)), 0.0)
    with pytest.raises(ValueError, match=r'boxes must be \(2, 4\)'):
        tracker.update(np.zeros((2, 17, 3)), np.zeros(2), np.zeros((3, 4)), 0.0)
    with pytest.raises(ValueError, match='min_hits'):
        TrackerConfig(min_hits=0)


def test_empty_frames_and_nan_input():
    tracker = PoseTracker(TrackerConfig(min_hits=2))
    assert tracker.update(np.zeros((0, 17, 3)), np.zeros(0), np.zeros((0, 4)), 0.0).shape == (0,)
    partial = person(300, 300)
    partial[:8] = np.nan                         # upper body unknown
    blank = np.full((17, 3), np.nan)             # nothing usable at all
    for k in range(1, 4):
        kps, scores, boxes = frame(partial, blank)
        boxes[0] = np.nan                        # box unknown too: rebuilt from the joints
        ids = tracker.update(kps, scores, boxes, k / FPS)
    assert ids[0] >= 0 and ids[1] == NO_TRACK
    assert tracker.counts == (0, 1, 0)


def test_low_score_joints_are_ignored():
    tracker = PoseTracker(TrackerConfig(min_hits=1, keypoint_threshold=0.5))
    start = step(tracker, 0, person(300, 300))
    moved = person(300, 300)
    moved[:, 2] = 0.1                            # every joint below the threshold ...
    moved[:, :2] += 500                          # ... and somewhere else: box decides
    kps, scores, boxes = frame(moved)
    boxes[0] = frame(person(300, 300))[2][0]
    assert tracker.update(kps, scores, boxes, 1 / FPS).tolist() == start.tolist()


def test_repeated_or_backwards_stamps_predict_no_motion():
    tracker = PoseTracker(TrackerConfig(min_hits=1))
    ids = [tracker.update(*frame(person(100 + 10 * k, 300)), k / FPS) for k in range(5)]
    same = tracker.update(*frame(person(140, 300)), 4 / FPS)       # repeated stamp
    back = tracker.update(*frame(person(140, 300)), 1.0 / FPS)     # bag loop
    assert ids[-1].tolist() == same.tolist() == back.tolist() == [0]


# ----------------------------------------------------------------------- cost pieces
def test_box_iou_and_oks_values():
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10],
                                                        [20, 20, 30, 30], [np.nan] * 4]))
    np.testing.assert_allclose(iou, [[1.0, 1 / 3, 0.0, 0.0]])
    a = person(200, 300)[None, :, :2]
    valid = np.ones((1, 17), bool)
    same = object_keypoint_similarity(a, valid, a, valid, np.array([1e4]))
    mirrored = object_keypoint_similarity(a, valid, person(200, 300, facing=-1)[None, :, :2],
                                          valid, np.array([1e4]))
    none = object_keypoint_similarity(a, ~valid, a, valid, np.array([1e4]))
    assert same[0] == pytest.approx(1.0) and 0.05 < mirrored[0] < 0.9 and none[0] == 0.0


def test_assign_respects_threshold_and_is_optimal():
    sim = np.array([[0.9, 0.8], [0.85, 0.1]])
    rows, cols = assign(sim, 0.3)
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 0)]  # 1.65 > 1.0
    rows, cols = assign(np.array([[0.2]]), 0.3)
    assert len(rows) == 0


# ------------------------------------------------------------------ MOT on scenes
@pytest.fixture(scope='module')
def scores():
    """``{scene: {tracker: summed metrics over SEEDS}}`` for PoseTracker and the baseline."""
    table = {}
    for name in SCENES:
        sums = {'keypoint': {}, 'iou': {}}
        for seed in SEEDS:
            scene = make_scene(name, seed)
            for label, tracker in (('keypoint', PoseTracker()), ('iou', IoUTracker())):
                for metric, value in evaluate(tracker, scene).items():
                    sums[label][metric] = sums[label].get(metric, 0.0) + value
        table[name] = sums
    print('\nscene        | id switches kp / IoU | fragmentations kp / IoU | IDF1 kp / IoU')
    for name, s in table.items():
        kp, iou = s['keypoint'], s['iou']
        print(f'{name:12s} | {kp["num_switches"]:5.0f} / {iou["num_switches"]:5.0f}'
              f'        | {kp["num_fragmentations"]:5.0f} / {iou["num_fragmentations"]:5.0f}'
              f'           | {kp["idf1"] / 3:.3f} / {iou["idf1"] / 3:.3f}')
    return table


#: Most identity switches / fragmentations allowed per scene, summed over the 3 seeds.
BOUNDS = {'crossing': 1, 'occlusion': 1, 'enter_leave': 1, 'crowd30': 4}


@pytest.mark.parametrize('name', SCENES)
def test_few_identity_switches_and_fragmentations(scores, name):
    kp = scores[name]['keypoint']
    assert kp['num_switches'] <= BOUNDS[name], kp
    assert kp['num_fragmentations'] <= BOUNDS[name], kp
    assert kp['idf1'] / len(SEEDS) >= 0.97, kp
    assert kp['num_unique_objects'] > 0


@pytest.mark.parametrize('name', SCENES)
def test_fewer_identity_switches_than_box_iou_tracker(scores, name):
    kp, iou = scores[name]['keypoint'], scores[name]['iou']
    assert kp['num_switches'] < iou['num_switches'], (kp, iou)
    assert kp['idf1'] > iou['idf1'], (kp, iou)


def _switches(config: TrackerConfig, names) -> float:
    return sum(evaluate(PoseTracker(config), make_scene(name, seed))['num_switches']
               for name in names for seed in SEEDS)


def test_keypoint_term_reduces_switches_when_people_cross():
    names = ('crossing', 'crowd30')
    assert _switches(TrackerConfig(), names) < _switches(TrackerConfig(oks_weight=0.0), names)


def test_motion_model_bridges_occlusions():
    names = ('occlusion',)
    assert _switches(TrackerConfig(), names) < _switches(TrackerConfig(velocity_gain=0.0),
                                                         names)
