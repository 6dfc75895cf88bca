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


"""What the node's model loaders share: the started estimator and the startup error (no rclpy).

Its own module, so that ``estimator_loader`` and ``triton_loader`` both import it and not
each other.
"""

from dataclasses import dataclass
from typing import Any, Callable


class StartupError(RuntimeError):
    """The node cannot start with the given parameters; the message says how to fix it."""


@dataclass
class LoadedEstimator:
    """An estimator and how to describe it.

    :param estimator: callable ``(bgr (H, W, 3) uint8, color='bgr') -> PoseResult``.
    :param method: e.g. ``logocap-hrnet-w32 torch cpu fp32 input=512 flip``.
    :param untrained: True for ``weights:=random`` (demo/test weights, meaningless poses).
    :param device: the resolved device string.
    :param backend: the backend's name (``torch``, ``onnxruntime``, ``tensorrt``).
    """

    estimator: Callable[..., Any]
    method: str
    untrained: bool
    device: str
    backend: str = 'torch'
