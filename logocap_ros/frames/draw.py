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


"""Drawing skeletons on images (pure function on numpy arrays, OpenCV primitives).

Used by ``logocap-offline`` and reusable by ``logocap-infer`` or a debug-image node::

    from logocap_ros.frames.draw import draw_poses
    annotated = draw_poses(image_bgr, result)            # PoseResult or (N, 17, 3) array
"""

from typing import Optional, Sequence, Tuple

import cv2
from logocap_ros.core.keypoints import SKELETON_EDGES
import numpy as np

#: Distinct BGR colours, one per person (cycled).
PALETTE: Tuple[Tuple[int, int, int], ...] = (
    (75, 25, 230), (75, 180, 60), (25, 225, 255), (200, 130, 0), (48, 130, 245),
    (180, 30, 145), (240, 240, 70), (230, 50, 240), (60, 245, 210), (212, 190, 250),
    (128, 128, 0), (255, 190, 220), (40, 110, 170), (0, 0, 128), (195, 255, 170),
)


def person_color(index: int) -> Tuple[int, int, int]:
    """Return the BGR colour of person ``index`` (stable across frames for a stable index)."""
    return PALETTE[int(index) % len(PALETTE)]


def draw_poses(image: np.ndarray, poses, *, keypoint_threshold: float = 0.05,
               scores: Optional[Sequence[float]] = None, colors: Optional[Sequence] = None,
               thickness: Optional[int] = None, radius: Optional[int] = None,
               draw_scores: bool = False, copy: bool = True) -> np.ndarray:
    """Draw people's skeletons and joints on an image.

    :param image: ``(H, W, 3)`` uint8 (BGR or RGB; colours are interpreted in the same order
        as the palette, BGR) or ``(H, W)`` grey, which is converted to 3 channels.
    :param poses: a ``PoseResult`` or an ``(N, 17, 3)`` array of x, y (pixels of ``image``)
        and joint score.
    :param keypoint_threshold: joints with a score at or below this are not drawn, nor are
        their bones.
    :param scores: pose scores to print when ``draw_scores`` (default: ``poses.scores``).
    :param colors: one colour per person (default: :data:`PALETTE` by person index).
    :param thickness: bone width in px (default: scales with the image size).
    :param radius: joint radius in px (default: scales with the image size).
    :param draw_scores: write the pose score next to each person.
    :param copy: draw on a copy (default) instead of in place.
    :return: the annotated ``(H, W, 3)`` uint8 image.
    """
    if hasattr(poses, 'keypoints'):
        scores = poses.scores if scores is None else scores
        poses = poses.keypoints
    kps = np.asarray(poses, dtype=np.float32).reshape(-1, 17, 3)
    canvas = _as_bgr_canvas(image, copy)
    scale = max(canvas.shape[:2]) / 640.0
    thickness = thickness or max(1, int(round(2 * scale)))
    radius = radius or max(2, int(round(3 * scale)))
    for idx, person in enumerate(kps):
        color = tuple(int(c) for c in (colors[idx] if colors is not None
                                       else person_color(idx)))
        _draw_person(canvas, person, color, keypoint_threshold, thickness, radius)
        if draw_scores and scores is not None and len(scores) > idx:
            _draw_label(canvas, person, f'{float(scores[idx]):.2f}', color, scale)
    return canvas


def _as_bgr_canvas(image: np.ndarray, copy: bool) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f'draw_poses expects a uint8 image, got {image.dtype}')
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'draw_poses expects (H, W, 3) or (H, W), got {image.shape}')
    return image.copy() if copy else image


def _draw_person(canvas: np.ndarray, person: np.ndarray, color, threshold: float,
                 thickness: int, radius: int) -> None:
    visible = np.isfinite(person).all(axis=1) & (person[:, 2] > threshold)
    pts = np.round(np.nan_to_num(person[:, :2])).astype(np.int64)
    pts = np.clip(pts, -(1 << 15), 1 << 15)  # OpenCV needs int32-safe coordinates
    for a, b in SKELETON_EDGES:
        if visible[a] and visible[b]:
            cv2.line(canvas, tuple(map(int, pts[a])), tuple(map(int, pts[b])), color,
                     thickness, cv2.LINE_AA)
    for j in np.flatnonzero(visible):
        cv2.circle(canvas, tuple(map(int, pts[j])), radius, color, -1, cv2.LINE_AA)
        cv2.circle(canvas, tuple(map(int, pts[j])), radius, (255, 255, 255), 1, cv2.LINE_AA)


def _draw_label(canvas: np.ndarray, person: np.ndarray, text: str, color, scale: float) -> None:
    ok = np.isfinite(person[:, :2]).all(axis=1)
    if not ok.any():
        return
    x = int(np.clip(person[ok, 0].min(), 0, canvas.shape[1] - 1))
    y = int(np.clip(person[ok, 1].min() - 4, 10, canvas.shape[0] - 1))
    cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * max(scale, 1.0), color,
                1, cv2.LINE_AA)


#: The banner on drawings made with untrained (random) weights.
UNTRAINED_BANNER = 'UNTRAINED random weights: these skeletons are meaningless'
#: Banner colours (BGR): white text on dark red.
BANNER_BG, BANNER_FG = (0, 0, 160), (255, 255, 255)


def draw_banner(image: np.ndarray, text: str = UNTRAINED_BANNER) -> np.ndarray:
    """Return a copy of ``image`` with ``text`` on a coloured strip across its top edge.

    :param image: ``(H, W, 3)`` uint8 BGR (drawn on a copy).
    :param text: one line; the font is scaled to fit the width.
    :return: the image with a strip of about 6 % of its height (at least 18 px) on top.
    """
    canvas = _as_bgr_canvas(image, True)
    height, width = canvas.shape[:2]
    strip = min(height, max(18, int(round(0.06 * height))))
    canvas[:strip] = BANNER_BG
    font = cv2.FONT_HERSHEY_SIMPLEX
    (text_w, text_h), _ = cv2.getTextSize(text, font, 1.0, 2)
    scale = min((width - 8) / max(text_w, 1), 0.7 * strip / max(text_h, 1))
    cv2.putText(canvas, text, (4, int(strip / 2 + scale * text_h / 2)), font, scale,
                BANNER_FG, max(1, int(round(scale * 1.5))), cv2.LINE_AA)
    return canvas
