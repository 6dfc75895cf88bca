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


"""FP16 exports keep the statistics of the attentive normalisation in FP32.

In the FP16 export (``network_dtype='fp16'``, the input of TensorRT FP16 engines) the network
and the KAM network run in half precision. The attentive normalisation's ``var_mean`` squares
deviations from the window mean, which overflows FP16 (max 65504) as soon as a value lies
~256 from its mean; then ``rsqrt`` gives 0 and the mixture weights become constant. The fix
computes these statistics in FP32 (:class:`logocap_ros.core.model.MixtureAttention`).

ONNX Runtime's CPU provider computes most FP16 operators in FP32 internally, so it would not
show the overflow; the numeric checks use ONNX's reference evaluator, which computes in the
graph's types (numpy float16), on a reduced model (one normalisation layer).
"""

import io
import warnings

from logocap_ros.backends.export_onnx import export_pipeline
from logocap_ros.backends.factory import load_network
from logocap_ros.core.model import AttentiveBatchNorm2d
import numpy as np
import pytest
import torch

onnx = pytest.importorskip('onnx')
ReferenceEvaluator = pytest.importorskip('onnx.reference').ReferenceEvaluator

FLOAT, FLOAT16 = 1, 10


def _export(module: torch.nn.Module, shape) -> 'onnx.ModelProto':
    """Export ``module`` (float32 in, float32 out) with the project's exporter settings."""
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(module.eval(), (torch.zeros(shape),), buf, opset_version=17,
                          input_names=['x'], output_names=['y'], dynamo=False)
    return onnx.shape_inference.infer_shapes(onnx.load_from_string(buf.getvalue()))


def _elem_types(model) -> dict:
    infos = list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)
    types = {v.name: v.type.tensor_type.elem_type for v in infos}
    types.update({t.name: t.data_type for t in model.graph.initializer})
    return types


class _KamAsExported(torch.nn.Module):
    """The KAM network exactly as the FP16 export runs it (FP32 in/out, FP16 inside)."""

    def __init__(self):
        super().__init__()
        net, _ = load_network('w32', 'random')
        self.pipeline = export_pipeline(net, False, 'fp16', torch.device('cpu'))

    def forward(self, x):
        return self.pipeline._kam(x)


class _HalfInside(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner.half()

    def forward(self, x):
        return self.inner(x.half()).float()


class _Fp16Statistics(torch.nn.Module):
    """The old computation: ``var_mean`` of FP16 input in FP16."""

    def forward(self, x):
        var, mean = torch.var_mean(x.half(), dim=(2, 3), keepdim=True)
        return (mean * torch.rsqrt(var + 1e-3)).float()


def test_half_kam_export_computes_normalisation_statistics_in_fp32():
    model = _export(_KamAsExported(), (2, 17 * 64, 11, 11))
    types = _elem_types(model)
    stats = [n for n in model.graph.node if n.op_type == 'ReduceMean'
             and 'attn_weights' in n.name]
    convs = [n for n in model.graph.node if n.op_type == 'Conv']
    assert stats, 'no attentive-normalisation statistics found in the graph'
    assert {types[n.input[0]] for n in stats} == {FLOAT}
    assert {types[n.input[1]] for n in convs} == {FLOAT16}, 'the KAM convs must be FP16'


def _spiky(channels=8, seed=0) -> np.ndarray:
    """``(2, C, 11, 11)`` values of ~1 with a few 300s: deviations square past FP16's max."""
    x = np.random.default_rng(seed).standard_normal((2, channels, 11, 11)).astype(np.float32)
    x[0, :, 3, 4] = 300.0
    x[1, ::2, 7, 7] = -280.0
    return x


def test_old_fp16_statistics_overflow_on_these_inputs():
    """Control: the input really overflows when the statistics are FP16."""
    out = ReferenceEvaluator(_export(_Fp16Statistics(), (2, 8, 11, 11))).run(
        None, {'x': _spiky()})[0]
    assert not np.isfinite(out).all() or (out == 0).any()


def test_half_normalisation_export_is_finite_and_close_on_overflowing_inputs():
    torch.manual_seed(0)
    layer = AttentiveBatchNorm2d(8).eval()
    with torch.no_grad():
        for p in (layer.weight_, layer.bias_, layer.attn_weights.attention[0].weight):
            p.copy_(torch.randn_like(p) * 0.5)
        layer.running_var.fill_(2.0)
    x = _spiky()
    model = _export(_HalfInside(layer), x.shape)
    got = ReferenceEvaluator(model).run(None, {'x': x})[0]
    with torch.no_grad():
        want = layer.float()(torch.from_numpy(x)).numpy()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=0.5)
