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

"""Triton model repository without a server: batched graph, configs, CLI, model checks."""

from logocap_ros.backends.triton_backend import check_io
from logocap_ros.backends.triton_onnx import add_batch_dim, graph_io
from logocap_ros.backends.triton_repository import model_config, RepositorySpec
import numpy as np
import pytest
from triton_helpers import INPUT_HW, single_image_onnx, write_repository

pytestmark = pytest.mark.slow  # one ONNX export (W32, 64x64) per test session


@pytest.fixture(scope='module')
def repo(tmp_path_factory):
    """Write a repository with the CLI from the cached export; return it and the export."""
    single = single_image_onnx()
    root = write_repository(tmp_path_factory.mktemp('triton_repo'), single, '--tensorrt',
                            'fp16', '--max-batch-size', '4')
    return root, single


def test_batched_graph_gives_the_single_image_results(repo):
    import onnxruntime as ort
    root, single = repo
    one = ort.InferenceSession(str(single), providers=['CPUExecutionProvider'])
    batched = ort.InferenceSession(str(root / 'logocap' / '1' / 'model.onnx'),
                                   providers=['CPUExecutionProvider'])
    images = np.random.default_rng(3).standard_normal((3, 3) + INPUT_HW).astype(np.float32)
    got = batched.run(['poses', 'scores', 'centers'], {'images': images})
    assert [g.shape for g in got] == [(3, 30, 17, 3), (3, 30), (3, 30, 3)]
    for i in range(3):
        ref = one.run(['poses', 'scores', 'centers'], {'images': images[i:i + 1]})
        for r, g in zip(ref, got):
            np.testing.assert_allclose(g[i], r, rtol=0, atol=1e-5)
    # the three images differ, so the batch is not one result repeated
    assert not np.allclose(got[1][0], got[1][1])


def test_layout_and_both_configs(repo):
    root, _ = repo
    model = root / 'logocap'
    assert sorted(p.relative_to(model).as_posix() for p in model.rglob('*') if p.is_file()) \
        == ['1/model.onnx', '1/model.py', 'config.pbtxt', 'configs/cpu.pbtxt']
    gpu = (model / 'config.pbtxt').read_text()
    cpu = (model / 'configs' / 'cpu.pbtxt').read_text()
    assert 'platform: "onnxruntime_onnx"' in gpu and 'kind: KIND_GPU' in gpu
    assert 'backend: "python"' in cpu and 'kind: KIND_CPU' in cpu
    assert '"precision_mode" value: "FP16"' in gpu and 'tensorrt' not in cpu
    for text in (gpu, cpu):
        assert 'max_batch_size: 4' in text
        assert 'max_queue_delay_microseconds: 20000' in text
        assert '{ name: "images" data_type: TYPE_FP32 dims: [ 3, 64, 64 ] }' in text
        assert '{ name: "poses" data_type: TYPE_FP32 dims: [ 30, 17, 3 ] }' in text
        assert 'key: "logocap_ros.flip_test" value: { string_value: "False" }' in text
        assert 'key: "logocap_ros.input_hw" value: { string_value: "64x64" }' in text
    # the same inputs and outputs in both
    assert [t for t in gpu.splitlines() if 'dims' in t] == \
        [t for t in cpu.splitlines() if 'dims' in t]


def test_free_dimensions_become_minus_one():
    from logocap_ros.backends.triton_onnx import GraphIO, TensorSpec
    io = GraphIO((TensorSpec('images', 'FLOAT', ('batch', 3, 'h', 'w')),),
                 (TensorSpec('scores', 'FLOAT', ('batch', 30)),))
    text = model_config(io, RepositorySpec(model_name='m', tensorrt='off'), 'gpu')
    assert 'dims: [ 3, -1, -1 ]' in text and 'optimization' not in text
    assert text.startswith('name: "m"\nplatform: "onnxruntime_onnx"\n')


@pytest.mark.parametrize('field, value, match', [
    ('model_name', 'a b', 'model name'), ('max_batch_size', 0, 'max_batch_size'),
    ('tensorrt', 'int8', 'tensorrt'), ('queue_delay_us', -1, 'queue_delay_us')])
def test_spec_validation_names_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        RepositorySpec(**{field: value}).validate()


def test_batch_wrapper_refuses_another_graph(tmp_path):
    import onnx
    from onnx import helper, TensorProto
    graph = helper.make_graph(
        [helper.make_node('Relu', ['x'], ['y'])], 'g',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 4])])
    path = tmp_path / 'other.onnx'
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ValueError, match='not a single-image LOGO-CAP export.*x\\[1, 4\\]'):
        add_batch_dim(path, tmp_path / 'out.onnx')


def test_batched_io_read_back(repo):
    root, _ = repo
    io = graph_io(root / 'logocap' / '1' / 'model.onnx')
    assert [(t.name, t.shape) for t in io.inputs] == [('images', ('batch', 3, 64, 64))]
    assert [(t.name, t.shape) for t in io.outputs] == [
        ('poses', ('batch', 30, 17, 3)), ('scores', ('batch', 30)), ('centers', ('batch', 30, 3))]


def _meta(inputs, outputs):
    return {'inputs': [{'name': n, 'datatype': d, 'shape': s} for n, d, s in inputs],
            'outputs': [{'name': n, 'datatype': d, 'shape': s} for n, d, s in outputs]}


GOOD_OUTPUTS = [('poses', 'FP32', [-1, 30, 17, 3]), ('scores', 'FP32', [-1, 30]),
                ('centers', 'FP32', [-1, 30, 3])]


def test_check_io_accepts_batched_and_single_image_models():
    assert check_io(_meta([('images', 'FP32', [-1, 3, 512, 704])], GOOD_OUTPUTS), 'm') \
        == (512, 704)
    single = [(n, d, s[1:]) for n, d, s in GOOD_OUTPUTS]
    assert check_io(_meta([('images', 'FP32', [1, 3, 64, 128])], single), 'm') == (64, 128)
    assert check_io(_meta([('images', 'FP32', [-1, 3, -1, -1])], GOOD_OUTPUTS), 'm') is None


@pytest.mark.parametrize('inputs, outputs, match', [
    ([('images', 'FP16', [-1, 3, 64, 64])], GOOD_OUTPUTS, 'input images FP32'),
    ([('input', 'FP32', [-1, 3, 64, 64])], GOOD_OUTPUTS, 'input images'),
    ([('images', 'FP32', [-1, 3, 64, 64])], GOOD_OUTPUTS[:2], 'output centers'),
    ([('images', 'FP32', [-1, 3, 64, 64])],
     [('poses', 'FP32', [-1, 30, 17, 2])] + GOOD_OUTPUTS[1:], 'output poses')])
def test_check_io_names_what_is_wrong(inputs, outputs, match):
    with pytest.raises(ValueError, match=f"'m' is not a LOGO-CAP model: expected {match}"):
        check_io(_meta(inputs, outputs), 'm')


def test_backend_without_the_client_names_what_to_install(monkeypatch):
    import sys
    from logocap_ros.backends.base import BackendUnavailable
    from logocap_ros.backends.registry import auto_candidates, create_backend
    for name in ('tritonclient', 'tritonclient.http', 'tritonclient.utils'):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'tritonclient\[http\]'"):
        create_backend('triton', None)
    assert 'triton' not in auto_candidates('cpu') + auto_candidates('cuda')
