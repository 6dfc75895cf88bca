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

"""PyTorch eager backend (CPU, CUDA, FP16 on CUDA)."""

import time
from typing import Dict

import numpy as np
import torch

from .base import BackendUnavailable, InferenceBackend
from ..core.model import LogoCapNet
from ..core.pipeline import LogoCapPipeline

PRECISIONS = ('fp32', 'fp16')


class TorchBackend(InferenceBackend):
    """Runs :class:`LogoCapPipeline` in eager mode.

    :param net: network with loaded weights (kept on the CPU while inactive).
    :param device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...
    :param precision: ``'fp32'`` or ``'fp16'`` (CUDA only; refinement stays float32).
    :param flip_test: official flip test.
    """

    name = 'torch'

    def __init__(self, net: LogoCapNet, device: str = 'cpu', precision: str = 'fp32',
                 flip_test: bool = True) -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, not {precision!r}')
        self.device = torch.device(device)
        if self.device.type == 'cuda' and not torch.cuda.is_available():
            raise BackendUnavailable(f'device {device!r} requested but PyTorch sees no CUDA '
                                     f'GPU; use device:=cpu or install a CUDA build of torch')
        if precision == 'fp16' and self.device.type != 'cuda':
            raise ValueError('fp16 needs a CUDA device; use precision fp32 on the CPU')
        self.precision = precision
        # NHWC is ~20% faster for HRNet with oneDNN on the CPU (see docs/benchmarks.md)
        self.pipeline = LogoCapPipeline(net.eval(), flip_test=flip_test,
                                        channels_last=self.device.type == 'cpu')

    def describe(self) -> str:
        """Return e.g. ``'torch cpu fp32'``."""
        return f'torch {self.device} {self.precision}'

    def _activate(self) -> None:
        fmt = torch.channels_last if self.pipeline.channels_last else torch.contiguous_format
        self.pipeline.to(self.device, memory_format=fmt)

    def _deactivate(self) -> None:
        self.pipeline.to('cpu')
        if self.device.type == 'cuda':
            torch.cuda.empty_cache()

    def _sync(self) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    @torch.inference_mode()
    def _infer(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        x = torch.from_numpy(images).to(self.device)
        t0 = time.perf_counter()
        if self.precision == 'fp16':
            with torch.autocast('cuda', dtype=torch.float16):
                dense = self.pipeline.dense(x)
            dense = {k: v.float() for k, v in dense.items()}
        else:
            dense = self.pipeline.dense(x)
        self._sync()
        t1 = time.perf_counter()
        out = self.pipeline.decode(dense, x.shape[-2:])
        result = {k: out[k].float().cpu().numpy() for k in ('poses', 'scores', 'centers')}
        t2 = time.perf_counter()
        self.last_timings = {'network': t1 - t0, 'refine': t2 - t1}
        return result
