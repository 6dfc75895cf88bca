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

"""The model file's facts: ONNX metadata and engine sidecar, read, checked and refused."""

import json

from logocap_ros.backends import model_file as mf
from logocap_ros.backends.model_estimator import model_backend, model_config
from model_helpers import identity_onnx
import pytest

pytest.importorskip('onnx', reason='needs onnx (pip install onnx)')

GOOD = {'arch': 'w48', 'flip_test': 'False', 'input_hw': '512x704', 'input_size': '512',
        'network_dtype': 'fp32', 'opset': '17', 'weights_sha256': 'ab' * 32,
        'version': '0.1.0', 'weights': 'random:B'}


def tiny_onnx(path, meta, hw=(512, 704), opset=17):
    """Write an Identity graph with input ``images`` [1, 3, H, W] (None: dynamic) and metadata."""
    return identity_onnx(path, hw, {mf.PREFIX + k: v for k, v in meta.items()}, opset)


def test_good_file_gives_every_fact(tmp_path):
    info = mf.read_onnx_info(tiny_onnx(tmp_path / 'm.onnx', GOOD))
    assert (info.arch, info.flip_test, info.input_hw, info.input_size) == \
        ('w48', False, (512, 704), 512)
    assert (info.opset, info.network_dtype, info.weights) == (17, 'fp32', 'random:B')
    config = model_config(info, device='cpu')
    assert (config.arch, config.flip_test, config.resolved_input_size) == ('w48', False, 512)


def test_dynamic_file_takes_the_input_size_asked_for(tmp_path):
    meta = dict(GOOD, input_hw='dynamic', input_size='640')
    info = mf.read_onnx_info(tiny_onnx(tmp_path / 'm.onnx', meta, hw=None))
    assert info.dynamic and info.input_size == 640
    assert model_config(info, 64).resolved_input_size == 64


@pytest.mark.parametrize('change,hw,opset,words', [
    ({'arch': None}, (512, 704), 17, 'lacks logocap_ros.arch'),
    ({'arch': 'w99'}, (512, 704), 17, "logocap_ros.arch='w99'"),
    ({'flip_test': 'yes'}, (512, 704), 17, 'not True or False'),
    ({'input_hw': 'dynamic'}, (512, 704), 17, 'but the graph input is'),
    ({}, None, 17, 'but the graph input is'),
    ({}, (512, 768), 17, 'but the graph input is'),
    ({'input_size': '448'}, (512, 704), 17, 'does not fit'),
    ({'input_hw': '500x700'}, (500, 700), 17, 'multiples of 64'),
    ({}, (512, 704), 13, 'uses opset 13'),
    ({'network_dtype': 'int8'}, (512, 704), 17, 'not fp32 or fp16'),
])
def test_inconsistent_metadata_is_refused_naming_the_fix(tmp_path, change, hw, opset, words):
    meta = {k: v for k, v in dict(GOOD, **change).items() if v is not None}
    path = tiny_onnx(tmp_path / 'm.onnx', meta, hw=hw, opset=opset)
    with pytest.raises(mf.ModelFileError, match='logocap-export-onnx') as err:
        mf.read_onnx_info(path)
    assert words in str(err.value) and '\n' not in str(err.value)


def test_missing_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(mf.ModelFileError, match='model file not found'):
        mf.read_model_info(tmp_path / 'none.onnx')
    junk = tmp_path / 'junk.onnx'
    junk.write_bytes(b'\x00not onnx' * 50)
    with pytest.raises(mf.ModelFileError, match='not a readable ONNX file|lacks'):
        mf.read_model_info(junk)


def test_engine_sidecar_round_trip_and_refusals(tmp_path):
    info = mf.read_onnx_info(tiny_onnx(tmp_path / 'm.onnx', GOOD))
    engine = tmp_path / 'm.engine'
    engine.write_bytes(b'engine bytes')
    with pytest.raises(mf.ModelFileError, match='no model sidecar'):
        mf.read_model_info(engine)
    side = mf.write_sidecar(engine, info, {'logocap_ros.engine_precision': 'fp16'})
    assert side.name == 'm.engine.model.json'
    assert mf.read_model_info(engine) == info
    data = json.loads(side.read_text())
    data['logocap_ros.input_hw'] = 'dynamic'
    side.write_text(json.dumps(data))
    with pytest.raises(mf.ModelFileError, match='fixed input size'):
        mf.read_model_info(engine)


def test_backend_for_a_model_file():
    assert model_backend('a.onnx', 'auto') == 'onnxruntime'
    assert model_backend('a.engine', 'auto') == 'tensorrt'
    assert model_backend('a.onnx', 'tensorrt') == 'tensorrt'
    with pytest.raises(mf.ModelFileError, match='backend torch'):
        model_backend('a.onnx', 'torch')
    with pytest.raises(mf.ModelFileError):
        model_backend('a.plan', 'onnxruntime')


def test_fixed_file_refuses_another_input_size(tmp_path):
    info = mf.read_onnx_info(tiny_onnx(tmp_path / 'm.onnx', GOOD))
    with pytest.raises(mf.ModelFileError, match='short side 512'):
        model_config(info, 640)
