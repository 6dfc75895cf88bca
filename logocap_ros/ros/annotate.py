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

"""Draw skeletons on a BGR image (the ``image_annotated`` output); OpenCV only, no ROS."""

from typing import Optional, Sequence

import cv2
from logocap_ros.core.keypoints import SKELETON_EDGES
from logocap_ros.core.result import PoseResult
import numpy as np

#: BGR 0..255 colours per person, the same hues as the marker palette.
_PALETTE_BGR = (
    (26, 26, 230), (242, 153, 26), (51, 204, 51), (0, 153, 255), (230, 51, 153),
    (204, 204, 0), (178, 77, 242), (51, 115, 153), (26, 217, 178), (128, 128, 128),
)


def draw_poses(image: np.ndarray, result: PoseResult, keypoint_threshold: float,
               track_ids: Optional[Sequence[int]] = None) -> np.ndarray:
    """Return a copy of ``image`` with joints and limbs drawn per person.

    :param image: ``(H, W, 3)`` uint8 BGR, the image the result was computed on.
    :param result: keypoints ``(N, 17, 3)`` in this image's pixels.
    :param keypoint_threshold: joints with a lower score (and their limbs) are not drawn.
    :param track_ids: optional ids that choose the colour (else the person index).
    :return: ``(H, W, 3)`` uint8 BGR.
    """
    out = image.copy()
    thickness = max(1, round(min(image.shape[:2]) / 240))
    for i in range(len(result)):
        kps = result.keypoints[i]
        ok = np.isfinite(kps).all(axis=1) & (kps[:, 2] >= keypoint_threshold)
        ident = track_ids[i] if track_ids is not None and track_ids[i] >= 0 else i
        color = _PALETTE_BGR[int(ident) % len(_PALETTE_BGR)]
        pts = np.clip(np.nan_to_num(kps[:, :2]), -1e4, 1e4).round().astype(int)
        for a, b in SKELETON_EDGES:
            if ok[a] and ok[b]:
                cv2.line(out, tuple(pts[a]), tuple(pts[b]), color, thickness, cv2.LINE_AA)
        for j in np.flatnonzero(ok):
            cv2.circle(out, tuple(pts[j]), thickness + 2, color, -1, cv2.LINE_AA)
    return out
