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

"""The LOGO-CAP network: HRNet backbone, heatmap/offset/embedding heads and the KAM network.

Written for this package from the LOGO-CAP paper (Xue et al., CVPR 2022) and a reading of the
official implementation (github.com/cherubicXN/logocap); no upstream code is reused. Parameter
names and shapes equal those of the official checkpoints so that they load strictly.
"""

from typing import Optional, Tuple

import torch
from torch import nn
import torch.nn.functional as F

from .hrnet import BN_MOMENTUM, HRNet, HRNET_CFGS

NUM_JOINTS = 17
#: Heatmap channels: 17 joints followed by the person centre.
NUM_HEATMAPS = NUM_JOINTS + 1
EMBED_DIM = 64
KAM_WIDTHS = (512, 256, 128)
AN_MIXTURES = 20


class HardSigmoid(nn.Module):
    """``relu6(x + 3) / 6``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the hard sigmoid elementwise."""
        return F.relu6(x + 3.0) / 6.0


class MixtureAttention(nn.Module):
    """Mixture weights of attentive normalisation, from per-instance channel statistics.

    Keys: ``attention.0.weight`` ``[K, C, 1, 1]`` (1x1 conv, no bias).
    """

    def __init__(self, channels: int, mixtures: int) -> None:
        super().__init__()
        self.attention = nn.Sequential(
            nn.Conv2d(channels, mixtures, 1, bias=False), nn.Identity(), HardSigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return mixture weights ``[N, K]`` for ``x`` ``[N, C, H, W]``.

        The statistics are computed in FP32 whatever the dtype of ``x``: in FP16 the squared
        deviations overflow to inf as soon as a value lies ~256 from its window mean (then
        ``rsqrt`` gives 0 and the mixture weights become constant). For FP32 input the casts
        are no-ops.
        """
        var, mean = torch.var_mean(x.float(), dim=(2, 3), keepdim=True)
        stat = mean * torch.rsqrt(var + 1e-3)
        return self.attention(stat.to(x.dtype)).flatten(1)


class AttentiveBatchNorm2d(nn.BatchNorm2d):
    """Attentive normalisation: BN without affine, then a per-instance mixture of K affines.

    Keys: ``weight_``/``bias_`` ``[K, C]``, ``running_mean/var`` ``[C]``,
    ``num_batches_tracked`` and ``attn_weights.attention.0.weight``.
    """

    def __init__(self, channels: int, mixtures: int = AN_MIXTURES) -> None:
        super().__init__(channels, affine=False, momentum=BN_MOMENTUM)
        self.weight_ = nn.Parameter(torch.ones(mixtures, channels))
        self.bias_ = nn.Parameter(torch.zeros(mixtures, channels))
        self.attn_weights = MixtureAttention(channels, mixtures)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` ``[N, C, H, W]`` and apply the instance's mixed affine."""
        normalised = super().forward(x)
        mix = self.attn_weights(x)
        gamma = (mix @ self.weight_)[:, :, None, None]
        beta = (mix @ self.bias_)[:, :, None, None]
        return gamma * normalised + beta


def _conv1x1_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False),
                         nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM), nn.ReLU(inplace=True))


def make_kam_network(c_in: int = NUM_JOINTS * EMBED_DIM) -> nn.Sequential:
    """Return the KAM network (keys ``0``..``9``): ``[N, 1088, 11, 11]`` -> ``[N, 17, 11, 11]``."""
    c1, c2, c3 = KAM_WIDTHS
    return nn.Sequential(
        nn.Conv2d(c_in, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(inplace=True),
        nn.Conv2d(c1, c2, 3, padding=1, bias=False), AttentiveBatchNorm2d(c2),
        nn.ReLU(inplace=True),
        nn.Conv2d(c2, c3, 3, padding=1, bias=False), nn.BatchNorm2d(c3), nn.ReLU(inplace=True),
        nn.Conv2d(c3, NUM_JOINTS, 1))


class LogoCapNet(nn.Module):
    """The learnable part of LOGO-CAP.

    :param arch: ``'w32'`` or ``'w48'``.
    :param device: optional device for the parameters.
    """

    def __init__(self, arch: str = 'w32', device: Optional[torch.device] = None) -> None:
        super().__init__()
        if arch not in HRNET_CFGS:
            raise ValueError(f'unknown architecture {arch!r}; expected one of '
                             f'{sorted(HRNET_CFGS)}')
        self.arch = arch
        self.backbone = HRNet(HRNET_CFGS[arch])
        c = HRNET_CFGS[arch].out_channels
        self.transition_cls = _conv1x1_bn_relu(c, HRNET_CFGS[arch].widths[0])
        self.transition_reg = _conv1x1_bn_relu(c, 256)
        self.final_layer_cls = nn.Conv2d(HRNET_CFGS[arch].widths[0], NUM_HEATMAPS, 1)
        self.final_layer_reg = nn.Conv2d(256, 2 * NUM_JOINTS, 1)
        self.transition_embedding = _conv1x1_bn_relu(c, EMBED_DIM)
        self.joints_mlp = make_kam_network()
        if device is not None:
            self.to(device)

    def heads(self, images: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the backbone and the three dense heads.

        :param images: ``[B, 3, H, W]`` normalised RGB.
        :return: heatmaps ``[B, 18, H/4, W/4]``, offsets ``[B, 34, H/4, W/4]`` (stride-4 px),
            features ``[B, C, H/4, W/4]`` (input of the embedding head).
        """
        feats = self.backbone(images)
        heatmaps = self.final_layer_cls(self.transition_cls(feats))
        offsets = self.final_layer_reg(self.transition_reg(feats))
        return heatmaps, offsets, feats

    def embed(self, feats: torch.Tensor) -> torch.Tensor:
        """Return the KEM embedding ``[B, 64, H/4, W/4]`` of backbone features."""
        return self.transition_embedding(feats)

    def kam(self, kem_features: torch.Tensor) -> torch.Tensor:
        """Return KAM logits ``[N, 17, 11, 11]`` for KEM features ``[N, 1088, 11, 11]``."""
        return self.joints_mlp(kem_features)
