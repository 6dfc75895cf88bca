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
fails at start (``backend: auto`` then falls back) rather than on the first frame. Another
size met later is exported and built on first sight (logged): in the caller's thread by
default (library, command-line tools), or, with ``background_builds=True`` (the node), in a
background thread while :meth:`infer` raises :class:`BackendBusy` for that size, so the
caller drops those frames instead of blocking for minutes (docs/backends.md, "Engine sizes").
``tensorrt`` is imported only when this backend is created; without it,
:class:`BackendUnavailable` says what to install.

The GPU is driven through PyTorch when it is installed with CUDA (device buffers, streams,
CUDA graphs, GPU preprocessing), else through NVIDIA's ``cuda-python``
(:mod:`logocap_ros.backends.tensorrt_cuda_python`: the same buffers, packed download and CUDA
graphs; preprocessing on the CPU), so an engine or ONNX model file runs without PyTorch.

On-demand exports use the ``shifted`` dynamic convolution by default (Pad/Slice/Mul/Add
only, which every TensorRT parses); ``dynconv='conv'`` selects the grouped ``Conv`` with
run-time weights (faster where the parser accepts it, unverified on TensorRT 10.3/11).
"""

import contextlib
from dataclasses import dataclass
import logging
import os
from pathlib import Path
import threading
import time
from typing import Dict, Optional, Tuple, Union

import numpy as np

from .base import BackendBusy, BackendUnavailable, InferenceBackend, INPUT_NAME, OUTPUT_NAMES
from .build_engine import import_tensorrt, trt_logger
from .cuda_python import CudaDevice, CudaError, import_cudart, INSTALL_HINT
from .tensorrt_io import deserialize, packed_layout

LOG = logging.getLogger('logocap_ros.backends')
PRECISIONS = ('fp16', 'fp32')
#: Dynamic-convolution form of on-demand exports for TensorRT (see the module docstring).
DEFAULT_DYNCONV = 'shifted'
PathLike = Union[str, os.PathLike]

#: How the backend reaches the GPU: ``auto`` (PyTorch with CUDA, else cuda-python) or one.
CUDA_APIS = ('auto', 'torch', 'cuda-python')


def pinned_empty(torch, shape, dtype):
    """Return a page-locked host tensor (direct DMA; a pageable copy would stage it)."""
    return torch.empty(shape, dtype=dtype, pin_memory=True)


class _Engine:
    """One deserialized engine, its execution context and fixed torch I/O buffers.

    Per frame: the input is copied into a reused pinned host buffer, uploaded once
    (asynchronously), the engine runs (replaying a CUDA graph of ``execute_async_v3`` when
    capture succeeded), and all outputs, which TensorRT writes into one packed device buffer,
    come back in one device-to-host copy before the one stream synchronisation.
    """

    def __init__(self, trt, runtime, path: Path, device) -> None:
        import torch
        self.path = path
        self.engine, self.context, np_specs = deserialize(trt, runtime, path)
        specs = {name: (shape, torch.from_numpy(np.zeros(0, dtype)).dtype)
                 for name, (shape, dtype) in np_specs.items()}
        self.buffers: Dict[str, 'torch.Tensor'] = {}
        for name, (shape, dtype) in specs.items():
            if name not in OUTPUT_NAMES:
                self.buffers[name] = torch.empty(shape, dtype=dtype, device=device)
        self._pack_outputs(torch, np_specs, specs, device)
        for name, buffer in self.buffers.items():
            self.context.set_tensor_address(name, buffer.data_ptr())
        self.host_input = pinned_empty(torch, specs[INPUT_NAME][0], specs[INPUT_NAME][1])
        self.input_hw = tuple(int(v) for v in specs[INPUT_NAME][0][2:])
        self.graph = None               # torch.cuda.CUDAGraph once captured
        self.ran = self.graph_failed = False

    def _pack_outputs(self, torch, np_specs, specs, device) -> None:
        """Place every output in one device buffer (aligned views) with a pinned host twin."""
        offsets, total = packed_layout(np_specs)
        self.packed = torch.empty(total, dtype=torch.uint8, device=device)
        self.host_packed = pinned_empty(torch, (total,), torch.uint8)
        self.host_outputs: Dict[str, np.ndarray] = {}
        for name, start in offsets.items():
            (shape, dtype), size = specs[name], np_specs[name][1].itemsize
            count = int(np.prod(shape, dtype=np.int64))
            self.buffers[name] = self.packed[start:start + count * size].view(dtype).view(shape)
            self.host_outputs[name] = self.host_packed[start:start + count * size].view(
                dtype).view(shape).numpy()


@dataclass(frozen=True)
class CudaName:
    """``cuda:N`` where no ``torch.device`` exists (the cuda-python path)."""

    index: int
    type: str = 'cuda'  # noqa: A003 - as torch.device.type

    def __str__(self) -> str:
        return f'cuda:{self.index}'


def cuda_index(device: str) -> int:
    """Return N of ``'cuda'`` (0) or ``'cuda:N'``.

    :raises BackendUnavailable: not a CUDA device.
    """
    text = str(device)
    head, _, tail = text.partition(':')
    if head != 'cuda' or (tail and not tail.isdigit()):
        raise BackendUnavailable(f"backend 'tensorrt' needs a CUDA device (device {text!r}); "
                                 "use device 'cuda' or 'cuda:N'")
    return int(tail or 0)


def gpu_api(device: str, wanted: str = 'auto'):
    """Return ``(torch, None)`` when PyTorch drives the GPU, ``(None, cudart)`` for cuda-python.

    ``auto`` takes PyTorch when it is installed and sees CUDA, else cuda-python.

    :raises BackendUnavailable: neither can reach device ``device`` (the line says why and
        what to install).
    """
    if wanted not in CUDA_APIS:
        raise ValueError(f'cuda_api must be one of {CUDA_APIS}, not {wanted!r}')
    index = cuda_index(device)
    why = []
    if wanted in ('auto', 'torch'):
        try:
            import torch
        except ImportError:
            why.append('PyTorch: not installed')
        else:
            if torch.cuda.is_available():
                return torch, None
            why.append('PyTorch: CUDA available: False')
    if wanted in ('auto', 'cuda-python'):
        cudart = import_cudart()
        if cudart is None:
            why.append(f'cuda-python: not installed ({INSTALL_HINT})')
        else:
            try:
                CudaDevice(cudart, index).close()
            except CudaError as exc:
                why.append(f'cuda-python: {exc}')
            else:
                return None, cudart
    raise BackendUnavailable(f"backend 'tensorrt' needs a CUDA device (device {device!r}; "
                             f'{"; ".join(why)})')


class TensorRTBackend(InferenceBackend):
    """Runs LOGO-CAP engines with the TensorRT runtime.

    :param net: network with loaded weights (exported and built on demand); optional when
        ``engine_path`` or ``onnx_path`` is given.
    :param device: ``'cuda'`` or ``'cuda:N'``.
    :param precision: ``'fp16'`` (default) or ``'fp32'`` (for engines built here).
    :param flip_test: flip test of on-demand exports.
    :param engine_path: a prebuilt engine (fixed input shape); verified against its sidecar.
    :param onnx_path: an ONNX export; its cached engine is reused or built.
    :param cache_dir: cache root (default :func:`.cache.cache_root`).
    :param on_stale: ``'build'`` (log loudly, build once, cache) or ``'error'`` (raise
        :class:`BackendUnavailable` with the build command) when no valid engine is cached.
    :param workspace_gb: builder workspace limit for on-demand builds.
    :param dynconv: dynamic-convolution form of on-demand exports (``shifted`` or ``conv``).
    :param prepare_hw: input sizes ``(H, W)`` whose engines are built/loaded at activation.
    :param background_builds: build engines for sizes met after activation in a background
        thread (:meth:`infer` raises :class:`BackendBusy` meanwhile) instead of blocking.
    :param optimization_level: TensorRT ``builder_optimization_level`` of on-demand builds.
    :param cuda_graph: replay ``execute_async_v3`` from a CUDA graph per input shape (captured
        on the second frame of each shape; engines that cannot be captured run without).
    :param cuda_api: ``auto`` (PyTorch with CUDA, else cuda-python), ``torch`` or
        ``cuda-python`` (:data:`CUDA_APIS`); see :func:`gpu_api`.
    """

    name = 'tensorrt'

    def __init__(self, net=None, device: str = 'cuda', precision: str = 'fp16',
                 flip_test: bool = True, engine_path: Optional[PathLike] = None,
                 onnx_path: Optional[PathLike] = None, cache_dir: Optional[PathLike] = None,
                 on_stale: str = 'build', workspace_gb: Optional[float] = None,
                 dynconv: str = DEFAULT_DYNCONV, prepare_hw=(), background_builds: bool = False,
                 optimization_level: Optional[int] = None, cuda_graph: bool = True,
                 cuda_api: str = 'auto') -> None:
        super().__init__()
        self.trt = import_tensorrt()
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, not {precision!r}')
        self.torch, self._cudart = gpu_api(device, cuda_api)
        if net is None and engine_path is None and onnx_path is None:
            raise ValueError('TensorRTBackend needs a network, an onnx_path or an engine_path')
        self.device = (self.torch.device(device) if self.torch is not None
                       else CudaName(cuda_index(device)))
        self._cuda: Optional[CudaDevice] = None   # the cuda-python device while active
        self.net, self.precision, self.flip_test = net, precision, bool(flip_test)
        self.engine_path = Path(engine_path) if engine_path else None
        self.onnx_path = Path(onnx_path) if onnx_path else None
        self.cache_dir, self.on_stale, self.workspace_gb = cache_dir, on_stale, workspace_gb
        if net is not None:  # on-demand exports only (a model file is already exported)
            from .export_onnx import DYNCONV_FORMS
            if dynconv not in DYNCONV_FORMS:
                raise ValueError(f'dynconv must be one of {DYNCONV_FORMS}, not {dynconv!r}')
        self.dynconv = dynconv
        self.prepare_hw = [tuple(int(v) for v in hw) for hw in prepare_hw]
        self._engines: Dict[Tuple[int, int], _Engine] = {}
        self._runtime = None
        self._stream = None
        self._last_hw: Optional[Tuple[int, int]] = None
        self.background_builds = bool(background_builds)
        self.optimization_level = optimization_level
        self.cuda_graph = bool(cuda_graph)
        self._builds: Dict[Tuple[int, int], '_BackgroundBuild'] = {}
        self._plans: Dict[tuple, tuple] = {}            # device preprocessing, per letterbox
        self._image_buffers: Dict[Tuple[int, int], tuple] = {}

    def describe(self) -> str:
        """Return e.g. ``'tensorrt cuda:0 fp16 (TensorRT 10.3.0)'`` (``, cuda-python``)."""
        api = '' if self.torch is not None else ', cuda-python'
        return (f'tensorrt {self.device} {self.precision} (TensorRT {self.trt.__version__}'
                f'{api})')

    def _activate(self) -> None:
        self._runtime = self.trt.Runtime(trt_logger(self.trt))
        if self.torch is None:
            try:
                self._cuda = CudaDevice(self._cudart, self.device.index)
            except CudaError as exc:
                raise BackendUnavailable(f'cannot start CUDA device {self.device}: {exc}') \
                    from None
        else:
            self._stream = self.torch.cuda.Stream(device=self.device)
        try:
            fixed = self._fixed_engine_path()
            if fixed is not None:
                self._load(fixed)
            elif self.net is not None:
                for hw in self.prepare_hw:
                    self._engine_for(hw)
        except BaseException:
            self._deactivate()      # a refused start keeps no GPU memory or stream
            raise

    def _deactivate(self) -> None:
        for build in self._builds.values():
            build.thread.join()     # a build cannot be interrupted; its engine is dropped
        self._builds.clear()
        self._engines.clear()
        self._plans.clear()
        self._image_buffers.clear()
        self._runtime = self._stream = None
        if self._cuda is not None:
            error = self._cuda.close()
            self._cuda = None
            if error:
                LOG.warning('releasing the CUDA device: %s', error)
        else:
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
                             workspace_gb=self.workspace_gb, device_index=self.device.index or 0,
                             optimization_level=self.optimization_level)

    def _load(self, path: Path) -> _Engine:
        if self._cuda is not None:
            from .tensorrt_cuda_python import CudaPythonEngine
            self._cuda.make_current()
            engine = CudaPythonEngine(self.trt, self._runtime, path, self._cuda)
        else:
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
        if self.is_active and self.background_builds:
            return self._background_engine(hw)
        if self.is_active:
            LOG.warning('new input size %dx%d: exporting and building its TensorRT engine '
                        'now (prepare it at start with the expected image size)', *hw)
        return self._export_build_load(hw)

    def _export_build_load(self, hw: Tuple[int, int]) -> _Engine:
        from .export_onnx import cached_onnx
        import torch     # a network is given: PyTorch is installed (it may lack CUDA)
        on_device = (torch.cuda.device(self.device) if self.torch is not None
                     else contextlib.nullcontext())
        with on_device:
            onnx_path = cached_onnx(self.net, hw, self.flip_test, dynconv=self.dynconv,
                                    cache_dir=self.cache_dir, network_dtype=self.precision)
        return self._load(self._ensure(onnx_path))

    def _background_engine(self, hw: Tuple[int, int]) -> _Engine:
        """Start or poll the background build for ``hw``; raise until its engine is loaded.

        :raises BackendBusy: the build is running (the frame is to be dropped).
        :raises RuntimeError: the build failed (every later frame of this size, at once).
        """
        build = self._builds.get(hw)
        if build is None:
            LOG.warning('new input size %dx%d: building its TensorRT engine in the background '
                        '(minutes; frames of this size are dropped meanwhile). Set the camera '
                        'size at start (warmup_image_size) to build it before processing', *hw)
            build = self._builds[hw] = _BackgroundBuild(self._export_build_load, hw)
        if build.error is not None:
            raise RuntimeError(f'the TensorRT engine for input {hw[0]}x{hw[1]} failed to build: '
                               f'{build.error}')
        engine = self._engines.get(hw)
        if engine is None:
            raise BackendBusy(f'building TensorRT engine for input {hw[0]}x{hw[1]}',
                              build.started)
        return engine

    @property
    def preprocesses_images(self) -> bool:
        """True with PyTorch: :meth:`infer_image` resizes and normalises on the GPU.

        On cuda-python the estimator preprocesses on the CPU and calls :meth:`infer`.
        """
        return self.torch is not None and self.device.type == 'cuda'

    def _infer(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        hw = (int(images.shape[2]), int(images.shape[3]))
        engine = self._engine_for(hw)
        self._last_hw = hw
        t0 = time.perf_counter()
        if self._cuda is not None:
            out = engine.run(images, self.cuda_graph)
            self.last_timings = {'network': time.perf_counter() - t0}
            return out
        np.copyto(engine.host_input.numpy(), images, casting='same_kind')

        def upload():
            engine.buffers[INPUT_NAME].copy_(engine.host_input, non_blocking=True)
        return self._run(engine, upload, t0)

    def infer_image(self, image: np.ndarray, color: str, box) -> Dict[str, np.ndarray]:
        """Upload the raw ``(h0, w0, 3)`` uint8 image; resize and normalise on the GPU.

        The same device preprocessing as the PyTorch CUDA path
        (:mod:`logocap_ros.backends.gpu_preprocess`), written into the engine's input.

        :param box: :class:`logocap_ros.core.preprocessing.Letterbox` of the image.
        """
        if not self.is_active:
            self.activate()
        from .gpu_preprocess import warp_normalise
        engine = self._engine_for(tuple(int(v) for v in box.input_hw))
        self._last_hw = engine.input_hw
        t0 = time.perf_counter()
        plan, mean, std = self._plan(box)
        host, dev = self._image_buffer(image.shape[:2])
        np.copyto(host.numpy(), image)

        def upload():
            dev.copy_(host, non_blocking=True)
            engine.buffers[INPUT_NAME].copy_(warp_normalise(dev, plan, color, mean, std))
        return self._run(engine, upload, t0)

    def _run(self, engine: _Engine, upload, t0: float) -> Dict[str, np.ndarray]:
        """Upload, execute, one packed download and the frame's one synchronisation."""
        with self.torch.cuda.stream(self._stream), self.torch.inference_mode():
            upload()
            self._execute(engine)
            engine.host_packed.copy_(engine.packed, non_blocking=True)
        self._stream.synchronize()
        self.last_timings = {'network': time.perf_counter() - t0}
        return {n: engine.host_outputs[n].astype(np.float32) for n in OUTPUT_NAMES}

    def _plan(self, box):
        """Return the cached device warp plan and normalisation constants for ``box``."""
        from .gpu_preprocess import normalisation_constants, warp_plan
        key = (box.orig_hw, box.input_hw, box.center, box.scale)
        cached = self._plans.get(key)
        if cached is None:
            cached = self._plans[key] = (warp_plan(box).to(self.device),
                                         *normalisation_constants(self.device))
        return cached

    def _image_buffer(self, hw):
        """Return the pinned host and device uint8 buffers for camera images of ``hw``."""
        hw = (int(hw[0]), int(hw[1]))
        bufs = self._image_buffers.get(hw)
        if bufs is None:
            torch = self.torch
            bufs = self._image_buffers[hw] = (
                pinned_empty(torch, hw + (3,), torch.uint8),
                torch.empty(hw + (3,), dtype=torch.uint8, device=self.device))
        return bufs

    def _execute(self, engine: _Engine) -> None:
        """Run the engine on the stream: replay its CUDA graph, capturing it on first use.

        The first run is eager (TensorRT finishes its lazy set-up there); the second
        captures ``execute_async_v3`` into a graph (fixed I/O addresses make it valid for
        every later frame). An engine TensorRT cannot capture runs eagerly (logged once).
        """
        if engine.graph is not None:
            engine.graph.replay()
            return
        stream = self._stream.cuda_stream
        if not self.cuda_graph or engine.graph_failed or not engine.ran:
            if not engine.context.execute_async_v3(stream):
                raise RuntimeError('TensorRT execute_async_v3 failed')
            engine.ran = True
            return
        torch = self.torch
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, stream=self._stream):
                ok = engine.context.execute_async_v3(self._stream.cuda_stream)
        except RuntimeError as exc:
            ok, why = False, str(exc)
        else:
            why = 'execute_async_v3 returned False during capture'
        if not ok:
            engine.graph_failed = True
            LOG.warning('TensorRT engine %s cannot be captured in a CUDA graph (%s); running '
                        'it without one', engine.path.name, ' '.join(why.split())[:200])
            if not engine.context.execute_async_v3(stream):
                raise RuntimeError('TensorRT execute_async_v3 failed')
            return
        engine.graph = graph
        graph.replay()

    def input_shape(self) -> Optional[tuple]:
        """Return ``(1, 3, H, W)`` of the last engine used (or the fixed one), else None."""
        hw = self._last_hw or next(iter(self._engines), None)
        return None if hw is None else (1, 3) + hw


class _BackgroundBuild:
    """One engine build (export, build, load) on a daemon thread; remembers its failure."""

    def __init__(self, run, hw: Tuple[int, int]) -> None:
        self.started = time.monotonic()
        self.error: Optional[str] = None
        self.thread = threading.Thread(target=self._run, args=(run, hw), daemon=True,
                                       name=f'logocap_trt_build_{hw[0]}x{hw[1]}')
        self.thread.start()

    def _run(self, run, hw: Tuple[int, int]) -> None:
        try:
            run(hw)
        except Exception as exc:  # noqa: BLE001 - reported to the frames of this size
            self.error = ' '.join(str(exc).split()) or type(exc).__name__
            LOG.error('TensorRT engine for input %dx%d failed to build: %s', *hw, self.error)
        else:
            LOG.warning('TensorRT engine for input %dx%d ready after %.0f s', *hw,
                        time.monotonic() - self.started)
