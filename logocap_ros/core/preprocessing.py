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

"""Test-time preprocessing of LOGO-CAP: resize rule, affine warp, normalisation.

The network sees the image scaled so that its short side equals ``input_size`` and the long
side rounded to a multiple of 64 (centred, zero-padded or slightly cropped). Pixel coordinates
map as ``x_in = k * (x - cx) + W / 2`` (same for y) with ``k = input_size / min(h0, w0)``.
"""

from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np

#: ImageNet normalisation, RGB order.
MEAN_RGB = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD_RGB = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class Letterbox:
    """Geometry of one resize: original size, network input size, centre and scale.

    :param orig_hw: ``(h0, w0)`` of the original image.
    :param input_hw: ``(H, W)`` of the network input (multiples of 64).
    :param center: integer centre ``(cx, cy)`` of the original image, px.
    :param scale: ``(sx, sy)`` box size / 200 (the official convention).
    """

    orig_hw: Tuple[int, int]
    input_hw: Tuple[int, int]
    center: Tuple[float, float]
    scale: Tuple[float, float]

    def forward_matrix(self) -> np.ndarray:
        """``(2, 3)`` float64 affine from original px to input px."""
        return _affine(self.center, self.scale, self.input_hw, inverse=False)

    def inverse_matrix(self) -> np.ndarray:
        """``(2, 3)`` float64 affine from input px back to original px."""
        return _affine(self.center, self.scale, self.input_hw, inverse=True)


def letterbox_for(orig_hw: Tuple[int, int], input_size: int) -> Letterbox:
    """Return the resize geometry for an image of ``orig_hw`` and short side ``input_size``.

    :raises ValueError: for an empty image or an ``input_size`` that is not a positive
        multiple of 64.
    """
    h0, w0 = int(orig_hw[0]), int(orig_hw[1])
    if h0 <= 0 or w0 <= 0:
        raise ValueError(f'empty image ({h0}x{w0})')
    if input_size <= 0 or input_size % 64:
        raise ValueError(f'input_size must be a positive multiple of 64, not {input_size}')
    center = (int(w0 / 2.0 + 0.5), int(h0 / 2.0 + 0.5))
    s = float(input_size)
    if w0 < h0:
        w, h = input_size, int((s / w0 * h0 + 63) // 64 * 64)
        scale = (w0 / 200.0, h / w * w0 / 200.0)
    else:
        h, w = input_size, int((s / h0 * w0 + 63) // 64 * 64)
        scale = (w / h * h0 / 200.0, h0 / 200.0)
    return Letterbox((h0, w0), (h, w), center, scale)


def _affine(center, scale, input_hw, inverse: bool) -> np.ndarray:
    """Affine between the original box and the input, from three float32 point pairs."""
    h, w = input_hw
    src_w = scale[0] * 200.0
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = np.asarray(center, np.float64) + np.array([0.0, -0.5 * src_w])
    dst[0] = (w * 0.5, h * 0.5)
    dst[1] = np.array([w * 0.5, h * 0.5]) + np.array([0.0, -0.5 * w])
    src[2] = _third_point(src[0], src[1])
    dst[2] = _third_point(dst[0], dst[1])
    if inverse:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


def _third_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Point that makes ``(a, b, c)`` a right angle at ``b``."""
    d = a - b
    return b + np.array([-d[1], d[0]], dtype=np.float32)


def warp_to_input(image_rgb: np.ndarray, box: Letterbox) -> np.ndarray:
    """Resize ``(h0, w0, 3)`` uint8 RGB to the network input ``(H, W, 3)`` uint8 (bilinear)."""
    h, w = box.input_hw
    return cv2.warpAffine(image_rgb, box.forward_matrix(), (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def normalise(resized_rgb: np.ndarray) -> np.ndarray:
    """Return the ``(1, 3, H, W)`` float32 network input for ``(H, W, 3)`` uint8 RGB."""
    x = resized_rgb.astype(np.float32) / np.float32(255.0)
    x = (x - MEAN_RGB) / STD_RGB
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def to_rgb(image: np.ndarray, color: str) -> np.ndarray:
    """Return a contiguous ``(h, w, 3)`` uint8 RGB view of ``image`` given in ``color`` order.

    :param color: ``'bgr'`` (OpenCV) or ``'rgb'``.
    :raises ValueError: on a wrong dtype, shape or colour order name.
    """
    check_image(image, color)
    if color == 'rgb':
        return np.ascontiguousarray(image)
    return np.ascontiguousarray(image[:, :, ::-1])


def check_image(image: np.ndarray, color: str) -> None:
    """Raise ValueError unless ``image`` is ``(h, w, 3)`` uint8 and ``color`` 'bgr' or 'rgb'."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError('image must be a numpy uint8 array, got '
                         f'{getattr(image, "dtype", type(image).__name__)}')
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f'image must have shape (H, W, 3) with H, W > 0, got {image.shape}')
    if color not in ('rgb', 'bgr'):
        raise ValueError(f"color must be 'bgr' or 'rgb', not {color!r}")
