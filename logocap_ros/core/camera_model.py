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

"""A camera model built from ``sensor_msgs/CameraInfo``-like plain data, with OpenCV undistortion.

Conventions are those of ``sensor_msgs/CameraInfo`` and ``image_geometry``: ``K`` is the 3x3
intrinsic matrix of the raw (distorted) image, ``D`` the distortion coefficients of
``distortion_model``, pixel centres at integer coordinates (column ``u``, row ``v``) and the
optical frame x right, y down, z forward.

Supported models (the ones ``sensor_msgs/distortion_models.hpp`` names):

* ``plumb_bob``: OpenCV's 5-parameter model ``k1 k2 p1 p2 k3`` (4 accepted);
* ``rational_polynomial``: ``k1 k2 p1 p2 k3 k4 k5 k6`` (8; also 12 and 14 as OpenCV reads them);
* ``equidistant``: the fisheye model ``k1 k2 k3 k4`` of ``cv2.fisheye``.

An empty ``D`` means no distortion for every model, and so does ``distortion_model == ''`` with an
all-zero or empty ``D`` (simulators publish that). Anything else is a ``ValueError``.

For a *rectified* image (``image_rect``), the pixel grid is that of the projection matrix ``P``
without distortion: build the model with ``rectified=True`` (uses ``P[:3, :3]``, no ``D``).
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np

PLUMB_BOB = 'plumb_bob'
RATIONAL_POLYNOMIAL = 'rational_polynomial'
EQUIDISTANT = 'equidistant'
#: Model used when there is no distortion at all.
PINHOLE = 'pinhole'
SUPPORTED_MODELS = (PLUMB_BOB, RATIONAL_POLYNOMIAL, EQUIDISTANT)

#: Accepted lengths of ``D`` per model (0 = no distortion).
_D_LENGTHS = {PLUMB_BOB: (0, 4, 5), RATIONAL_POLYNOMIAL: (0, 8, 12, 14), EQUIDISTANT: (0, 4)}

#: Iterative undistortion: enough iterations that strong lens distortion converges to well
#: under a hundredth of a pixel (OpenCV's default of 5 iterations does not near the corners).
_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-10)


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics and lens distortion of one camera image stream.

    :param width: image width [px].
    :param height: image height [px].
    :param k: ``(3, 3)`` float64 intrinsic matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``.
    :param d: ``(M,)`` float64 distortion coefficients of ``distortion_model`` (may be empty).
    :param distortion_model: one of :data:`SUPPORTED_MODELS`, or :data:`PINHOLE`.
    """

    width: int
    height: int
    k: np.ndarray
    d: np.ndarray
    distortion_model: str

    @classmethod
    def from_camera_info(cls, k: Sequence[float], d: Sequence[float], distortion_model: str,
                         width: int, height: int, p: Optional[Sequence[float]] = None,
                         rectified: bool = False) -> 'CameraModel':
        """Build and validate a model from the fields of a ``sensor_msgs/CameraInfo``.

        :param k: the 9 row-major values of ``K``.
        :param d: ``D``.
        :param distortion_model: ``distortion_model`` string.
        :param width: ``width`` [px].
        :param height: ``height`` [px].
        :param p: the 12 row-major values of ``P`` (used only with ``rectified``).
        :param rectified: the image is rectified: use ``P[:3, :3]`` and no distortion.
        :raises ValueError: zero/invalid intrinsics or size, unsupported model or wrong ``D``
            length; the message names the field and the fix.
        """
        width, height = int(width), int(height)
        if width <= 0 or height <= 0:
            raise ValueError(f'camera_info has image size {width}x{height}; the driver must '
                             'fill width and height')
        if rectified:
            k_mat = _matrix(p, (3, 4), 'P')[:, :3]
            return cls(width, height, _checked_k(k_mat, 'P'), np.zeros(0), PINHOLE)
        k_mat = _checked_k(_matrix(k, (3, 3), 'K'), 'K')
        coeffs = np.asarray(list(d), dtype=np.float64).reshape(-1)
        model = str(distortion_model)
        if not np.isfinite(coeffs).all():
            raise ValueError(f'camera_info D has non-finite values: {coeffs.tolist()}')
        if model == '' and not coeffs.any():
            return cls(width, height, k_mat, np.zeros(0), PINHOLE)
        if model not in SUPPORTED_MODELS:
            raise ValueError(f"unsupported camera_info distortion_model '{model}'; supported: "
                             f"{', '.join(SUPPORTED_MODELS)} (or '' with zero D)")
        if len(coeffs) not in _D_LENGTHS[model]:
            raise ValueError(f'camera_info distortion_model {model} needs D of length '
                             f'{" or ".join(str(n) for n in _D_LENGTHS[model][1:])}, got '
                             f'{len(coeffs)}')
        if not coeffs.any():
            return cls(width, height, k_mat, np.zeros(0), PINHOLE)
        return cls(width, height, k_mat, coeffs, model)

    @property
    def fx(self) -> float:
        """Focal length in x [px]."""
        return float(self.k[0, 0])

    @property
    def fy(self) -> float:
        """Focal length in y [px]."""
        return float(self.k[1, 1])

    def normalized_rays(self, pixels: np.ndarray) -> np.ndarray:
        """Undistort pixels to normalized image coordinates ``(x / z, y / z)``.

        :param pixels: ``(M, 2)`` float, (u, v) in the raw image [px].
        :return: ``(M, 2)`` float64 ``(X / Z, Y / Z)`` of the rays through those pixels.
        """
        pts = np.ascontiguousarray(np.asarray(pixels, dtype=np.float64).reshape(-1, 1, 2))
        if len(pts) == 0:
            return np.zeros((0, 2), np.float64)
        if self.distortion_model == PINHOLE:
            out = (pts.reshape(-1, 2) - self.k[:2, 2]) / np.diag(self.k)[:2]
            # skew: x = (u - cx - s * y) / fx
            out[:, 0] -= self.k[0, 1] * out[:, 1] / self.k[0, 0]
            return out
        if self.distortion_model == EQUIDISTANT:
            return _fisheye_undistort(pts, self.k, self.d).reshape(-1, 2)
        return _undistort(pts, self.k, self.d).reshape(-1, 2)

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project 3D points of the optical frame to raw-image pixels (through the distortion).

        :param points: ``(M, 3)`` float [m], z > 0.
        :return: ``(M, 2)`` float64 (u, v) [px].
        """
        obj = np.ascontiguousarray(np.asarray(points, dtype=np.float64).reshape(-1, 1, 3))
        zero = np.zeros(3)
        if self.distortion_model == EQUIDISTANT:
            pix, _ = cv2.fisheye.projectPoints(obj, zero, zero, self.k, self.d)
        else:
            pix, _ = cv2.projectPoints(obj, zero, zero, self.k, self.d)
        return pix.reshape(-1, 2)


def _matrix(values: Optional[Sequence[float]], shape: tuple, name: str) -> np.ndarray:
    if values is None:
        raise ValueError(f'camera_info {name} is missing')
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.size != shape[0] * shape[1]:
        raise ValueError(f'camera_info {name} has {arr.size} values, expected '
                         f'{shape[0] * shape[1]}')
    return arr.reshape(shape)


def _checked_k(k_mat: np.ndarray, name: str) -> np.ndarray:
    if not np.isfinite(k_mat).all() or k_mat[0, 0] <= 0 or k_mat[1, 1] <= 0:
        raise ValueError(f'camera_info {name} has no valid focal length (fx={k_mat[0, 0]}, '
                         f'fy={k_mat[1, 1]}); the camera is uncalibrated or the driver sends '
                         'an all-zero matrix')
    return np.ascontiguousarray(k_mat)


def _undistort(pts: np.ndarray, k: np.ndarray, d: np.ndarray) -> np.ndarray:
    iterative = getattr(cv2, 'undistortPointsIter', None)  # OpenCV 4.x: separate function
    if iterative is not None:
        return iterative(pts, k, d, None, None, _CRITERIA)
    return cv2.undistortPoints(pts, k, d, criteria=_CRITERIA)


def _fisheye_undistort(pts: np.ndarray, k: np.ndarray, d: np.ndarray) -> np.ndarray:
    try:
        return cv2.fisheye.undistortPoints(pts, k, d, criteria=_CRITERIA)
    except TypeError:  # OpenCV < 4.6 has no criteria argument (uses its own fixed loop)
        return cv2.fisheye.undistortPoints(pts, k, d)
