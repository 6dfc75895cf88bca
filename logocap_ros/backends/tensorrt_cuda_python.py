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

"""A TensorRT engine on ``cuda-python`` buffers: the TensorRT backend's torch-free hot path.

The same frame as on PyTorch buffers: the preprocessed input is copied into a reused
page-locked host buffer and uploaded once, the engine runs (replaying a CUDA graph of
``execute_async_v3`` from the second frame on, where capture works), all outputs come back in
one device-to-host copy of the packed output buffer, then the frame's one synchronisation.
Preprocessing stays on the CPU (the device preprocessing is written in PyTorch).
"""

import logging
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from .base import INPUT_NAME, OUTPUT_NAMES
from .cuda_python import CudaDevice, CudaError
from .tensorrt_io import deserialize, nbytes, packed_layout

LOG = logging.getLogger('logocap_ros.backends')


class CudaPythonEngine:
    """One deserialized engine with its I/O on :class:`CudaDevice` memory.

    :param trt: the ``tensorrt`` module; ``runtime``: its ``Runtime``.
    :param path: the engine file.
    :param cuda: the device whose memory and stream the engine uses (it frees them).
    """

    def __init__(self, trt, runtime, path: Path, cuda: CudaDevice) -> None:
        self.path, self.cuda = path, cuda
        self.engine, self.context, specs = deserialize(trt, runtime, path)
        self.addresses: Dict[str, int] = {}
        for name, (shape, dtype) in specs.items():
            if name not in OUTPUT_NAMES:
                self.addresses[name] = cuda.device_alloc(nbytes(shape, dtype))
        offsets, total = packed_layout(specs)
        self.packed = cuda.device_alloc(total)
        self.host_packed = cuda.host_array((total,), np.uint8)
        self.host_outputs: Dict[str, np.ndarray] = {}
        for name, start in offsets.items():
            shape, dtype = specs[name]
            self.addresses[name] = self.packed + start
            self.host_outputs[name] = self.host_packed[
                start:start + nbytes(shape, dtype)].view(dtype).reshape(shape)
        for name, address in self.addresses.items():
            self.context.set_tensor_address(name, address)
        self.host_input = cuda.host_array(*specs[INPUT_NAME])
        self.input_hw = tuple(int(v) for v in specs[INPUT_NAME][0][2:])
        self.graph: Optional[object] = None      # instantiated CUDA graph once captured
        self.ran = self.graph_failed = False

    def run(self, images: np.ndarray, cuda_graph: bool = True) -> Dict[str, np.ndarray]:
        """Return the outputs (float32 copies) for ``images`` ``(1, 3, H, W)`` float32."""
        cuda = self.cuda
        cuda.make_current()
        np.copyto(self.host_input, images, casting='same_kind')
        cuda.upload(self.addresses[INPUT_NAME], self.host_input)
        self._execute(cuda_graph)
        cuda.download(self.host_packed, self.packed)
        cuda.synchronize()
        return {n: self.host_outputs[n].astype(np.float32) for n in OUTPUT_NAMES}

    def _execute(self, cuda_graph: bool) -> None:
        """Replay the graph; the first run is eager, the second is captured (then replayed)."""
        if self.graph is not None:
            self.cuda.launch(self.graph)
            return
        if not cuda_graph or self.graph_failed or not self.ran:
            self._eager()
            self.ran = True
            return
        captured: List[object] = []
        why = 'execute_async_v3 returned False during capture'
        try:
            with self.cuda.capture(captured):
                if not self.context.execute_async_v3(self.cuda.stream_handle):
                    raise CudaError(why)
        except (CudaError, RuntimeError) as exc:
            self.graph_failed = True
            LOG.warning('TensorRT engine %s cannot be captured in a CUDA graph (%s); running '
                        'it without one', self.path.name, ' '.join(str(exc).split())[:200])
            self._eager()
            return
        self.graph = captured[0]
        self.cuda.launch(self.graph)

    def _eager(self) -> None:
        if not self.context.execute_async_v3(self.cuda.stream_handle):
            raise RuntimeError('TensorRT execute_async_v3 failed')
