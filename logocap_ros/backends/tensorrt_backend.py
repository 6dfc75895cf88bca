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


"""Native TensorRT backend: deserialize cached engines, bind I/O by name, run on CUDA.

Engines come from an explicit engine file, from an ONNX file (engine built or reused through
:func:`logocap_ros.backends.build_engine.ensure_engine`), or, given only a network, from the
ONNX export cache, once per input resolution. Everything for the sizes in ``prepare_hw`` (the
expected camera) is parsed, built or loaded in :meth:`activate`, so a graph TensorRT rejects
fails at start (``backend: auto`` then falls back) rather than on the first frame; another
size met later is exported and built on first sight (logged). ``tensorrt`` is imported only
when this backend is created; without it, :class:`BackendUnavailable` says what to install.

On-demand exports use the ``shifted`` dynamic convolution by default (Pad/Slice/Mul/Add
only, which every TensorRT parses); ``dynconv='conv'`` selects the grouped ``Conv`` with
run-time weights (faster where the parser accepts it, unverified on TensorRT 10.3/11).
"""

import logging
import os
from pathlib import Path
import time
from typing import Dict, Optional, Tuple, Union

import numpy as np

from .base import BackendUnavailable, InferenceBackend, INPUT_NAME, OUTPUT_NAMES
from .build_engine import import_tensorrt

LOG = logging.getLogger('logocap_ros.backends')
PRECISIONS = ('fp16', 'fp32')
#: Dynamic-convolution form of on-demand exports for TensorRT (see the module docstring).
DEFAULT_DYNCONV = 'shifted'
PathLike = Union[str, os.PathLike]


class _Engine:
    """One deserialized engine with its execution context and torch CUDA I/O buffers."""

    def __init__(self, trt, runtime, path: Path, device) -> None:
        import torch
        self.path = path
        self.engine = runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise BackendUnavailable(f'TensorRT could not load {path} (built by another '
                                     'TensorRT version or GPU?); rebuild it with '
                                     'logocap-build-engine --force')
        self.context = self.engine.create_execution_context()
        self.buffers: Dict[str, 'torch.Tensor'] = {}
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            shape = tuple(self.engine.get_tensor_shape(name))
            dtype = torch.from_numpy(np.zeros(0, trt.nptype(
                self.engine.get_tensor_dtype(name)))).dtype
            self.buffers[name] = torch.empty(shape, dtype=dtype, device=device)
            self.context.set_tensor_address(name, self.buffers[name].data_ptr())
        missing = {INPUT_NAME, *OUTPUT_NAMES} - set(self.buffers)
        if missing:
            raise BackendUnavailable(f'{path} lacks tensors {sorted(missing)}; it is not a '
                                     'LOGO-CAP engine from logocap-build-engine')
        self.input_hw = tuple(int(v) for v in self.buffers[INPUT_NAME].shape[2:])


class TensorRTBackend(InferenceBackend):
    """Runs LOGO-CAP engines with the TensorRT runtime.

    :param net: network with loaded weights (exported and built on demand); optional when
        ``engine_path`` or ``onnx_path`` is given.
    :param device: ``'cuda'`` or ``'cuda:N'``.
    :param precision: ``'fp16'`` (default) or ``'fp32'`` (for engines built here).
    :param flip_test: flip test of on-demand exports.
    :param engine_path: a prebuilt engine (fixed input shape); verified against its sidecar.
    :param onnx_path: an ONNX export; its cached engine is reused or built.
    :param cache_dir: cache root (default ``$LOGOCAP_CACHE_DIR`` or ``~/.cache/logocap_ros``).
    :param on_stale: ``'build'`` (log loudly, build once, cache) or ``'error'`` (raise
        :class:`BackendUnavailable` with the build command) when no valid engine is cached.
    :param workspace_gb: builder workspace limit for on-demand builds.
    :param dynconv: dynamic-convolution form of on-demand exports (``shifted`` or ``conv``).
    :param prepare_hw: input sizes ``(H, W)`` whose engines are built/loaded at activation.
    """

    name = 'tensorrt'

    def __init__(self, net=None, device: str = 'cuda', precision: str = 'fp16',
                 flip_test: bool = True, engine_path: Optional[PathLike] = None,
                 onnx_path: Optional[PathLike] = None, cache_dir: Optional[PathLike] = None,
                 on_stale: str = 'build', workspace_gb: Optional[float] = None,
                 dynconv: str = DEFAULT_DYNCONV, prepare_hw=()) -> None:
        super().__init__()
        self.trt = import_tensorrt()
        import torch
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, not {precision!r}')
        if not str(device).startswith('cuda') or not torch.cuda.is_available():
            raise BackendUnavailable(f"backend 'tensorrt' needs a CUDA device (device "
                                     f'{device!r}, CUDA available: {torch.cuda.is_available()})')
        if net is None and engine_path is None and onnx_path is None:
            raise ValueError('TensorRTBackend needs a network, an onnx_path or an engine_path')
        self.torch = torch
        self.device = torch.device(device)
        self.net, self.precision, self.flip_test = net, precision, bool(flip_test)
        self.engine_path = Path(engine_path) if engine_path else None
        self.onnx_path = Path(onnx_path) if onnx_path else None
        self.cache_dir, self.on_stale, self.workspace_gb = cache_dir, on_stale, workspace_gb
        from .export_onnx import DYNCONV_FORMS
        if dynconv not in DYNCONV_FORMS:
            raise ValueError(f'dynconv must be one of {DYNCONV_FORMS}, not {dynconv!r}')
        self.dynconv = dynconv
        self.prepare_hw = [tuple(int(v) for v in hw) for hw in prepare_hw]
        self._engines: Dict[Tuple[int, int], _Engine] = {}
        self._runtime = None
        self._stream = None
        self._last_hw: Optional[Tuple[int, int]] = None

    def describe(self) -> str:
        """Return e.g. ``'tensorrt cuda:0 fp16 (TensorRT 10.3.0)'``."""
        return f'tensorrt {self.device} {self.precision} (TensorRT {self.trt.__version__})'

    def _activate(self) -> None:
        self._runtime = self.trt.Runtime(self.trt.Logger(self.trt.Logger.WARNING))
        self._stream = self.torch.cuda.Stream(device=self.device)
        fixed = self._fixed_engine_path()
        if fixed is not None:
            self._load(fixed)
        elif self.net is not None:
            for hw in self.prepare_hw:
                self._engine_for(hw)

    def _deactivate(self) -> None:
        self._engines.clear()
        self._runtime = self._stream = None
        self.torch.cuda.empty_cache()

    def _fixed_engine_path(self) -> Optional[Path]:
        """Return the engine for ``engine_path``/``onnx_path`` (checked/built), else None."""
        if self.engine_path is not None:
            self._verify_engine_file(self.engine_path)
            return self.engine_path
        if self.onnx_path is not None:
            return self._ensure(self.onnx_path)
        return None

    def _verify_engine_file(self, path: Path) -> None:
        """Refuse a foreign engine (other TensorRT/GPU) when its sidecar says so."""
        from .engine_cache import check_engine, current_environment, EngineKey, read_sidecar
        if not path.is_file():
            raise BackendUnavailable(f'engine file not found: {path}')
        record = read_sidecar(path)
        if record is None:
            LOG.warning('%s has no sidecar; cannot check that it matches this GPU/TensorRT',
                        path)
            return
        try:
            recorded = EngineKey.from_json(record['key'])
        except (KeyError, TypeError, ValueError):
            raise BackendUnavailable(f'the sidecar of {path} is malformed; rebuild the engine '
                                     'with logocap-build-engine') from None
        env = current_environment(self.device.index or 0)
        wanted = EngineKey(recorded.model_sha256, recorded.input_shape, recorded.precision,
                           **env)
        reasons = check_engine(path, wanted)
        if reasons:
            raise BackendUnavailable(f'{path} cannot run here: {"; ".join(reasons)}. Rebuild '
                                     f'it on this machine with logocap-build-engine')

    def _ensure(self, onnx_path: Path) -> Path:
        from .build_engine import ensure_engine
        return ensure_engine(onnx_path, self.precision, self.cache_dir, on_stale=self.on_stale,
                             workspace_gb=self.workspace_gb, device_index=self.device.index or 0)

    def _load(self, path: Path) -> _Engine:
        with self.torch.cuda.device(self.device):
            engine = _Engine(self.trt, self._runtime, path, self.device)
        self._engines[engine.input_hw] = engine
        LOG.info('TensorRT engine %s loaded (input %dx%d)', path.name, *engine.input_hw)
        return engine

    def _engine_for(self, hw: Tuple[int, int]) -> _Engine:
        engine = self._engines.get(hw)
        if engine is not None:
            return engine
        if self.net is None:
            fixed = next(iter(self._engines), None)
            raise ValueError(f'the engine takes input {fixed[0]}x{fixed[1]} (H x W), got '
                             f'{hw[0]}x{hw[1]}; build one for this resolution')
        from .export_onnx import cached_onnx
        if self.is_active:
            LOG.warning('new input size %dx%d: exporting and building its TensorRT engine '
                        'now (prepare it at start with the expected image size)', *hw)
        onnx_path = cached_onnx(self.net, hw, self.flip_test, dynconv=self.dynconv,
                                cache_dir=self.cache_dir, network_dtype=self.precision)
        return self._load(self._ensure(onnx_path))

    def _infer(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        hw = (int(images.shape[2]), int(images.shape[3]))
        engine = self._engine_for(hw)
        self._last_hw = hw
        torch = self.torch
        t0 = time.perf_counter()
        with torch.cuda.stream(self._stream):
            engine.buffers[INPUT_NAME].copy_(torch.from_numpy(images), non_blocking=False)
            if not engine.context.execute_async_v3(self._stream.cuda_stream):
                raise RuntimeError('TensorRT execute_async_v3 failed')
            out = {n: engine.buffers[n].float().cpu().numpy() for n in OUTPUT_NAMES}
        self._stream.synchronize()
        self.last_timings = {'network': time.perf_counter() - t0}
        return out

    def input_shape(self) -> Optional[tuple]:
        """Return ``(1, 3, H, W)`` of the last engine used (or the fixed one), else None."""
        hw = self._last_hw or next(iter(self._engines), None)
        return None if hw is None else (1, 3) + hw
