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


"""GPU parity: TensorRT, ONNX Runtime CUDA and PyTorch CUDA against PyTorch on the CPU.

Every test is marked ``gpu`` (skipped with the reason where no CUDA GPU is visible); the
TensorRT ones also skip when the ``tensorrt`` package is missing, the ONNX Runtime one when its
CUDA provider is. Run them all with scripts/gpu_checks.sh. Inputs are small (64x128) and the
weights are the deterministic random 'B' set, so each test takes seconds once engines exist.
"""

import logging

from logocap_ros.backends import export_onnx as ex
from logocap_ros.backends.registry import create_backend
import numpy as np
import pytest

pytestmark = pytest.mark.gpu
HW = (64, 128)


@pytest.fixture(scope='module')
def net():
    """Return W32 with the random weights 'B'."""
    model, _ = ex.load_net('w32', 'random')
    return model


@pytest.fixture(scope='module')
def image():
    """Return a normalised random ``(1, 3, 64, 128)`` image."""
    return np.random.default_rng(11).standard_normal((1, 3) + HW).astype(np.float32)


@pytest.fixture(scope='module')
def reference(net, image):
    """Return PyTorch CPU outputs (unpruned, flip on)."""
    return ex.run_torch(net, image, True, ['poses', 'scores', 'centers'])


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
    """Return a private cache root for exports and engines."""
    return tmp_path_factory.mktemp('gpu_cache')


def _agreement(ref, out, joint_tol):
    """Return (fraction of the reference's people found, fraction of their joints within tol).

    People are paired by centre (see :func:`logocap_ros.backends.export_onnx.compare_outputs`).
    """
    diffs = ex.compare_outputs(ref, out, joint_tol)
    return diffs['found'], 1.0 - diffs.get('joints_moved', 1.0)


def test_torch_cuda_fp32_matches_cpu(net, image, reference):
    with create_backend('torch', net, device='cuda', precision='fp32') as backend:
        out = backend.infer({'images': image})
    found, close = _agreement(reference, out, 0.01)
    assert found >= 0.9 and close >= 0.95, (found, close)


def test_torch_cuda_fp16_runs_close(net, image, reference):
    with create_backend('torch', net, device='cuda', precision='fp16') as backend:
        out = backend.infer({'images': image})
    assert np.isfinite(out['poses']).all()
    found, close = _agreement(reference, out, 4.0)
    assert found >= 0.8 and close >= 0.9, (found, close)


def test_onnxruntime_cuda_matches_cpu(net, image, reference, cache_dir):
    ort = pytest.importorskip('onnxruntime')
    if 'CUDAExecutionProvider' not in ort.get_available_providers():
        pytest.skip('onnxruntime has no CUDA provider here (install onnxruntime-gpu)')
    with create_backend('onnxruntime', net, device='cuda', cache_dir=str(cache_dir)) as b:
        out = b.infer({'images': image})
    found, close = _agreement(reference, out, 0.01)
    assert found >= 0.9 and close >= 0.95, (found, close)


@pytest.mark.parametrize('precision, joint_tol, min_close', [('fp32', 0.01, 0.95),
                                                             ('fp16', 4.0, 0.9)])
def test_tensorrt_matches_torch(net, image, reference, cache_dir, precision, joint_tol,
                                min_close):
    pytest.importorskip('tensorrt', reason='tensorrt is not installed (pip install tensorrt)')
    with create_backend('tensorrt', net, device='cuda', precision=precision,
                        cache_dir=str(cache_dir)) as backend:
        out = backend.infer({'images': image})
        assert backend.input_shape() == (1, 3) + HW
    assert np.isfinite(out['poses']).all()
    found, close = _agreement(reference, out, joint_tol)
    assert found >= 0.8 and close >= min_close, (precision, found, close)
    if precision == 'fp32':
        assert found >= 0.9
        np.testing.assert_allclose(out['scores'][:3], reference['scores'][:3], atol=1e-3)


def test_tensorrt_engine_is_reused_not_rebuilt(net, image, cache_dir, monkeypatch, caplog):
    pytest.importorskip('tensorrt', reason='tensorrt is not installed (pip install tensorrt)')
    from logocap_ros.backends import build_engine
    with create_backend('tensorrt', net, device='cuda', cache_dir=str(cache_dir)) as backend:
        backend.infer({'images': image})           # builds the fp16 engine if missing

    def no_build(*_a, **_k):
        raise AssertionError('rebuilt although a valid engine is cached')
    monkeypatch.setattr(build_engine, 'build_serialized_engine', no_build)
    caplog.set_level(logging.INFO, 'logocap_ros.backends')
    with create_backend('tensorrt', net, device='cuda', cache_dir=str(cache_dir)) as backend:
        backend.infer({'images': image})
    assert 'using cached TensorRT engine' in caplog.text


def test_tensorrt_with_shifted_dynamic_convolution(net, image, reference, tmp_path):
    pytest.importorskip('tensorrt', reason='tensorrt is not installed (pip install tensorrt)')
    onnx_path = ex.export_onnx(net, tmp_path / 'shifted.onnx', HW, dynconv='shifted')
    with create_backend('tensorrt', net, device='cuda', precision='fp32',
                        onnx_path=str(onnx_path), cache_dir=str(tmp_path)) as backend:
        out = backend.infer({'images': image})
    assert _agreement(reference, out, 0.01)[1] >= 0.95
