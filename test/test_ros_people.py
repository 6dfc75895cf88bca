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

"""The node's tracking/smoothing stage (``ros/people.py``) without a node."""

import dataclasses
from types import SimpleNamespace

from logocap_ros.core.result import PoseResult
from logocap_ros.ros.parameters import NodeConfig
from logocap_ros.ros.people import PeopleFilter, stamp_seconds
from logocap_ros.tools.tracking_eval import make_scene
import numpy as np

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


def test_stamp_seconds_falls_back_for_unstamped_images():
    assert stamp_seconds(SimpleNamespace(sec=3, nanosec=500_000_000), 9.0) == 3.5
    assert stamp_seconds(SimpleNamespace(sec=0, nanosec=0), 9.0) == 9.0
