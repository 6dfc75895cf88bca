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

"""The whole LOGO-CAP graph, image tensor in, candidate poses out, with static shapes.

Everything from the normalised image to the refined poses of the ``top_k`` centre candidates
runs here (network, flip fusion, centre NMS, KEM sampling, KAMs, dynamic convolution, peak
blending), so one ``torch.onnx.export`` of :class:`LogoCapPipeline` covers it. Candidate
filtering, back-projection and pose NMS (cheap, data-dependent) stay in
:mod:`logocap_ros.core.postprocessing`.
"""

from typing import Dict, Tuple

import torch
from torch import nn

from . import decoding, refinement
from .model import LogoCapNet

TOP_K = 30


class LogoCapPipeline(nn.Module):
    """Image to candidate poses.

    :param net: the network with loaded weights.
    :param flip_test: average with the mirrored image (official default: on).
    :param top_k: number of centre candidates (official: 30).
    :param prune: refine only the candidates the official code keeps (centre confidence
        >= 0.01; same results, less work, but data-dependent shapes and one device-to-host
        read: turned off while exporting and on CUDA, where all ``top_k`` candidates are
        refined and filtered afterwards).
    :param channels_last: run the network in NHWC memory layout (faster with oneDNN on the
        CPU; float noise of ~1e-6 relative against NCHW). The network's parameters must have
        been converted with ``net.to(memory_format=torch.channels_last)``.
    :param half: the network's parameters are FP16 (``net.half()``): its inputs (image, KEM
        features) are cast to FP16 and its outputs back to FP32, so that centre finding and
        the refinement (coordinates up to the image size) stay FP32.

    The constant tensors of the decoding and the refinement are non-persistent buffers, so
    ``pipeline.to(device)`` puts them on the device once and no frame builds tensors from
    Python data (see :meth:`forward`).
    """

    def __init__(self, net: LogoCapNet, flip_test: bool = True, top_k: int = TOP_K,
                 prune: bool = True, channels_last: bool = False, half: bool = False) -> None:
        super().__init__()
        self.net = net
        self.flip_test = bool(flip_test)
        self.top_k = int(top_k)
        self.prune = bool(prune)
        self.channels_last = bool(channels_last)
        self.half = bool(half)
        device = next(net.parameters()).device
        consts = dict(decoding.constants(device=device), **refinement.constants(device=device))
        self._const_names = tuple(consts)
        for name, value in consts.items():
            self.register_buffer(name, value, persistent=False)

    def constants(self) -> Dict[str, torch.Tensor]:
        """Return the decoding and refinement constant buffers by name (pipeline's device)."""
        return {name: getattr(self, name) for name in self._const_names}

    def dense(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Run the network on ``[1, 3, H, W]``; return raw heads and the embedding.

        :return: ``heatmaps_raw`` ``[B, 18, h, w]``, ``offsets_raw`` ``[B, 34, h, w]``
            (B = 2 with flip test, batch 1 = mirrored image), ``embedding`` ``[64, h, w]``,
            all FP32.
        """
        batch = torch.cat([images, images.flip(3)]) if self.flip_test else images
        if self.half:
            batch = batch.half()
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        heatmaps, offsets, feats = self.net.heads(batch)
        embedding = self.net.embed(feats[0:1])[0]
        out = {'heatmaps_raw': heatmaps, 'offsets_raw': offsets, 'embedding': embedding}
        return {k: v.float() for k, v in out.items()} if self.half else out

    def _kam(self, features: torch.Tensor) -> torch.Tensor:
        """KAM logits in FP32 (the KAM network in FP16 when :attr:`half`)."""
        if self.half:
            return self.net.kam(features.half()).float()
        return self.net.kam(features)

    def decode(self, out: Dict[str, torch.Tensor], input_hw) -> Dict[str, torch.Tensor]:
        """Fuse, upsample, find centres and initial poses, run the KAMs and the refinement."""
        consts = self.constants()
        if self.flip_test:
            heatmaps, offsets = decoding.fuse_flip(out['heatmaps_raw'], out['offsets_raw'],
                                                   consts)
        else:
            heatmaps, offsets = out['heatmaps_raw'][0:1], out['offsets_raw'][0:1]
        hr = decoding.upsample(heatmaps, input_hw)[0]
        centers = decoding.find_centers(hr[17], self.top_k)
        if self.prune and not _exporting():
            centers = centers[:decoding.kept_count(centers)]
        poses0 = decoding.initial_poses(centers, offsets)
        grid = decoding.kem_grid(poses0, consts=consts)
        kam_logits = self._kam(refinement.kem_features(out['embedding'], grid))
        windows = refinement.global_windows(hr, poses0, consts)
        adapted = refinement.dynamic_convolution(windows, kam_logits.clamp(0, 1))
        refined = refinement.peak_positions(adapted, poses0)
        poses = torch.cat([refined[..., :2], refined[..., 2:] * centers[:, None, 2:]], dim=-1)
        out.update(heatmaps=heatmaps[0], offsets=offsets[0], heatmaps_hr=hr, centers=centers,
                   initial_poses=poses0, kem_grid=grid, kam_logits=kam_logits,
                   windows=windows, adapted=adapted, refined=refined, poses=poses,
                   scores=poses[..., 2].mean(dim=1))
        return out

    def stages(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Return every intermediate of the graph (for parity checks and debugging)."""
        return self.decode(self.dense(images), images.shape[-2:])

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the graph.

        :param images: ``[1, 3, H, W]`` normalised RGB, H and W multiples of 64.
        :return: ``poses`` ``[K, 17, 3]`` (x, y input px; joint score = peak value x centre
            confidence), ``scores`` ``[K]`` (mean joint score), ``centers`` ``[K, 3]``
            (x, y, confidence); K = ``top_k``, or fewer when pruning. Without pruning the
            shapes are static and a call reads nothing back to the host (no device syncs), so
            it can be captured as a CUDA graph or compiled whole.
        """
        out = self.stages(images)
        return out['poses'], out['scores'], out['centers']


def _exporting() -> bool:
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
