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


"""The frame pipeline's settings: one table, read by the node parameters and the CLI options.

:data:`PIPELINE_SETTINGS` is the single place of each setting's default, meaning and range;
:class:`PipelineConfig` holds the values. The node declares them as ``runtime`` parameters of
the same names (``ros/parameters.py``), ``logocap-offline`` as ``--pose-threshold``,
``--smoothing``, ... (``tools/pipeline_args.py``), so a value tuned on a recording means the
same thing live.
"""

from dataclasses import fields, make_dataclass
from typing import Any, Dict, NamedTuple, Optional, Tuple

from logocap_ros.core.depth import LiftConfig
from logocap_ros.core.smoothing import OneEuroConfig
from logocap_ros.core.tracking import TrackerConfig


class Setting(NamedTuple):
    """One setting: default (its type is the setting's type), meaning, range."""

    default: Any
    description: str
    limits: Optional[Tuple[float, float, float]] = None  # (from, to, step); step 0 = any


PIPELINE_SETTINGS: Dict[str, Setting] = {
    'pose_threshold': Setting(0.05, 'people with a lower pose score are not published',
                              (0.0, 1.0, 0.0)),
    'keypoint_threshold': Setting(0.1, 'joints with a lower score are not drawn in markers '
                                  'and the annotated image', (0.0, 1.0, 0.0)),
    'depth_min_m': Setting(0.1, 'joint depths nearer than this are OUT_OF_RANGE [m]',
                           (0.0, 1000.0, 0.0)),
    'depth_max_m': Setting(10.0, 'joint depths farther than this are OUT_OF_RANGE [m]',
                           (0.0, 1000.0, 0.0)),
    'depth_window_px': Setting(5, 'side of the square window whose median valid depth is a '
                               "joint's depth [px], odd", (1, 51, 2)),
    'depth_occlusion_m': Setting(0.5, 'a joint whose depth differs more than this from its '
                                 "person's body depth (median of head, shoulders, hips) is "
                                 'OCCLUDED [m]', (0.01, 100.0, 0.0)),
    'tracking': Setting(True, 'give people stable ids across frames (PersonPose.track_id; -1 '
                        'while a track is tentative or when off)'),
    'track_min_hits': Setting(3, 'frames in a row a person must be matched before the track '
                              'gets an id', (1, 100, 1)),
    'track_max_age': Setting(30, 'frames a person may go unseen (hidden) and keep the id',
                             (0, 1000, 1)),
    'track_match_threshold': Setting(0.3, 'smallest similarity (0.6 OKS + 0.4 box IoU, '
                                     'motion-predicted) to continue a track', (0.01, 1.0, 0.0)),
    'smoothing': Setting(False, 'One-Euro smoothing of joint positions per track: poses, '
                         'markers and image_annotated carry smoothed keypoints, poses_raw '
                         'the model output'),
    'smoothing_min_cutoff': Setting(1.0, 'One-Euro cutoff [Hz] of a still joint (lower = '
                                    'smoother, more lag)', (0.001, 100.0, 0.0)),
    'smoothing_beta': Setting(0.02, 'One-Euro speed coefficient [1/px] (higher = less lag '
                              'on fast motion)', (0.0, 10.0, 0.0)),
    'smoothing_d_cutoff': Setting(1.0, 'One-Euro cutoff [Hz] of the joint speed estimate',
                                  (0.001, 100.0, 0.0)),
    'smoothing_beta_3d': Setting(5.0, 'One-Euro speed coefficient of the 3D joints [1/m]: '
                                 'cutoff rise [Hz] per m/s of joint speed (3D with smoothing; '
                                 '5 ~ smoothing_beta 0.02 for a 600 px focal length at 2.4 m)',
                                 (0.0, 1000.0, 0.0)),
}


def _config_class() -> type:
    """Build :class:`PipelineConfig` from :data:`PIPELINE_SETTINGS` (one place per default)."""
    return make_dataclass(
        'PipelineConfig',
        [(name, type(s.default), s.default) for name, s in PIPELINE_SETTINGS.items()],
        frozen=True, namespace={'__module__': __name__, '__doc__': (
            'The values of :data:`PIPELINE_SETTINGS` (frozen; see there for meanings).')})


PipelineConfig = _config_class()


def pipeline_config(values: Any) -> 'PipelineConfig':
    """Return the :class:`PipelineConfig` of any object with these attribute names.

    :param values: a ``NodeConfig``, an ``argparse.Namespace`` of the CLI options, ...
    """
    return PipelineConfig(**{f.name: getattr(values, f.name) for f in fields(PipelineConfig)})


def tracker_config(cfg: Any) -> TrackerConfig:
    """Return the tracker parameters of a configuration."""
    return TrackerConfig(min_hits=cfg.track_min_hits, max_age=cfg.track_max_age,
                         match_threshold=cfg.track_match_threshold)


def smoothing_config(cfg: Any) -> OneEuroConfig:
    """Return the One-Euro parameters of the 2D joints [px] of a configuration."""
    return OneEuroConfig(min_cutoff=cfg.smoothing_min_cutoff, beta=cfg.smoothing_beta,
                         d_cutoff=cfg.smoothing_d_cutoff)


def smoothing_3d_config(cfg: Any) -> OneEuroConfig:
    """Return the One-Euro parameters of the 3D joints [m] of a configuration."""
    return OneEuroConfig(min_cutoff=cfg.smoothing_min_cutoff, beta=cfg.smoothing_beta_3d,
                         d_cutoff=cfg.smoothing_d_cutoff)


def lift_config(cfg: Any) -> LiftConfig:
    """Return the depth-lifting parameters of a configuration."""
    return LiftConfig(min_depth_m=cfg.depth_min_m, max_depth_m=cfg.depth_max_m,
                      window_px=cfg.depth_window_px, occlusion_m=cfg.depth_occlusion_m,
                      keypoint_threshold=cfg.keypoint_threshold)
