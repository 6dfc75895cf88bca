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

"""Test helpers for model files and backend outputs (no ROS, no torch at import time)."""

from pathlib import Path
from typing import Dict, Optional, Tuple


def identity_onnx(path: Path, hw: Optional[Tuple[int, int]] = (64, 128),
                  metadata: Optional[Dict[str, str]] = None,
                  opset: Optional[int] = None) -> Path:
    """Write a tiny ONNX file: an Identity graph ``images`` -> ``poses``, both [1, 3, H, W].

    :param hw: ``(H, W)``; None gives the dynamic dimensions ``height``/``width``.
    :param metadata: ``metadata_props`` entries, full keys (e.g. ``logocap_ros.input_hw``).
    :param opset: the default-domain opset; None leaves onnx's default.
    :return: ``path``. Needs ``onnx`` (callers importorskip it first).
    """
    import onnx
    from onnx import helper, TensorProto
    dims = [1, 3] + (list(hw) if hw else ['height', 'width'])
    graph = helper.make_graph(
        [helper.make_node('Identity', ['images'], ['poses'])], 'g',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info('poses', TensorProto.FLOAT, dims)])
    opsets = {'opset_imports': [helper.make_opsetid('', opset)]} if opset else {}
    model = helper.make_model(graph, **opsets)
    for key, value in (metadata or {}).items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.save(model, str(path))
    return path


def assert_matches_reference(ref: Dict, out: Dict) -> None:
    """Assert an exported graph's outputs match the PyTorch reference's (candidates by centre).

    At least 90 % of the kept candidates found, scores within 1e-4, at most 2 % of the joints
    moved by more than 0.01 px (near-ties of the refinement's argmax).
    """
    from logocap_ros.backends import export_onnx as ex
    diffs = ex.compare_outputs(ref, out)
    assert diffs['found'] >= 0.9 and diffs['scores'] < 1e-4, diffs
    assert diffs['joints_moved'] <= 0.02, diffs
