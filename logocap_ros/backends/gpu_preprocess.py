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

"""The estimator's resize and normalisation as torch code, for running them on a GPU.

:func:`warp_plan` computes once per image size, on the host, where every network-input pixel
samples the camera image and with which weights, the way ``cv2.warpAffine(..., INTER_LINEAR,
BORDER_CONSTANT 0)`` of OpenCV 4.11+/5 does it (float32 source coordinates, bilinear weights,
rounding to uint8; older OpenCV used 1/32 px fixed point, which differs by a few grey levels
in some pixels). :func:`warp_normalise` then needs only gathers and multiply-adds per frame,
on any device, and gives the values of :func:`logocap_ros.core.preprocessing.normalise` of
:func:`~logocap_ros.core.preprocessing.warp_to_input` (checked against OpenCV on the CPU in
test/test_backends_torch_static.py).
"""

from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np
import torch

from ..core.preprocessing import Letterbox, MEAN_RGB, STD_RGB


@dataclass
class WarpPlan:
    """Per-size sampling plan: 4 source indices and bilinear weights per output pixel.

    :ivar index: ``[4, H * W]`` int64 flat indices into the ``h0 * w0`` source pixels plus
        one zero pixel (index ``h0 * w0``) that taps outside the image read (constant-0
        border); taps in order (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1).
    :ivar weight: ``[4, H * W, 1]`` float32: ``1 - a``, ``a``, ``1 - b``, ``b`` with a, b the
        fractional source coordinates.
    :ivar input_hw: ``(H, W)``; ``orig_hw``: ``(h0, w0)``.
    """

    index: torch.Tensor
    weight: torch.Tensor
    input_hw: Tuple[int, int]
    orig_hw: Tuple[int, int]

    def to(self, device) -> 'WarpPlan':
        """Return the plan with its tensors on ``device``."""
        return WarpPlan(self.index.to(device), self.weight.to(device), self.input_hw,
                        self.orig_hw)


def warp_plan(box: Letterbox) -> WarpPlan:
    """Build the sampling plan of ``cv2.warpAffine`` for ``box`` (host, once per size)."""
    h, w = box.input_hw
    h0, w0 = box.orig_hw
    m = cv2.invertAffineTransform(box.forward_matrix()).astype(np.float32)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    u = m[0, 0] * xs + m[0, 1] * ys + m[0, 2]
    v = m[1, 0] * xs + m[1, 1] * ys + m[1, 2]
    x0, y0 = np.floor(u), np.floor(v)
    a, b = u - x0, v - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    index = np.empty((4, h * w), np.int64)
    for k, (dx, dy) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
        tx, ty = x0 + dx, y0 + dy
        inside = (tx >= 0) & (tx < w0) & (ty >= 0) & (ty < h0)
        index[k] = np.where(inside, ty * w0 + tx, h0 * w0).reshape(-1)
    one = np.float32(1.0)
    weight = np.stack([one - a, a, one - b, b]).reshape(4, h * w, 1).astype(np.float32)
    return WarpPlan(torch.from_numpy(index), torch.from_numpy(weight), (h, w), (h0, w0))


def normalisation_constants(device=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Return the RGB ``mean`` and ``std`` as ``[1, 3, 1, 1]`` float32 tensors."""
    mean = torch.from_numpy(MEAN_RGB.copy()).view(1, 3, 1, 1).to(device)
    std = torch.from_numpy(STD_RGB.copy()).view(1, 3, 1, 1).to(device)
    return mean, std


def warp_normalise(image: torch.Tensor, plan: WarpPlan, color: str, mean: torch.Tensor,
                   std: torch.Tensor) -> torch.Tensor:
    """Resize and normalise one camera image on its device.

    :param image: ``[h0, w0, 3]`` uint8 (same device as ``plan``).
    :param color: channel order of ``image``, ``'bgr'`` or ``'rgb'``.
    :param mean: from :func:`normalisation_constants`; ``std`` likewise.
    :return: ``[1, 3, H, W]`` float32 network input (RGB, ImageNet-normalised).
    """
    src = torch.cat([image.reshape(-1, 3), image.new_zeros(1, 3)]).to(torch.float32)
    p00, p01, p10, p11 = (src[plan.index[k]] for k in range(4))         # [H * W, 3] each
    wa0, wa1, wb0, wb1 = plan.weight
    top = p00 * wa0 + p01 * wa1
    bottom = p10 * wa0 + p11 * wa1
    resized = torch.round(top * wb0 + bottom * wb1).clamp_(0, 255)
    if color == 'bgr':
        resized = resized.flip(1)
    h, w = plan.input_hw
    x = resized.t().reshape(1, 3, h, w) / 255.0
    return (x - mean) / std
