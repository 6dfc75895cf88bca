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


"""OpenVINO backend: Intel's runtime for CPUs, integrated GPUs and NPUs, on the ONNX export.

It reads the same ONNX file as ONNX Runtime (given, or exported once per weights and flip
setting into the ONNX cache), fixes the input size of each prepared camera size, and compiles
it at :meth:`activate` with OpenVINO's compiled-model cache in ``<cache>/openvino`` (OpenVINO
keys its entries by the model, the device, the settings and its own version).

Precision ``fp32`` compiles the whole graph in FP32. ``bf16`` (CPU with ``avx512_bf16`` or
``amx_bf16`` only, else refused: :func:`logocap_ros.backends.cpu_features.require_bf16`)
compiles the network and the KAM network in bfloat16 and the decoding and refinement in FP32
(:mod:`logocap_ros.backends.openvino_split`), and checks that OpenVINO really took bf16.
"""

import logging
import os
from pathlib import Path
import time
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from .base import BackendUnavailable, InferenceBackend, INPUT_NAME, OUTPUT_NAMES
from .onnxruntime_backend import physical_cores
from .signal_stack import kept_signal_stack

LOG = logging.getLogger('logocap_ros.backends')
PRECISIONS = ('fp32', 'bf16')
_OV_TYPES = {'fp32': 'f32', 'bf16': 'bf16'}


def import_openvino():
    """Import openvino or raise :class:`BackendUnavailable` saying what to install."""
    try:
        import openvino
    except ImportError:
        raise BackendUnavailable("backend 'openvino' needs the openvino package: "
                                 'pip install openvino') from None
    return openvino


def openvino_device(device: str, available: List[str]) -> str:
    """Map ``cpu``, ``gpu[:N]`` or ``npu`` to OpenVINO's device name (``CPU``, ``GPU.N``...).

    :param available: ``openvino.Core().available_devices``.
    :raises ValueError: a device name this backend does not know.
    :raises BackendUnavailable: OpenVINO does not see that device here.
    """
    kind, _, index = str(device).lower().partition(':')
    if kind not in ('cpu', 'gpu', 'npu'):
        raise ValueError(f"backend openvino runs on device 'cpu', 'gpu[:N]' or 'npu', not "
                         f'{device!r}')
    name = kind.upper() + (f'.{index}' if index else '')
    if name not in available and not (not index and any(
            d.split('.')[0] == name for d in available)):
        raise BackendUnavailable(f'OpenVINO sees no {name} device here (available: '
                                 f'{", ".join(available) or "none"}); use device cpu')
    return name


def onnx_model_source(path: Path) -> Path:
    """Return the ONNX file OpenVINO reads (one place to plug in another model-file reader)."""
    if not path.is_file():
        raise BackendUnavailable(f'ONNX file not found: {path} (create it with '
                                 'logocap-export-onnx)')
    return path


def _tensor_name(output) -> str:
    """Return the ONNX name of a model output (one of :data:`OUTPUT_NAMES` where it is one)."""
    names = output.get_names()
    return next((n for n in OUTPUT_NAMES if n in names), None) or sorted(names)[0]


class OpenVinoBackend(InferenceBackend):
    """Runs the exported LOGO-CAP graph with OpenVINO.

    :param net: :class:`LogoCapNet` with loaded weights (exported on demand); optional when
        ``onnx_path`` is given.
    :param device: ``'cpu'``, ``'gpu[:N]'`` or ``'npu'`` (where OpenVINO sees them).
    :param precision: ``'fp32'``, or ``'bf16'`` (CPU with hardware bfloat16).
    :param flip_test: must match the ONNX file when one is given.
    :param onnx_path: a given ONNX file (dynamic or of one input size).
    :param cache_dir: cache root (default ``$LOGOCAP_CACHE_DIR`` or ``~/.cache/logocap_ros``).
    :param dynconv: dynamic convolution form of on-demand exports (``conv``/``shifted``).
    :param threads: inference threads on the CPU (default: physical cores).
    :param prepare_hw: input sizes ``(H, W)`` compiled and run once at :meth:`activate`.
    """

    name = 'openvino'

    def __init__(self, net=None, device: str = 'cpu', precision: str = 'fp32',
                 flip_test: bool = True, onnx_path: Optional[Union[str, os.PathLike]] = None,
                 cache_dir: Optional[Union[str, os.PathLike]] = None, dynconv: str = 'conv',
                 threads: Optional[int] = None, prepare_hw=()) -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f'backend openvino runs precision {" or ".join(PRECISIONS)}, not '
                             f'{precision!r}')
        if net is None and onnx_path is None:
            raise ValueError('OpenVinoBackend needs a network or an onnx_path')
        self.ov = import_openvino()
        with kept_signal_stack():   # OpenVINO swaps the thread's signal stack (see there)
            self.core = self.ov.Core()
            self.device = openvino_device(device, self.core.available_devices)
        if precision == 'bf16':
            if self.device != 'CPU':
                raise ValueError('precision bf16 is for the CPU; use fp32 on '
                                 f'{self.device}')
            from .cpu_features import require_bf16
            require_bf16('openvino')
        from .cache import cache_root
        self.net, self.flip_test, self.dynconv = net, bool(flip_test), dynconv
        self.precision, self.cache_dir = precision, cache_dir
        self.onnx_path = Path(onnx_path) if onnx_path else None
        self.threads = int(threads or physical_cores())
        self.model_cache = cache_root(cache_dir) / 'openvino'
        self.prepare_hw = [tuple(int(v) for v in hw) for hw in prepare_hw]
        self._compiled: Dict[Tuple[int, int], list] = {}
        self._source: Optional[Path] = None
        self._last_hw: Optional[Tuple[int, int]] = None

    def describe(self) -> str:
        """Return e.g. ``'openvino CPU bf16 (2 threads)'`` (the precision OpenVINO runs)."""
        return f'openvino {self.device} {self.precision} ({self.threads} threads)'

    def _activate(self) -> None:
        self.model_cache.mkdir(parents=True, exist_ok=True)
        self._source = self._onnx_file()
        for hw in self.prepare_hw:
            t0 = time.perf_counter()
            self._infer(np.zeros((1, 3) + hw, np.float32))
            LOG.info('openvino %s %s compiled and warmed up for input %dx%d in %.1f s',
                     self.device, self.precision, hw[0], hw[1], time.perf_counter() - t0)

    def _deactivate(self) -> None:
        with kept_signal_stack():
            self._compiled.clear()

    def _onnx_file(self) -> Path:
        if self.onnx_path is not None:
            path = onnx_model_source(self.onnx_path)
            self._check_metadata(path)
            return path
        from .cache import weights_sha256
        from .export_onnx import cached_onnx
        return onnx_model_source(cached_onnx(
            self.net, None, self.flip_test, dynconv=self.dynconv, cache_dir=self.cache_dir,
            weights_digest=weights_sha256(self.net)))

    def _check_metadata(self, path: Path) -> None:
        from .export_onnx import read_metadata
        flip = read_metadata(path).get('logocap_ros.flip_test')
        if flip is not None and flip != str(self.flip_test):
            raise ValueError(f'{path} was exported with flip_test={flip}, but this estimator '
                             f'uses flip_test={self.flip_test}; export it again or change '
                             'the setting')

    def _config(self, precision: str) -> dict:
        config = {'INFERENCE_PRECISION_HINT': _OV_TYPES[precision],
                  'PERFORMANCE_HINT': 'LATENCY', 'CACHE_DIR': str(self.model_cache)}
        if self.device == 'CPU':
            config['INFERENCE_NUM_THREADS'] = self.threads
        return config

    def _compile(self, hw: Tuple[int, int]) -> list:
        """Compile the graph for input ``(H, W)``: ``[(compiled, inputs, outputs)]``."""
        model = self.core.read_model(str(self._source))
        model.reshape({model.inputs[0]: [1, 3, hw[0], hw[1]]})
        if self.precision == 'fp32':
            names = tuple(_tensor_name(out) for out in model.outputs)
            parts = [(model, False, (INPUT_NAME,), names)]
        else:
            from .openvino_split import split_model
            parts = split_model(model)
        compiled = []
        for sub, low, inputs, outputs in parts:
            prec = self.precision if low else 'fp32'
            cm = self.core.compile_model(sub, self.device, self._config(prec))
            self._check_precision(cm, prec)
            compiled.append((cm.create_infer_request(), tuple(inputs), tuple(outputs)))
        return compiled

    def _check_precision(self, compiled, precision: str) -> None:
        """Refuse a model OpenVINO compiled in another precision than asked (never relabel)."""
        got = compiled.get_property('INFERENCE_PRECISION_HINT')
        if self.device == 'CPU' and got != getattr(self.ov.Type, _OV_TYPES[precision]):
            raise BackendUnavailable(
                f'OpenVINO compiled precision {precision} as {got.get_type_name()} on this CPU '
                '(no hardware support it can use); use precision fp32')

    def _infer(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        with kept_signal_stack():   # else Ctrl-C after the model is released is a SIGSEGV
            return self._run(images)

    def _run(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        hw = (int(images.shape[2]), int(images.shape[3]))
        if hw not in self._compiled:
            self._compiled[hw] = self._compile(hw)
        self._last_hw = hw
        t0 = time.perf_counter()
        tensors = {INPUT_NAME: images}
        for request, inputs, outputs in self._compiled[hw]:
            result = request.infer([tensors[k] for k in inputs])
            for key, value in zip(outputs, result.to_tuple()):
                tensors[key] = value
        self.last_timings = {'network': time.perf_counter() - t0}
        return {k: np.asarray(tensors[k], np.float32) for k in OUTPUT_NAMES}

    def input_shape(self) -> Optional[tuple]:
        """Return ``(1, 3, H, W)`` of the last input size run, else None (any size)."""
        return None if self._last_hw is None else (1, 3) + self._last_hw
