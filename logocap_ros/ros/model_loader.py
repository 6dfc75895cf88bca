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

"""The node's estimator from ``model:=FILE`` (an exported ``.onnx`` or a TensorRT engine).

No torch and no weights: the file's metadata decides the architecture, the flip test and the
input size rule (:mod:`logocap_ros.backends.model_file`); ``arch`` and ``flip_test`` are
ignored, ``input_size:=0`` takes the file's (another value must fit a fixed-size file).
"""

from logocap_ros.ros.estimator_loader import _one_line, LoadedEstimator, StartupError
from logocap_ros.ros.parameters import NodeConfig


def load_model_estimator(cfg: NodeConfig) -> LoadedEstimator:
    """Open ``cfg.model`` and start its backend (ONNX Runtime, or TensorRT for engines).

    :raises StartupError: missing or inconsistent file, unusable backend/device (one line).
    """
    from logocap_ros.backends.base import BackendUnavailable
    from logocap_ros.backends.model_estimator import create_estimator_from_model, cuda_usable
    device = cfg.device
    if device == 'auto':
        device = 'cuda:0' if cuda_usable() else 'cpu'
    elif device.startswith('cuda') and not cuda_usable():
        raise StartupError(f"device:='{device}' but neither ONNX Runtime's CUDA provider nor "
                           'TensorRT is installed; use device:=cpu or install onnxruntime-gpu '
                           'or tensorrt')
    if cfg.precision == 'fp16' and device == 'cpu':
        raise StartupError('precision:=fp16 needs a GPU; use precision:=fp32 on the CPU')
    settings = {'max_people': cfg.max_people, 'pose_threshold': 0.0,
                'precision': cfg.precision}
    if cfg.warmup_hw is not None:
        settings['expected_image_hw'] = cfg.warmup_hw
    try:
        estimator, info = create_estimator_from_model(
            cfg.model.strip(), input_size=cfg.estimator_input_size, device=device,
            backend=cfg.backend, **settings)
    except (BackendUnavailable, ImportError, ValueError, RuntimeError, OSError) as exc:
        raise StartupError(f"model:='{cfg.model}': {_one_line(exc)}") from None
    backend = getattr(estimator.backend, 'name', cfg.backend)
    untrained = info.weights.startswith('random')
    size = 'any' if info.dynamic else f'{info.input_hw[0]}x{info.input_hw[1]}'
    method = (f"logocap-hrnet-{info.arch} {'random-untrained' if untrained else 'trained'} "
              f'{backend} {device} {cfg.precision} input={estimator.config.resolved_input_size} '
              f'model={size}{" flip" if info.flip_test else ""}')
    return LoadedEstimator(estimator, method, untrained, device, backend)
