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

"""HRNet backbone (W32/W48) with the module layout of the official LOGO-CAP checkpoints.

Written from the architecture description of HRNet (Sun et al., CVPR 2019) as used by DEKR and
LOGO-CAP (MIT-licensed upstream projects); no upstream code is reused. Module names and nesting
are chosen so that ``state_dict()`` keys equal the official checkpoints' ``backbone.*`` keys
(see ``docs/parity.md``).
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn
import torch.nn.functional as F

BN_MOMENTUM = 0.1


@dataclass(frozen=True)
class HRNetConfig:
    """Widths of one HRNet variant.

    :param widths: channels of the four branches, e.g. ``(32, 64, 128, 256)`` for W32.
    :param modules_per_stage: ``HighResolutionModule`` count in stages 2, 3, 4.
    :param blocks: basic blocks per branch inside every module.
    """

    widths: tuple
    modules_per_stage: tuple = (1, 4, 3)
    blocks: int = 4

    @property
    def out_channels(self) -> int:
        """Channels of the concatenated output (sum of the branch widths)."""
        return sum(self.widths)


HRNET_CFGS: Dict[str, HRNetConfig] = {
    'w32': HRNetConfig(widths=(32, 64, 128, 256)),
    'w48': HRNetConfig(widths=(48, 96, 192, 384)),
}


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    """Return ``Sequential(conv k x k (no bias), BN[, ReLU])`` (keys ``0``, ``1``)."""
    layers: List[nn.Module] = [
        nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity shortcut (channels unchanged)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` ``[B, C, H, W]``."""
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + x)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 (x4 expansion) residual block of the HRNet stem stage."""

    expansion = 4

    def __init__(self, c_in: int, planes: int, downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        c_out = planes * self.expansion
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` ``[B, C_in, H, W]`` -> ``[B, 4 * planes, H, W]``."""
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(y + shortcut)


def _fuse_path(widths: Sequence[int], src: int, dst: int) -> Optional[nn.Module]:
    """Return the module that maps branch ``src`` to the resolution/width of branch ``dst``."""
    if src == dst:
        return None
    if src > dst:  # lower resolution -> 1x1 conv, BN, nearest upsampling
        return nn.Sequential(
            nn.Conv2d(widths[src], widths[dst], 1, bias=False),
            nn.BatchNorm2d(widths[dst], momentum=BN_MOMENTUM),
            nn.Upsample(scale_factor=2 ** (src - dst), mode='nearest'))
    steps = []  # higher resolution -> chain of stride-2 3x3 convs
    for k in range(dst - src):
        last = k == dst - src - 1
        c_out = widths[dst] if last else widths[src]
        steps.append(_conv_bn(widths[src], c_out, 3, stride=2, relu=not last))
    return nn.Sequential(*steps)


class HighResolutionModule(nn.Module):
    """Parallel branches of basic blocks followed by all-to-all multi-resolution fusion."""

    def __init__(self, widths: Sequence[int], blocks: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*[BasicBlock(w) for _ in range(blocks)]) for w in widths)
        n = len(widths)
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(_fuse_path(widths, j, i) for j in range(n)) for i in range(n))
        self.relu = nn.ReLU(inplace=False)

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        """Map the list of branch tensors ``[B, C_i, H / 2^i, W / 2^i]`` to a list of the same."""
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        out = []
        for fuse_row in self.fuse_layers:
            total = None
            for j, path in enumerate(fuse_row):
                term = xs[j] if path is None else path(xs[j])
                total = term if total is None else total + term
            out.append(self.relu(total))
        return out


def _transition(c_prev: Sequence[int], c_next: Sequence[int]) -> nn.ModuleList:
    """Return the layers that turn the branches ``c_prev`` into the branches ``c_next``."""
    layers: List[Optional[nn.Module]] = []
    for i, c_out in enumerate(c_next):
        if i < len(c_prev):
            layers.append(None if c_prev[i] == c_out else _conv_bn(c_prev[i], c_out, 3))
        else:
            layers.append(nn.Sequential(_conv_bn(c_prev[-1], c_out, 3, stride=2)))
    return nn.ModuleList(layers)


class HRNet(nn.Module):
    """HRNet backbone returning the four branches concatenated at stride 4.

    Input ``[B, 3, H, W]`` (H, W multiples of 32); output ``[B, sum(widths), H/4, W/4]``.
    """

    def __init__(self, cfg: HRNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        down = nn.Sequential(nn.Conv2d(64, 256, 1, bias=False),
                             nn.BatchNorm2d(256, momentum=BN_MOMENTUM))
        self.layer1 = nn.Sequential(Bottleneck(64, 64, down),
                                    *[Bottleneck(256, 64) for _ in range(3)])
        w = cfg.widths
        self.transition1 = _transition([256], w[:2])
        self.stage2 = self._stage(w[:2], cfg.modules_per_stage[0])
        self.transition2 = _transition(w[:2], w[:3])
        self.stage3 = self._stage(w[:3], cfg.modules_per_stage[1])
        self.transition3 = _transition(w[:3], w[:4])
        self.stage4 = self._stage(w[:4], cfg.modules_per_stage[2])

    def _stage(self, widths: Sequence[int], modules: int) -> nn.Sequential:
        return nn.Sequential(
            *[HighResolutionModule(widths, self.cfg.blocks) for _ in range(modules)])

    @staticmethod
    def _apply_transition(layers: nn.ModuleList, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        out = []
        for i, layer in enumerate(layers):
            src = xs[i] if i < len(xs) else xs[-1]
            out.append(src if layer is None else layer(src))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the concatenated features ``[B, sum(widths), H/4, W/4]`` for ``x``."""
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        xs = self.stage2(self._apply_transition(self.transition1, xs))
        xs = self.stage3(self._apply_transition(self.transition2, xs))
        xs = self.stage4(self._apply_transition(self.transition3, xs))
        size = xs[0].shape[-2:]
        ups = [F.interpolate(t, size=size, mode='bilinear', align_corners=False) for t in xs[1:]]
        return torch.cat([xs[0]] + ups, dim=1)
