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

"""Dense-map decoding: flip fusion, person centres, initial poses and the KEM grid.

All functions are plain tensor code with static shapes (fixed top-K), so the whole pipeline
exports to ONNX. Coordinates are network-input pixels ("input px") unless noted; feature maps
are at stride 4. Constant tensors (flip permutations, the KEM grid) can be built once with
:func:`constants` and passed in, so that a frame creates no tensors from Python data (no
host-to-device copies on a GPU, capturable as a CUDA graph); without them they are built per
call, with the same values.
"""

from typing import Dict, Optional

import torch
import torch.nn.functional as F

from .decoding_constants import CENTER_THRESHOLD, STRIDE  # noqa: F401 (re-exported)
from .keypoints import FLIP_INDEX, OKS_SIGMAS

#: Flip permutation of the 18 heatmap channels (17 joints + centre).
FLIP_INDEX_18 = tuple(FLIP_INDEX) + (17,)


def constants(ksize: int = 5, dtype=torch.float32, device=None) -> Dict[str, torch.Tensor]:
    """Return the constant tensors of :func:`fuse_flip` and :func:`kem_grid`, by name.

    ``flip_index_18`` ``[18]``, ``flip_index_17`` ``[17]`` (int64), ``offset_sign`` ``[2]``
    and ``kem_offsets`` ``[(2 ksize + 1)^2, 17, 2]`` (``dtype``). At most 3-D, so that
    ``module.to(memory_format=...)`` leaves them alone as buffers.
    """
    n = 2 * ksize + 1
    return {'flip_index_18': torch.tensor(FLIP_INDEX_18, dtype=torch.long, device=device),
            'flip_index_17': torch.tensor(FLIP_INDEX, dtype=torch.long, device=device),
            'offset_sign': torch.tensor([-1.0, 1.0], dtype=dtype, device=device),
            'kem_offsets': kem_offsets(ksize, dtype, device).reshape(n * n, 17, 2)}


def fuse_flip(heatmaps: torch.Tensor, offsets: torch.Tensor,
              consts: Optional[Dict[str, torch.Tensor]] = None):
    """Average the outputs of an image and its horizontal mirror.

    :param heatmaps: ``[2, 18, h, w]``, batch 1 = raw output for the mirrored image.
    :param offsets: ``[2, 34, h, w]`` (channel ``2j`` = x, ``2j+1`` = y offset of joint j).
    :param consts: from :func:`constants` on the tensors' device (else built here).
    :return: fused heatmaps ``[1, 18, h, w]`` and offsets ``[1, 34, h, w]``.
    """
    if consts is None:
        consts = constants(dtype=offsets.dtype, device=offsets.device)
    hm_flip = heatmaps[1:2, consts['flip_index_18']].flip(3)
    fused_hm = (heatmaps[0:1] + hm_flip) * 0.5
    h, w = offsets.shape[-2:]
    off = offsets[1:2].flip(3).reshape(1, 17, 2, h, w)[:, consts['flip_index_17']]
    off = (off * consts['offset_sign'].view(1, 1, 2, 1, 1)).reshape(1, 34, h, w)
    return fused_hm, (offsets[0:1] + off) * 0.5


def upsample(heatmaps: torch.Tensor, input_hw) -> torch.Tensor:
    """Bilinear (align_corners=False) upsampling of ``[1, 18, h, w]`` to ``[1, 18, H, W]``."""
    return F.interpolate(heatmaps, size=tuple(input_hw), mode='bilinear', align_corners=False)


def find_centers(center_map: torch.Tensor, top_k: int) -> torch.Tensor:
    """Return the ``top_k`` strongest local maxima of the centre map.

    :param center_map: ``[H, W]`` full-resolution centre heatmap.
    :return: ``[top_k, 3]`` (x, y, confidence), x/y integer-valued input px; when fewer than
        ``top_k`` positive peaks exist, the remaining entries have confidence 0.
    """
    c = center_map[None, None]
    pooled = F.max_pool2d(c.clamp(min=0), 3, stride=1, padding=1)
    peaks = (pooled == c).to(c.dtype) * c
    conf, idx = peaks.flatten().topk(top_k)
    w = center_map.shape[1]
    x = (idx % w).to(c.dtype)
    y = torch.div(idx, w, rounding_mode='trunc').to(c.dtype)
    return torch.stack([x, y, conf], dim=1)


def kept_count(centers: torch.Tensor) -> int:
    """Return the number of leading candidates with confidence >= 0.01 (at least 1).

    :param centers: ``[K, 3]`` sorted by decreasing confidence, so the kept ones are a prefix.
    """
    return max(1, int((centers[:, 2] >= CENTER_THRESHOLD).sum()))


def initial_poses(centers: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Read the offsets at each centre's stride-4 cell and form the initial poses.

    :param centers: ``[K, 3]`` from :func:`find_centers`.
    :param offsets: ``[1, 34, h, w]`` fused offsets (stride-4 px, pixel minus joint).
    :return: ``[K, 17, 2]`` initial joint positions, input px.
    """
    h, w = offsets.shape[-2:]
    cx = (centers[:, 0] / STRIDE).long().clamp(0, w - 1)
    cy = (centers[:, 1] / STRIDE).long().clamp(0, h - 1)
    flat = offsets[0].reshape(34, h * w)[:, cy * w + cx]          # [34, K]
    o = flat.t().reshape(-1, 17, 2)
    return (centers[:, None, :2] / STRIDE - o) * STRIDE


def kem_offsets(ksize: int = 5, dtype=torch.float32, device=None) -> torch.Tensor:
    """Return the KEM grid displacements ``[11, 11, 17, 2]`` (row a, column b, joint, xy).

    Spacing is ``sigma_j / min(sigma)`` input px for joint j (COCO OKS sigmas).
    """
    d = torch.linspace(-ksize, ksize, 2 * ksize + 1, dtype=dtype, device=device)
    sig = torch.tensor(OKS_SIGMAS, dtype=dtype, device=device)
    s = sig / sig.min()
    dx = d[None, :, None] * s[None, None, :]                       # [1, 11, 17]
    dy = d[:, None, None] * s[None, None, :]                       # [11, 1, 17]
    n = 2 * ksize + 1
    return torch.stack([dx.expand(n, n, 17), dy.expand(n, n, 17)], dim=-1)


def kem_grid(poses: torch.Tensor, ksize: int = 5,
             consts: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
    """Candidate grid around each initial pose: ``[K, 17, 2]`` -> ``[K, 11, 11, 17, 2]``.

    :param consts: from :func:`constants` (its ``kem_offsets``), else built here.
    """
    n = 2 * ksize + 1
    if consts is None:
        grid = kem_offsets(ksize, poses.dtype, poses.device)
    else:
        grid = consts['kem_offsets'].view(n, n, 17, 2)
    return poses[:, None, None] + grid[None]


def bilinear_sample(fmap: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sample ``fmap`` ``[C, Hm, Wm]`` at real coordinates with LOGO-CAP's border rule.

    Coordinates are clamped cell-wise: outside the map the border value is returned, and
    between the last row/column and the map edge the value ramps from 0 (exactly 0 at
    ``Wm - 1``) to the border value, as the official sampler does.

    :param x: ``[P]`` column coordinates in map cells; ``y`` likewise.
    :return: ``[C, P]``.
    """
    c, hm, wm = fmap.shape
    x0, x1, wx0, wx1 = axis_taps(x, wm)
    y0, y1, wy0, wy1 = axis_taps(y, hm)
    flat = fmap.reshape(c, hm * wm)
    y0, y1 = y0 * wm, y1 * wm
    return (flat[:, y0 + x0] * (wy0 * wx0) + flat[:, y0 + x1] * (wy0 * wx1)
            + flat[:, y1 + x0] * (wy1 * wx0) + flat[:, y1 + x1] * (wy1 * wx1))


def axis_taps(coords: torch.Tensor, size: int):
    """Bilinear taps along one axis with the official border rule (see :func:`bilinear_sample`).

    :param coords: real coordinates along an axis of ``size`` cells, any shape.
    :return: low/high int64 indices and their weights, each shaped like ``coords``.
    """
    lo = coords.floor().clamp(0, size - 1)
    hi = (lo + 1).clamp(0, size - 1)
    return lo.long(), hi.long(), (hi - coords).clamp(0, 1), (coords - lo).clamp(0, 1)
