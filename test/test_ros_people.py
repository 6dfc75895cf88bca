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

"""The node's tracking/smoothing stage (``frames/people.py``) without a node."""

import dataclasses
from types import SimpleNamespace

from logocap_ros.core.result import PoseResult
from logocap_ros.frames.people import PeopleFilter
from logocap_ros.frames.stamps import is_unset, ns_to_seconds, stamp_from_ns, stamp_ns
from logocap_ros.ros.parameters import NodeConfig
import numpy as np
from tracking_eval import make_scene

SCENE = make_scene('crossing', 3)


def results(count: int = 12):
    """``(PoseResult, stamp_s)`` of the first frames of a synthetic scene."""
    for frame in SCENE.frames[:count]:
        yield PoseResult(frame.keypoints, frame.scores, (720, 1280)), frame.stamp_s


def test_defaults_track_without_smoothing():
    people = PeopleFilter(NodeConfig())
    frames = [people.update(r, t) for r, t in results()]
    assert all(f.result is f.raw and not f.smoothed for f in frames)
    assert (frames[-1].track_ids >= 0).all() and frames[0].track_ids.tolist() == [-1] * 6
    assert people.live_ids == frozenset(range(6))


def test_smoothing_changes_confirmed_people_only_and_keeps_scores():
    people = PeopleFilter(NodeConfig(smoothing=True))
    frames = [people.update(r, t) for r, t in results()]
    last = frames[-1]
    assert last.smoothed
    moved = np.nanmax(np.abs(last.result.keypoints[..., :2] - last.raw.keypoints[..., :2]),
                      axis=(1, 2))
    assert (moved > 0.1).any()
    np.testing.assert_array_equal(last.result.keypoints[..., 2], last.raw.keypoints[..., 2])
    first = frames[0]                                   # all tentative: nothing smoothed
    np.testing.assert_array_equal(first.result.keypoints, first.raw.keypoints)


def test_smoothing_without_tracking_publishes_no_ids():
    people = PeopleFilter(NodeConfig(tracking=False, smoothing=True))
    frame = [people.update(r, t) for r, t in results()][-1]
    assert frame.track_ids is None and frame.smoothed
    assert people.live_ids == frozenset()


def test_off_is_a_pass_through():
    people = PeopleFilter(NodeConfig(tracking=False))
    result, stamp = next(results())
    frame = people.update(result, stamp)
    assert frame.result is result and frame.track_ids is None


def test_new_tracker_parameters_restart_tracks_but_not_ids():
    cfg = NodeConfig()
    people = PeopleFilter(cfg)
    for r, t in results():
        last = people.update(r, t)
    people.configure(dataclasses.replace(cfg, smoothing_beta=0.5))   # smoothing only
    assert people.live_ids == frozenset(range(6))
    people.configure(dataclasses.replace(cfg, track_min_hits=1))
    assert people.live_ids == frozenset()
    r, t = list(results(13))[-1]
    again = people.update(r, t)
    assert min(again.track_ids) > max(last.track_ids)


def test_stamps_convert_both_ways_and_spot_unstamped_images():
    stamp = SimpleNamespace(sec=3, nanosec=500_000_001)
    assert stamp_ns(stamp) == 3_500_000_001 and ns_to_seconds(3_500_000_000) == 3.5
    back = stamp_from_ns(3_500_000_001, SimpleNamespace)
    assert (back.sec, back.nanosec) == (3, 500_000_001)
    assert is_unset(SimpleNamespace(sec=0, nanosec=0)) and not is_unset(stamp)


# --------------------------------------------------------------------- 3D smoothing
VALID, OCCLUDED = 0, 3  # Keypoint3D status codes (test_ros_depth checks them against the msg)
SKELETONS_3D = np.random.default_rng(7).uniform(-1.0, 1.0, (6, 17, 3)) + [0.0, 0.0, 3.0]


def frames_3d(people: PeopleFilter, count: int, noise_m: float = 0.0, seed: int = 0):
    """Run ``count`` frames; yield ``(frame, points, status, truth)`` per frame.

    Each true person of the scene has a still 3D skeleton (``SKELETONS_3D``); ``points`` is it
    plus Gaussian noise of ``noise_m`` metres per coordinate, every joint VALID.
    """
    rng = np.random.default_rng(seed)
    for (result, stamp), scene_frame in zip(results(count), SCENE.frames):
        frame = people.update(result, stamp)
        truth = SKELETONS_3D[scene_frame.person_ids].astype(np.float32)
        points = (truth + rng.normal(0.0, noise_m, truth.shape)).astype(np.float32)
        status = np.full(truth.shape[:2], VALID, np.uint8)
        yield frame, points, status, truth


def test_3d_smoothing_passes_a_still_skeleton_unchanged():
    people = PeopleFilter(NodeConfig(smoothing=True))
    confirmed = 0
    for frame, points, status, truth in frames_3d(people, 40):
        out = people.smooth_3d(frame, points, status)
        np.testing.assert_allclose(out, truth, atol=1e-5)
        confirmed += int((frame.tracks >= 0).sum())
    assert confirmed > 100  # the filter really ran on confirmed tracks


def test_3d_smoothing_reduces_depth_noise_of_confirmed_tracks():
    people = PeopleFilter(NodeConfig(smoothing=True))
    raw_err, smooth_err = [], []
    for k, (frame, points, status, truth) in enumerate(frames_3d(people, 90, noise_m=0.02)):
        out = people.smooth_3d(frame, points, status)
        assert out.shape == points.shape and out.dtype == np.float32
        tentative = frame.tracks < 0
        np.testing.assert_array_equal(out[tentative], points[tentative])
        if k >= 30:  # filters settled
            keep = ~tentative
            raw_err.append(np.abs(points[keep] - truth[keep]).ravel())
            smooth_err.append(np.abs(out[keep] - truth[keep]).ravel())
    raw, smooth = np.concatenate(raw_err), np.concatenate(smooth_err)
    assert raw.size > 1000
    assert np.sqrt(np.mean(smooth ** 2)) < 0.6 * np.sqrt(np.mean(raw ** 2))


def test_3d_smoothing_leaves_joints_that_are_not_valid_alone():
    people = PeopleFilter(NodeConfig(smoothing=True))
    for frame, points, status, _ in frames_3d(people, 30, noise_m=0.02):
        status[:, 5] = OCCLUDED          # finite but not a measurement of the joint
        points[:, 6] = np.nan            # NO_DEPTH-like: NaN position...
        status[:, 6] = VALID             # ...even when marked VALID
        out = people.smooth_3d(frame, points, status)
        np.testing.assert_array_equal(out[:, 5], points[:, 5])
        assert np.isnan(out[:, 6]).all()
    confirmed = frame.tracks >= 0
    assert confirmed.any()
    assert not np.array_equal(out[confirmed][:, 0], points[confirmed][:, 0])  # VALID: smoothed


def test_3d_smoothing_off_returns_the_lifted_points():
    people = PeopleFilter(NodeConfig(smoothing=False))
    for frame, points, status, _ in frames_3d(people, 5, noise_m=0.02):
        assert people.smooth_3d(frame, points, status) is points


def test_3d_smoothing_uses_its_own_beta():
    slow, fast = (PeopleFilter(NodeConfig(smoothing=True, smoothing_beta_3d=beta))
                  for beta in (0.0, 1000.0))
    outs = []
    for people in (slow, fast):
        for frame, points, status, truth in frames_3d(people, 20, noise_m=0.0):
            shift = 0.1 * frame.stamp_s * 30   # every joint walks 3 m/s along x
            points = points + np.float32([shift, 0.0, 0.0])
            out = people.smooth_3d(frame, points, status)
        outs.append(np.abs(out - points)[frame.tracks >= 0].max())
    assert outs[1] < 0.2 * outs[0]  # high beta: little lag on the moving joints
