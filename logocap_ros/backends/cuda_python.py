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

"""One CUDA device through NVIDIA's ``cuda-python``: memory, a stream, graphs; no PyTorch.

The TensorRT backend needs device buffers, page-locked host buffers, a stream and, for its
replayed frames, a CUDA graph. With PyTorch installed it takes them from torch; on a
torch-free install (a Jetson running a model file) it takes them from the ``cuda-python``
runtime bindings (``pip install cuda-python``, part of the ``[tensorrt]`` extra), through
:class:`CudaDevice`. Every call is checked: a failing one raises :class:`CudaError` naming the
call and CUDA's own name for the error.

Pointers are plain ``int`` device addresses (what TensorRT's ``set_tensor_address`` takes);
host buffers are numpy arrays over page-locked memory, so uploads and downloads are direct DMA.
"""

import contextlib
import ctypes
from typing import Iterator, List, Optional, Tuple

import numpy as np

INSTALL_HINT = "pip install cuda-python (or 'logocap_ros[tensorrt]')"


class CudaError(RuntimeError):
    """A CUDA runtime call failed; the message names the call and the CUDA error."""


def import_cudart():
    """Return the ``cuda-python`` runtime module, or None when it is not installed.

    ``cuda.bindings.runtime`` since cuda-python 12.6; ``cuda.cudart`` before.
    """
    try:
        from cuda.bindings import runtime
        return runtime
    except ImportError:
        pass
    try:
        from cuda import cudart
        return cudart
    except ImportError:
        return None


def _error_text(cudart, err) -> str:
    """Return e.g. ``'cudaErrorNoDevice (no CUDA-capable device is detected)'``."""
    def text(fn):
        try:
            value = fn(err)[1]
        except Exception:  # noqa: BLE001 - a description must never hide the error itself
            return str(err)
        return value.decode() if isinstance(value, bytes) else str(value)
    return f'{text(cudart.cudaGetErrorName)} ({text(cudart.cudaGetErrorString)})'


def call(cudart, name: str, *args):
    """Call ``cudart.<name>(*args)``; return its value(s) after the error code.

    :raises CudaError: the call returned an error.
    """
    result = getattr(cudart, name)(*args)
    err, values = result[0], tuple(result[1:])
    if err != cudart.cudaError_t.cudaSuccess:
        raise CudaError(f'{name} failed: {_error_text(cudart, err)}')
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def device_count(cudart=None) -> int:
    """Return the number of CUDA devices (0 without cuda-python, a driver or a GPU)."""
    cudart = cudart or import_cudart()
    if cudart is None:
        return 0
    try:
        return int(call(cudart, 'cudaGetDeviceCount'))
    except CudaError:
        return 0


def device_properties(cudart, index: int) -> Tuple[str, str]:
    """Return ``(gpu name, 'major.minor')`` of device ``index`` (as PyTorch reports them)."""
    props = call(cudart, 'cudaGetDeviceProperties', int(index))
    name = props.name
    if isinstance(name, bytes):
        name = name.split(b'\0', 1)[0].decode()
    return str(name), f'{int(props.major)}.{int(props.minor)}'


class CudaDevice:
    """Device ``index`` with one stream and everything allocated through it.

    :meth:`close` frees every allocation, graph and the stream (the owner calls it when it
    deactivates); using the object afterwards raises :class:`CudaError`.

    :param cudart: the ``cuda-python`` runtime module (:func:`import_cudart`).
    :raises CudaError: no such device, or the stream cannot be created.
    """

    def __init__(self, cudart, index: int = 0) -> None:
        self.rt, self.index = cudart, int(index)
        count = int(call(cudart, 'cudaGetDeviceCount'))
        if not 0 <= self.index < count:
            raise CudaError(f'CUDA device {self.index} does not exist ({count} visible)')
        self.make_current()
        self.stream = call(cudart, 'cudaStreamCreate')
        self._device: List[int] = []
        self._host: List[int] = []
        self._graphs: List[object] = []
        self.closed = False

    def call(self, name: str, *args):
        """:func:`call` on this device's runtime module (refused after :meth:`close`)."""
        if self.closed:
            raise CudaError(f'{name} after the CUDA device was released')
        return call(self.rt, name, *args)

    @property
    def stream_handle(self) -> int:
        """The stream as the integer handle TensorRT's ``execute_async_v3`` takes."""
        return int(self.stream)

    def make_current(self) -> None:
        """Make this device current for the calling thread (CUDA keeps it per thread)."""
        call(self.rt, 'cudaSetDevice', self.index)

    def device_alloc(self, nbytes: int) -> int:
        """Return the address of ``nbytes`` (at least 1) of device memory."""
        ptr = int(self.call('cudaMalloc', max(int(nbytes), 1)))
        self._device.append(ptr)
        return ptr

    def host_array(self, shape, dtype) -> np.ndarray:
        """Return a zeroed page-locked host array of ``shape`` and ``dtype``."""
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        nbytes = max(count * dtype.itemsize, 1)
        ptr = int(self.call('cudaMallocHost', nbytes))
        self._host.append(ptr)
        raw = (ctypes.c_uint8 * nbytes).from_address(ptr)
        array = np.frombuffer(raw, np.uint8)[:count * dtype.itemsize].view(dtype)
        array[...] = 0
        return array.reshape(shape)

    def upload(self, dst: int, host: np.ndarray) -> None:
        """Queue the copy of ``host`` (page-locked, C-contiguous) to device address ``dst``."""
        self.call('cudaMemcpyAsync', int(dst), int(host.ctypes.data), int(host.nbytes),
                  self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice, self.stream)

    def download(self, host: np.ndarray, src: int) -> None:
        """Queue the copy of ``host.nbytes`` from device address ``src`` into ``host``."""
        self.call('cudaMemcpyAsync', int(host.ctypes.data), int(src), int(host.nbytes),
                  self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, self.stream)

    def synchronize(self) -> None:
        """Wait until everything queued on the stream has run."""
        self.call('cudaStreamSynchronize', self.stream)

    @contextlib.contextmanager
    def capture(self, result: List[object]) -> Iterator[None]:
        """Capture the work queued on the stream in the block into a graph.

        On success the instantiated graph is appended to ``result`` (run it with
        :meth:`launch`); work captured is not run. A failure inside the block or in ending
        the capture raises, with the capture ended and CUDA's error state cleared.
        """
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        self.call('cudaStreamBeginCapture', self.stream, mode)
        try:
            yield
        except BaseException:
            self._end_capture_quietly()
            raise
        graph = self.call('cudaStreamEndCapture', self.stream)
        try:
            result.append(self.call('cudaGraphInstantiate', graph, 0))
            self._graphs.append(result[-1])
        finally:
            call(self.rt, 'cudaGraphDestroy', graph)

    def _end_capture_quietly(self) -> None:
        result = self.rt.cudaStreamEndCapture(self.stream)
        if result[0] == self.rt.cudaError_t.cudaSuccess and result[1] is not None:
            self.rt.cudaGraphDestroy(result[1])
        self.rt.cudaGetLastError()

    def launch(self, graph_exec) -> None:
        """Queue one replay of an instantiated graph on the stream."""
        self.call('cudaGraphLaunch', graph_exec, self.stream)

    def close(self) -> Optional[str]:
        """Free graphs, memory and the stream; return the first error met, else None."""
        if self.closed:
            return None
        first = None
        steps = ([('cudaStreamSynchronize', self.stream)]
                 + [('cudaGraphExecDestroy', g) for g in self._graphs]
                 + [('cudaFree', p) for p in self._device]
                 + [('cudaFreeHost', p) for p in self._host]
                 + [('cudaStreamDestroy', self.stream)])
        for name, arg in steps:
            try:
                call(self.rt, name, arg)
            except CudaError as exc:
                first = first or str(exc)
        self._graphs, self._device, self._host = [], [], []
        self.closed = True
        return first
