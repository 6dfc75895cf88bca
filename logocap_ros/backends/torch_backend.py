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

"""PyTorch backend: eager on the CPU, a static-shape (CUDA-graph) path on CUDA.

CPU: the pipeline in eager mode with pruning (only the kept candidates are refined) and the
network in NHWC layout, unchanged since the parity work (docs/parity.md).

CUDA (:class:`logocap_ros.backends.torch_cuda.StaticRunner`): the weights are copied to the
GPU once at :meth:`activate` (``half()`` + channels-last for fp16, TF32 off for fp32,
``cudnn.benchmark`` on), all ``top_k`` candidates are refined (static shapes, no device-to-host
reads inside a frame), the frame is replayed as a captured CUDA graph, resizing and normalising
run on the GPU from a pinned host buffer, and the outputs come back in one copy.
"""

import time
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from .base import BackendUnavailable, InferenceBackend
from ..core.model import LogoCapNet
from ..core.pipeline import LogoCapPipeline

PRECISIONS = ('fp32', 'fp16')


class TorchBackend(InferenceBackend):
    """Runs :class:`LogoCapPipeline` with PyTorch.

    :param net: network with loaded weights. On the CPU it is used (and converted to NHWC) in
        place; on CUDA a copy is made at :meth:`activate`, so ``net`` stays as it is.
    :param device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...
    :param precision: ``'fp32'`` or ``'fp16'`` (CUDA only: network and KAM network in FP16
        with FP32 statistics, refinement FP32, as in the FP16 ONNX export).
    :param flip_test: official flip test.
    :param prepare_hw: network input sizes ``(H, W)`` to warm up (and capture) at
        :meth:`activate` on CUDA.
    :param static_shapes: refine all candidates with static shapes (default: on CUDA only;
        on the CPU the pruned eager path is faster and is the parity reference).
    :param cuda_graph: replay a captured CUDA graph per input size (CUDA, static shapes).
    :param compile_graph: ``torch.compile`` the static graph first (CUDA; slow start, minutes).
    """

    name = 'torch'

    def __init__(self, net: LogoCapNet, device: str = 'cpu', precision: str = 'fp32',
                 flip_test: bool = True, prepare_hw: Sequence[Tuple[int, int]] = (),
                 static_shapes: Optional[bool] = None, cuda_graph: bool = True,
                 compile_graph: bool = False) -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, not {precision!r}')
        self.device = torch.device(device)
        cuda = self.device.type == 'cuda'
        if cuda and not torch.cuda.is_available():
            raise BackendUnavailable(f'device {device!r} requested but PyTorch sees no CUDA '
                                     f'GPU; use device:=cpu or install a CUDA build of torch')
        if precision == 'fp16' and not cuda:
            raise ValueError('fp16 needs a CUDA device; use precision fp32 on the CPU')
        self.precision = precision
        self.net = net.eval()
        self.flip_test = bool(flip_test)
        self.static_shapes = cuda if static_shapes is None else bool(static_shapes)
        self.prepare_hw = [tuple(int(v) for v in hw) for hw in prepare_hw]
        self.cuda_graph, self.compile = bool(cuda_graph) and cuda, bool(compile_graph)
        self.runner = None
        # NHWC is ~20% faster for HRNet with oneDNN on the CPU (see docs/benchmarks.md)
        self.pipeline = None if cuda else LogoCapPipeline(
            self.net, flip_test=flip_test, prune=not self.static_shapes, channels_last=True)

    @property
    def preprocesses_images(self) -> bool:
        """True on CUDA: :meth:`infer_image` resizes and normalises on the GPU."""
        return self.runner is not None

    def describe(self) -> str:
        """Return e.g. ``'torch cpu fp32'`` or ``'torch cuda:0 fp16 (static, CUDA graph)'``."""
        if self.device.type != 'cuda':
            return f'torch {self.device} {self.precision}'
        mode = 'static' + (', compiled' if self.compile else '') + \
            (', CUDA graph' if self.cuda_graph else '')
        return f'torch {self.device} {self.precision} ({mode})'

    def _activate(self) -> None:
        if self.device.type != 'cuda':
            self.pipeline.to(self.device, memory_format=torch.channels_last)
            return
        from .torch_cuda import StaticRunner
        self.runner = StaticRunner(self.net, self.device, self.precision, self.flip_test,
                                   cuda_graph=self.cuda_graph, compile_graph=self.compile)
        for hw in self.prepare_hw:
            self.runner.prepare(hw)

    def _deactivate(self) -> None:
        if self.runner is not None:
            self.runner.close()
            self.runner = None
            torch.cuda.empty_cache()
        elif self.pipeline is not None:
            self.pipeline.to('cpu')

    def _infer(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        if self.runner is not None:
            out = self.runner.run_tensor(images)
            self.last_timings = dict(self.runner.last_timings)
            return out
        return self._infer_cpu(images)

    def infer_image(self, image: np.ndarray, color: str, box) -> Dict[str, np.ndarray]:
        """Resize, normalise and run on the GPU from the raw ``(h0, w0, 3)`` uint8 image.

        :param color: ``'bgr'`` or ``'rgb'``.
        :param box: :class:`logocap_ros.core.preprocessing.Letterbox` of the image.
        """
        if not self.is_active:
            self.activate()
        if self.runner is None:
            raise RuntimeError('infer_image needs the CUDA path; use infer() on the CPU')
        out = self.runner.run_image(image, color, box)
        self.last_timings = dict(self.runner.last_timings)
        return out

    @torch.inference_mode()
    def _infer_cpu(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        x = torch.from_numpy(images).to(self.device)
        t0 = time.perf_counter()
        dense = self.pipeline.dense(x)
        t1 = time.perf_counter()
        out = self.pipeline.decode(dense, x.shape[-2:])
        result = {k: out[k].float().cpu().numpy() for k in ('poses', 'scores', 'centers')}
        t2 = time.perf_counter()
        self.last_timings = {'network': t1 - t0, 'refine': t2 - t1}
        return result
