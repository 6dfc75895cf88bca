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

"""The static-shape PyTorch path: weights converted once, one CUDA graph per input size.

:class:`StaticRunner` owns a private copy of the network on the device (``half()`` and
channels-last for FP16), runs :class:`logocap_ros.core.pipeline.LogoCapPipeline` without
pruning (all ``top_k`` candidates, static shapes, no device-to-host reads inside the frame)
and packs the three outputs into one tensor, so that one copy brings a frame home. On CUDA it
captures that frame as a CUDA graph per input size (after a warm-up that also lets
``cudnn.benchmark`` choose its kernels), checks one replay against the eager result, and
replays it; inputs arrive through pinned host buffers. Anything that fails while preparing
the graph (capture, compile) is logged and the eager static path is used instead.

The runner also works on the CPU (no pinned memory, no graph), which is how the tests check
the static path and the packing without a GPU.
"""

import contextlib
import copy
import logging
import time
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch

from .gpu_preprocess import normalisation_constants, warp_normalise, warp_plan
from ..core.keypoints import NUM_KEYPOINTS
from ..core.pipeline import LogoCapPipeline, TOP_K

LOG = logging.getLogger('logocap_ros.backends')
NUM_JOINTS = NUM_KEYPOINTS
#: Floats per frame in the packed output: poses, scores, centres of ``TOP_K`` candidates.
PACKED_SIZE = TOP_K * NUM_JOINTS * 3 + TOP_K + TOP_K * 3
WARMUP_RUNS = 3


def pack(poses: torch.Tensor, scores: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Concatenate ``[K, 17, 3]``, ``[K]``, ``[K, 3]`` into one flat float32 tensor."""
    return torch.cat([poses.reshape(-1), scores.reshape(-1), centers.reshape(-1)]).float()


def unpack(flat: np.ndarray, k: int = TOP_K) -> Dict[str, np.ndarray]:
    """Inverse of :func:`pack` on a host array; returns copies (the buffer is reused)."""
    n = k * NUM_JOINTS * 3
    return {'poses': flat[:n].reshape(k, NUM_JOINTS, 3).copy(),
            'scores': flat[n:n + k].copy(),
            'centers': flat[n + k:n + 4 * k].reshape(k, 3).copy()}


class CudaFlags:
    """Set cuDNN/cuBLAS flags for a precision and restore the previous values on close.

    ``cudnn.benchmark`` on (the input size is fixed per graph); TF32 off for ``fp32`` so that
    FP32 means IEEE FP32 (parity with the CPU, like the TensorRT FP32 engines).
    """

    def __init__(self, precision: str) -> None:
        back = torch.backends
        self._saved = (back.cudnn.benchmark, back.cudnn.allow_tf32,
                       back.cuda.matmul.allow_tf32)
        back.cudnn.benchmark = True
        if precision == 'fp32':
            back.cudnn.allow_tf32 = False
            back.cuda.matmul.allow_tf32 = False

    def restore(self) -> None:
        """Put the flags back as they were."""
        back = torch.backends
        back.cudnn.benchmark, back.cudnn.allow_tf32, back.cuda.matmul.allow_tf32 = self._saved


class _Slot:
    """Static buffers (and the captured graph) of one network input size."""

    def __init__(self, hw: Tuple[int, int], device: torch.device) -> None:
        cuda = device.type == 'cuda'
        self.hw = hw
        self.images = torch.zeros((1, 3) + hw, dtype=torch.float32, device=device)
        self.host_in = torch.zeros((1, 3) + hw, dtype=torch.float32, pin_memory=cuda)
        self.host_out = torch.zeros(PACKED_SIZE, dtype=torch.float32, pin_memory=cuda)
        self.packed: Optional[torch.Tensor] = None
        self.graph = None


class StaticRunner:
    """Run the whole graph with static shapes on one device (see the module docstring).

    :param net: :class:`~logocap_ros.core.model.LogoCapNet` (copied; left unchanged).
    :param device: ``torch.device``; CUDA enables pinned buffers and graphs.
    :param precision: ``'fp32'`` or ``'fp16'`` (network and KAM network in FP16).
    :param flip_test: official flip test.
    :param cuda_graph: capture and replay a CUDA graph per input size (CUDA only).
    :param compile_graph: ``torch.compile(fullgraph=True)`` the frame first (CUDA; minutes).
    """

    def __init__(self, net, device: torch.device, precision: str = 'fp32',
                 flip_test: bool = True, cuda_graph: bool = True,
                 compile_graph: bool = False) -> None:
        self.device = torch.device(device)
        self.cuda = self.device.type == 'cuda'
        self.precision = precision
        self.flags = CudaFlags(precision) if self.cuda else None
        half = precision == 'fp16'
        model = copy.deepcopy(net).eval()
        layout = torch.channels_last if half and self.cuda else torch.contiguous_format
        model = (model.half() if half else model).to(self.device, memory_format=layout)
        self.pipeline = LogoCapPipeline(model, flip_test=flip_test, prune=False,
                                        channels_last=layout == torch.channels_last,
                                        half=half).to(self.device).eval()
        self.use_graph = bool(cuda_graph) and self.cuda
        self.stream = torch.cuda.Stream(self.device) if self.cuda else None
        self._fn: Callable[[torch.Tensor], torch.Tensor] = self._frame
        if compile_graph:
            self._fn = self._compiled()
        self._slots: Dict[Tuple[int, int], _Slot] = {}
        self._plans: Dict[tuple, object] = {}
        self._image_buffers: Dict[Tuple[int, int], Tuple[torch.Tensor, torch.Tensor]] = {}
        self._mean, self._std = normalisation_constants(self.device)
        self.last_timings: Dict[str, float] = {}

    def _frame(self, images: torch.Tensor) -> torch.Tensor:
        """One frame, static shapes: ``[1, 3, H, W]`` -> packed ``[PACKED_SIZE]``."""
        return pack(*self.pipeline(images))

    def _compiled(self) -> Callable[[torch.Tensor], torch.Tensor]:
        try:
            return torch.compile(self._frame, fullgraph=True, dynamic=False)
        except Exception as exc:   # noqa: BLE001  (optional speed-up only)
            LOG.warning('torch.compile unavailable (%s); running eagerly', exc)
            return self._frame

    def prepare(self, hw: Tuple[int, int]) -> _Slot:
        """Allocate the buffers of input size ``hw`` = (H, W), warm up and capture the graph."""
        hw = (int(hw[0]), int(hw[1]))
        slot = self._slots.get(hw)
        if slot is not None:
            return slot
        t0 = time.perf_counter()
        slot = _Slot(hw, self.device)
        gen = torch.Generator(device='cpu').manual_seed(0)
        slot.images.copy_(torch.randn(slot.images.shape, generator=gen))
        try:
            reference = self._warm_up(slot)
        except Exception as exc:   # noqa: BLE001  (a compile failure: fall back to eager)
            if self._fn == self._frame:
                raise
            LOG.warning('torch.compile failed (%s); running eagerly',
                        ' '.join(str(exc).split())[:300])
            self._fn = self._frame
            reference = self._warm_up(slot)
        if self.use_graph:
            self._capture(slot, reference)
        self._slots[hw] = slot
        LOG.info('torch %s %s ready for input %dx%d in %.1f s (%s)', self.device,
                 self.precision, hw[0], hw[1], time.perf_counter() - t0,
                 'CUDA graph' if slot.graph is not None else 'eager, static shapes')
        return slot

    @torch.inference_mode()
    def _warm_up(self, slot: _Slot) -> torch.Tensor:
        if not self.cuda:
            slot.packed = self._fn(slot.images)
            return slot.packed.clone()
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_RUNS):
                out = self._fn(slot.images)
        torch.cuda.current_stream(self.device).wait_stream(side)
        torch.cuda.synchronize(self.device)
        slot.packed = out
        return out.clone()

    def _capture(self, slot: _Slot, reference: torch.Tensor) -> None:
        """Capture the frame as a CUDA graph; keep it only if a replay equals ``reference``."""
        try:
            graph = torch.cuda.CUDAGraph()
            with torch.inference_mode(), torch.cuda.graph(graph):
                packed = self._fn(slot.images)
            graph.replay()
            torch.cuda.synchronize(self.device)
        except RuntimeError as exc:
            LOG.warning('CUDA graph capture failed for input %dx%d (%s); running eagerly',
                        slot.hw[0], slot.hw[1], ' '.join(str(exc).split())[:300])
            return
        diff = float((packed - reference).abs().max())
        if not diff <= 1e-3:
            LOG.warning('CUDA graph replay differs from eager by %.3g; running eagerly', diff)
            return
        slot.graph, slot.packed = graph, packed

    @torch.inference_mode()
    def _execute(self, slot: _Slot) -> None:
        if slot.graph is not None:
            slot.graph.replay()
        else:
            slot.packed = self._fn(slot.images)

    def run_tensor(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        """Run on a preprocessed ``(1, 3, H, W)`` float32 array; return numpy outputs."""
        t0 = time.perf_counter()
        slot = self.prepare(images.shape[2:])
        slot.host_in.numpy()[...] = images
        with self._on_stream():
            slot.images.copy_(slot.host_in, non_blocking=self.cuda)
            return self._finish(slot, t0, t0)

    def run_image(self, image: np.ndarray, color: str, box) -> Dict[str, np.ndarray]:
        """Run on a raw ``(h0, w0, 3)`` uint8 image; resize and normalise on the device.

        :param box: :class:`logocap_ros.core.preprocessing.Letterbox` of the image.
        """
        t0 = time.perf_counter()
        slot = self.prepare(box.input_hw)
        plan = self._plan(box)
        host, dev = self._image_buffer(image.shape[:2])
        host.numpy()[...] = image
        with self._on_stream(), torch.inference_mode():
            dev.copy_(host, non_blocking=self.cuda)
            slot.images.copy_(warp_normalise(dev, plan, color, self._mean, self._std))
            return self._finish(slot, t0, time.perf_counter())

    def _finish(self, slot: _Slot, t0: float, t1: float) -> Dict[str, np.ndarray]:
        """Run the frame, copy the packed outputs home (the frame's only sync), unpack."""
        self._execute(slot)
        slot.host_out.copy_(slot.packed, non_blocking=self.cuda)
        if self.cuda:
            self.stream.synchronize()
        out = unpack(slot.host_out.numpy())
        self.last_timings = {'preprocess_device': t1 - t0,
                             'network': time.perf_counter() - t1}
        return out

    def _on_stream(self):
        if self.cuda:
            return torch.cuda.stream(self.stream)
        return contextlib.nullcontext()

    def _plan(self, box):
        key = (box.orig_hw, box.input_hw, box.center, box.scale)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = warp_plan(box).to(self.device)
        return plan

    def _image_buffer(self, hw) -> Tuple[torch.Tensor, torch.Tensor]:
        hw = (int(hw[0]), int(hw[1]))
        bufs = self._image_buffers.get(hw)
        if bufs is None:
            host = torch.zeros(hw + (3,), dtype=torch.uint8, pin_memory=self.cuda)
            bufs = self._image_buffers[hw] = (host, torch.zeros_like(host, device=self.device))
        return bufs

    def close(self) -> None:
        """Drop graphs and buffers, restore the cuDNN/TF32 flags."""
        self._slots.clear()
        self._plans.clear()
        self._image_buffers.clear()
        if self.flags is not None:
            self.flags.restore()
            self.flags = None
