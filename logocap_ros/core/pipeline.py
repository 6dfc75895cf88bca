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
        >= 0.01; same results, less work, but data-dependent shapes: turned off while
        exporting, when all ``top_k`` candidates are refined and filtered afterwards).
    :param channels_last: run the network in NHWC memory layout (faster with oneDNN on the
        CPU; float noise of ~1e-6 relative against NCHW). The network's parameters must have
        been converted with ``net.to(memory_format=torch.channels_last)``.
    """

    def __init__(self, net: LogoCapNet, flip_test: bool = True, top_k: int = TOP_K,
                 prune: bool = True, channels_last: bool = False) -> None:
        super().__init__()
        self.net = net
        self.flip_test = bool(flip_test)
        self.top_k = int(top_k)
        self.prune = bool(prune)
        self.channels_last = bool(channels_last)

    def dense(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Run the network on ``[1, 3, H, W]``; return raw heads and the embedding.

        :return: ``heatmaps_raw`` ``[B, 18, h, w]``, ``offsets_raw`` ``[B, 34, h, w]``
            (B = 2 with flip test, batch 1 = mirrored image), ``embedding`` ``[64, h, w]``.
        """
        batch = torch.cat([images, images.flip(3)]) if self.flip_test else images
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        heatmaps, offsets, feats = self.net.heads(batch)
        embedding = self.net.embed(feats[0:1])[0]
        return {'heatmaps_raw': heatmaps, 'offsets_raw': offsets, 'embedding': embedding}

    def decode(self, out: Dict[str, torch.Tensor], input_hw) -> Dict[str, torch.Tensor]:
        """Fuse, upsample, find centres and initial poses, run the KAMs and the refinement."""
        if self.flip_test:
            heatmaps, offsets = decoding.fuse_flip(out['heatmaps_raw'], out['offsets_raw'])
        else:
            heatmaps, offsets = out['heatmaps_raw'][0:1], out['offsets_raw'][0:1]
        hr = decoding.upsample(heatmaps, input_hw)[0]
        centers = decoding.find_centers(hr[17], self.top_k)
        if self.prune and not _exporting():
            centers = centers[:decoding.kept_count(centers)]
        poses0 = decoding.initial_poses(centers, offsets)
        grid = decoding.kem_grid(poses0)
        kam_logits = self.net.kam(refinement.kem_features(out['embedding'], grid))
        windows = refinement.global_windows(hr, poses0)
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
            (x, y, confidence); K = ``top_k``, or fewer when pruning.
        """
        out = self.stages(images)
        return out['poses'], out['scores'], out['centers']


def _exporting() -> bool:
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
