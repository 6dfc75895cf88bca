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


"""The frame pipeline's command-line options, made from the settings table (one place).

Every entry of :data:`logocap_ros.frames.config.PIPELINE_SETTINGS` becomes an option of the
same name with dashes (``pose_threshold`` -> ``--pose-threshold``; booleans get ``--X`` and
``--no-X``), with the node parameter's default and meaning, so ``logocap-offline`` runs with
the settings a node would use. ``--track``/``--no-track`` stay as aliases of
``--tracking``/``--no-tracking``.
"""

import argparse
from dataclasses import asdict
from typing import Any

from logocap_ros.frames.config import (lift_config, pipeline_config, PIPELINE_SETTINGS,
                                       PipelineConfig, smoothing_3d_config, smoothing_config,
                                       tracker_config)

#: Extra spellings of some options (kept from earlier releases).
ALIASES = {'tracking': ['--track']}


def add_pipeline_args(parser: argparse.ArgumentParser) -> None:
    """Add one option per pipeline setting to ``parser`` (a group 'pipeline')."""
    group = parser.add_argument_group('pipeline (the node parameters of the same names)')
    for name, setting in PIPELINE_SETTINGS.items():
        flags = ['--' + name.replace('_', '-')] + ALIASES.get(name, [])
        text = f'{setting.description} (default: {setting.default})'
        if isinstance(setting.default, bool):
            group.add_argument(*flags, dest=name, action=argparse.BooleanOptionalAction,
                               default=setting.default, help=text)
        else:
            group.add_argument(*flags, dest=name, type=type(setting.default),
                               default=setting.default, help=text.replace('%', '%%'))


def config_from_args(args: Any) -> PipelineConfig:
    """Return the checked :class:`PipelineConfig` of parsed options.

    :raises ValueError: a value out of its range, naming the option.
    """
    cfg = pipeline_config(args)
    for name, setting in PIPELINE_SETTINGS.items():
        value = getattr(cfg, name)
        if setting.limits is not None and not setting.limits[0] <= value <= setting.limits[1]:
            raise ValueError(f'--{name.replace("_", "-")} {value} is outside '
                             f'[{setting.limits[0]}, {setting.limits[1]}]')
    tracker_config(cfg)
    smoothing_config(cfg)
    smoothing_3d_config(cfg)
    lift_config(cfg).validate()
    return cfg


def describe(cfg: PipelineConfig) -> dict:
    """Return the settings for the output metadata (``poses.json``)."""
    return asdict(cfg)
