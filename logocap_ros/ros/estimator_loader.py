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

"""Turn a validated :class:`NodeConfig` into a ready estimator (no rclpy).

Every failure is raised as :class:`StartupError` with a one-line message that says how to fix
it, so the node can report it and exit without a traceback.
"""

from dataclasses import fields
from typing import Any, Callable, Optional, Tuple

from logocap_ros.ros.parameters import NodeConfig
from logocap_ros.ros.startup import LoadedEstimator, StartupError  # noqa: F401 (re-exported)


def untrained_warning(loaded: LoadedEstimator) -> str:
    """Return the warning for untrained weights, naming the fix that fits the backend."""
    if loaded.backend == 'triton':  # the server's model was exported from random weights
        return ('the Triton model was exported from random weights: UNTRAINED, the poses are '
                'meaningless; serve a repository made from a checkpoint for real use '
                '(logocap-triton-repo --weights w32 or --weights <checkpoint>)')
    if ' model=' in loaded.method:  # a model file exported from random weights
        return ('the model file was exported from random weights: UNTRAINED, the poses are '
                'meaningless; export one from a checkpoint for real use '
                '(logocap-export-onnx --weights w32)')
    return ('weights:=random - UNTRAINED demo weights, the poses are meaningless; pass '
            'weights:=<checkpoint> for real use')


def parse_weights(spec: str, arch: str) -> Tuple[Optional[str], str]:
    """Split the ``weights`` parameter into ``(path_or_name or None for random, arch)``.

    ``random`` uses ``arch``; ``random:w48`` overrides it (the one spelling of
    :func:`logocap_ros.backends.weights.parse_random`).
    """
    from logocap_ros.backends.weights import parse_random
    try:
        random = parse_random(spec, arch)
    except ValueError as exc:
        raise StartupError(str(exc).replace("weights '", "weights:='", 1)) from None
    return (spec.strip(), arch) if random is None else (None, random.arch)


def resolve_device(device: str, cuda_available: Callable[[], bool]) -> str:
    """Resolve ``auto`` and check that a requested CUDA device exists."""
    if device == 'auto':
        return 'cuda:0' if cuda_available() else 'cpu'
    if device.startswith('cuda') and not cuda_available():
        raise StartupError(f"device:='{device}' but PyTorch sees no CUDA GPU; use device:=cpu "
                           'or install a CUDA build of PyTorch')
    return device


def resolve_path(spec: str) -> str:
    """Resolve a path or short name (``w32``/``w48``) to an existing checkpoint file."""
    try:
        from logocap_ros.backends.weights import resolve_weights
    except ImportError:
        resolve_weights = None
    if resolve_weights is None:
        import os
        if not os.path.isfile(spec):
            raise StartupError(f"weights file not found: '{spec}'; pass weights:=<path to "
                               'a .pth checkpoint> or weights:=random for a demo')
        return spec
    try:
        return str(resolve_weights(spec))
    except (FileNotFoundError, OSError, ValueError, RuntimeError) as exc:
        raise StartupError(_one_line(exc)) from None


def load_estimator(cfg: NodeConfig) -> LoadedEstimator:
    """Build the estimator described by ``cfg`` (already validated).

    :raises StartupError: missing or corrupt weights, unavailable backend/device/precision.
    """
    if cfg.backend == 'triton':  # a Triton server runs the network: ros/triton_loader.py
        from logocap_ros.ros.triton_loader import load_triton_estimator
        return load_triton_estimator(cfg)
    if cfg.model.strip():  # an exported model file: no torch (ros/model_loader.py)
        from logocap_ros.ros.model_loader import load_model_estimator
        return load_model_estimator(cfg)
    path, arch = parse_weights(cfg.weights, cfg.arch)
    if path is not None:
        path = resolve_path(path)  # fail fast, before importing torch
    _require_torch(cfg.weights)
    import torch
    from logocap_ros.backends.factory import create_estimator
    from logocap_ros.core.checkpoint import CheckpointError
    from logocap_ros.core.estimator import EstimatorConfig
    device = resolve_device(cfg.device, torch.cuda.is_available)
    if cfg.backend == 'openvino' and cfg.device == 'auto':
        device = 'cpu'  # OpenVINO runs on the CPU here (its GPU/NPU: the library API)
    if cfg.precision == 'fp16' and device == 'cpu':
        raise StartupError('precision:=fp16 needs a GPU; use precision:=fp32 on the CPU')
    kwargs = {'arch': arch, 'input_size': cfg.estimator_input_size,
              'flip_test': cfg.flip_test, 'device': device, 'max_people': cfg.max_people,
              'pose_threshold': 0.0, 'backend': cfg.backend, 'precision': cfg.precision}
    # the declared camera size: engines are built for it. Without one (warmup_image_size '')
    # nothing runs at configure on the CPU; GPU backends still prepare EstimatorConfig's
    # default 640x480 (a TensorRT engine must never be built on the first frame)
    if cfg.warmup_hw is not None or not device.startswith('cuda'):
        kwargs['expected_image_hw'] = cfg.warmup_hw
    names = _field_names(EstimatorConfig)
    try:
        est_cfg = EstimatorConfig(**{k: v for k, v in kwargs.items() if k in names})
        # starts the backend: exports, engine builds and warm-up happen here, at configure
        estimator = create_estimator(cfg.weights if path is None else path, est_cfg,
                                     **backend_options(cfg))
    except StartupError:
        raise
    except (CheckpointError, ImportError, ValueError, RuntimeError, OSError) as exc:
        arch_hint = getattr(exc, 'suggested_arch', None)  # node syntax, not the CLI's
        raise StartupError(_one_line(exc) + (f' Set arch:={arch_hint}.' if arch_hint else '')
                           ) from None
    backend = getattr(getattr(estimator, 'backend', None), 'name', cfg.backend)
    kind = 'random-untrained' if path is None else 'trained'
    flip = ' flip' if cfg.flip_test else ''
    method = (f'logocap-hrnet-{arch} {kind} {backend} {device} {cfg.precision} '
              f'input={cfg.input_size or "default"}{flip}')
    return LoadedEstimator(estimator, method, path is None, device, backend)


def backend_options(cfg: NodeConfig) -> dict:
    """Backend options from the node's parameters (backends ignore the ones they lack).

    ``background_builds``: a TensorRT engine for an input size met after start is built in a
    background thread while its frames are dropped, never in the frame thread.
    """
    options = {'background_builds': True, 'engine_path': cfg.engine_path or None,
               'onnx_path': cfg.onnx_path or None, 'workspace_gb': cfg.workspace_gb or None}
    return {k: v for k, v in options.items() if v is not None}


def release(loaded: Optional[LoadedEstimator]) -> None:
    """Close the estimator's backend and free cached GPU memory when it ran on CUDA."""
    if loaded is None:
        return
    close = getattr(loaded.estimator, 'close', None)
    if close is not None:
        close()
    if loaded.device.startswith('cuda'):
        import torch
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _require_torch(weights: str) -> None:
    from logocap_ros.backends.optional_torch import require_torch, TorchMissing
    try:
        require_torch(f"weights:='{weights}'")
    except TorchMissing as exc:
        raise StartupError(str(exc).replace('--model FILE.onnx', 'model:=FILE.onnx')) from None


def _field_names(cls: Any) -> set:
    try:
        return {f.name for f in fields(cls)}
    except TypeError:
        return set()


def _one_line(exc: BaseException) -> str:
    text = ' '.join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 400 else text[:397] + '...'
