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

"""A fake of cuda-python's ``cuda.bindings.runtime`` on host memory: no GPU, no driver.

The calls :mod:`logocap_ros.backends.cuda_python` makes, with the real signatures and the
real ``(error, value...)`` results. "Device" memory is host memory the fake allocated, so a
fake TensorRT engine (:mod:`tensorrt` here) can read and write it through raw addresses.
Checks the real driver would make: copies stay inside one allocation, host-to-device copies
come from page-locked memory the fake allocated, nothing is used after it was freed.
:data:`STATE` records what happened (copies, synchronisations, graph launches, live memory)
for the tests; :func:`reset` starts over with ``devices`` GPUs.
"""

import ctypes
import enum
import threading
from types import SimpleNamespace


class cudaError_t(enum.IntEnum):  # noqa: N801 - the real name
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorNoDevice = 100
    cudaErrorInvalidDevice = 101
    cudaErrorIllegalAddress = 700
    cudaErrorStreamCaptureUnsupported = 900
    cudaErrorStreamCaptureInvalidated = 901


class cudaMemcpyKind(enum.IntEnum):  # noqa: N801
    cudaMemcpyHostToHost = 0
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2


class cudaStreamCaptureMode(enum.IntEnum):  # noqa: N801
    cudaStreamCaptureModeGlobal = 0
    cudaStreamCaptureModeThreadLocal = 1
    cudaStreamCaptureModeRelaxed = 2


_OK = cudaError_t.cudaSuccess
STATE = SimpleNamespace()


def reset(devices: int = 1, capture_works: bool = True) -> None:
    """Start over: ``devices`` GPUs, no memory, no streams, empty records."""
    STATE.devices = devices
    STATE.capture_works = capture_works
    STATE.current = threading.local()
    STATE.device_mem = {}       # address -> ctypes buffer
    STATE.host_mem = {}
    STATE.streams = {}          # handle -> list of queued work while capturing, else None
    STATE.graphs = {}
    STATE.execs = {}
    STATE.next_handle = 1000
    STATE.copies = []           # (kind, bytes)
    STATE.syncs = 0
    STATE.launches = 0
    STATE.executions = 0


reset()


def _handle() -> int:
    STATE.next_handle += 1
    return STATE.next_handle


def cudaGetErrorName(error):  # noqa: N802
    return _OK, cudaError_t(error).name.encode()


def cudaGetErrorString(error):  # noqa: N802
    return _OK, f'fake CUDA error {int(error)}'.encode()


def cudaGetLastError():  # noqa: N802
    return (_OK,)


def cudaGetDeviceCount():  # noqa: N802
    if STATE.devices == 0:
        return cudaError_t.cudaErrorNoDevice, None
    return _OK, STATE.devices


def cudaSetDevice(device):  # noqa: N802
    if not 0 <= int(device) < STATE.devices:
        return (cudaError_t.cudaErrorInvalidDevice,)
    STATE.current.device = int(device)
    return (_OK,)


def cudaGetDevice():  # noqa: N802
    return _OK, getattr(STATE.current, 'device', 0)


def cudaGetDeviceProperties(device):  # noqa: N802
    if not 0 <= int(device) < STATE.devices:
        return cudaError_t.cudaErrorInvalidDevice, None
    name = b'Fake Orin' + b'\0' * 247
    return _OK, SimpleNamespace(name=name, major=8, minor=7)


def _alloc(table, size):
    if int(size) <= 0:
        return cudaError_t.cudaErrorInvalidValue, None
    buffer = ctypes.create_string_buffer(int(size))
    address = ctypes.addressof(buffer)
    table[address] = buffer
    return _OK, address


def _release(table, handle):
    if int(handle) not in table:
        return (cudaError_t.cudaErrorInvalidValue,)
    del table[int(handle)]
    return (_OK,)


def cudaMalloc(size):  # noqa: N802
    return _alloc(STATE.device_mem, size)


def cudaMallocHost(size):  # noqa: N802
    return _alloc(STATE.host_mem, size)


def cudaFree(ptr):  # noqa: N802
    return _release(STATE.device_mem, ptr)


def cudaFreeHost(ptr):  # noqa: N802
    return _release(STATE.host_mem, ptr)


def inside(table, address: int, size: int) -> bool:
    """Return whether ``[address, address + size)`` lies in one allocation of ``table``."""
    return any(start <= address and address + size <= start + ctypes.sizeof(buf)
               for start, buf in table.items())


def enqueue(stream, work) -> int:
    """Run ``work()`` now, or record it when ``stream`` is capturing; return a CUDA error."""
    queued = STATE.streams.get(int(stream), 'missing')
    if queued == 'missing':
        return cudaError_t.cudaErrorInvalidValue
    if queued is None:
        work()
    else:
        queued.append(work)
    return _OK


def cudaMemcpyAsync(dst, src, count, kind, stream):  # noqa: N802
    dst, src, count = int(dst), int(src), int(count)
    if kind == cudaMemcpyKind.cudaMemcpyHostToDevice:
        ok = inside(STATE.host_mem, src, count) and inside(STATE.device_mem, dst, count)
    elif kind == cudaMemcpyKind.cudaMemcpyDeviceToHost:
        ok = inside(STATE.device_mem, src, count) and inside(STATE.host_mem, dst, count)
    else:
        ok = False
    if not ok:
        return (cudaError_t.cudaErrorInvalidValue,)
    STATE.copies.append((kind, count))
    return (enqueue(stream, lambda: ctypes.memmove(dst, src, count)),)


def cudaStreamCreate():  # noqa: N802
    handle = _handle()
    STATE.streams[handle] = None
    return _OK, handle


def cudaStreamDestroy(stream):  # noqa: N802
    return _release(STATE.streams, stream)


def cudaStreamSynchronize(stream):  # noqa: N802
    if int(stream) not in STATE.streams:
        return (cudaError_t.cudaErrorInvalidValue,)
    STATE.syncs += 1
    return (_OK,)


def cudaStreamBeginCapture(stream, mode):  # noqa: N802
    if STATE.streams.get(int(stream), 'missing') is not None:
        return (cudaError_t.cudaErrorInvalidValue,)
    STATE.streams[int(stream)] = []
    return (_OK,)


def cudaStreamEndCapture(stream):  # noqa: N802
    work = STATE.streams.get(int(stream))
    if work is None:
        return cudaError_t.cudaErrorInvalidValue, None
    STATE.streams[int(stream)] = None
    if not STATE.capture_works:
        return cudaError_t.cudaErrorStreamCaptureUnsupported, None
    handle = _handle()
    STATE.graphs[handle] = work
    return _OK, handle


def cudaGraphInstantiate(graph, flags):  # noqa: N802
    work = STATE.graphs.get(int(graph))
    if work is None:
        return cudaError_t.cudaErrorInvalidValue, None
    handle = _handle()
    STATE.execs[handle] = list(work)
    return _OK, handle


def cudaGraphDestroy(graph):  # noqa: N802
    return _release(STATE.graphs, graph)


def cudaGraphExecDestroy(graph_exec):  # noqa: N802
    return _release(STATE.execs, graph_exec)


def cudaGraphLaunch(graph_exec, stream):  # noqa: N802
    work = STATE.execs.get(int(graph_exec))
    if work is None:
        return (cudaError_t.cudaErrorInvalidValue,)
    STATE.launches += 1
    for step in work:
        error = enqueue(stream, step)
        if error != _OK:
            return (error,)
    return (_OK,)
