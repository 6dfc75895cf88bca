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

"""The backend (runner) interface shared by PyTorch, ONNX Runtime and TensorRT.

A backend runs :class:`logocap_ros.core.pipeline.LogoCapPipeline`: feed
``{'images': (1, 3, H, W) float32}``, get ``{'poses': (K, 17, 3), 'scores': (K,),
'centers': (K, 3)}`` float32 numpy arrays (input px).
"""

import abc
from typing import Dict, Optional

import numpy as np

INPUT_NAME = 'images'
OUTPUT_NAMES = ('poses', 'scores', 'centers')


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run here (missing package, GPU, or engine)."""


class BackendBusy(RuntimeError):
    """The backend is preparing this input size in the background; this frame is dropped.

    Raised instead of blocking the caller (the node's frame thread) for a long one-time step
    such as a TensorRT engine build. The caller counts the frame as dropped for
    :attr:`reason` and reports :meth:`progress`.

    :param what: e.g. ``'building TensorRT engine for input 512x896'``.
    :param since: :func:`time.monotonic` when the step started.
    :param reason: short key for counters, e.g. ``'building_engine'``.
    """

    def __init__(self, what: str, since: float, reason: str = 'building_engine') -> None:
        super().__init__(what)
        self.what, self.since, self.reason = what, since, reason

    def progress(self, now: Optional[float] = None) -> str:
        """Return e.g. ``'building TensorRT engine for input 512x896 (42 s so far)'``."""
        import time
        now = time.monotonic() if now is None else now
        return f'{self.what} ({now - self.since:.0f} s so far)'


class InferenceBackend(abc.ABC):
    """Activate / infer / deactivate, usable as a context manager.

    :ivar name: short backend name (``torch``, ``onnxruntime``, ``tensorrt``).
    :ivar last_timings: seconds of the last :meth:`infer` per stage (``network``,
        ``refine`` where the backend can separate them, else ``network`` for the whole graph).
    """

    name = 'base'
    #: True when :meth:`infer_image` takes raw camera images (resize/normalise on the device).
    preprocesses_images = False

    def __init__(self) -> None:
        self.is_active = False
        self.last_timings: Dict[str, float] = {}

    def activate(self) -> 'InferenceBackend':
        """Allocate resources (load weights/engines onto the device); idempotent."""
        if not self.is_active:
            self._activate()
            self.is_active = True
        return self

    def deactivate(self) -> None:
        """Free device resources; :meth:`activate` may be called again later."""
        if self.is_active:
            self._deactivate()
            self.is_active = False

    def infer(self, feed: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Run the graph on ``feed`` and return the outputs (see module docstring)."""
        if not self.is_active:
            self.activate()
        images = feed.get(INPUT_NAME)
        if images is None or images.ndim != 4 or images.shape[:2] != (1, 3):
            raise ValueError(f'feed must hold {INPUT_NAME!r} of shape (1, 3, H, W), got '
                             f'{None if images is None else images.shape}')
        return self._infer(np.ascontiguousarray(images, dtype=np.float32))

    def infer_image(self, image: np.ndarray, color: str, box) -> Dict[str, np.ndarray]:
        """Run on a raw ``(h, w, 3)`` uint8 image (only where :attr:`preprocesses_images`).

        :param color: ``'bgr'`` or ``'rgb'``.
        :param box: :class:`logocap_ros.core.preprocessing.Letterbox` of the image.
        """
        raise NotImplementedError(f'{self.name} takes preprocessed images only (use infer)')

    def describe(self) -> str:
        """One-line description, e.g. ``'torch cpu fp32'``."""
        return self.name

    def __enter__(self) -> 'InferenceBackend':
        return self.activate()

    def __exit__(self, *exc: object) -> None:
        self.deactivate()

    @abc.abstractmethod
    def _activate(self) -> None:
        """Backend-specific resource allocation."""

    @abc.abstractmethod
    def _deactivate(self) -> None:
        """Backend-specific resource release."""

    @abc.abstractmethod
    def _infer(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        """Backend-specific inference on ``(1, 3, H, W)`` float32."""

    def input_shape(self) -> Optional[tuple]:
        """Return the fixed input shape the backend was built for, or None if any size works."""
        return None
