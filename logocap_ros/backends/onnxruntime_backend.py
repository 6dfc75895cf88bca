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


"""ONNX Runtime backend: CPU, CUDA and TensorRT execution providers.

Given an ONNX file (from ``logocap-export-onnx``) it runs that file (fixed or dynamic input
size). Given only a network, it exports the whole pipeline once per weights and flip setting
with a dynamic input size, at :meth:`activate` (not on the first frame), into the ONNX cache
(``onnx/`` under :func:`.cache.cache_root`), and reuses the cached
file on later starts. ``dynamic_shapes=False`` exports per input size instead (lazily).
"""

import logging
import os
from pathlib import Path
import time
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from .base import BackendUnavailable, InferenceBackend, INPUT_NAME, OUTPUT_NAMES

#: Session key of a dynamic-size session (serves every input size).
ANY_SIZE = (0, 0)

LOG = logging.getLogger('logocap_ros.backends')
PRECISIONS = ('fp32', 'fp16')
CPU_EP = 'CPUExecutionProvider'
CUDA_EP = 'CUDAExecutionProvider'
TRT_EP = 'TensorrtExecutionProvider'


def physical_cores() -> int:
    """Physical CPU cores this process may use (hyper-threads not counted)."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else None
    cores = set()
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as handle:
            phys = core = None
            for line in handle:
                key, _, value = line.partition(':')
                key = key.strip()
                if key == 'physical id':
                    phys = value.strip()
                elif key == 'core id':
                    core = value.strip()
                    cores.add((phys, core))
    except OSError:
        pass
    count = len(cores) or os.cpu_count() or 1
    return max(1, min(count, allowed) if allowed else count)


def import_onnxruntime():
    """Import onnxruntime or raise :class:`BackendUnavailable` saying what to install."""
    try:
        import onnxruntime
    except ImportError:
        raise BackendUnavailable(
            "backend 'onnxruntime' needs the onnxruntime package: pip install onnxruntime "
            '(CPU) or onnxruntime-gpu (CUDA/TensorRT)') from None
    return onnxruntime


def select_providers(device: str, precision: str, available: List[str],
                     use_tensorrt_ep: bool = False, cache_dir: Optional[Path] = None) -> list:
    """Choose execution providers (with options) for ``device`` and ``precision``.

    :param available: ``onnxruntime.get_available_providers()``.
    :param use_tensorrt_ep: put the TensorRT provider first when installed (fp16 needs it).
    :raises ValueError: fp16 on the CPU.
    :raises BackendUnavailable: CUDA asked for but not in ``available``.
    """
    if precision == 'bf16':
        raise ValueError('onnxruntime has no bfloat16 kernels for x86 CPUs; use backend '
                         'openvino for precision bf16')
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, not {precision!r}')
    kind, _, index = str(device).partition(':')
    if kind == 'cpu':
        if precision != 'fp32':
            raise ValueError('onnxruntime on the CPU runs fp32 only; use precision fp32')
        return [CPU_EP]
    if kind != 'cuda':
        raise ValueError(f"device must be 'cpu' or 'cuda[:N]', not {device!r}")
    if CUDA_EP not in available:
        raise BackendUnavailable(
            f'onnxruntime has no CUDA provider here (available: {", ".join(available)}); '
            'pip install onnxruntime-gpu matching your CUDA version, or use device cpu')
    dev = {'device_id': int(index or 0)}
    providers: list = [(CUDA_EP, dict(dev)), CPU_EP]
    if precision == 'fp16' or use_tensorrt_ep:
        if TRT_EP not in available:
            raise BackendUnavailable(
                'onnxruntime fp16 needs its TensorRT execution provider (onnxruntime-gpu built '
                "with TensorRT, plus TensorRT's libraries); or use backend tensorrt")
        # fp16: the half-network export (network FP16, refinement FP32, casts between); the
        # EP's trt_fp16_enable would run the whole graph, coordinates included, in half
        trt_opts = dict(dev, trt_fp16_enable=False,
                        trt_engine_cache_enable=cache_dir is not None)
        if cache_dir is not None:
            trt_opts['trt_engine_cache_path'] = str(cache_dir)
            trt_opts['trt_timing_cache_enable'] = True
        providers.insert(0, (TRT_EP, trt_opts))
    return providers


class OnnxRuntimeBackend(InferenceBackend):
    """Runs the exported LOGO-CAP graph with ONNX Runtime.

    :param net: :class:`LogoCapNet` with loaded weights (exported on demand); optional when
        ``onnx_path`` is given.
    :param device: ``'cpu'`` or ``'cuda[:N]'``.
    :param precision: ``'fp32'``; ``'fp16'`` with the TensorRT execution provider only.
    :param flip_test: must match the ONNX file when one is given.
    :param onnx_path: a given ONNX file (a fixed-size one accepts only its input shape).
    :param cache_dir: cache root (default :func:`.cache.cache_root`).
    :param dynconv: dynamic convolution form for on-demand exports (``conv``/``shifted``).
    :param threads: intra-op threads (default: physical cores).
    :param use_tensorrt_ep: on CUDA, prefer ONNX Runtime's TensorRT provider.
    :param prepare_hw: input sizes ``(H, W)`` run once at :meth:`activate` (warm-up, so the
        first frame is as fast as the next).
    :param dynamic_shapes: one export for every input size (default); False: one per size.
    """

    name = 'onnxruntime'

    def __init__(self, net=None, device: str = 'cpu', precision: str = 'fp32',
                 flip_test: bool = True, onnx_path: Optional[Union[str, os.PathLike]] = None,
                 cache_dir: Optional[Union[str, os.PathLike]] = None, dynconv: str = 'conv',
                 threads: Optional[int] = None, use_tensorrt_ep: bool = False,
                 prepare_hw=(), dynamic_shapes: bool = True) -> None:
        super().__init__()
        self.ort = import_onnxruntime()
        if net is None and onnx_path is None:
            raise ValueError('OnnxRuntimeBackend needs a network or an onnx_path')
        from .cache import cache_root
        self.net, self.flip_test, self.dynconv = net, bool(flip_test), dynconv
        self.device, self.precision = str(device), precision
        self.onnx_path = Path(onnx_path) if onnx_path else None
        self.cache_dir = cache_dir
        self.threads = int(threads or physical_cores())
        self.providers = select_providers(
            self.device, precision, self.ort.get_available_providers(), use_tensorrt_ep,
            cache_root(cache_dir) / 'ort_trt' if use_tensorrt_ep or precision == 'fp16'
            else None)
        self.prepare_hw = [tuple(int(v) for v in hw) for hw in prepare_hw]
        self.dynamic_shapes = bool(dynamic_shapes)
        self._sessions: Dict[Tuple[int, int], object] = {}
        self._last_hw: Optional[Tuple[int, int]] = None
        self._weights_digest: Optional[str] = None

    def describe(self) -> str:
        """Return e.g. ``'onnxruntime CPUExecutionProvider fp32 (2 threads)'``."""
        first = self.providers[0]
        first = first[0] if isinstance(first, tuple) else first
        return f'onnxruntime {first} {self.precision} ({self.threads} threads)'

    def _activate(self) -> None:
        if self.onnx_path is not None:
            self._open(self.onnx_path)
        elif self.dynamic_shapes:
            self._open(self._export(None))
        for hw in self.prepare_hw:
            if self.onnx_path is not None and ANY_SIZE not in self._sessions \
                    and hw not in self._sessions:
                continue    # a fixed-size file: other sizes fail on use, with the reason
            t0 = time.perf_counter()
            self._session_for(hw).run(list(OUTPUT_NAMES), {
                INPUT_NAME: np.zeros((1, 3) + hw, np.float32)})
            LOG.info('onnxruntime warmed up for input %dx%d in %.1f s', hw[0], hw[1],
                     time.perf_counter() - t0)

    def _deactivate(self) -> None:
        self._sessions.clear()

    def _options(self):
        opts = self.ort.SessionOptions()
        opts.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = self.ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        return opts

    def _open(self, path: Path) -> Tuple[int, int]:
        """Create the session for ``path``; return its input ``(H, W)``."""
        if not path.is_file():
            raise BackendUnavailable(f'ONNX file not found: {path} (create it with '
                                     'logocap-export-onnx)')
        self._check_metadata(path)
        t0 = time.perf_counter()
        session = self.ort.InferenceSession(str(path), sess_options=self._options(),
                                            providers=self.providers)
        shape = session.get_inputs()[0].shape
        fixed = all(isinstance(v, int) for v in shape[2:])
        hw = (int(shape[2]), int(shape[3])) if fixed else ANY_SIZE
        self._sessions[hw] = session
        LOG.info('onnxruntime session for %s (%s) ready in %.1f s on %s', path.name,
                 f'{hw[0]}x{hw[1]}' if fixed else 'any input size',
                 time.perf_counter() - t0, session.get_providers()[0])
        return hw

    def _check_metadata(self, path: Path) -> None:
        from .model_file import read_onnx_metadata
        meta = read_onnx_metadata(path)
        flip = meta.get('logocap_ros.flip_test')
        if flip is not None and flip != str(self.flip_test):
            raise ValueError(f'{path} was exported with flip_test={flip}, but this estimator '
                             f'uses flip_test={self.flip_test}; export it again or change '
                             'the setting')

    def _session_for(self, hw: Tuple[int, int]):
        session = self._sessions.get(hw) or self._sessions.get(ANY_SIZE)
        if session is not None:
            return session
        if self.onnx_path is not None:
            fixed = next(iter(self._sessions), None)
            raise ValueError(f'{self.onnx_path} takes input {fixed[0]}x{fixed[1]} (H x W), '
                             f'got {hw[0]}x{hw[1]}; export one for this resolution '
                             '(logocap-export-onnx --image-size HxW) or a dynamic one')
        self._open(self._export(hw))
        return self._sessions[hw]

    def _export(self, hw: Optional[Tuple[int, int]]) -> Path:
        """Return the cached export for ``hw`` (None: dynamic size), exporting when missing."""
        from .cache import weights_sha256
        from .export_onnx import cached_onnx
        if self._weights_digest is None:
            self._weights_digest = weights_sha256(self.net)
        return cached_onnx(self.net, hw, self.flip_test, dynconv=self.dynconv,
                           cache_dir=self.cache_dir, weights_digest=self._weights_digest,
                           network_dtype=self.precision)

    def _infer(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        hw = (int(images.shape[2]), int(images.shape[3]))
        session = self._session_for(hw)
        self._last_hw = hw
        t0 = time.perf_counter()
        outs = session.run(list(OUTPUT_NAMES), {INPUT_NAME: images})
        self.last_timings = {'network': time.perf_counter() - t0}
        return dict(zip(OUTPUT_NAMES, outs))

    def input_shape(self) -> Optional[tuple]:
        """Return ``(1, 3, H, W)`` of the last session used (or the fixed file), else None."""
        hw = self._last_hw or next((k for k in self._sessions if k != ANY_SIZE), None)
        return None if hw is None else (1, 3) + hw
