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

"""Plain-data result of one pose-estimation call."""

from dataclasses import dataclass, field
from typing import Dict

import numpy as np

#: At most this many people per image: the model refines its top-30 centre candidates
#: (``pipeline.TOP_K``), so ``max_people`` ranges over 1..30 everywhere.
MAX_PEOPLE = 30


@dataclass
class PoseResult:
    """People found in one image, sorted by decreasing pose score (the estimator's order).

    :param keypoints: ``(N, 17, 3)`` float32: x, y in original-image pixels (x right, y down,
        pixel centres at integer coordinates), and the joint confidence (LOGO-CAP: about 0..1,
        can be <= 0).
    :param scores: ``(N,)`` float32 pose scores (mean of the 17 joint confidences).
    :param image_size: ``(height, width)`` of the original image.
    :param timings: seconds spent per stage (``preprocess``, ``network``, ``refine``,
        ``postprocess``), filled by the estimator.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    image_size: tuple
    timings: Dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Normalise dtypes and check shapes."""
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32).reshape(-1, 17, 3)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        if len(self.scores) != len(self.keypoints):
            raise ValueError(
                f'PoseResult: {len(self.keypoints)} poses but {len(self.scores)} scores')

    def __len__(self) -> int:
        """Return the number of people."""
        return len(self.scores)

    @property
    def boxes(self) -> np.ndarray:
        """Person boxes, ``(N, 4)`` float32 ``[x_min, y_min, x_max, y_max]`` in px.

        The extent of the joints with a score > 0 (all finite joints when none has one),
        clipped to the image (``0 .. width - 1``, ``0 .. height - 1``).
        """
        if len(self) == 0:
            return np.zeros((0, 4), np.float32)
        xy = self.keypoints[:, :, :2].astype(np.float64)
        finite = np.isfinite(xy).all(axis=2)
        use = finite & (self.keypoints[:, :, 2] > 0)
        use = np.where(use.any(axis=1, keepdims=True), use, finite)
        low = np.where(use[..., None], xy, np.inf).min(axis=1)
        high = np.where(use[..., None], xy, -np.inf).max(axis=1)
        height, width = (float(v) for v in self.image_size[:2])
        limit = np.array([max(width - 1, 0.0), max(height - 1, 0.0)])
        boxes = np.concatenate([np.clip(low, 0, limit), np.clip(high, 0, limit)], axis=1)
        return np.nan_to_num(boxes, posinf=0.0, neginf=0.0).astype(np.float32)

    @classmethod
    def empty(cls, image_size: tuple) -> 'PoseResult':
        """Return a result with no people for an image of ``(height, width)``."""
        return cls(np.zeros((0, 17, 3), np.float32), np.zeros((0,), np.float32),
                   tuple(image_size))
