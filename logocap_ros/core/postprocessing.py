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

"""Candidate filtering, back-projection to original pixels, and pose NMS (numpy)."""

from typing import Tuple

import numpy as np

from .decoding_constants import CENTER_THRESHOLD
from .preprocessing import Letterbox

#: Pose NMS: joints closer than this fraction of the bbox diagonal count as the same.
NMS_DISTANCE = 0.05
#: Pose NMS: two poses are duplicates when more than this many joints coincide.
NMS_MIN_JOINTS = 8


def keep_candidates(centers: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Return the indices of the candidates the official pipeline keeps.

    :param centers: ``(K, 3)`` (x, y, conf), sorted by decreasing confidence.
    :param scores: ``(K,)`` pose scores.
    :return: int64 indices of candidates with ``conf >= 0.01`` (or candidate 0 when none)
        and a pose score > 0.
    """
    mask = centers[:, 2] >= CENTER_THRESHOLD
    if len(mask) and not mask.any():
        mask[0] = True
    return np.flatnonzero(mask & (scores > 0)).astype(np.int64)


def to_original(poses: np.ndarray, box: Letterbox) -> np.ndarray:
    """Map ``(N, 17, 3)`` poses from input px to original px (score column unchanged)."""
    out = np.array(poses, dtype=np.float32, copy=True)
    if len(out) == 0:
        return out
    t = box.inverse_matrix()
    xy = poses[..., :2].astype(np.float64)
    out[..., 0] = xy[..., 0] * t[0, 0] + xy[..., 1] * t[0, 1] + t[0, 2]
    out[..., 1] = xy[..., 0] * t[1, 0] + xy[..., 1] * t[1, 1] + t[1, 2]
    return out


def duplicate_matrix(poses: np.ndarray) -> np.ndarray:
    """``(M, M)`` bool: ``[i, j]`` when more than 8 joints of j lie near those of i.

    "Near" is a distance below 0.05 x the bbox diagonal of pose i (so not symmetric).
    """
    xy = poses[:, :, :2].astype(np.float32)
    extent = xy.max(axis=1) - xy.min(axis=1)
    diag = np.sqrt((extent ** 2).sum(axis=1))
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=-1))      # (M, M, 17)
    close = dist < (NMS_DISTANCE * diag)[:, None, None]
    return close.sum(axis=2) > NMS_MIN_JOINTS


def pose_nms(poses: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Greedy DEKR-style pose NMS; returns kept indices in acceptance order.

    Candidates are visited in their given order; each unsuppressed one defines a group of
    its duplicates, whose best-scoring member is kept (unless already suppressed) and the
    whole group suppressed.
    """
    if len(poses) == 0:
        return np.zeros((0,), np.int64)
    dup = duplicate_matrix(poses)
    suppressed = np.zeros(len(poses), bool)
    keep = []
    for i in range(len(poses)):
        if suppressed[i]:
            continue
        group = np.flatnonzero(dup[i])
        if len(group) == 0:
            continue
        best = group[int(np.argmax(scores[group]))]
        if suppressed[best]:
            continue
        keep.append(best)
        suppressed[group] = True
    return np.asarray(keep, np.int64)


def finalize(poses: np.ndarray, scores: np.ndarray, centers: np.ndarray, box: Letterbox,
             max_people: int = 30, sort: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Turn the pipeline's candidates into the final people.

    :param poses: ``(K, 17, 3)`` input px; ``scores`` ``(K,)``; ``centers`` ``(K, 3)``.
    :param max_people: keep at most this many (the highest scores).
    :param sort: order the people by decreasing score (stable); False keeps the official
        NMS order (for comparisons with the reference implementation).
    :return: keypoints ``(P, 17, 3)`` in original px and scores ``(P,)``.
    """
    idx = keep_candidates(centers, scores)
    kept_poses = to_original(poses[idx], box)
    kept_scores = scores[idx].astype(np.float32)
    order = pose_nms(kept_poses, kept_scores)
    out_poses, out_scores = kept_poses[order], kept_scores[order]
    by_score = np.argsort(-out_scores, kind='stable')
    if sort:
        top = by_score[:max_people]
    else:
        top = np.sort(by_score[:max_people])
    return out_poses[top], out_scores[top]
