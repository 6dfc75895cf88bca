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

"""Cut an OpenVINO model into consecutive parts of one precision each (bf16 network, FP32 rest).

OpenVINO's CPU plugin, asked for bf16, lowers nearly every floating-point operation, the
coordinate arithmetic of LOGO-CAP's decoding and refinement too (bfloat16 has 8 significant
bits: 704 px would be rounded to 4 px). To keep the refinement's coordinates in FP32, as the
GPU FP16 path does, the graph is cut at the boundaries between the *network* (the HRNet
backbone and heads, and the KAM network: the ONNX nodes under :data:`NETWORK_SCOPES`) and the
rest, and each part is compiled with its own precision. In LOGO-CAP's graph that gives:
flip / input (FP32), network (low), decoding and KEM sampling (FP32), KAM network (low),
dynamic convolution and peaks (FP32).
"""

from typing import Callable, Dict, List, NamedTuple, Tuple

#: ONNX node-name prefixes of the learnable network (module paths of the export).
NETWORK_SCOPES = ('/backbone/', '/transition_', '/final_layer_', '/joints_mlp/')
_NO_CUT = ('Constant',)


class Part(NamedTuple):
    """One part of a cut model.

    :ivar model: the ``openvino.Model`` of the part.
    :ivar low: True for a network part (runs in the reduced precision).
    :ivar inputs: keys of the tensors its parameters take, in parameter order.
    :ivar outputs: keys of the tensors its results give, in result order.
    """

    model: object
    low: bool
    inputs: Tuple[str, ...]
    outputs: Tuple[str, ...]


def is_network(node):
    """Return True for an operation of the learnable network, False for the rest, None else.

    By the ONNX node name (module path); None for the helper operations the ONNX reader
    adds with generated names (they join the part of their inputs).
    """
    name = node.get_friendly_name()
    if not name.startswith('/'):
        return None
    return name.startswith(NETWORK_SCOPES)


def _key(output) -> str:
    return f'{output.get_node().get_friendly_name()}:{output.get_index()}'


def _part_indices(ops, low: Callable) -> Dict[str, int]:
    """Part index per operation: even parts full precision, odd parts low, in graph order."""
    index: Dict[str, int] = {}
    for op in ops:
        kind = op.get_type_name()
        parents = [v.get_source_output().get_node() for v in op.inputs()]
        parents = [p for p in parents if p.get_type_name() not in _NO_CUT]
        if kind in _NO_CUT:
            continue
        if kind == 'Result':
            index[op.get_friendly_name()] = index[parents[0].get_friendly_name()]
            continue
        base = max((index[p.get_friendly_name()] for p in parents), default=0)
        kind_low = low(op)
        step = 0 if kind_low is None else (int(bool(kind_low)) - base) % 2
        index[op.get_friendly_name()] = base + step
    return index


def split_model(model, low: Callable = is_network) -> List[Part]:
    """Cut ``model`` (static shapes; modified in place) into parts of one precision each.

    Tensors crossing a cut become a result of the producing part and a parameter of each
    consuming part; the original results and parameters are keyed by their names (e.g.
    ``'poses'``, ``'images'``).

    :param low: which operations run in the reduced precision (True), in full precision
        (False), or either (None: with their inputs).
    :return: the non-empty parts in execution order.
    """
    import openvino as ov
    from openvino import passes
    manager = passes.Manager()
    manager.register_pass(passes.ConstantFolding())
    manager.run_passes(model)
    ops = model.get_ordered_ops()
    index = _part_indices(ops, low)
    params: Dict[int, List[Tuple[str, object]]] = {}
    results: Dict[int, List[Tuple[str, object]]] = {}
    for par in model.get_parameters():
        params.setdefault(0, []).append((par.get_friendly_name(), par))
    for res in model.get_results():
        src = res.input(0).get_source_output()
        name = next(iter(sorted(src.get_names())), None) or _key(src)
        results.setdefault(index[res.get_friendly_name()], []).append((name, res))
    for op in ops:
        if op.get_type_name() in _NO_CUT + ('Result',):
            continue
        here = index[op.get_friendly_name()]
        for out in op.outputs():
            later = [t for t in out.get_target_inputs()
                     if index.get(t.get_node().get_friendly_name(), here) > here]
            if later:
                _cut(ov, out, later, index, params, results)
    parts = []
    for i in sorted(set(params) | set(results)):
        ins, outs = params.get(i, []), results.get(i, [])
        sub = ov.Model([r for _, r in outs], [p for _, p in ins], f'part{i}')
        parts.append(Part(sub, bool(i % 2), tuple(k for k, _ in ins), tuple(k for k, _ in outs)))
    return parts


def _cut(ov, out, targets, index, params, results) -> None:
    """Give ``out`` a result in its part and one parameter per later consuming part."""
    from openvino import opset13 as ops
    key = _key(out)
    here = index[out.get_node().get_friendly_name()]
    results.setdefault(here, []).append((key, ops.result(out)))
    by_part: Dict[int, list] = {}
    for t in targets:
        by_part.setdefault(index[t.get_node().get_friendly_name()], []).append(t)
    for part, inputs in by_part.items():
        par = ops.parameter(out.get_partial_shape(), out.get_element_type(), name=key)
        for t in inputs:
            t.replace_source_output(par.output(0))
        params.setdefault(part, []).append((key, par))
