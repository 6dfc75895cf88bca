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

"""A batch dimension for the single-image LOGO-CAP ONNX graph, for Triton's dynamic batching.

The exported pipeline (:mod:`logocap_ros.backends.export_onnx`) takes ``images`` ``[1, 3, H,
W]`` and returns ``poses`` ``[30, 17, 3]``, ``scores`` ``[30]``, ``centers`` ``[30, 3]``: the
refinement (centre top-K, KEM sampling, dynamic convolution) is written for one image, so the
graph has no batch dimension. :func:`add_batch_dim` wraps it in an ONNX ``Scan`` whose body is
the unchanged graph: input ``[B, 3, H, W]``, outputs ``[B, 30, 17, 3]``, ``[B, 30]``,
``[B, 30, 3]``. The images of a batch run one after another inside one model execution (the
same values as B single runs); a batch saves per-request overhead, not compute.
"""

import os
from pathlib import Path
from typing import Dict, List, NamedTuple, Tuple, Union

from .base import INPUT_NAME, OUTPUT_NAMES

PathLike = Union[str, os.PathLike]
BATCH_DIM = 'batch'
#: Names inside the Scan body (distinct from the outer graph's names).
_ITEM_PREFIX = 'item_'
_UNSQUEEZE_AXES = 'item_unsqueeze_axes'

Dim = Union[int, str]


class TensorSpec(NamedTuple):
    """Name, ONNX element type (e.g. ``'FLOAT'``) and shape (ints, or names of free dims)."""

    name: str
    dtype: str
    shape: Tuple[Dim, ...]


class GraphIO(NamedTuple):
    """Inputs and outputs of an ONNX graph."""

    inputs: Tuple[TensorSpec, ...]
    outputs: Tuple[TensorSpec, ...]


def graph_io(path: PathLike) -> GraphIO:
    """Return the input and output specs of the ONNX file at ``path`` (weights not loaded)."""
    import onnx
    graph = onnx.load(str(path), load_external_data=False).graph
    init = {i.name for i in graph.initializer}
    return GraphIO(tuple(_spec(v) for v in graph.input if v.name not in init),
                   tuple(_spec(v) for v in graph.output))


def add_batch_dim(src: PathLike, dst: PathLike) -> Path:
    """Write ``src`` (single-image LOGO-CAP graph) to ``dst`` with a leading batch dimension.

    Metadata (``metadata_props``) is kept; ``logocap_ros.batched`` = ``scan`` is added.

    :raises ValueError: ``src`` is not a single-image LOGO-CAP graph (wrong input/outputs).
    :return: ``dst``.
    """
    import onnx
    model = onnx.load(str(src))
    _check_single_image(GraphIO(tuple(_spec(v) for v in model.graph.input),
                                tuple(_spec(v) for v in model.graph.output)), src)
    body = _scan_body(model.graph)
    outer = _outer_graph(model.graph, body)
    wrapped = onnx.helper.make_model(outer, opset_imports=model.opset_import,
                                     ir_version=model.ir_version,
                                     producer_name='logocap_ros')
    wrapped.metadata_props.extend(model.metadata_props)
    prop = wrapped.metadata_props.add()
    prop.key, prop.value = 'logocap_ros.batched', 'scan'
    onnx.checker.check_model(wrapped)
    dst = Path(dst)
    onnx.save(wrapped, str(dst))
    return dst


def _check_single_image(io: GraphIO, src: PathLike) -> None:
    names = [o.name for o in io.outputs]
    if (len(io.inputs) != 1 or io.inputs[0].name != INPUT_NAME
            or tuple(io.inputs[0].shape[:2]) != (1, 3) or len(io.inputs[0].shape) != 4
            or names[:len(OUTPUT_NAMES)] != list(OUTPUT_NAMES)):
        shapes = ', '.join(f'{s.name}{list(s.shape)}' for s in io.inputs + io.outputs)
        raise ValueError(f'{src} is not a single-image LOGO-CAP export (found {shapes}); '
                         f'expected {INPUT_NAME}[1, 3, H, W] -> {", ".join(OUTPUT_NAMES)} '
                         '(make it with logocap-export-onnx)')


def _scan_body(graph):
    """Return the original graph as a Scan body: ``[3, H, W]`` in, per-image outputs out."""
    from onnx import helper, TensorProto
    rename: Dict[str, str] = {graph.input[0].name: _ITEM_PREFIX + INPUT_NAME}
    rename.update({o.name: _ITEM_PREFIX + o.name for o in graph.output})
    nodes = []
    for node in graph.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
        nodes.append(node)
    image = _spec(graph.input[0])
    item = _ITEM_PREFIX + 'image'
    unsqueeze = helper.make_node('Unsqueeze', [item, _UNSQUEEZE_AXES], [rename[image.name]],
                                 name='item_add_batch')
    axes = helper.make_tensor(_UNSQUEEZE_AXES, TensorProto.INT64, [1], [0])
    inputs = [helper.make_tensor_value_info(item, TensorProto.FLOAT, list(image.shape[1:]))]
    outputs = [helper.make_tensor_value_info(rename[o.name], o.type.tensor_type.elem_type,
                                             list(_spec(o).shape)) for o in graph.output]
    return helper.make_graph([unsqueeze] + nodes, 'logocap_single_image', inputs, outputs,
                             initializer=[axes] + list(graph.initializer))


def _outer_graph(graph, body):
    """``images [B, 3, H, W]`` -> Scan(body) -> outputs with a leading ``B``."""
    from onnx import helper, TensorProto
    image = _spec(graph.input[0])
    scan = helper.make_node('Scan', [image.name], [o.name for o in graph.output],
                            name='logocap_per_image', body=body, num_scan_inputs=1)
    inputs = [helper.make_tensor_value_info(image.name, TensorProto.FLOAT,
                                            [BATCH_DIM] + list(image.shape[1:]))]
    outputs = [helper.make_tensor_value_info(o.name, o.type.tensor_type.elem_type,
                                             [BATCH_DIM] + list(_spec(o).shape))
               for o in graph.output]
    return helper.make_graph([scan], 'logocap_batched', inputs, outputs)


def _spec(value) -> TensorSpec:
    from onnx import TensorProto
    ttype = value.type.tensor_type
    dims: List[Dim] = [d.dim_value if d.HasField('dim_value') else (d.dim_param or '?')
                       for d in ttype.shape.dim]
    return TensorSpec(value.name, TensorProto.DataType.Name(ttype.elem_type), tuple(dims))
