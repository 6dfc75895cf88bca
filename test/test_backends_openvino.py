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


"""OpenVINO backend (CPU): FP32 parity with ONNX Runtime/PyTorch, the bf16 refusals, the cut.

Skipped where openvino is not installed (``pip install openvino``). The bf16 refusal on a CPU
without hardware bfloat16 is tested by faking the CPU-feature probe, so it runs everywhere.
"""

from logocap_ros.backends import cpu_features
from logocap_ros.backends import export_onnx as ex
from logocap_ros.backends.base import BackendUnavailable
from logocap_ros.backends.factory import load_network
from logocap_ros.backends.registry import create_backend, open_backend
from logocap_ros.backends.torch_backend import TorchBackend
from model_helpers import assert_matches_reference
import numpy as np
import pytest

ov = pytest.importorskip('openvino', reason='openvino is not installed: pip install openvino')
pytest.importorskip('onnx', reason='the ONNX export needs onnx: pip install onnx')


@pytest.fixture(scope='module')
def net():
    """W32 with the deterministic random weights 'B'."""
    model, _ = load_network('w32', 'random')
    return model


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    """Return a private export and compiled-model cache root."""
    return tmp_path_factory.mktemp('ov_cache')


@pytest.fixture(scope='module')
def ov_run(net, cache):
    """Start the FP32 OpenVINO backend (no flip) for 64x128; run it on one image."""
    backend = open_backend('openvino', net, device='cpu', precision='fp32', flip_test=False,
                           cache_dir=str(cache), prepare_hw=[(64, 128)])
    images = np.random.default_rng(7).standard_normal((1, 3, 64, 128)).astype(np.float32)
    return backend, images, backend.infer({'images': images})


def test_fp32_matches_torch_and_fills_the_compiled_model_cache(ov_run, net, cache):
    backend, images, out = ov_run
    assert backend.describe().startswith('openvino CPU fp32')
    assert out['poses'].shape == (30, 17, 3) and out['poses'].dtype == np.float32
    with TorchBackend(net, flip_test=False) as torch_backend:
        ref = torch_backend.infer({'images': images})
    assert len(ex._kept(ref)) >= 3
    assert_matches_reference(ref, out)
    assert list((cache / 'onnx').glob('*.onnx')), 'reads the ONNX export of the ONNX cache'
    assert list((cache / 'openvino').iterdir()), 'compiled model not cached'


def test_other_input_sizes_compile_on_use(ov_run, net):
    backend = ov_run[0]
    images = np.random.default_rng(8).standard_normal((1, 3, 128, 64)).astype(np.float32)
    out = backend.infer({'images': images})
    assert backend.input_shape() == (1, 3, 128, 64)
    ref = ex.run_torch(net, images, False, ['poses', 'scores', 'centers'])
    assert ex.compare_outputs(ref, out)['found'] >= 0.9


def test_cut_graph_in_fp32_gives_the_whole_graphs_results(ov_run, cache):
    """The bf16 path's cut (network | decoding | KAM | refinement), compiled all in FP32."""
    from logocap_ros.backends.openvino_split import split_model
    backend, images, out = ov_run
    core = ov.Core()
    model = core.read_model(str(backend._source))
    model.reshape({model.inputs[0]: [1, 3, 64, 128]})
    parts = split_model(model)
    low = [p.low for p in parts]
    assert low.count(True) >= 2, 'network and KAM network should be low-precision parts'
    names = {op.get_friendly_name() for p in parts if not p.low
             for op in p.model.get_ordered_ops()
             if op.get_type_name() not in ('Parameter', 'Constant', 'Result')}
    assert not any(n.startswith('/joints_mlp/') or n.startswith('/backbone/') for n in names)
    assert any('Conv' == n.strip('/') for n in names), 'dynamic convolution stays FP32'
    tensors = {'images': images}
    for part in parts:
        compiled = core.compile_model(part.model, 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'})
        result = compiled.create_infer_request().infer([tensors[k] for k in part.inputs])
        tensors.update(zip(part.outputs, result.to_tuple()))
    for name in ('poses', 'scores', 'centers'):
        np.testing.assert_allclose(tensors[name], out[name], rtol=1e-5, atol=1e-4)


def test_bf16_refused_with_one_line_on_a_cpu_without_bf16(net, monkeypatch):
    monkeypatch.setattr(cpu_features, 'cpu_flags', lambda *a: frozenset({'avx2', 'fma'}))
    with pytest.raises(BackendUnavailable) as err:
        open_backend('openvino', net, device='cpu', precision='bf16', flip_test=False)
    text = str(err.value)
    assert '\n' not in text and 'avx512_bf16' in text and 'use precision fp32' in text


def test_bf16_never_runs_fp32_under_the_bf16_label(net, cache, monkeypatch):
    """Probe faked to say yes: OpenVINO must really compile bf16, else the start fails."""
    monkeypatch.setattr(cpu_features, 'cpu_flags', lambda *a: frozenset({'avx512_bf16'}))
    real = 'BF16' in ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
    try:
        backend = open_backend('openvino', net, device='cpu', precision='bf16',
                               flip_test=False, cache_dir=str(cache), prepare_hw=[(64, 128)])
    except BackendUnavailable as exc:
        assert not real, f'bf16 refused on a CPU OpenVINO says has BF16: {exc}'
        assert 'compiled precision bf16 as f32' in str(exc)
        return
    assert real, 'bf16 started on a CPU without BF16 (FP32 under a bf16 label)'
    assert backend.describe().startswith('openvino CPU bf16')
    backend.deactivate()


def test_probe_reads_cpuinfo_flags(tmp_path):
    info = tmp_path / 'cpuinfo'
    info.write_text('processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu avx2 amx_bf16\n')
    assert cpu_features.cpu_flags(info) == {'fpu', 'avx2', 'amx_bf16'}
    assert cpu_features.cpu_name(info) == 'Test CPU'
    assert cpu_features.bf16_flags(frozenset({'avx2'})) == frozenset()
    assert cpu_features.cpu_flags(tmp_path / 'missing') == frozenset()


@pytest.mark.parametrize('name', ['onnxruntime', 'torch'])
def test_other_cpu_backends_refuse_bf16(net, name):
    with pytest.raises((ValueError, BackendUnavailable)):
        create_backend(name, net, device='cpu', precision='bf16')


def test_unknown_device_is_refused(net):
    with pytest.raises(ValueError, match="'cpu', 'gpu"):
        create_backend('openvino', net, device='cuda:0')


def test_logocap_cache_lists_and_clears_compiled_models(ov_run, cache):
    from logocap_ros.backends.cache import cache_entries, clear_cache
    assert any(e.kind == 'openvino' for e in cache_entries(cache))
    clear_cache(cache, ['openvino'])
    assert not any(e.kind == 'openvino' for e in cache_entries(cache))


def test_the_threads_signal_stack_survives_compile_run_and_release(net, cache):
    """The compiling thread keeps its sigaltstack (OpenVINO swaps it; Ctrl-C was a SIGSEGV)."""
    import threading
    from logocap_ros.backends.signal_stack import current_signal_stack
    seen = {}

    def work():
        seen['before'] = current_signal_stack()
        backend = open_backend('openvino', net, device='cpu', precision='fp32',
                               flip_test=False, cache_dir=str(cache), prepare_hw=[(64, 64)])
        backend.infer({'images': np.zeros((1, 3, 64, 64), np.float32)})
        seen['running'] = current_signal_stack()
        backend.deactivate()
        seen['after'] = current_signal_stack()
    thread = threading.Thread(target=work)   # a fresh thread: no signal stack of its own yet
    thread.start()
    thread.join(300)
    stacks = [(s.ss_sp, s.ss_flags, s.ss_size)
              for s in (seen['before'], seen['running'], seen['after'])]
    assert stacks[0] == stacks[1] == stacks[2], stacks
