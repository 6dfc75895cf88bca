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

"""Where torch is optional: one check with one line that names the fix.

With an exported model file (``model:=``, ``--model``) the runtime needs numpy, OpenCV and
ONNX Runtime or TensorRT only; loading checkpoints, exporting and the torch backend need torch.
"""

import importlib.util

from .base import BackendUnavailable

#: What to do when torch is missing (the fix named in every error).
TORCH_FIX = ("install PyTorch (pip install 'logocap_ros[torch]', or NVIDIA's wheel on a "
             'Jetson), or run an exported model file instead (node: model:=FILE.onnx, tools: '
             '--model FILE.onnx; see logocap-export-onnx)')


class TorchMissing(BackendUnavailable):
    """torch is needed for the requested step but is not installed."""


def torch_available() -> bool:
    """Return True when ``import torch`` can succeed (without importing it)."""
    try:
        return importlib.util.find_spec('torch') is not None
    except (ImportError, ValueError):
        return False


def require_torch(what: str) -> None:
    """Raise :class:`TorchMissing` (one line: ``<what> needs PyTorch; <fix>``) without torch."""
    if not torch_available():
        raise TorchMissing(f'{what} needs PyTorch, which is not installed; {TORCH_FIX}')
