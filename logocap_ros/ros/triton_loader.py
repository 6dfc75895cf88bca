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

"""The node's estimator for ``backend:=triton``: the network runs on a Triton server (no rclpy).

No weights are loaded here: the server's model decides the architecture, the flip test and
the network input size (``input_size:=0`` takes the model's; another value must match it).
An unreachable server or a model that is not LOGO-CAP's is a :class:`StartupError`.
"""

from typing import Any, Optional, Tuple

from logocap_ros.core.architectures import ARCHS
from logocap_ros.ros.parameters import NodeConfig
from logocap_ros.ros.startup import LoadedEstimator, StartupError


def load_triton_estimator(cfg: NodeConfig) -> LoadedEstimator:
    """Connect to ``cfg.triton_url``, check the model, and wrap it in a ``PoseEstimator``.

    :raises StartupError: server unreachable/not ready, wrong model, or a mismatching
        ``input_size``.
    """
    from logocap_ros.backends.base import BackendUnavailable
    from logocap_ros.backends.registry import create_backend
    from logocap_ros.core.estimator import EstimatorConfig, PoseEstimator
    try:
        backend = create_backend('triton', None, flip_test=None, server_url=cfg.triton_url,
                                 model_name=cfg.triton_model,
                                 model_version=cfg.triton_model_version,
                                 timeout_s=cfg.triton_timeout_s).activate()
    except (BackendUnavailable, ValueError, RuntimeError) as exc:
        raise StartupError(' '.join(str(exc).split())) from None
    params = backend.model_info.get('parameters', {})
    input_size = _input_size(cfg, backend.input_shape())
    flip = backend.server_flip_test
    arch = params.get('logocap_ros.arch') or cfg.arch
    est_cfg = EstimatorConfig(arch=arch if arch in ARCHS else cfg.arch,
                              input_size=input_size,
                              flip_test=cfg.flip_test if flip is None else flip,
                              device='cpu', backend='triton', max_people=cfg.max_people,
                              pose_threshold=0.0)
    untrained = params.get('logocap_ros.weights', '').startswith('random')
    shape = backend.input_shape()
    size = f'{shape[2]}x{shape[3]}' if shape else 'any'
    kind = 'random-untrained' if untrained else 'trained'
    method = (f'logocap-hrnet-{arch} {kind} {backend.describe()} input={size}'
              + (' flip' if flip else ''))
    return LoadedEstimator(PoseEstimator(backend, est_cfg), method, untrained,
                           f'triton:{backend.url}', 'triton')


def _input_size(cfg: NodeConfig, shape: Optional[Tuple[Any, ...]]) -> Optional[int]:
    """Return the estimator's input short side: the model's, checked against ``input_size``."""
    model_size = min(int(shape[2]), int(shape[3])) if shape else None
    if cfg.input_size and model_size and cfg.input_size != model_size:
        raise StartupError(
            f"input_size:={cfg.input_size}, but Triton model '{cfg.triton_model}' takes "
            f'{shape[2]}x{shape[3]} (short side {model_size}); set input_size:=0 (use the '
            "model's) or serve a model for this size")
    return cfg.input_size or model_size
