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

"""The I/O tensors of a LOGO-CAP TensorRT engine and the layout of its packed outputs.

Shared by the engine on PyTorch buffers and the one on ``cuda-python`` buffers
(:mod:`logocap_ros.backends.tensorrt_cuda_python`): both deserialize the same way, refuse the
same foreign engines and place every output in one device buffer, each at a 256-byte aligned
offset, so that one device-to-host copy brings all of them back.
"""

from pathlib import Path
from typing import Dict, Tuple

import numpy as np

from .base import BackendUnavailable, INPUT_NAME, OUTPUT_NAMES

#: Byte alignment of each output inside the packed output buffer (CUDA's 256 B).
ALIGN_BYTES = 256

#: ``{tensor name: (shape, numpy dtype)}`` of an engine's I/O tensors.
Specs = Dict[str, Tuple[Tuple[int, ...], np.dtype]]


def deserialize(trt, runtime, path: Path):
    """Return ``(engine, execution context, specs)`` of the engine file ``path``.

    :raises BackendUnavailable: TensorRT cannot load it, or it lacks LOGO-CAP's tensors.
    """
    engine = runtime.deserialize_cuda_engine(path.read_bytes())
    if engine is None:
        raise BackendUnavailable(f'TensorRT could not load {path} (built by another '
                                 'TensorRT version or GPU?); rebuild it with '
                                 'logocap-build-engine --force')
    specs: Specs = {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        specs[name] = (tuple(int(v) for v in engine.get_tensor_shape(name)),
                       np.dtype(trt.nptype(engine.get_tensor_dtype(name))))
    missing = {INPUT_NAME, *OUTPUT_NAMES} - set(specs)
    if missing:
        raise BackendUnavailable(f'{path} lacks tensors {sorted(missing)}; it is not a '
                                 'LOGO-CAP engine from logocap-build-engine')
    return engine, engine.create_execution_context(), specs


def nbytes(shape, dtype) -> int:
    """Bytes of a dense tensor of ``shape`` and numpy ``dtype``."""
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def packed_layout(specs: Specs) -> Tuple[Dict[str, int], int]:
    """Return ``({output name: byte offset}, total bytes)`` of the packed output buffer.

    Outputs are placed in :data:`OUTPUT_NAMES` order, each offset a multiple of
    :data:`ALIGN_BYTES`; the total is at least 1 (an allocation of 0 bytes is refused).
    """
    offsets, total = {}, 0
    for name in OUTPUT_NAMES:
        total = -(-total // ALIGN_BYTES) * ALIGN_BYTES
        offsets[name] = total
        total += nbytes(*specs[name])
    return offsets, max(total, 1)
