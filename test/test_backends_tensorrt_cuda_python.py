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

"""TensorRT without PyTorch: engines on cuda-python buffers, streams and CUDA graphs.

No GPU here: ``test/fake_gpu`` holds a fake ``cuda.bindings.runtime`` (cuda-python's real
signatures and ``(error, value)`` results, "device" memory in host RAM, copies checked
against the allocations) and a fake ``tensorrt`` whose engine runs the exported ONNX model
with ONNX Runtime through the raw device addresses it is given. So these tests check the
plumbing for real: an engine's outputs equal ONNX Runtime's only if the input reached its
device buffer and every output came back from its place in the packed buffer.
The last test drives a real GPU through the real cuda-python where both exist.
"""

import dataclasses
import importlib.util
import json
import logging
import os
from pathlib import Path
import subprocess
import sys

import no_torch_env
import numpy as np
import pytest

FAKES = Path(__file__).resolve().parent / 'fake_gpu'
HW = (64, 128)
_FAKE_MODULES = (('cuda', 'cuda/__init__.py'), ('cuda.bindings', 'cuda/bindings/__init__.py'),
                 ('cuda.bindings.runtime', 'cuda/bindings/runtime.py'),
                 ('tensorrt', 'tensorrt/__init__.py'))


def _load_fake(name: str, rel: str):
    """Execute the fake module file ``rel`` under ``name``; return it (not registered)."""
    path = FAKES / rel
    package = [str(path.parent)] if path.name == '__init__.py' else None
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=package)
    module = importlib.util.module_from_spec(spec)
    return spec, module


@pytest.fixture
def fake_gpu(monkeypatch):
    """Install the fake cuda-python and TensorRT in ``sys.modules`` for one test."""
    loaded = {}
    for name, rel in _FAKE_MODULES:
        spec, module = _load_fake(name, rel)
        monkeypatch.setitem(sys.modules, name, module)
        spec.loader.exec_module(module)
        loaded[name] = module
    loaded['cuda'].bindings = loaded['cuda.bindings']
    loaded['cuda.bindings'].runtime = loaded['cuda.bindings.runtime']
    cudart = loaded['cuda.bindings.runtime']
    cudart.reset()
    return cudart, loaded['tensorrt']


def _engine_file_writer():
    """Return the fake TensorRT's ``write_engine``, without installing the fake anywhere."""
    spec, module = _load_fake('fake_tensorrt_engine_file', 'tensorrt/__init__.py')
    spec.loader.exec_module(module)
    return module.write_engine


@pytest.fixture(scope='module')
def onnx_model() -> Path:
    """Return a dynamic-size, no-flip export of the random weights (one per test process)."""
    return no_torch_env.exported_model('random', flip=False)


def _engine(tmp_path, trt, onnx_model, name='m.engine') -> Path:
    return trt.write_engine(tmp_path / name, onnx_model, (1, 3) + HW)


def _backend(engine, **kw):
    from logocap_ros.backends.tensorrt_backend import TensorRTBackend
    return TensorRTBackend(engine_path=engine, cuda_api='cuda-python', **kw).activate()


def _frames(count):
    rng = np.random.default_rng(5)
    return [rng.standard_normal((1, 3) + HW).astype(np.float32) for _ in range(count)]


def _reference(onnx_model, images):
    import onnxruntime
    session = onnxruntime.InferenceSession(str(onnx_model), providers=['CPUExecutionProvider'])
    return dict(zip([o.name for o in session.get_outputs()],
                    session.run(None, {'images': images})))


def _assert_same(out, want):
    from logocap_ros.backends.base import OUTPUT_NAMES
    assert set(out) == set(OUTPUT_NAMES)
    for name in OUTPUT_NAMES:
        assert out[name].dtype == np.float32
        np.testing.assert_allclose(out[name], want[name], rtol=0, atol=1e-6, err_msg=name)


@pytest.mark.slow
def test_engine_on_cuda_python_gives_the_onnx_results_with_graph_replay(
        fake_gpu, tmp_path, onnx_model):
    cudart, trt = fake_gpu
    backend = _backend(_engine(tmp_path, trt, onnx_model))
    assert 'cuda-python' in backend.describe() and not backend.preprocesses_images
    engine = backend._engines[HW]
    host_input = engine.host_input
    frames, syncs = _frames(4), cudart.STATE.syncs
    outputs = []
    for k, images in enumerate(frames):
        outputs.append(backend.infer({'images': images}))
        _assert_same(outputs[-1], _reference(onnx_model, images))
        assert cudart.STATE.syncs == syncs + k + 1         # one synchronisation per frame
        assert engine.host_input is host_input             # the pinned input is reused
        if k == 0:
            kept = {name: value.copy() for name, value in outputs[0].items()}
    assert cudart.STATE.executions == 4
    assert cudart.STATE.launches == 3, 'frame 1 eager, frame 2 captured, then replays'
    h2d, d2h = (cudart.cudaMemcpyKind.cudaMemcpyHostToDevice,
                cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost)
    kinds = [kind for kind, _ in cudart.STATE.copies]
    assert kinds == [h2d, d2h] * 4, 'one upload and one packed download per frame'
    assert cudart.STATE.copies[0][1] == host_input.nbytes
    assert not np.array_equal(outputs[0]['poses'], outputs[3]['poses'])
    for name, value in kept.items():   # later frames did not overwrite it: copies, not views
        np.testing.assert_array_equal(outputs[0][name], value)
    outputs_at = [engine.addresses[n] for n in ('poses', 'scores', 'centers')]
    assert all((a - engine.packed) % 256 == 0 for a in outputs_at)
    backend.deactivate()
    assert not cudart.STATE.device_mem and not cudart.STATE.host_mem, 'memory left allocated'
    assert not cudart.STATE.streams and not cudart.STATE.execs


@pytest.mark.slow
@pytest.mark.parametrize('capture_works, cuda_graph', [(False, True), (True, False)])
def test_without_a_graph_every_frame_runs_eagerly(fake_gpu, tmp_path, onnx_model, caplog,
                                                  capture_works, cuda_graph):
    cudart, trt = fake_gpu
    cudart.reset(capture_works=capture_works)
    backend = _backend(_engine(tmp_path, trt, onnx_model), cuda_graph=cuda_graph)
    with caplog.at_level(logging.WARNING, logger='logocap_ros.backends'):
        for images in _frames(3):
            _assert_same(backend.infer({'images': images}), _reference(onnx_model, images))
    assert cudart.STATE.launches == 0 and cudart.STATE.executions == 3
    warned = [r for r in caplog.records if 'cannot be captured' in r.getMessage()]
    assert len(warned) == (0 if cuda_graph is False else 1), caplog.text
    backend.deactivate()
    assert not cudart.STATE.device_mem and not cudart.STATE.host_mem


def test_auto_takes_cuda_python_when_pytorch_sees_no_gpu(fake_gpu, monkeypatch):
    from logocap_ros.backends import tensorrt_backend
    torch = pytest.importorskip('torch', reason='checks the choice beside an installed torch')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    found_torch, cudart = tensorrt_backend.gpu_api('cuda:0')
    assert found_torch is None and cudart is fake_gpu[0]
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert tensorrt_backend.gpu_api('cuda:0') == (torch, None), 'PyTorch first where it has CUDA'


@pytest.mark.parametrize('device, devices, words', [
    ('cuda:1', 1, 'CUDA device 1 does not exist (1 visible)'),
    ('cuda', 0, 'cudaGetDeviceCount failed: cudaErrorNoDevice'),
    ('cpu', 1, "needs a CUDA device (device 'cpu'); use device 'cuda' or 'cuda:N'"),
])
def test_no_usable_device_is_one_line_naming_why(fake_gpu, tmp_path, device, devices, words):
    from logocap_ros.backends.base import BackendUnavailable
    from logocap_ros.backends.tensorrt_backend import TensorRTBackend
    fake_gpu[0].reset(devices=devices)
    with pytest.raises(BackendUnavailable) as info:
        TensorRTBackend(engine_path=tmp_path / 'x.engine', device=device,
                        cuda_api='cuda-python')
    assert words in str(info.value) and '\n' not in str(info.value), info.value


def test_neither_pytorch_cuda_nor_cuda_python_names_both_fixes(fake_gpu, monkeypatch, tmp_path):
    from logocap_ros.backends.base import BackendUnavailable
    from logocap_ros.backends.tensorrt_backend import TensorRTBackend
    for name in ('cuda', 'cuda.bindings', 'cuda.bindings.runtime', 'cuda.cudart'):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, 'torch', None)
    with pytest.raises(BackendUnavailable) as info:
        TensorRTBackend(engine_path=tmp_path / 'x.engine')
    text = str(info.value)
    assert 'PyTorch: not installed' in text and 'cuda-python: not installed' in text, text
    assert 'pip install cuda-python' in text and '\n' not in text


def _engine_sidecar(engine: Path, gpu_name: str = 'Fake Orin') -> None:
    """Write the engine cache's sidecar as logocap-build-engine would on the fake GPU."""
    from logocap_ros.backends.engine_cache import make_key, SIDECAR_FORMAT, sidecar_path
    key = make_key('cd' * 32, (1, 3) + HW, 'fp32', {'trt_version': '10.3.0',
                                                    'gpu_name': gpu_name,
                                                    'compute_capability': '8.7'})
    sidecar_path(engine).write_text(json.dumps({'format': SIDECAR_FORMAT,
                                                'key': key.to_json()}))


def test_engine_facts_come_from_cuda_python_without_pytorch(fake_gpu, monkeypatch, tmp_path):
    """Sidecar checks need the GPU's name and capability: cuda-python reports them too."""
    from logocap_ros.backends.base import BackendUnavailable
    from logocap_ros.backends.engine_cache import current_environment
    from logocap_ros.backends.tensorrt_backend import TensorRTBackend
    monkeypatch.setitem(sys.modules, 'torch', None)
    assert current_environment(0) == {'trt_version': '10.3.0', 'gpu_name': 'Fake Orin',
                                      'compute_capability': '8.7'}
    engine = tmp_path / 'other.engine'
    engine.write_bytes(b'not loaded')
    _engine_sidecar(engine, gpu_name='Jetson AGX Xavier')
    with pytest.raises(BackendUnavailable, match='the GPU differs') as info:
        TensorRTBackend(engine_path=engine).activate()
    assert 'logocap-build-engine' in str(info.value)
    cudart = fake_gpu[0]
    assert not cudart.STATE.streams and not cudart.STATE.device_mem, 'a refused start leaks'


@pytest.mark.slow
def test_infer_runs_an_engine_model_file_without_torch(tmp_path, onnx_model):
    """``logocap-infer --model <engine> --device cuda`` with no torch: ONNX Runtime's people.

    In a child process where ``import torch`` fails and the fake GPU modules are first on
    the path; the engine carries both sidecars (model facts, build environment).
    """
    import cv2
    from logocap_ros.backends import model_file
    from logocap_ros.core.preprocessing import letterbox_for
    image = np.random.default_rng(7).integers(0, 256, (60, 120, 3), np.uint8)
    assert tuple(letterbox_for(image.shape[:2], HW[0]).input_hw) == HW
    cv2.imwrite(str(tmp_path / 'img.png'), image)
    engine = _engine_file_writer()(tmp_path / 'w32.engine', onnx_model, (1, 3) + HW)
    info = dataclasses.replace(model_file.read_model_info(onnx_model), input_hw=HW,
                               input_size=HW[0])
    model_file.write_sidecar(engine, info)
    _engine_sidecar(engine)
    base = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(FAKES)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    runs = {}
    for name, args in (('engine', ['--model', str(engine), '--device', 'cuda']),
                       ('onnx', ['--model', str(onnx_model), '--input-size', str(HW[0])])):
        out = tmp_path / f'{name}.json'
        done = no_torch_env.tool('logocap-infer', *args, '--out', str(out),
                                 str(tmp_path / 'img.png'), torch=False, base_env=base)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[name] = json.loads(out.read_text())
    assert runs['engine'] and len(runs['engine']) == len(runs['onnx'])
    for got, want in zip(runs['engine'], runs['onnx']):
        np.testing.assert_allclose(got['keypoints'], want['keypoints'], atol=1e-3)
        assert abs(got['score'] - want['score']) < 1e-5


def _real_cudart():
    from logocap_ros.backends.cuda_python import device_count, import_cudart
    cudart = import_cudart()
    if cudart is None:
        pytest.skip('needs cuda-python (pip install cuda-python) to test the real bindings')
    return cudart, device_count(cudart)


def test_real_cuda_python_round_trip_or_a_clear_refusal():
    """The real bindings: copy through GPU memory where a GPU exists, else one-line refusal."""
    from logocap_ros.backends.base import BackendUnavailable
    from logocap_ros.backends.cuda_python import CudaDevice
    from logocap_ros.backends.tensorrt_backend import gpu_api
    cudart, count = _real_cudart()
    if count == 0:
        with pytest.raises(BackendUnavailable, match='cuda-python: cudaGetDeviceCount failed'):
            gpu_api('cuda', 'cuda-python')
        return
    cuda = CudaDevice(cudart, 0)
    try:
        sent = cuda.host_array((3, 5), np.float32)
        sent[...] = np.arange(15, dtype=np.float32).reshape(3, 5)
        back = cuda.host_array((3, 5), np.float32)
        address = cuda.device_alloc(sent.nbytes)
        cuda.upload(address, sent)
        cuda.download(back, address)
        cuda.synchronize()
        np.testing.assert_array_equal(back, sent)
    finally:
        assert cuda.close() is None


def test_fake_modules_stay_out_of_other_tests():
    """The fakes are never importable by accident (they would make TensorRT look present)."""
    done = subprocess.run([sys.executable, '-c', 'import importlib.util as u; '
                           "print(u.find_spec('tensorrt') is not None and "
                           "'fake_gpu' in u.find_spec('tensorrt').origin)"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == 'False', done.stdout + done.stderr
