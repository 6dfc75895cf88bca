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


"""Backend registry: validated names to factories; heavy imports happen on use only.

``'auto'`` picks the fastest backend usable for the requested device:

* CUDA device: ``tensorrt`` (tensorrt importable) > ``onnxruntime`` (CUDA provider) >
  ``torch``;
* CPU: :data:`CPU_PREFERENCE` (measured on the CI machine, see docs/benchmarks.md), falling
  back to the next one when a package is missing.

The device is never changed behind the user's back: ``device='cpu'`` stays on the CPU.

:func:`open_backend` also *starts* the backend (exports, engine parse/build, warm-up), so a
backend that cannot run here fails before the first frame: ``'auto'`` then logs one line with
the reason and tries the next one; an explicitly named backend raises
:class:`BackendUnavailable` with that line.
"""

import importlib.util
import logging
from typing import Callable, Dict, List, Tuple

from .base import BackendUnavailable, InferenceBackend

LOG = logging.getLogger('logocap_ros.backends')
#: CPU order for 'auto' (ONNX Runtime measured faster than PyTorch eager on CPU).
CPU_PREFERENCE: Tuple[str, ...] = ('onnxruntime', 'torch')
CUDA_PREFERENCE: Tuple[str, ...] = ('tensorrt', 'onnxruntime', 'torch')
_TORCH_KEYS = ('prepare_hw', 'cuda_graph', 'compile_graph', 'static_shapes')
_ORT_KEYS = ('onnx_path', 'cache_dir', 'dynconv', 'threads', 'use_tensorrt_ep', 'prepare_hw',
             'dynamic_shapes')
_TRT_KEYS = ('engine_path', 'onnx_path', 'cache_dir', 'on_stale', 'workspace_gb', 'dynconv',
             'prepare_hw', 'background_builds', 'optimization_level', 'cuda_graph')
#: Errors that mean "this backend cannot start here" (not programming errors). AttributeError:
#: a package whose API lacks what the backend uses (e.g. a TensorRT without BuilderFlag.FP16).
START_ERRORS = (BackendUnavailable, ImportError, OSError, RuntimeError, ValueError,
                AttributeError)
_TRITON_KEYS = ('server_url', 'model_name', 'model_version', 'timeout_s')
_OV_KEYS = ('onnx_path', 'cache_dir', 'dynconv', 'threads', 'prepare_hw')


def _pick(kwargs: dict, keys) -> dict:
    return {k: kwargs[k] for k in keys if kwargs.get(k) is not None}


def _make_torch(net, device, precision, flip_test, **kw) -> InferenceBackend:
    from .torch_backend import TorchBackend
    return TorchBackend(net, device=device, precision=precision, flip_test=flip_test,
                        **_pick(kw, _TORCH_KEYS))


def _make_onnxruntime(net, device, precision, flip_test, **kw) -> InferenceBackend:
    from .onnxruntime_backend import OnnxRuntimeBackend
    return OnnxRuntimeBackend(net, device=device, precision=precision, flip_test=flip_test,
                              **_pick(kw, _ORT_KEYS))


def _make_tensorrt(net, device, precision, flip_test, **kw) -> InferenceBackend:
    from .tensorrt_backend import TensorRTBackend
    return TensorRTBackend(net, device=device, precision=precision, flip_test=flip_test,
                           **_pick(kw, _TRT_KEYS))


def _make_openvino(net, device, precision, flip_test, **kw) -> InferenceBackend:
    from .openvino_backend import OpenVinoBackend
    return OpenVinoBackend(net, device=device, precision=precision, flip_test=flip_test,
                           **_pick(kw, _OV_KEYS))


def _make_triton(net, device, precision, flip_test, **kw) -> InferenceBackend:
    from .triton_backend import TritonBackend
    return TritonBackend(net, device=device, precision=precision, flip_test=flip_test,
                         **_pick(kw, _TRITON_KEYS))


BACKENDS: Dict[str, Callable[..., InferenceBackend]] = {
    'torch': _make_torch,
    'onnxruntime': _make_onnxruntime,
    'tensorrt': _make_tensorrt,
    'openvino': _make_openvino,  # not chosen by 'auto' (docs/benchmarks.md)
    'triton': _make_triton,  # a remote server; never chosen by 'auto'
}
BACKEND_NAMES = ('auto',) + tuple(BACKENDS)


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _cuda_available() -> bool:
    """Return whether PyTorch sees CUDA, or cuda-python sees a device (TensorRT, no torch)."""
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        return True
    from .cuda_python import device_count
    return device_count() > 0


def _ort_has_cuda() -> bool:
    if not _has_module('onnxruntime'):
        return False
    import onnxruntime
    return 'CUDAExecutionProvider' in onnxruntime.get_available_providers()


def auto_candidates(device: str) -> List[str]:
    """Backends ``'auto'`` tries for ``device``, fastest first (only plausible ones)."""
    if str(device).startswith('cuda'):
        usable = {'tensorrt': _has_module('tensorrt') and _cuda_available(),
                  'onnxruntime': _ort_has_cuda(), 'torch': True}
        return [n for n in CUDA_PREFERENCE if usable[n]]
    usable = {'onnxruntime': _has_module('onnxruntime'), 'torch': True}
    return [n for n in CPU_PREFERENCE if usable[n]]


def create_backend(name: str, net, device: str = 'cpu', precision: str = 'fp32',
                   flip_test: bool = True, **kwargs) -> InferenceBackend:
    """Create the backend ``name`` (``'auto'`` picks the fastest one available).

    :param net: :class:`logocap_ros.core.model.LogoCapNet` with loaded weights.
    :param kwargs: backend options (``onnx_path``, ``engine_path``, ``cache_dir``,
        ``prepare_hw``, ...); options another backend takes are ignored.
    :raises ValueError: unknown name.
    :raises BackendUnavailable: known but not usable here (message says what to install).
    """
    if name == 'auto':
        return _create_auto(net, device, precision, flip_test, **kwargs)
    if name not in BACKENDS:
        raise ValueError(f'unknown backend {name!r}; choose one of {", ".join(BACKEND_NAMES)}')
    try:
        return BACKENDS[name](net, device=device, precision=precision, flip_test=flip_test,
                              **kwargs)
    except ImportError as exc:
        raise BackendUnavailable(f'backend {name!r} needs a missing package: {exc}') from None


def _create_auto(net, device, precision, flip_test, **kwargs) -> InferenceBackend:
    errors = []
    for name in auto_candidates(device):
        try:
            backend = create_backend(name, net, device=device, precision=precision,
                                     flip_test=flip_test, **kwargs)
        except (BackendUnavailable, ValueError, AttributeError) as exc:
            errors.append(f'{name}: {exc}')
            continue
        LOG.info("backend 'auto' chose %s", backend.describe())
        return backend
    raise BackendUnavailable(f'no backend can run on {device!r} with {precision}: '
                             + ' | '.join(errors))


def one_line(exc: BaseException, limit: int = 400) -> str:
    """Return ``exc`` as one line of at most ``limit`` characters (for logs and errors)."""
    text = ' '.join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + '...'


def start(backend: InferenceBackend) -> InferenceBackend:
    """Activate ``backend``; on failure release what it holds and re-raise."""
    try:
        return backend.activate()
    except BaseException:
        try:
            backend._deactivate()
        except Exception:   # noqa: BLE001  (best effort; the first error is the one to show)
            LOG.debug('cleanup after a failed start raised', exc_info=True)
        raise


def open_backend(name: str, net, device: str = 'cpu', precision: str = 'fp32',
                 flip_test: bool = True, **kwargs) -> InferenceBackend:
    """Create *and start* the backend ``name`` (exports, engine builds and warm-up run here).

    ``'auto'`` tries :func:`auto_candidates` in order; a candidate that fails to be created
    or started is skipped with one warning line naming the reason (``backend 'auto':
    tensorrt cannot start here (...); trying onnxruntime``).

    :raises BackendUnavailable: the named backend (or every ``auto`` candidate) cannot start;
        the message is one line with the reason.
    :raises ValueError: unknown backend name.
    """
    if name != 'auto':
        if name not in BACKENDS:
            raise ValueError(f'unknown backend {name!r}; choose one of '
                             f'{", ".join(BACKEND_NAMES)}')
        try:
            return start(create_backend(name, net, device=device, precision=precision,
                                        flip_test=flip_test, **kwargs))
        except START_ERRORS as exc:
            raise BackendUnavailable(f'backend {name!r} cannot start on {device} '
                                     f'({precision}): {one_line(exc)}') from exc
    errors = []
    candidates = auto_candidates(device)
    for i, cand in enumerate(candidates):
        try:
            backend = start(create_backend(cand, net, device=device, precision=precision,
                                           flip_test=flip_test, **kwargs))
        except START_ERRORS as exc:
            errors.append(f'{cand}: {one_line(exc)}')
            nxt = candidates[i + 1] if i + 1 < len(candidates) else None
            LOG.warning("backend 'auto': %s cannot start here (%s); %s", cand, one_line(exc),
                        f'trying {nxt}' if nxt else 'no backend left')
            continue
        LOG.info("backend 'auto' chose %s", backend.describe())
        return backend
    raise BackendUnavailable(f'no backend can run on {device!r} with {precision}: '
                             + ' | '.join(errors))
