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


"""``FramePipeline`` without ROS: threshold once, tracking, smoothing, 3D, and its settings."""

import argparse
from dataclasses import asdict, replace

from depth_scenes import camera, keypoints_for, person_3d, plane
from logocap_ros.core.result import PoseResult
from logocap_ros.frames.config import PIPELINE_SETTINGS, PipelineConfig
from logocap_ros.frames.pipeline import DepthImage, FramePipeline
from logocap_ros.tools.pipeline_args import add_pipeline_args, config_from_args
import numpy as np
import pytest

W, H = 640, 480


def scene(k: int) -> PoseResult:
    """Two people 2.5 m away walking right 2 cm a frame, and one below the pose threshold."""
    people = np.stack([person_3d(-0.4 + 0.02 * k, 0.0, 2.5), person_3d(0.4 + 0.02 * k, 0.0, 2.5),
                       person_3d(0.0, 0.0, 2.5)])
    kps = keypoints_for(camera('plumb_bob'), people)
    kps[..., :2] += np.random.default_rng(k).normal(0, 2.0, kps[..., :2].shape)
    return PoseResult(kps, np.array([0.9, 0.8, 0.01]), (H, W))


def run(config, frames=8, depth=True):
    calls = []

    def estimator(image, color='bgr'):
        calls.append('estimator')
        return scene(len([c for c in calls if c == 'estimator']) - 1)

    def depth_source():
        calls.append('depth')
        return DepthImage(plane(W, H, 2.5), camera('plumb_bob'), 'depth header')

    pipeline = FramePipeline(config, estimator)
    image = np.zeros((H, W, 3), np.uint8)
    out = [pipeline(image, 10**9 + k * 33_333_333, depth_source if depth else None)
           for k in range(frames)]
    return out, calls


def test_threshold_once_tracking_and_no_smoothing_by_default():
    frames, calls = run(PipelineConfig())
    assert calls[:2] == ['estimator', 'depth'], 'depth is taken after the model ran'
    assert all(len(f.people) == 2 for f in frames), 'the 0.01 person is dropped'
    assert frames[0].track_ids.tolist() == [-1, -1] and frames[-1].track_ids.tolist() == [0, 1]
    assert frames[-1].live_ids == frozenset({0, 1})
    assert all(not f.smoothed and f.raw_3d() is f.points_3d for f in frames)
    assert frames[-1].points_3d.header == 'depth header' and frames[-1].depth_missing == ''
    assert {'people', 'depth'} <= frames[-1].timings.keys()


def test_smoothing_smooths_2d_and_3d_and_keeps_the_raw_output():
    frames, _ = run(replace(PipelineConfig(), smoothing=True))
    last = frames[-1]
    assert last.smoothed and not np.allclose(last.people.keypoints, last.raw.keypoints)
    assert np.array_equal(last.raw.keypoints, scene(7).keypoints[:2])
    raw_3d = last.raw_3d()
    assert raw_3d is last.raw_3d(), 'lifted once'
    valid = (last.points_3d.status == 0) & (raw_3d.status == 0)
    assert valid.sum() > 17 and not np.allclose(last.points_3d.points[valid],
                                                raw_3d.points[valid])


def test_tracking_off_gives_no_ids_and_a_bad_depth_gives_2d_with_the_reason():
    config = replace(PipelineConfig(), tracking=False)
    pipeline = FramePipeline(config, lambda image, color='bgr': scene(0))
    small = DepthImage(plane(320, 240, 2.5), camera('plumb_bob', 320, 240), None)
    out = pipeline(np.zeros((H, W, 3), np.uint8), 0, small)
    assert out.track_ids is None and out.live_ids == frozenset()
    assert out.points_3d is None and 'colour image is 640x480' in out.depth_missing
    with pytest.raises(RuntimeError, match='no estimator'):
        FramePipeline(config)(np.zeros((H, W, 3), np.uint8), 0)


def test_cli_options_are_the_settings_table():
    parser = argparse.ArgumentParser()
    add_pipeline_args(parser)
    assert asdict(config_from_args(parser.parse_args([]))) == asdict(PipelineConfig())
    args = parser.parse_args(['--smoothing', '--no-track', '--pose-threshold', '0.3'])
    cfg = config_from_args(args)
    assert (cfg.smoothing, cfg.tracking, cfg.pose_threshold) == (True, False, 0.3)
    assert len(PIPELINE_SETTINGS) == len(asdict(cfg))
    with pytest.raises(ValueError, match='--track-match-threshold 2.0 is outside'):
        config_from_args(parser.parse_args(['--track-match-threshold', '2']))
    with pytest.raises(ValueError, match='odd'):
        config_from_args(parser.parse_args(['--depth-window-px', '4']))


def test_the_node_parameters_are_the_settings_table():
    from logocap_ros.ros.parameters import NodeConfig, PARAMETERS
    for name, setting in PIPELINE_SETTINGS.items():
        spec = PARAMETERS[name]
        assert (spec.default, spec.description, spec.limits, spec.access) == (
            setting.default, setting.description, setting.limits, 'runtime')
        assert getattr(NodeConfig(), name) == setting.default
