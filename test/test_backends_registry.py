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


"""Backend registry: names, 'auto' selection and clear errors for unavailable backends.

No export or inference runs here: the backends are only created (fast, no GPU needed).
"""

import sys

from logocap_ros.backends import registry
from logocap_ros.backends.base import BackendUnavailable
from logocap_ros.backends.torch_backend import TorchBackend
from logocap_ros.core.model import LogoCapNet
import pytest


@pytest.fixture(scope='module')
def net():
    """Return an untrained W32 network (weights are irrelevant here)."""
    return LogoCapNet('w32').eval()


def test_names_and_unknown_backend(net):
    assert set(registry.BACKEND_NAMES) == {'auto', 'torch', 'onnxruntime', 'openvino', 'tensorrt',
                                           'triton'}
    with pytest.raises(ValueError, match='unknown backend .*choose one of auto'):
        registry.create_backend('tflite', net)


def test_auto_on_cpu_prefers_onnxruntime_when_installed(net, monkeypatch):
    pytest.importorskip('onnxruntime')
    assert registry.auto_candidates('cpu') == ['onnxruntime', 'torch']
    backend = registry.create_backend('auto', net, device='cpu', input_size=64, arch='w32')
    assert backend.name == 'onnxruntime'
    assert 'CPUExecutionProvider' in backend.describe()


def test_auto_on_cpu_falls_back_to_torch_without_onnxruntime(net, monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    monkeypatch.setattr(registry, '_has_module', lambda name: name != 'onnxruntime')
    assert registry.auto_candidates('cpu') == ['torch']
    assert isinstance(registry.create_backend('auto', net), TorchBackend)
    with pytest.raises(BackendUnavailable, match='pip install onnxruntime'):
        registry.create_backend('onnxruntime', net)


def test_auto_skips_a_backend_that_fails_to_start(net, monkeypatch):
    def broken(*_a, **_k):
        raise BackendUnavailable('simulated: provider library missing')
    monkeypatch.setitem(registry.BACKENDS, 'onnxruntime', broken)
    monkeypatch.setattr(registry, '_has_module', lambda name: True)
    assert registry.create_backend('auto', net).name == 'torch'


def test_auto_on_cuda_orders_tensorrt_first(monkeypatch):
    monkeypatch.setattr(registry, '_has_module', lambda name: True)
    monkeypatch.setattr(registry, '_cuda_available', lambda: True)
    monkeypatch.setattr(registry, '_ort_has_cuda', lambda: True)
    assert registry.auto_candidates('cuda:0') == ['tensorrt', 'onnxruntime', 'torch']
    monkeypatch.setattr(registry, '_has_module', lambda name: name != 'tensorrt')
    monkeypatch.setattr(registry, '_ort_has_cuda', lambda: False)
    assert registry.auto_candidates('cuda') == ['torch']


def test_auto_reports_every_failure(net, monkeypatch):
    def broken(*_a, **_k):
        raise BackendUnavailable('simulated failure')
    for name in registry.BACKENDS:
        monkeypatch.setitem(registry.BACKENDS, name, broken)
    with pytest.raises(BackendUnavailable, match='no backend can run on .cpu.*simulated'):
        registry.create_backend('auto', net)


def test_tensorrt_without_the_package_names_what_to_install(net, monkeypatch):
    monkeypatch.setitem(sys.modules, 'tensorrt', None)
    with pytest.raises(BackendUnavailable) as info:
        registry.create_backend('tensorrt', net, device='cuda', precision='fp16')
    assert 'pip install tensorrt' in str(info.value) and 'JetPack' in str(info.value)


def test_onnxruntime_cuda_without_provider_is_unavailable(net, monkeypatch):
    from logocap_ros.backends.onnxruntime_backend import select_providers
    with pytest.raises(BackendUnavailable, match='onnxruntime-gpu'):
        select_providers('cuda', 'fp32', ['CPUExecutionProvider'])
    with pytest.raises(ValueError, match='fp32 only'):
        select_providers('cpu', 'fp16', ['CPUExecutionProvider'])
    with pytest.raises(BackendUnavailable, match='TensorRT execution provider'):
        select_providers('cuda:1', 'fp16', ['CUDAExecutionProvider', 'CPUExecutionProvider'])
    chosen = select_providers('cuda:1', 'fp16', ['TensorrtExecutionProvider',
                                                 'CUDAExecutionProvider'])
    assert [p[0] if isinstance(p, tuple) else p for p in chosen] == [
        'TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider']
    # fp16 comes from the half-network export, never from the EP's whole-graph FP16 flag
    assert chosen[0][1]['trt_fp16_enable'] is False and chosen[0][1]['device_id'] == 1


def test_physical_cores_is_sane():
    from logocap_ros.backends.onnxruntime_backend import physical_cores
    import os
    assert 1 <= physical_cores() <= (os.cpu_count() or 1)


def test_open_backend_starts_it_and_auto_falls_back_on_a_failed_start(net, monkeypatch,
                                                                      caplog):
    pytest.importorskip('onnxruntime')
    from logocap_ros.backends import onnxruntime_backend

    def failing_start(self):
        raise RuntimeError('simulated export failure:\nline two')
    monkeypatch.setattr(onnxruntime_backend.OnnxRuntimeBackend, '_activate', failing_start)
    with caplog.at_level('WARNING', 'logocap_ros.backends'):
        backend = registry.open_backend('auto', net, device='cpu')
    assert isinstance(backend, TorchBackend) and backend.is_active
    assert [r.getMessage() for r in caplog.records] == [
        "backend 'auto': onnxruntime cannot start here (simulated export failure: line two); "
        'trying torch']
    with pytest.raises(BackendUnavailable, match="^backend 'onnxruntime' cannot start on cpu "
                                                 r'\(fp32\): simulated export failure: line'):
        registry.open_backend('onnxruntime', net, device='cpu')
    with pytest.raises(ValueError, match='unknown backend'):
        registry.open_backend('tflite', net)


def test_estimator_config_expected_image_size():
    from logocap_ros.backends.factory import prepared_input_hw
    from logocap_ros.core.estimator import EstimatorConfig
    assert prepared_input_hw(EstimatorConfig()) == [(512, 704)]
    assert prepared_input_hw(EstimatorConfig(expected_image_hw=(720, 1280))) == [(512, 960)]
    assert prepared_input_hw(EstimatorConfig(expected_image_hw=None)) == []
    with pytest.raises(ValueError, match='expected_image_hw'):
        EstimatorConfig(expected_image_hw=(0, 640)).validate()
