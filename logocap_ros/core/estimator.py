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

"""The plain-Python LOGO-CAP estimator: image in, people out.

``PoseEstimator(image)`` = preprocess -> backend (network + refinement) -> candidate
filtering, back-projection and pose NMS. The backend is given ready-made: building one from
weights and settings (and choosing the backend) is the job of the layer above,
:func:`logocap_ros.backends.factory.create_estimator`; ``core`` never imports the backends.
"""

from dataclasses import dataclass
import time
from typing import Optional, Tuple

import numpy as np

from . import postprocessing, preprocessing
from .architectures import ARCHS, DEFAULT_INPUT_SIZE  # noqa: F401 (re-exported)
from .result import PoseResult


@dataclass(frozen=True)
class EstimatorConfig:
    """Settings of a :class:`PoseEstimator`.

    :param arch: ``'w32'`` or ``'w48'``.
    :param input_size: network input short side (multiple of 64); None = official default.
    :param flip_test: average with the mirrored image (official: on).
    :param device: torch-style device string, e.g. ``'cpu'``, ``'cuda:0'``.
    :param backend: ``'auto'``, ``'torch'``, ``'onnxruntime'``, ``'openvino'`` or
        ``'tensorrt'``.
    :param precision: ``'fp32'``, ``'fp16'`` (GPU backends) or ``'bf16'`` (openvino on a
        CPU with hardware bfloat16).
    :param max_people: at most this many people per image (official: 30).
    :param pose_threshold: people with a lower pose score are dropped (0 = official).
    :param expected_image_hw: ``(height, width)`` of the images to come (the camera): the
        backend is prepared for it at start (TensorRT engine built, CUDA graph captured), so
        the first frame is fast and a failing engine build shows at start. Other sizes still
        work (prepared on first sight). None: prepare nothing in advance.
    """

    arch: str = 'w32'
    input_size: Optional[int] = None
    flip_test: bool = True
    device: str = 'cpu'
    backend: str = 'auto'
    precision: str = 'fp32'
    max_people: int = 30
    pose_threshold: float = 0.0
    expected_image_hw: Optional[Tuple[int, int]] = (480, 640)

    def validate(self) -> 'EstimatorConfig':
        """Raise ValueError naming the bad field and the fix; return self when valid."""
        if self.arch not in ARCHS:
            raise ValueError(f'arch must be one of {ARCHS}, not {self.arch!r}')
        size = self.input_size
        if size is not None and (not isinstance(size, int) or size < 64 or size % 64):
            raise ValueError(f'input_size must be a multiple of 64 (>= 64), not {size!r}')
        if self.precision not in ('fp32', 'fp16', 'bf16'):
            raise ValueError("precision must be 'fp32', 'fp16' or 'bf16', not "
                             f'{self.precision!r}')
        if not 1 <= int(self.max_people) <= 30:
            raise ValueError(f'max_people must be in [1, 30], not {self.max_people!r}')
        hw = self.expected_image_hw
        if hw is not None and (len(hw) != 2 or min(int(v) for v in hw) <= 0):
            raise ValueError('expected_image_hw must be (height, width) in px or None, not '
                             f'{hw!r}')
        return self

    @property
    def resolved_input_size(self) -> int:
        """The input short side actually used."""
        return self.input_size or DEFAULT_INPUT_SIZE[self.arch]


class PoseEstimator:
    """Multi-person pose estimation with LOGO-CAP.

    :param backend: an :class:`logocap_ros.backends.base.InferenceBackend`.
    :param config: the settings (validated here).
    """

    def __init__(self, backend, config: EstimatorConfig) -> None:
        self.config = config.validate()
        self.backend = backend

    def __call__(self, image: np.ndarray, color: str = 'bgr') -> PoseResult:
        """Estimate the poses of everyone in ``image``.

        :param image: ``(H, W, 3)`` uint8.
        :param color: channel order of ``image``: ``'bgr'`` (OpenCV) or ``'rgb'``.
        :return: :class:`PoseResult` in original-image pixels.
        :raises ValueError: on an image of the wrong type/shape or an unknown colour order.
        """
        t0 = time.perf_counter()
        if getattr(self.backend, 'preprocesses_images', False):
            # the backend resizes and normalises on its device (CUDA) from the raw image
            preprocessing.check_image(image, color)
            box = preprocessing.letterbox_for(image.shape[:2], self.config.resolved_input_size)
            t1 = time.perf_counter()
            out = self.backend.infer_image(image, color, box)
        else:
            rgb = preprocessing.to_rgb(image, color)
            box = preprocessing.letterbox_for(rgb.shape[:2], self.config.resolved_input_size)
            tensor = preprocessing.normalise(preprocessing.warp_to_input(rgb, box))
            t1 = time.perf_counter()
            out = self.backend.infer({'images': tensor})
        t2 = time.perf_counter()
        kps, scores = postprocessing.finalize(out['poses'], out['scores'], out['centers'], box,
                                              self.config.max_people)
        keep = scores >= self.config.pose_threshold
        t3 = time.perf_counter()
        timings = {'preprocess': t1 - t0, **self.backend.last_timings,
                   'postprocess': t3 - t2, 'total': t3 - t0}
        return PoseResult(kps[keep], scores[keep], image.shape[:2], timings)

    def close(self) -> None:
        """Release the backend's device resources."""
        self.backend.deactivate()
