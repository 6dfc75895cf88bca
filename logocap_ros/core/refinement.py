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

"""LOGO-CAP's local-global refinement: KEM features, KAMs, and the dynamic convolution.

Local step: the embedding is sampled on an 11x11 candidate grid per joint (keypoint
evidence maps, KEMs); the KAM network turns them into 11x11 keypoint attraction maps.
Global step: each KAM (divided by 121) is convolved, as a dynamic kernel, with a 97x97
Gaussian-weighted window of the joint's full-resolution heatmap around the initial joint;
the final joint is a 0.75/0.25 blend of the two best positions.
"""

from typing import Dict, Optional

import torch
import torch.nn.functional as F

from .decoding import axis_taps, bilinear_sample, STRIDE

WINDOW_HALF = 48
GAUSS_SIGMA = 16.0
GAUSS_CUTOFF = 1e-4


def kem_features(embedding: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample the embedding on the candidate grid.

    :param embedding: ``[64, h, w]`` (stride 4).
    :param grid: ``[K, 11, 11, 17, 2]`` candidate positions, input px.
    :return: ``[K, 17 * 64, 11, 11]``, channel index ``joint * 64 + c``.
    """
    k, a, b, j, _ = grid.shape
    c = embedding.shape[0]
    pts = grid.reshape(-1, 2) / STRIDE
    vals = bilinear_sample(embedding, pts[:, 0], pts[:, 1])        # [64, K*11*11*17]
    vals = vals.reshape(c, k, a, b, j).permute(1, 4, 0, 2, 3)     # [K, 17, 64, 11, 11]
    return vals.reshape(k, j * c, a, b)


def window_offsets(dtype=torch.float32, device=None) -> torch.Tensor:
    """Return the integer offsets ``-48..48`` of the global window, ``[97]``."""
    return torch.arange(-WINDOW_HALF, WINDOW_HALF + 1, dtype=dtype, device=device)


def gaussian_window(dtype=torch.float32, device=None) -> torch.Tensor:
    """Return the ``[97, 97]`` Gaussian (sigma 16 px) weighting the global window."""
    t = window_offsets(dtype, device)
    g = torch.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * GAUSS_SIGMA ** 2))
    return g * (g >= GAUSS_CUTOFF).to(dtype)


def constants(dtype=torch.float32, device=None) -> Dict[str, torch.Tensor]:
    """Return the constant tensors of :func:`global_windows`, by name.

    ``window_offsets`` ``[97]``, ``gaussian_window`` ``[97, 97]`` (``dtype``) and
    ``joint_index`` ``[17]`` (int64); passing them saves building them at every frame.
    """
    return {'window_offsets': window_offsets(dtype, device),
            'gaussian_window': gaussian_window(dtype, device),
            'joint_index': torch.arange(17, device=device)}


def global_windows(heatmaps_hr: torch.Tensor, poses: torch.Tensor,
                   consts: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
    """Gaussian-weighted 97x97 heatmap windows centred on each joint.

    Sampling points are the joint plus integer offsets, so the bilinear indices and weights
    of a window are separable: they are computed once per row and per column and combined by
    broadcasting (same values as sampling every point on its own).

    :param heatmaps_hr: ``[17 or 18, H, W]`` full-resolution heatmaps (joint j uses map j).
    :param poses: ``[K, 17, 2]`` window centres, input px.
    :param consts: from :func:`constants` on the tensors' device (else built here).
    :return: ``[K, 17, 97, 97]``.
    """
    if consts is None:
        consts = constants(poses.dtype, poses.device)
    _, h, w = heatmaps_hr.shape
    t = consts['window_offsets']
    x0, x1, wx0, wx1 = axis_taps(poses[..., 0, None] + t, w)         # each [K, 17, 97]
    y0, y1, wy0, wy1 = axis_taps(poses[..., 1, None] + t, h)
    joint = consts['joint_index'][None, :, None] * (h * w)
    row0, row1 = (y0 * w + joint)[..., :, None], (y1 * w + joint)[..., :, None]
    col0, col1 = x0[..., None, :], x1[..., None, :]
    wy0, wy1 = wy0[..., :, None], wy1[..., :, None]
    wx0, wx1 = wx0[..., None, :], wx1[..., None, :]
    flat = heatmaps_hr[:17].reshape(-1)
    win = (flat[row0 + col0] * (wy0 * wx0) + flat[row0 + col1] * (wy0 * wx1)
           + flat[row1 + col0] * (wy1 * wx0) + flat[row1 + col1] * (wy1 * wx1))
    return win * consts['gaussian_window']


def dynamic_kernels(kams: torch.Tensor) -> torch.Tensor:
    """Turn KAMs ``[K, 17, 11, 11]`` into depthwise conv weights ``[K * 17, 1, 11, 11]``.

    Divided by 121 and flipped in both axes, so that ``conv2d`` computes a true convolution.
    """
    ks = int(kams.shape[-1])
    return (kams / float(ks * ks)).flip(2, 3).reshape(-1, 1, ks, ks)


def dynamic_convolution(windows: torch.Tensor, kams: torch.Tensor) -> torch.Tensor:
    """Convolve each window with its own KAM (true convolution, kernel / 121, zero padding).

    :param windows: ``[K, 17, 97, 97]``.
    :param kams: ``[K, 17, 11, 11]`` clamped to [0, 1].
    :return: adapted maps ``[K, 17, 97, 97]``.
    """
    k, j, n, _ = windows.shape
    ks = kams.shape[-1]
    kernel = dynamic_kernels(kams)
    # channels-last is ~5x faster for this depthwise conv on CPU (oneDNN), same values
    x = windows.reshape(1, k * j, n, n).contiguous(memory_format=torch.channels_last)
    out = F.conv2d(x, kernel, padding=ks // 2, groups=k * j)
    return out.contiguous().reshape(k, j, n, n)


def peak_positions(adapted: torch.Tensor, poses: torch.Tensor) -> torch.Tensor:
    """Blend the two highest cells of each adapted map into the refined joints.

    :param adapted: ``[K, 17, 97, 97]``.
    :param poses: ``[K, 17, 2]`` window centres, input px.
    :return: ``[K, 17, 3]`` (x, y, value), input px.
    """
    k, j, n, _ = adapted.shape
    val, idx = adapted.reshape(k, j, n * n).topk(2, dim=2)
    rows = torch.div(idx, n, rounding_mode='trunc').to(poses.dtype)
    cols = (idx % n).to(poses.dtype)
    bx = cols[..., 0] * 0.75 + cols[..., 1] * 0.25
    by = rows[..., 0] * 0.75 + rows[..., 1] * 0.25
    v = val[..., 0] * 0.75 + val[..., 1] * 0.25
    x = poses[..., 0] + (bx + (-float(WINDOW_HALF)))
    y = poses[..., 1] + (by + (-float(WINDOW_HALF)))
    return torch.stack([x, y, v], dim=-1)
