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

"""A fake ``tensorrt`` whose engines run an ONNX model with ONNX Runtime on fake GPU memory.

What :class:`logocap_ros.backends.tensorrt_backend.TensorRTBackend` uses of TensorRT's
runtime: ``Logger``, ``Runtime.deserialize_cuda_engine``, the engine's I/O tensor queries,
``create_execution_context``, ``set_tensor_address`` and ``execute_async_v3``, ``nptype``.
An engine file is :data:`MAGIC` + JSON ``{"onnx": path, "input_shape": [1, 3, H, W]}``
(:func:`write_engine`). ``execute_async_v3`` reads the input at its device address, runs the
ONNX model and writes each output at its address; the work is queued on the stream of the
fake cuda-python (``cuda.bindings.runtime``), so a CUDA-graph capture records it instead of
running it, as on a GPU. Addresses outside the fake's device memory fail the run.
(The fake cuda-python is imported on first use: :func:`write_engine` needs none.)
"""

import ctypes
import enum
import json
from pathlib import Path

import numpy as np

__version__ = '10.3.0'
MAGIC = b'FAKETRT1'


class DataType(enum.IntEnum):
    FLOAT = 0
    HALF = 1
    INT32 = 3


_NP = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT32: np.int32}


def nptype(dtype):
    """Return the numpy type of a TensorRT data type."""
    return _NP[dtype]


class Logger:
    WARNING = 2

    def __init__(self, level=None):
        self.level = level


def write_engine(path, onnx_path, input_shape) -> Path:
    """Write a fake engine file that runs ``onnx_path`` on inputs of ``input_shape``."""
    record = {'onnx': str(onnx_path), 'input_shape': [int(v) for v in input_shape]}
    Path(path).write_bytes(MAGIC + json.dumps(record).encode())
    return Path(path)


class Runtime:
    def __init__(self, logger):
        self.logger = logger

    def deserialize_cuda_engine(self, data: bytes):
        if not data.startswith(MAGIC):
            return None
        return _Engine(json.loads(data[len(MAGIC):].decode()))


class _Engine:
    def __init__(self, record):
        import onnxruntime
        self.session = onnxruntime.InferenceSession(record['onnx'],
                                                    providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name
        self.shapes = {self.input_name: tuple(record['input_shape'])}
        zeros = np.zeros(self.shapes[self.input_name], np.float32)
        names = [o.name for o in self.session.get_outputs()]
        for name, value in zip(names, self.session.run(None, {self.input_name: zeros})):
            self.shapes[name] = tuple(value.shape)
        self.names = [self.input_name] + names

    @property
    def num_io_tensors(self):
        return len(self.names)

    def get_tensor_name(self, index):
        return self.names[index]

    def get_tensor_shape(self, name):
        return self.shapes[name]

    def get_tensor_dtype(self, name):
        return DataType.FLOAT

    def create_execution_context(self):
        return _Context(self)


def _cudart():
    from cuda.bindings import runtime
    return runtime


class _Context:
    def __init__(self, engine):
        self.engine, self.addresses = engine, {}

    def set_tensor_address(self, name, address):
        self.addresses[name] = int(address)
        return True

    def _view(self, name):
        shape = self.engine.shapes[name]
        count = int(np.prod(shape))
        address = self.addresses[name]
        cudart = _cudart()
        if not cudart.inside(cudart.STATE.device_mem, address, count * 4):
            raise RuntimeError(f'{name}: address {address:#x} is not device memory')
        raw = (ctypes.c_float * count).from_address(address)
        return np.frombuffer(raw, np.float32).reshape(shape)

    def _run(self):
        engine = self.engine
        images = self._view(engine.input_name).copy()
        outputs = engine.session.run(None, {engine.input_name: images})
        for name, value in zip(engine.names[1:], outputs):
            self._view(name)[...] = value
        _cudart().STATE.executions += 1

    def execute_async_v3(self, stream_handle):
        if set(self.addresses) != set(self.engine.names):
            return False
        cudart = _cudart()
        return cudart.enqueue(stream_handle, self._run) == cudart.cudaError_t.cudaSuccess
