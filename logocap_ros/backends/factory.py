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

"""Assemble a ready :class:`~logocap_ros.core.estimator.PoseEstimator`: weights, backend, start.

This is the layer above ``core`` that knows the backends (``core`` never imports them):

* :func:`load_network` builds the network from a checkpoint path or ``'random'``;
* :func:`create_estimator` also chooses and *starts* the backend
  (:func:`logocap_ros.backends.registry.open_backend`): exports, engine builds and warm-ups
  happen here, before the first frame, and ``backend='auto'`` falls back to the next backend
  when one fails to start.

Weight short names (``w32``/``w48``) are resolved by the caller with
:func:`logocap_ros.backends.weights.resolve_weights` (``random[:arch]`` needs no file)::

    from logocap_ros.backends.factory import create_estimator
    from logocap_ros.backends.weights import resolve_weights
    from logocap_ros.core.estimator import EstimatorConfig

    est = create_estimator(resolve_weights('w32'), EstimatorConfig(arch='w32'))
"""

from dataclasses import replace
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple, TYPE_CHECKING, Union

from .weights import parse_random, RANDOM
from ..core.estimator import EstimatorConfig, PoseEstimator
from ..core.preprocessing import letterbox_for

if TYPE_CHECKING:  # torch is imported only where a network is built (not for a model file)
    from ..core.model import LogoCapNet

PathLike = Union[str, os.PathLike]


def load_network(arch: str, weights: PathLike) -> Tuple['LogoCapNet', Dict[str, str]]:
    """Build the network of ``arch`` with ``weights`` (a checkpoint path or ``random[:X]``).

    ``random``, ``random:<arch>`` and ``random:<arch>:A|B`` give the deterministic untrained
    weights of :func:`logocap_ros.core.checkpoint.filled_state_dict` (tests and demos); a
    ``random:<arch>`` overrides ``arch`` (:mod:`logocap_ros.backends.weights`).

    :return: the network (eval mode, CPU) and metadata describing the weights source.
    :raises logocap_ros.core.checkpoint.CheckpointError: missing, unreadable or mismatching
        checkpoint (the message says how to fix it).
    :raises logocap_ros.backends.base.BackendUnavailable: torch is not installed.
    """
    from .optional_torch import require_torch
    require_torch('loading weights')
    from ..core.checkpoint import filled_state_dict, load_into, load_state_dict
    from ..core.model import LogoCapNet
    random = parse_random(weights, arch)
    if random is not None:
        net = LogoCapNet(random.arch)
        net.load_state_dict(filled_state_dict(net, random.variant))
        return net.eval(), {'logocap_ros.weights': f'{RANDOM}:{random.variant}'}
    from .cache import file_sha256
    net = LogoCapNet(arch)
    path = Path(os.fspath(weights)).expanduser()
    load_into(net, load_state_dict(path), source=str(path))
    return net.eval(), {'logocap_ros.weights': path.name,
                        'logocap_ros.checkpoint_sha256': file_sha256(path)}


def prepared_input_hw(config: EstimatorConfig) -> List[Tuple[int, int]]:
    """Network input sizes ``[(H, W)]`` the backend prepares at start for ``config``.

    The size the resize rule gives for ``config.expected_image_hw`` (none when that is None).
    """
    if config.expected_image_hw is None:
        return []
    box = letterbox_for(tuple(config.expected_image_hw), config.resolved_input_size)
    return [tuple(box.input_hw)]


def estimator_for_network(net: 'LogoCapNet', config: Optional[EstimatorConfig] = None,
                          **backend_options) -> PoseEstimator:
    """Choose, start and wrap the backend for ``net`` (see :func:`create_estimator`)."""
    from .registry import open_backend
    config = (config or EstimatorConfig()).validate()
    backend_options.setdefault('prepare_hw', prepared_input_hw(config))
    backend = open_backend(config.backend, net.eval(), device=config.device,
                           precision=config.precision, flip_test=config.flip_test,
                           **backend_options)
    return PoseEstimator(backend, config)


def create_estimator(weights: PathLike = RANDOM, config: Optional[EstimatorConfig] = None,
                     **backend_options) -> PoseEstimator:
    """Build a started estimator from a checkpoint path (or ``'random'``) and settings.

    :param weights: checkpoint file, or ``random[:arch]`` for untrained demo weights.
    :param config: the settings (default :class:`EstimatorConfig`).
    :param backend_options: passed to the backend (``cache_dir``, ``onnx_path``,
        ``engine_path``, ``dynconv``, ``cuda_graph``, ...).
    :raises logocap_ros.core.checkpoint.CheckpointError: bad checkpoint.
    :raises logocap_ros.backends.base.BackendUnavailable: the backend cannot start here (one
        line saying why and what to do).
    :raises ValueError: invalid settings.
    """
    config = (config or EstimatorConfig()).validate()
    random = parse_random(weights, config.arch)
    if random is not None and random.arch != config.arch:  # random:w48 names the architecture
        config = replace(config, arch=random.arch).validate()
    net, _ = load_network(config.arch, weights)
    return estimator_for_network(net, config, **backend_options)
