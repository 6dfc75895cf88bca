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

"""COCO-17 keypoints to the 18 points of ``hri_msgs/Skeleton2D`` (numpy only, no messages).

``Skeleton2D`` (REP-155) orders its 18 points as OpenPose's COCO model: COCO's 17 joints in
another order plus a NECK, which COCO lacks. The NECK is the midpoint of the two shoulders and
its confidence the smaller of their two scores (the rule of ``hri_body_detect``).

Normalised coordinates (``Skeleton2D``, ``NormalizedRegionOfInterest2D``): (0, 0) is the
top-left *corner* of the image and (1, 1) the bottom-right corner. Our keypoints put the centre
of pixel (u, v) at (u, v) (OpenCV), so a point ``x`` [px] maps to ``(x + 0.5) / width``; values
are clipped to [0, 1] as the ``hri_msgs`` definitions require, and so are confidences (LOGO-CAP
joint scores may fall slightly outside 0..1).

This module imports no message package; ``test_ros_interop.py`` checks that the constants
equal those of ``hri_msgs/Skeleton2D``.
"""

from typing import Tuple

import numpy as np

#: Skeleton2D slot names, in slot order (hri_msgs/Skeleton2D constants NOSE=0 ... RIGHT_EAR=17).
OPENPOSE18_NAMES = (
    'nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder',
    'left_elbow', 'left_wrist', 'right_hip', 'right_knee', 'right_ankle', 'left_hip',
    'left_knee', 'left_ankle', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
)
NECK = 1
#: COCO-17 index for every Skeleton2D slot (-1 for NECK, which is computed).
COCO17_FOR_OPENPOSE18 = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 1, 2, 3, 4)
_COCO_LEFT_SHOULDER, _COCO_RIGHT_SHOULDER = 5, 6


def coco17_to_openpose18(keypoints: np.ndarray) -> np.ndarray:
    """Reorder COCO-17 keypoints into the 18 Skeleton2D slots, adding the NECK.

    :param keypoints: ``(..., 17, 3)`` x [px], y [px], score, COCO order (any leading shape,
        e.g. ``(N, 17, 3)`` for N people).
    :return: ``(..., 18, 3)`` float64 in Skeleton2D order, still in pixels; NECK = midpoint of
        the shoulders, score = min of the two shoulder scores (NaN if either one is NaN).
    """
    kps = np.asarray(keypoints, np.float64)
    if kps.shape[-2:] != (17, 3):
        raise ValueError(f'expected (..., 17, 3) COCO keypoints, got shape {kps.shape}')
    out = kps[..., COCO17_FOR_OPENPOSE18, :]  # fancy indexing copies; NECK is overwritten
    left, right = kps[..., _COCO_LEFT_SHOULDER, :], kps[..., _COCO_RIGHT_SHOULDER, :]
    out[..., NECK, :2] = (left[..., :2] + right[..., :2]) / 2.0
    out[..., NECK, 2] = np.minimum(left[..., 2], right[..., 2])  # NaN stays NaN
    return out


def normalise_xy(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Map pixel coordinates (pixel centres at integers) to [0, 1] image-corner coordinates.

    :param xy: ``(..., 2)`` x, y [px].
    :param width: image width [px] (> 0).
    :param height: image height [px] (> 0).
    :return: ``(..., 2)`` float64 ``((x + 0.5) / width, (y + 0.5) / height)`` clipped to [0, 1].
    """
    if width <= 0 or height <= 0:
        raise ValueError(f'image size must be positive to normalise, got {width}x{height}')
    xy = np.asarray(xy, np.float64)
    scale = np.array([width, height], np.float64)
    return np.clip((xy + 0.5) / scale, 0.0, 1.0)


def normalised_skeleton(keypoints: np.ndarray, width: int, height: int) -> np.ndarray:
    """COCO-17 pixel keypoints to the 18 normalised Skeleton2D points.

    :param keypoints: ``(..., 17, 3)`` x [px], y [px], score, COCO order.
    :param width: image width [px].
    :param height: image height [px].
    :return: ``(..., 18, 3)`` float64 x, y in [0, 1] (see :func:`normalise_xy`), confidence
        clipped to [0, 1]; a joint with any non-finite value becomes (0, 0, 0).
    """
    points = coco17_to_openpose18(keypoints)
    out = np.empty_like(points)
    out[..., :2] = normalise_xy(points[..., :2], width, height)
    out[..., 2] = np.clip(points[..., 2], 0.0, 1.0)
    out[~np.isfinite(points).all(axis=-1)] = 0.0
    return out


def normalised_box(box: Tuple[float, float, float, float], width: int,
                   height: int) -> Tuple[float, float, float, float]:
    """Pixel box (x_min, y_min, x_max, y_max) to [0, 1] corner coordinates (same order).

    Uses :func:`normalise_xy`; a NaN coordinate becomes 0.
    """
    corners = normalise_xy(np.array(box, np.float64).reshape(2, 2), width, height)
    corners = np.nan_to_num(corners, nan=0.0)
    return tuple(float(v) for v in corners.reshape(4))
