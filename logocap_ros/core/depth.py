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

"""Metric 3D keypoints from a depth image registered to the colour image (no ROS).

:func:`lift_keypoints` turns 2D joints (colour-image pixels) into 3D points in the optical
frame of the depth image, in metres, with one status per joint. For every joint:

1. **NO_DEPTH** when its score is below ``keypoint_threshold`` (or not finite), its pixel lies
   outside the image, or no pixel of the ``window_px`` x ``window_px`` window around it has
   depth (0, NaN and infinity mean "no data").
2. Else its depth is the **median of the valid pixels of the window** (robust to holes and
   flying pixels at edges). **OUT_OF_RANGE** when that depth is outside
   ``[min_depth_m, max_depth_m]``.
3. **OCCLUDED** when the depth differs from the person's *body depth* by more than
   ``occlusion_m``. The body depth is the median depth of the person's head, shoulder and hip
   joints that passed steps 1-2 (all such joints when none of those did). A joint far *in front*
   of the body is hidden by something closer (an arm behind a table reads the table); a joint
   far *behind* it reads the background past a thin limb. Both measurements are not the joint.
   With fewer than one usable joint there is no body depth and nothing is marked occluded.
4. Else **VALID**: the joint's sub-pixel position is undistorted through the camera model
   (OpenCV, see :mod:`logocap_ros.core.camera_model`) to a ray ``(x/z, y/z, 1)`` and scaled by
   the depth (a depth image holds z, not the range along the ray, REP 118).

Positions of joints that are not VALID are NaN. The status numbers equal the constants of
``logocap_ros/msg/Keypoint3D`` (checked by a test).
"""

from dataclasses import dataclass
from typing import Optional, Tuple

from logocap_ros.core.camera_model import CameraModel
import numpy as np

VALID = 0
NO_DEPTH = 1
OUT_OF_RANGE = 2
OCCLUDED = 3
STATUS_NAMES = ('valid', 'no_depth', 'out_of_range', 'occluded')

#: Joints whose median depth is the body depth: nose, eyes, ears, shoulders, hips (COCO-17).
BODY_JOINTS = (0, 1, 2, 3, 4, 5, 6, 11, 12)

#: Depth image encodings: encoding -> (dtype, metres per unit).
DEPTH_ENCODINGS = {'16UC1': ('u2', 0.001), 'mono16': ('u2', 0.001), '32FC1': ('f4', 1.0)}


@dataclass(frozen=True)
class LiftConfig:
    """Parameters of :func:`lift_keypoints`.

    :param min_depth_m: nearer measurements are OUT_OF_RANGE [m].
    :param max_depth_m: farther measurements are OUT_OF_RANGE [m].
    :param window_px: side of the square window whose median is the joint depth (odd) [px].
    :param occlusion_m: a joint farther than this from the body depth is OCCLUDED [m].
    :param keypoint_threshold: joints with a lower 2D score get NO_DEPTH.
    """

    min_depth_m: float = 0.1
    max_depth_m: float = 10.0
    window_px: int = 5
    occlusion_m: float = 0.5
    keypoint_threshold: float = 0.1

    def validate(self) -> 'LiftConfig':
        """Return self; raise ValueError naming the bad value."""
        if not 0.0 <= self.min_depth_m < self.max_depth_m:
            raise ValueError(f'depth range [{self.min_depth_m}, {self.max_depth_m}] m is empty '
                             'or negative; need 0 <= min < max')
        if self.window_px < 1 or self.window_px % 2 == 0:
            raise ValueError(f'depth window {self.window_px} px must be an odd number >= 1')
        if not self.occlusion_m > 0:
            raise ValueError(f'occlusion tolerance {self.occlusion_m} m must be > 0')
        return self


def depth_from_buffer(data: object, height: int, width: int, step: int, encoding: str,
                      is_bigendian: bool = False) -> np.ndarray:
    """View the bytes of a depth image (e.g. ``sensor_msgs/Image.data``) as an array.

    :param data: the raw bytes (bytes, bytearray, memoryview, array or uint8 ndarray).
    :param height: rows.
    :param width: columns.
    :param step: bytes per row (>= width * bytes per pixel; padding is skipped).
    :param encoding: ``16UC1``/``mono16`` (millimetres) or ``32FC1`` (metres).
    :param is_bigendian: byte order of the data.
    :return: ``(height, width)`` uint16 [mm] or float32 [m], native byte order.
    :raises ValueError: unsupported encoding, or sizes that do not add up.
    """
    spec = DEPTH_ENCODINGS.get(str(encoding))
    if spec is None:
        raise ValueError(f"depth image encoding '{encoding}' is not supported; expected 16UC1 "
                         '(millimetres) or 32FC1 (metres), as depth camera drivers publish')
    dtype = np.dtype(spec[0]).newbyteorder('>' if is_bigendian else '<')
    height, width, step = int(height), int(width), int(step)
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else data.reshape(-1).view(np.uint8)
    row_bytes = width * dtype.itemsize
    if height <= 0 or width <= 0 or step < row_bytes or buf.size != height * step:
        raise ValueError(f'depth image {width}x{height} {encoding}: {buf.size} bytes with step '
                         f'{step} do not match (need step >= {row_bytes} and height * step '
                         'bytes)')
    rows = buf.reshape(height, step)[:, :row_bytes]
    return np.ascontiguousarray(rows).view(dtype).astype(dtype.newbyteorder('='), copy=False)


def depth_to_metres(depth: np.ndarray) -> np.ndarray:
    """Return a float32 depth image in metres with NaN where there is no data.

    :param depth: ``(H, W)`` uint16 millimetres (0 = no data) or float metres (0, negative,
        NaN, infinity = no data).
    :return: ``(H, W)`` float32 metres.
    """
    return _to_metres(np.asarray(depth))


def lift_keypoints(keypoints: np.ndarray, depth: np.ndarray, camera: CameraModel,
                   config: LiftConfig = LiftConfig(),
                   image_size: Optional[Tuple[int, int]] = None
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Lift 2D joints to 3D with a registered depth image (rules in the module docstring).

    :param keypoints: ``(N, 17, 3)`` x, y [px in the colour image], score.
    :param depth: ``(H, W)`` depth registered to the colour image: float32 metres (NaN/0 = no
        data) or uint16 millimetres (0 = no data; converted only where sampled).
    :param camera: model of the depth image (size must be ``W`` x ``H``).
    :param config: thresholds and window, see :class:`LiftConfig`.
    :param image_size: ``(height, width)`` of the colour image the keypoints come from; checked
        against the depth size when given.
    :return: ``points`` ``(N, 17, 3)`` float32 metres in the depth optical frame (NaN where not
        VALID) and ``status`` ``(N, 17)`` uint8 (VALID, NO_DEPTH, OUT_OF_RANGE, OCCLUDED).
    :raises ValueError: depth, camera and colour image sizes differ, or depth is not 2D.
    """
    depth = np.asarray(depth)
    check_sizes(depth, camera, image_size)
    kps = np.asarray(keypoints, dtype=np.float32).reshape(-1, 17, 3)
    flat = kps.reshape(-1, 3)
    z = _window_median(depth, flat[:, :2], config.window_px)
    status = np.full(len(flat), VALID, np.uint8)
    status[~(flat[:, 2] >= config.keypoint_threshold) | ~np.isfinite(z)] = NO_DEPTH
    usable = status == VALID
    status[usable & ((z < config.min_depth_m) | (z > config.max_depth_m))] = OUT_OF_RANGE
    body = _body_depth(np.where(status == VALID, z, np.nan).reshape(-1, 17))
    far = np.abs(z.reshape(-1, 17) - body[:, None]) > config.occlusion_m
    status[(status == VALID) & far.reshape(-1)] = OCCLUDED
    points = np.full((len(flat), 3), np.nan, np.float32)
    valid = status == VALID
    if valid.any():
        rays = camera.normalized_rays(flat[valid, :2])
        points[valid, :2] = rays * z[valid, None]
        points[valid, 2] = z[valid]
    return points.reshape(-1, 17, 3), status.reshape(-1, 17)


def check_sizes(depth: np.ndarray, camera: CameraModel,
                image_size: Optional[Tuple[int, int]] = None) -> None:
    """Check that a depth image, its camera model and the colour image have one size.

    :param depth: ``(H, W)`` depth image.
    :param camera: the depth image's camera model (must be ``W`` x ``H``).
    :param image_size: ``(height, width)`` of the colour image, or None to skip that check.
    :raises ValueError: not 2D, or the sizes differ (the message names the usual fix).
    """
    if depth.ndim != 2:
        raise ValueError(f'depth image must be 2D (H, W), got shape {depth.shape}')
    height, width = depth.shape
    if (camera.width, camera.height) != (width, height):
        raise ValueError(f'depth image is {width}x{height} but its camera_info says '
                         f'{camera.width}x{camera.height}; they must describe the same image')
    if image_size is not None and tuple(int(v) for v in image_size[:2]) != (height, width):
        raise ValueError(
            f'depth image is {width}x{height} but the colour image is '
            f'{int(image_size[1])}x{int(image_size[0])}; the depth must be registered '
            'to the colour image at the same resolution (e.g. RealSense align_depth.enable:=true '
            'with equal colour and depth profiles, or depth_image_proc/RegisterNode)')


def _window_median(depth: np.ndarray, xy: np.ndarray, window: int) -> np.ndarray:
    """Median of the valid depth values in a window around each point, NaN if none.

    :param depth: ``(H, W)`` uint16 [mm] or float [m].
    :param xy: ``(M, 2)`` pixel coordinates (u, v); the window is centred on the nearest pixel.
    :param window: odd window side [px].
    :return: ``(M,)`` float64 metres.
    """
    height, width = depth.shape
    with np.errstate(invalid='ignore'):
        cols = np.rint(xy[:, 0])
        rows = np.rint(xy[:, 1])
    inside = (np.isfinite(cols) & np.isfinite(rows) & (cols >= 0) & (cols < width)
              & (rows >= 0) & (rows < height))
    cols = np.where(inside, cols, 0).astype(np.intp)
    rows = np.where(inside, rows, 0).astype(np.intp)
    offsets = np.arange(window, dtype=np.intp) - window // 2
    r = rows[:, None, None] + offsets[None, :, None]
    c = cols[:, None, None] + offsets[None, None, :]
    in_image = (r >= 0) & (r < height) & (c >= 0) & (c < width)
    values = _to_metres(depth[np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)])
    values[~in_image] = np.nan
    median = _nan_median(values.reshape(len(xy), window * window))
    median[~inside] = np.nan
    return median


def _to_metres(values: np.ndarray) -> np.ndarray:
    if values.dtype == np.uint16:
        out = values.astype(np.float32) * np.float32(0.001)
    elif np.issubdtype(values.dtype, np.floating):
        out = values.astype(np.float32, copy=True)
    else:
        raise ValueError(f'depth must be uint16 millimetres or float metres, got {values.dtype}')
    with np.errstate(invalid='ignore'):
        out[~(np.isfinite(out) & (out > 0))] = np.nan
    return out


def _nan_median(values: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN; NaN where a row has no value (no warning)."""
    ordered = np.sort(values, axis=-1)  # NaN sorts last
    count = np.isfinite(ordered).sum(axis=-1)
    lo = np.clip((count - 1) // 2, 0, None)[..., None]
    hi = np.clip(count // 2, 0, values.shape[-1] - 1)[..., None]
    mid = 0.5 * (np.take_along_axis(ordered, lo, -1) + np.take_along_axis(ordered, hi, -1))
    result = mid[..., 0].astype(np.float64)
    result[count == 0] = np.nan
    return result


def _body_depth(usable: np.ndarray) -> np.ndarray:
    """Per-person body depth from ``(N, 17)`` usable depths (NaN elsewhere): see module doc."""
    body = _nan_median(usable[:, BODY_JOINTS])
    missing = np.isnan(body)
    if missing.any():
        body[missing] = _nan_median(usable[missing])
    return body
