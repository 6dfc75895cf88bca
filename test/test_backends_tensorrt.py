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


"""TensorRT engine cache and build policy, tested with fake environments (no GPU, no TensorRT).

The real TensorRT build and inference are covered by test_backends_gpu.py (GPU only).
"""

import json
import logging
import subprocess
import sys

from fake_tensorrt import FakeTrtRuntime
from logocap_ros.backends import build_engine, engine_cache
from logocap_ros.backends.base import BackendUnavailable, InferenceBackend
from logocap_ros.backends.engine_cache import (check_engine, EngineCache, EngineKey, make_key,
                                               sidecar_path)
from model_helpers import identity_onnx
import numpy as np
import pytest

ENV_A = {'trt_version': '10.3.0', 'gpu_name': 'NVIDIA H100 80GB HBM3',
         'compute_capability': '9.0'}
#: The real builder function (the ``fake_trt`` fixture replaces the module attribute).
REAL_BUILD = build_engine.build_serialized_engine
ENV_ORIN = {'trt_version': '10.3.0', 'gpu_name': 'Orin', 'compute_capability': '8.7'}


def _key(env=None, sha='a' * 64, shape=(1, 3, 512, 704), precision='fp16') -> EngineKey:
    return make_key(sha, shape, precision, env or ENV_A)


def test_key_json_round_trip():
    key = _key()
    assert EngineKey.from_json(json.loads(json.dumps(key.to_json()))) == key


def test_store_then_lookup_is_valid(tmp_path):
    cache = EngineCache(tmp_path)
    path = cache.store('w32-512x704', _key(), b'engine-bytes', {'build_seconds': 12.0})
    assert path.parent == tmp_path / 'engines' and path.read_bytes() == b'engine-bytes'
    record = json.loads(sidecar_path(path).read_text())
    assert record['build_seconds'] == 12.0 and record['engine_bytes'] == 12
    assert cache.lookup('w32-512x704', _key()) == (path, [])


@pytest.mark.parametrize('changed, words', [
    ({'env': dict(ENV_A, trt_version='10.7.0')}, 'TensorRT version differs (engine: 10.3.0'),
    ({'env': ENV_ORIN}, 'GPU differs (engine: NVIDIA H100 80GB HBM3; now: Orin)'),
    ({'sha': 'b' * 64}, 'ONNX model changed (engine: aaaaaaaaaaaa; now: bbbbbbbbbbbb)'),
    ({'precision': 'fp32'}, None),
])
def test_stale_or_foreign_engines_are_detected(tmp_path, changed, words):
    cache = EngineCache(tmp_path)
    cache.store('m', _key(), b'x')
    path, reasons = cache.lookup('m', _key(**changed))
    if words is None:   # another precision is another file, not yet built
        assert reasons == [f'no engine file at {path}']
    else:
        assert any(words in r for r in reasons), reasons
    if changed.get('env') is ENV_ORIN:
        assert any('compute capability differs' in r for r in reasons)


def test_unverifiable_engines_are_not_trusted(tmp_path):
    engine = tmp_path / 'e.engine'
    engine.write_bytes(b'x')
    assert 'cannot be verified' in check_engine(engine, _key())[0]
    sidecar_path(engine).write_text('{not json')
    assert 'cannot be verified' in check_engine(engine, _key())[0]
    sidecar_path(engine).write_text(json.dumps({'format': 99, 'key': _key().to_json()}))
    assert 'format 99' in check_engine(engine, _key())[0]
    sidecar_path(engine).write_text(json.dumps({'format': 1, 'key': {'precision': 'fp16'}}))
    assert check_engine(engine, _key()) == ['the sidecar is malformed']


def test_timing_cache_name_is_per_gpu_and_version(tmp_path):
    cache = EngineCache(tmp_path)
    a, b = cache.timing_cache_path(ENV_A), cache.timing_cache_path(ENV_ORIN)
    assert a != b and ' ' not in a.name and 'sm9.0' in a.name and 'trt10.3.0' in a.name


@pytest.mark.parametrize('reasons, force, on_stale, action', [
    ([], False, 'build', 'use'), ([], True, 'error', 'build'),
    (['x'], False, 'build', 'build'), (['x'], False, 'error', 'error')])
def test_decide(reasons, force, on_stale, action):
    assert build_engine.decide(reasons, force, on_stale) == action


class _FakeBuilds:
    """Stand-in for TensorRT: records builds, returns distinct engine bytes."""

    def __init__(self):
        self.calls = 0

    def __call__(self, onnx_path, precision, workspace_gb, timing_cache):
        self.calls += 1
        return f'engine {self.calls} {precision}'.encode(), {'io': []}


@pytest.fixture
def fake_trt(tmp_path, monkeypatch):
    """Return (onnx path, fake builder, environment dict); TensorRT and the GPU are faked."""
    pytest.importorskip('onnx')
    path = identity_onnx(tmp_path / 'w32-64x128.onnx', (64, 128),
                         {'logocap_ros.input_hw': '64x128'})
    env = dict(ENV_A)
    builds = _FakeBuilds()
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: object())
    monkeypatch.setattr(engine_cache, 'current_environment', lambda index=0: dict(env))
    monkeypatch.setattr(build_engine, 'build_serialized_engine', builds)
    return path, builds, env


def test_engine_is_built_once_then_reused(fake_trt, tmp_path, caplog):
    onnx_path, builds, _ = fake_trt
    caplog.set_level(logging.INFO, 'logocap_ros.backends')
    first = build_engine.ensure_engine(onnx_path, 'fp16', tmp_path / 'cache')
    assert builds.calls == 1 and first.read_bytes() == b'engine 1 fp16'
    assert 'building TensorRT fp16 engine' in caplog.text
    again = build_engine.ensure_engine(onnx_path, 'fp16', tmp_path / 'cache')
    assert again == first and builds.calls == 1
    assert 'using cached TensorRT engine' in caplog.text
    build_engine.ensure_engine(onnx_path, 'fp16', tmp_path / 'cache', force=True)
    assert builds.calls == 2


def test_foreign_engine_is_rebuilt_with_the_reason(fake_trt, tmp_path, caplog):
    onnx_path, builds, env = fake_trt
    build_engine.ensure_engine(onnx_path, 'fp16', tmp_path / 'cache')
    env.update(trt_version='10.7.0')
    with caplog.at_level(logging.WARNING, 'logocap_ros.backends'):
        build_engine.ensure_engine(onnx_path, 'fp16', tmp_path / 'cache')
    assert builds.calls == 2
    assert 'TensorRT version differs (engine: 10.3.0; now: 10.7.0)' in caplog.text


def test_stale_engine_reported_when_building_is_not_allowed(fake_trt, tmp_path):
    onnx_path, builds, env = fake_trt
    build_engine.ensure_engine(onnx_path, 'fp32', tmp_path / 'cache')
    env.update(ENV_ORIN)
    with pytest.raises(BackendUnavailable) as info:
        build_engine.ensure_engine(onnx_path, 'fp32', tmp_path / 'cache', on_stale='error')
    text = str(info.value)
    assert 'GPU differs' in text and f'logocap-build-engine --onnx {onnx_path} --fp32' in text
    assert builds.calls == 1


def test_changed_model_invalidates_the_engine(fake_trt, tmp_path):
    from logocap_ros.backends.export_onnx import write_metadata
    onnx_path, builds, _ = fake_trt
    build_engine.ensure_engine(onnx_path, 'fp16', tmp_path / 'cache')
    write_metadata(onnx_path, {'logocap_ros.note': 're-exported'})
    with pytest.raises(BackendUnavailable, match='ONNX model changed'):
        build_engine.ensure_engine(onnx_path, 'fp16', tmp_path / 'cache', on_stale='error')


def test_import_without_tensorrt_and_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'tensorrt', None)
    import logocap_ros.backends.tensorrt_backend  # noqa: F401  (must import without it)
    with pytest.raises(BackendUnavailable, match='pip install tensorrt.*JetPack'):
        build_engine.import_tensorrt()


def test_build_engine_cli_without_tensorrt_fails_in_one_line(tmp_path):
    code = ('import sys; sys.modules["tensorrt"] = None; '
            'from logocap_ros.tools.build_engine_cli import main; '
            f'sys.exit(main(["--onnx", {str(tmp_path / "m.onnx")!r}]))')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('logocap-build-engine: error:')
    assert 'pip install tensorrt' in lines[0]


class _FakeFlags:
    """Stand-in for ``tensorrt.NetworkDefinitionCreationFlag`` / ``BuilderFlag``."""

    def __init__(self, **members):
        self.__dict__.update(members)


def _fake_trt(strong: bool, fp16_flag: bool, version='10.3.0'):
    class Trt:
        __version__ = version
        NetworkDefinitionCreationFlag = _FakeFlags(
            **({'STRONGLY_TYPED': 1} if strong else {}), EXPLICIT_BATCH=0)
        BuilderFlag = _FakeFlags(**({'FP16': 0} if fp16_flag else {}))
    return Trt


@pytest.mark.parametrize('strong, fp16_flag, net_dtype, precision, expect', [
    (True, True, 'fp16', 'fp16', True),       # preferred: strongly typed half network
    (True, True, 'fp32', 'fp16', False),      # FP16 flag + FP32 constraints on refinement
    (True, False, 'fp32', 'fp16', 'half-network'),
    (True, True, 'fp16', 'fp32', 'without --half-network'),
    (False, True, 'fp16', 'fp16', False),
    (True, True, 'fp32', 'fp32', True)])
def test_typing_mode_per_tensorrt_and_export(fake_trt, strong, fp16_flag, net_dtype,
                                             precision, expect):
    from logocap_ros.backends.export_onnx import write_metadata
    onnx_path = fake_trt[0]
    write_metadata(onnx_path, {'logocap_ros.network_dtype': net_dtype})
    trt = _fake_trt(strong, fp16_flag)
    if isinstance(expect, str):
        with pytest.raises(build_engine.EngineBuildError, match=expect):
            build_engine._strongly_typed(trt, onnx_path, precision)
    else:
        assert build_engine._strongly_typed(trt, onnx_path, precision) is expect
        flags = build_engine._network_flags(trt, expect)
        assert flags == (2 if expect else 0)
        assert build_engine._network_flags(_fake_trt(strong, fp16_flag, '8.6.1'), False) == 1


class _FakeTensor:
    def __init__(self, name, dtype='float32'):
        self.name, self.shape, self.dtype = name, (1, 3, 64, 128), dtype


class _FakeLayer:
    def __init__(self, name, dtype='float32'):
        self.name, self.num_outputs, self.precision = name, 1, None
        self._out = _FakeTensor(name + ':0', dtype)
        self.output_types = {}

    def get_output(self, k):
        return self._out

    def set_output_type(self, k, dtype):
        self.output_types[k] = dtype


class _FakeNetwork:
    def __init__(self, flags):
        self.flags = flags
        self.layers = [_FakeLayer('/backbone/conv1/Conv'), _FakeLayer('/TopK', 'int32'),
                       _FakeLayer('/Mul_3')]
        self.num_layers, self.num_inputs, self.num_outputs = 3, 1, 1

    def get_layer(self, i):
        return self.layers[i]

    def get_input(self, i):
        return _FakeTensor('images')

    def get_output(self, i):
        return _FakeTensor('poses')


class _FakeConfig:
    def __init__(self):
        self.flags, self.cleared, self.pool, self.timing = set(), set(), None, None

    def set_flag(self, flag):
        self.flags.add(flag)

    def clear_flag(self, flag):
        self.cleared.add(flag)

    def set_memory_pool_limit(self, pool, size):
        self.pool = size

    def create_timing_cache(self, data):
        return _FakeTimingCache(data)

    def set_timing_cache(self, cache, ignore_mismatch):
        self.timing = cache
        return True


class _FakeTimingCache:
    def __init__(self, data):
        self.data = data

    def serialize(self):
        return self.data + b'+timing'


def _fake_tensorrt_module(parse_ok=True, build_ok=True, version='10.3.0'):
    """Return a stand-in ``tensorrt`` module; ``version`` 11.x has the 11.x API.

    TensorRT 11 removed ``NetworkDefinitionCreationFlag.EXPLICIT_BATCH`` and the precision
    builder flags (``BuilderFlag.FP16``, ``PREFER_PRECISION_CONSTRAINTS``); every network is
    strongly typed (``STRONGLY_TYPED`` is accepted and ignored).
    """
    import types
    trt = types.SimpleNamespace(__version__=version, float32='float32')
    if version.startswith('11.'):
        trt.NetworkDefinitionCreationFlag = _FakeFlags(STRONGLY_TYPED=5)
        trt.BuilderFlag = _FakeFlags(TF32='TF32')
    else:
        trt.NetworkDefinitionCreationFlag = _FakeFlags(STRONGLY_TYPED=5, EXPLICIT_BATCH=0)
        trt.BuilderFlag = _FakeFlags(FP16='FP16', TF32='TF32',
                                     PREFER_PRECISION_CONSTRAINTS='PREFER')
    trt.MemoryPoolType = _FakeFlags(WORKSPACE='WS')
    trt.Logger = type('Logger', (), {'WARNING': 2, '__init__': lambda self, level: None})
    built = {}

    class Builder:
        def __init__(self, logger):
            pass

        def create_network(self, flags):
            built['network'] = _FakeNetwork(flags)
            return built['network']

        def create_builder_config(self):
            built['config'] = _FakeConfig()
            return built['config']

        def build_serialized_network(self, network, config):
            return b'PLAN' if build_ok else None

    class OnnxParser:
        num_errors = 1

        def __init__(self, network, logger):
            pass

        def parse_from_file(self, path):
            return parse_ok

        def get_error(self, i):
            return 'In node 7 (Conv): unsupported'

    trt.Builder, trt.OnnxParser = Builder, OnnxParser
    return trt, built


@pytest.mark.parametrize('net_dtype, precision', [('fp32', 'fp16'), ('fp16', 'fp16'),
                                                  ('fp32', 'fp32')])
def test_build_path_with_a_fake_tensorrt(fake_trt, tmp_path, monkeypatch, net_dtype,
                                         precision):
    from logocap_ros.backends.export_onnx import write_metadata
    onnx_path = fake_trt[0]
    write_metadata(onnx_path, {'logocap_ros.network_dtype': net_dtype})
    trt, built = _fake_tensorrt_module()
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: trt)
    timing = tmp_path / 'timing.cache'
    plan, info = REAL_BUILD(onnx_path, precision, 1.5, timing)
    assert plan == b'PLAN' and timing.read_bytes() == b'+timing'
    assert [io['name'] for io in info['io']] == ['images', 'poses']
    config, layers = built['config'], built['network'].layers
    assert config.pool == int(1.5 * 2**30)
    weak_fp16 = net_dtype == 'fp32' and precision == 'fp16'
    assert info['strongly_typed'] is not weak_fp16
    assert ('FP16' in config.flags) is weak_fp16
    assert ('TF32' in config.cleared) is (precision == 'fp32')
    # FP16 flag route: refinement float layers constrained to FP32, network/int layers not
    assert [layer.precision for layer in layers] == (
        [None, None, 'float32'] if weak_fp16 else [None, None, None])


def test_build_failures_raise_with_tensorrt_messages(fake_trt, monkeypatch):
    trt, _ = _fake_tensorrt_module(parse_ok=False)
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: trt)
    with pytest.raises(build_engine.EngineBuildError, match='In node 7 .Conv.: unsupported'):
        REAL_BUILD(fake_trt[0], 'fp32')
    trt, _ = _fake_tensorrt_module(build_ok=False)
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: trt)
    with pytest.raises(build_engine.EngineBuildError, match='failed to build'):
        REAL_BUILD(fake_trt[0], 'fp32')


@pytest.mark.parametrize('net_dtype, precision', [('fp16', 'fp16'), ('fp32', 'fp32')])
def test_build_path_with_a_fake_tensorrt_11(fake_trt, tmp_path, monkeypatch, net_dtype,
                                            precision):
    """Build with TensorRT 11 (no EXPLICIT_BATCH, no BuilderFlag.FP16): strongly typed."""
    from logocap_ros.backends.export_onnx import write_metadata
    onnx_path = fake_trt[0]
    write_metadata(onnx_path, {'logocap_ros.network_dtype': net_dtype})
    trt, built = _fake_tensorrt_module(version='11.4.0')
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: trt)
    plan, info = REAL_BUILD(onnx_path, precision, None, tmp_path / 'timing.cache')
    assert plan == b'PLAN' and info['strongly_typed'] is True
    assert built['network'].flags == 1 << 5         # STRONGLY_TYPED only
    assert built['config'].flags == set()            # no precision flag set
    assert ('TF32' in built['config'].cleared) is (precision == 'fp32')
    assert [layer.precision for layer in built['network'].layers] == [None, None, None]


def test_tensorrt_11_refuses_a_weakly_typed_fp16_build_with_the_fix(fake_trt, monkeypatch):
    trt, _ = _fake_tensorrt_module(version='11.0.0')
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: trt)
    with pytest.raises(build_engine.EngineBuildError, match='--half-network'):
        REAL_BUILD(fake_trt[0], 'fp16')


@pytest.mark.parametrize('strong', [True, False])
def test_network_flags_of_tensorrt_11(strong):
    trt = types_namespace(__version__='11.1.0', NetworkDefinitionCreationFlag=_FakeFlags(
        **({'STRONGLY_TYPED': 5} if strong else {})))
    assert build_engine._network_flags(trt, False) == 0
    if strong:
        assert build_engine._network_flags(trt, True) == 1 << 5


def types_namespace(**kwargs):
    import types
    return types.SimpleNamespace(**kwargs)


# ------------------------------------------------------- engine build at activation, fallback
class _FakeDevice:
    """Stand-in for ``torch.cuda.device``: records which device each thread made current."""

    entered = []

    def __init__(self, device):
        self.index = getattr(device, 'index', device)

    def __enter__(self):
        import threading
        _FakeDevice.entered.append((self.index, threading.current_thread().name))

    def __exit__(self, *exc):
        return False


@pytest.fixture
def fake_trt_backend(fake_trt, monkeypatch):
    """Fake CUDA, the TensorRT runtime, the export (records dynconv) and engine loading."""
    import torch
    from logocap_ros.backends import export_onnx, tensorrt_backend
    onnx_path, builds, _ = fake_trt
    exports, loads = [], []

    def fake_cached_onnx(net, hw, flip_test, **kw):
        exports.append(dict(kw, hw=hw))
        return onnx_path

    def fake_load(self, path):
        loads.append(path)
        return path
    monkeypatch.setattr(tensorrt_backend, 'import_tensorrt', lambda: FakeTrtRuntime)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'Stream', lambda device=None: object())
    monkeypatch.setattr(torch.cuda, 'empty_cache', lambda: None)
    monkeypatch.setattr(torch.cuda, 'device', _FakeDevice)
    monkeypatch.setattr(export_onnx, 'cached_onnx', fake_cached_onnx)
    monkeypatch.setattr(tensorrt_backend.TensorRTBackend, '_load', fake_load)
    return builds, exports, loads


def test_engine_is_built_at_activation_not_on_the_first_frame(fake_trt_backend, tmp_path):
    from logocap_ros.backends.registry import open_backend
    builds, exports, loads = fake_trt_backend
    backend = open_backend('tensorrt', object(), device='cuda', precision='fp16',
                           cache_dir=str(tmp_path / 'cache'), prepare_hw=[(64, 128)])
    assert backend.is_active and builds.calls == 1 and len(loads) == 1
    assert exports[0]['hw'] == (64, 128)
    assert exports[0]['dynconv'] == 'shifted', 'TensorRT default: Pad/Slice/Mul/Add form'
    assert exports[0]['network_dtype'] == 'fp16'


def test_conv_dynamic_convolution_is_selectable(fake_trt_backend, tmp_path):
    from logocap_ros.backends.registry import open_backend
    _, exports, _ = fake_trt_backend
    open_backend('tensorrt', object(), device='cuda', dynconv='conv',
                 cache_dir=str(tmp_path / 'cache'), prepare_hw=[(64, 128)])
    assert exports[0]['dynconv'] == 'conv'


class _WorkingOnnx(InferenceBackend):
    """A backend that starts and returns nothing: where 'auto' falls back to."""

    name = 'onnxruntime'

    def __init__(self, *_a, **_k):
        super().__init__()

    def _activate(self):
        pass

    def _deactivate(self):
        pass

    def _infer(self, images):
        return {}


def _failing_build(*_a, **_k):
    raise build_engine.EngineBuildError(
        'TensorRT could not parse m.onnx: In node 7 (Conv): kernel weights must be\n'
        'initializers')


def test_explicit_tensorrt_fails_at_start_with_one_line(fake_trt_backend, tmp_path,
                                                        monkeypatch):
    from logocap_ros.backends.registry import open_backend
    monkeypatch.setattr(build_engine, 'build_serialized_engine', _failing_build)
    with pytest.raises(BackendUnavailable) as info:
        open_backend('tensorrt', object(), device='cuda', cache_dir=str(tmp_path / 'c'),
                     prepare_hw=[(64, 128)])
    text = str(info.value)
    assert '\n' not in text
    assert text.startswith("backend 'tensorrt' cannot start on cuda (fp32): TensorRT could "
                           'not parse m.onnx: In node 7 (Conv)')


def test_auto_falls_back_when_the_engine_build_fails(fake_trt_backend, tmp_path, monkeypatch,
                                                     caplog):
    from logocap_ros.backends import registry
    monkeypatch.setattr(build_engine, 'build_serialized_engine', _failing_build)
    monkeypatch.setattr(registry, 'auto_candidates', lambda dev: ['tensorrt', 'onnxruntime'])
    monkeypatch.setitem(registry.BACKENDS, 'onnxruntime', _WorkingOnnx)
    with caplog.at_level(logging.WARNING, 'logocap_ros.backends'):
        backend = registry.open_backend('auto', object(), device='cuda', prepare_hw=[(64, 128)],
                                        cache_dir=str(tmp_path / 'c'))
    assert isinstance(backend, _WorkingOnnx) and backend.is_active
    lines = [r.getMessage() for r in caplog.records if "backend 'auto'" in r.getMessage()]
    assert len(lines) == 1 and '\n' not in lines[0]
    assert lines[0].startswith("backend 'auto': tensorrt cannot start here (TensorRT could "
                               'not parse m.onnx: In node 7 (Conv)')
    assert lines[0].endswith('trying onnxruntime')


# --------------------------------------- issue 20: TensorRT review (fake TensorRT 10 and 11)
class _SlowBuilds(_FakeBuilds):
    """A build that blocks until ``release`` is set; records the thread it ran in."""

    def __init__(self):
        import threading
        super().__init__()
        self.release, self.threads = threading.Event(), []

    def __call__(self, onnx_path, precision, workspace_gb, timing_cache, **options):
        import threading
        self.threads.append(threading.current_thread().name)
        self.options = options
        assert self.release.wait(30), 'the test never released the slow build'
        return super().__call__(onnx_path, precision, workspace_gb, timing_cache)


def _per_size_onnx(onnx_path, monkeypatch):
    """Make the faked export return one ONNX file per input size (as the real cache does)."""
    import shutil
    from logocap_ros.backends import export_onnx

    def cached_onnx(net, hw, flip_test, **kw):
        path = onnx_path.with_name(f'w32-{hw[0]}x{hw[1]}.onnx')
        if not path.exists():
            shutil.copy(onnx_path, path)
            export_onnx.write_metadata(path, {'logocap_ros.input_hw': f'{hw[0]}x{hw[1]}'})
        return path
    monkeypatch.setattr(export_onnx, 'cached_onnx', cached_onnx)


def _fake_engine_load(loads):
    def load(self, path):
        loads.append(path)
        hw = (64, 128) if len(loads) == 1 else (64, 192)
        self._engines[hw] = path
        return path
    return load


def test_new_size_is_built_in_the_background_never_in_the_caller(
        fake_trt_backend, tmp_path, monkeypatch):
    """Finding 1: an engine for a size met after start never builds in the frame thread."""
    import threading
    import time
    from logocap_ros.backends import tensorrt_backend
    from logocap_ros.backends.base import BackendBusy
    from logocap_ros.backends.registry import open_backend
    _, _, loads = fake_trt_backend
    _per_size_onnx(_fixture_onnx(tmp_path), monkeypatch)
    slow = _SlowBuilds()
    slow.release.set()                      # the start-up build (prepare_hw) is not slow
    monkeypatch.setattr(build_engine, 'build_serialized_engine', slow)
    monkeypatch.setattr(tensorrt_backend.TensorRTBackend, '_load', _fake_engine_load(loads))
    backend = open_backend('tensorrt', object(), device='cuda', precision='fp16',
                           cache_dir=str(tmp_path / 'c'), prepare_hw=[(64, 128)],
                           background_builds=True)
    assert slow.threads == [threading.current_thread().name]   # at activation: in the caller
    slow.release.clear()
    t0 = time.monotonic()
    with pytest.raises(BackendBusy) as busy:
        backend._engine_for((64, 192))
    assert time.monotonic() - t0 < 5.0
    assert busy.value.reason == 'building_engine'
    assert busy.value.progress().startswith('building TensorRT engine for input 64x192 (')
    assert busy.value.progress().endswith(' s so far)')
    with pytest.raises(BackendBusy):        # the next frame: still building, no second build
        backend._engine_for((64, 192))
    slow.release.set()
    backend._builds[(64, 192)].thread.join(10)
    assert len(slow.threads) == 2 and slow.threads[1] != threading.current_thread().name
    assert slow.threads[1].startswith('logocap_trt_build_64x192')
    assert backend._engine_for((64, 192)) == loads[-1] and builds_of(slow) == 2
    assert backend._engine_for((64, 128)) == loads[0]


def _fixture_onnx(tmp_path):
    return tmp_path / 'w32-64x128.onnx'


def builds_of(builder) -> int:
    return builder.calls


def test_a_failed_background_build_fails_its_frames_at_once(fake_trt_backend, tmp_path,
                                                            monkeypatch):
    from logocap_ros.backends.registry import open_backend
    _per_size_onnx(_fixture_onnx(tmp_path), monkeypatch)
    backend = open_backend('tensorrt', object(), device='cuda', cache_dir=str(tmp_path / 'c'),
                           prepare_hw=[(64, 128)], background_builds=True)
    monkeypatch.setattr(build_engine, 'build_serialized_engine', _failing_build)
    with pytest.raises(Exception):
        backend._engine_for((64, 192))
    backend._builds[(64, 192)].thread.join(10)
    with pytest.raises(RuntimeError, match='64x192 failed to build: TensorRT could not parse'):
        backend._engine_for((64, 192))


def test_without_background_builds_the_library_still_builds_inline(
        fake_trt_backend, tmp_path, monkeypatch):
    import threading
    from logocap_ros.backends.registry import open_backend
    builds, _, loads = fake_trt_backend
    _per_size_onnx(_fixture_onnx(tmp_path), monkeypatch)
    backend = open_backend('tensorrt', object(), device='cuda', cache_dir=str(tmp_path / 'c'),
                           prepare_hw=[(64, 128)])
    backend._engine_for((64, 192))
    assert builds.calls == 2 and len(loads) == 2 and not backend._builds
    assert threading.current_thread() is threading.main_thread()


def test_prebuilt_engine_is_used_as_is(fake_trt_backend, tmp_path):
    """Finding 2: a given engine is loaded without export or build."""
    from logocap_ros.backends.registry import open_backend
    builds, exports, loads = fake_trt_backend
    engine = tmp_path / 'prebuilt.engine'
    engine.write_bytes(b'PLAN')
    open_backend('tensorrt', object(), device='cuda', precision='fp16', engine_path=str(engine),
                 prepare_hw=[(64, 128)], background_builds=True)
    assert loads == [engine] and builds.calls == 0 and exports == []


def test_node_parameters_reach_the_tensorrt_backend():
    """Finding 2: engine_path / onnx_path / workspace_gb node parameters, background builds."""
    from logocap_ros.backends.registry import _pick, _TRT_KEYS
    from logocap_ros.ros.estimator_loader import backend_options
    from logocap_ros.ros.parameters import NodeConfig
    assert backend_options(NodeConfig()) == {'background_builds': True}
    options = backend_options(NodeConfig(
        engine_path='/e/w32.engine', onnx_path='/o/w32.onnx', workspace_gb=2.5))
    assert options == {'background_builds': True, 'engine_path': '/e/w32.engine',
                       'onnx_path': '/o/w32.onnx', 'workspace_gb': 2.5}
    assert _pick(options, _TRT_KEYS) == options


def test_torch_cache_released_and_device_selected_before_the_build(fake_trt, tmp_path,
                                                                   monkeypatch):
    """Findings 2 and 7: empty_cache after the (GPU-traced) export, build on device N."""
    import torch
    calls = []
    _FakeDevice.entered.clear()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'empty_cache', lambda: calls.append('empty_cache'))
    monkeypatch.setattr(torch.cuda, 'device', _FakeDevice)
    onnx_path, builds, _ = fake_trt

    def build(*args, **kw):
        calls.append(('build', _FakeDevice.entered[-1][0]))
        return builds(*args)
    monkeypatch.setattr(build_engine, 'build_serialized_engine', build)
    build_engine.ensure_engine(onnx_path, 'fp16', tmp_path / 'c', device_index=1)
    assert calls == ['empty_cache', ('build', 1)]


def test_device_selection_without_torch_needs_cuda_python(monkeypatch):
    """Finding 7: without PyTorch, device N > 0 is selected through cuda-python or refused."""
    monkeypatch.setitem(sys.modules, 'torch', None)
    monkeypatch.setitem(sys.modules, 'cuda', None)
    monkeypatch.setitem(sys.modules, 'cuda.bindings', None)
    with build_engine.on_device(0):
        pass
    with pytest.raises(build_engine.EngineBuildError, match='CUDA_VISIBLE_DEVICES=2'):
        with build_engine.on_device(2):
            pass


@pytest.mark.parametrize('name, fp32', [
    ('/joints_mlp/an1/attn_weights/ReduceMean', True),
    ('/joints_mlp/an1/attn_weights/ReduceMean_1', True),
    ('/joints_mlp/an1/attn_weights/Sub', True),
    ('/joints_mlp/an1/attn_weights/Add', True),
    ('/joints_mlp/an1/attn_weights/Sqrt', True),
    ('/joints_mlp/an1/attn_weights/attention/attention.0/Conv', False),
    ('/joints_mlp/an1/Mul', False),
    ('/backbone/conv1/Conv', False),
    ('/TopK', True)])
def test_weak_fp16_holds_the_attentive_norm_statistics_in_fp32(name, fp32):
    """Finding 3: the statistics under /joints_mlp/ are held to FP32 in a weak FP16 build."""
    assert build_engine.keeps_fp32(name) is fp32


def test_weak_fp16_build_of_an_fp32_export_constrains_the_statistics(fake_trt, monkeypatch):
    """Finding 3, through the build: fake TensorRT 10, FP32 export, FP16 engine."""
    from logocap_ros.backends.export_onnx import write_metadata
    write_metadata(fake_trt[0], {'logocap_ros.network_dtype': 'fp32'})
    trt, built = _fake_tensorrt_module(version='10.3.0')
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: trt)
    real_network = _FakeNetwork.__init__

    def network_with_statistics(self, flags):
        real_network(self, flags)
        self.layers.append(_FakeLayer('/joints_mlp/an1/attn_weights/ReduceMean'))
        self.layers.append(_FakeLayer('/joints_mlp/an1/attn_weights/attention/Conv'))
        self.num_layers = len(self.layers)
    monkeypatch.setattr(_FakeNetwork, '__init__', network_with_statistics)
    REAL_BUILD(fake_trt[0], 'fp16')
    assert 'FP16' in built['config'].flags
    assert [layer.precision for layer in built['network'].layers] == [
        None, None, 'float32', 'float32', None]


def test_tensorrt_11_is_strongly_typed_even_without_the_flag(fake_trt, monkeypatch):
    """Finding 8: TensorRT >= 11 is strongly typed; no STRONGLY_TYPED/FP16 attribute needed."""
    from logocap_ros.backends.export_onnx import write_metadata
    write_metadata(fake_trt[0], {'logocap_ros.network_dtype': 'fp16'})
    trt, built = _fake_tensorrt_module(version='11.2.0')
    trt.NetworkDefinitionCreationFlag = _FakeFlags()
    trt.BuilderFlag = _FakeFlags(FP16='FP16', TF32='TF32')   # a leftover FP16 is ignored
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: trt)
    plan, info = REAL_BUILD(fake_trt[0], 'fp16')
    assert info['strongly_typed'] is True and built['network'].flags == 0
    assert 'FP16' not in built['config'].flags
    write_metadata(fake_trt[0], {'logocap_ros.network_dtype': 'fp32'})
    with pytest.raises(build_engine.EngineBuildError, match='--half-network'):
        REAL_BUILD(fake_trt[0], 'fp16')


def test_auto_falls_back_when_tensorrt_lacks_an_attribute(
        fake_trt_backend, tmp_path, monkeypatch):
    """Finding 8: an AttributeError from a TensorRT API gap makes 'auto' fall back."""
    from logocap_ros.backends import registry

    def no_fp16_flag(*_a, **_k):
        raise AttributeError("type object 'BuilderFlag' has no attribute 'FP16'")
    monkeypatch.setattr(build_engine, 'build_serialized_engine', no_fp16_flag)
    monkeypatch.setattr(registry, 'auto_candidates', lambda dev: ['tensorrt', 'onnxruntime'])
    monkeypatch.setitem(registry.BACKENDS, 'onnxruntime', _WorkingOnnx)
    backend = registry.open_backend('auto', object(), device='cuda', prepare_hw=[(64, 128)],
                                    cache_dir=str(tmp_path / 'c'))
    assert isinstance(backend, _WorkingOnnx)
    with pytest.raises(BackendUnavailable, match='BuilderFlag'):
        registry.open_backend('tensorrt', object(), device='cuda', prepare_hw=[(64, 128)],
                              cache_dir=str(tmp_path / 'c'))


@pytest.mark.parametrize('version', ['10.3.0', '11.2.0'])
def test_one_tensorrt_logger_forwarding_to_python_logging(version, monkeypatch, caplog):
    """Finding 9: builder and runtime share one logger; it forwards to logging."""
    import types

    class ILogger:
        Severity = types.SimpleNamespace(INTERNAL_ERROR=0, ERROR=1, WARNING=2, INFO=3,
                                         VERBOSE=4)

        def __init__(self):
            pass
    trt, _ = _fake_tensorrt_module(version=version)
    trt.ILogger = ILogger
    first = build_engine.trt_logger(trt)
    assert build_engine.trt_logger(trt) is first and isinstance(first, ILogger)
    with caplog.at_level(logging.DEBUG, 'logocap_ros.backends.tensorrt'):
        first.log(ILogger.Severity.ERROR, 'bad thing')
        first.log(ILogger.Severity.VERBOSE, 'detail')
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert levels == [(logging.ERROR, 'TensorRT: bad thing'), (logging.DEBUG, 'TensorRT: detail')]
    from logocap_ros.backends import tensorrt_backend
    runtime_loggers = []
    trt.Runtime = lambda logger: runtime_loggers.append(logger)
    monkeypatch.setattr(tensorrt_backend, 'import_tensorrt', lambda: trt)
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: trt)
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'Stream', lambda device=None: object())
    backend = tensorrt_backend.TensorRTBackend(engine_path='x.engine')
    monkeypatch.setattr(backend, '_fixed_engine_path', lambda: None)
    backend._activate()
    assert runtime_loggers == [first]
    import inspect
    assert 'trt.Logger(' not in inspect.getsource(tensorrt_backend)


def test_optimization_level_reaches_the_builder(fake_trt, tmp_path, monkeypatch):
    """Finding 6: gpu_checks builds at a lower builder_optimization_level."""
    trt, built = _fake_tensorrt_module()
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: trt)
    REAL_BUILD(fake_trt[0], 'fp32', optimization_level=1)
    assert built['config'].builder_optimization_level == 1
    REAL_BUILD(fake_trt[0], 'fp32')
    assert not hasattr(built['config'], 'builder_optimization_level')


def test_onnxruntime_fp16_runs_the_half_network_export(monkeypatch):
    """Finding 4: ORT's TensorRT EP FP16 uses the half-network export, not trt_fp16_enable."""
    pytest.importorskip('onnxruntime')
    from logocap_ros.backends import cache, export_onnx, onnxruntime_backend
    requested = []
    monkeypatch.setattr(onnxruntime_backend, 'select_providers', lambda *a, **k: ['CPU'])
    monkeypatch.setattr(cache, 'weights_sha256', lambda net: 'd' * 64)
    monkeypatch.setattr(export_onnx, 'cached_onnx',
                        lambda net, hw, flip, **kw: requested.append(kw) or 'x.onnx')
    for precision in ('fp16', 'fp32'):
        backend = onnxruntime_backend.OnnxRuntimeBackend(object(), device='cuda',
                                                         precision=precision)
        backend._export((64, 128))
    assert [kw['network_dtype'] for kw in requested] == ['fp16', 'fp32']


# ---------------------------------------------- the hot path, on CPU tensors with fakes
class _HotEngine:
    """A fake deserialized engine: (1, 3, 8, 16) input, packed outputs of 5 people."""

    num_io_tensors = 4
    names = ('images', 'poses', 'scores', 'centers')
    shapes = {'images': (1, 3, 8, 16), 'poses': (5, 17, 3), 'scores': (5,), 'centers': (5, 3)}

    def __init__(self, executions):
        self.executions = executions

    def get_tensor_name(self, i):
        return self.names[i]

    def get_tensor_shape(self, name):
        return self.shapes[name]

    def get_tensor_dtype(self, name):
        return 'f32'

    def create_execution_context(self):
        return _HotContext(self)


class _HotContext:
    """Writes results through the raw addresses it was given, as TensorRT does."""

    def __init__(self, engine):
        self.engine, self.addresses = engine, {}

    def set_tensor_address(self, name, address):
        self.addresses[name] = address

    def execute_async_v3(self, stream):
        import ctypes
        shapes = self.engine.shapes

        def view(name):
            count = int(np.prod(shapes[name]))
            buf = (ctypes.c_float * count).from_address(self.addresses[name])
            return np.frombuffer(buf, np.float32).reshape(shapes[name])
        mean = float(view('images').mean())
        view('poses')[...] = mean
        view('scores')[...] = np.arange(5) + mean
        view('centers')[...] = -mean
        self.engine.executions.append(stream)
        return True


class _HotStream:
    cuda_stream = 1234

    def __init__(self):
        self.syncs = 0

    def synchronize(self):
        self.syncs += 1


def _hot_backend(monkeypatch, capture_ok=True, cuda_graph=True):
    import contextlib
    import types
    import torch
    from logocap_ros.backends import tensorrt_backend
    executions, graphs = [], []

    class Graph:
        def __init__(self):
            self.replays = 0
            graphs.append(self)

        def replay(self):
            self.replays += 1
            self.run()

    @contextlib.contextmanager
    def capture(graph, stream=None):
        calls_before = len(executions)
        yield
        del executions[calls_before:]             # captured (or refused), not run
        if not capture_ok:
            raise RuntimeError('operation not permitted when stream is capturing')
        ctx = backend._engines[(8, 16)].context
        graph.run = lambda: ctx.execute_async_v3(_HotStream.cuda_stream)

    trt = types.SimpleNamespace(__version__='10.3.0', nptype=lambda dtype: np.float32)
    monkeypatch.setattr(tensorrt_backend, 'import_tensorrt', lambda: trt)
    monkeypatch.setattr(tensorrt_backend, 'pinned_empty',
                        lambda torch_, shape, dtype: torch.zeros(shape, dtype=dtype))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'stream', lambda s: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, 'CUDAGraph', Graph)
    monkeypatch.setattr(torch.cuda, 'graph', capture)
    backend = tensorrt_backend.TensorRTBackend(engine_path='x.engine', cuda_graph=cuda_graph)
    backend.device = torch.device('cpu')    # CPU tensors stand in for CUDA memory
    runtime = types.SimpleNamespace(deserialize_cuda_engine=lambda data: _HotEngine(executions))
    engine = tensorrt_backend._Engine(trt, runtime, _FakePath(), backend.device)
    backend._engines[(8, 16)] = engine
    backend._stream = _HotStream()
    backend.is_active = True
    return backend, executions, graphs


class _FakePath:
    name = 'x.engine'

    def read_bytes(self):
        return b'PLAN'


@pytest.mark.parametrize('capture_ok', [True, False])
def test_hot_path_one_upload_one_packed_download_one_sync_graph_replay(monkeypatch,
                                                                       capture_ok):
    """Pinned reused input, outputs packed in one buffer, one sync, CUDA graph per shape."""
    backend, executions, graphs = _hot_backend(monkeypatch, capture_ok)
    engine = backend._engines[(8, 16)]
    host_input = engine.host_input
    for frame in range(4):
        images = np.full((1, 3, 8, 16), float(frame), np.float32)
        out = backend.infer({'images': images})
        assert out['poses'].shape == (5, 17, 3) and np.all(out['poses'] == frame)
        np.testing.assert_array_equal(out['scores'], np.arange(5) + frame)
        assert np.all(out['centers'] == -frame) and out['scores'].dtype == np.float32
        assert backend._stream.syncs == frame + 1          # one synchronisation per frame
        assert engine.host_input is host_input               # the pinned buffer is reused
    previous = out['poses'].copy()
    backend.infer({'images': np.zeros((1, 3, 8, 16), np.float32)})
    np.testing.assert_array_equal(out['poses'], previous)  # results are not views
    ptrs = sorted(engine.context.addresses[n] for n in ('poses', 'scores', 'centers'))
    base = engine.packed.data_ptr()
    assert all(base <= p < base + engine.packed.numel() for p in ptrs)   # one packed buffer
    assert all((p - base) % 256 == 0 for p in ptrs)
    if capture_ok:   # frame 1 eager, frame 2 captured, every later frame a replay
        assert len(graphs) == 1 and graphs[0].replays == 4 and len(executions) == 5
    else:
        assert engine.graph_failed and engine.graph is None and len(executions) == 5


def test_hot_path_without_cuda_graph_runs_eagerly(monkeypatch):
    backend, executions, graphs = _hot_backend(monkeypatch, cuda_graph=False)
    for _ in range(3):
        backend.infer({'images': np.ones((1, 3, 8, 16), np.float32)})
    assert graphs == [] and len(executions) == 3


def test_device_preprocessing_feeds_the_engine_the_cpu_preprocessed_input(monkeypatch):
    """GPU preprocessing for TensorRT (here on CPU tensors): same input as the CPU path."""
    from logocap_ros.core import preprocessing
    monkeypatch.setitem(_HotEngine.shapes, 'images', (1, 3, 64, 128))
    backend, executions, _ = _hot_backend(monkeypatch, cuda_graph=False)
    engine = backend._engines.pop((8, 16))
    backend._engines[(64, 128)] = engine
    image = np.random.default_rng(3).integers(0, 256, (60, 120, 3), np.uint8)
    box = preprocessing.letterbox_for(image.shape[:2], 64)
    assert tuple(box.input_hw) == (64, 128)
    out = backend.infer_image(image, 'bgr', box)
    want = preprocessing.normalise(preprocessing.warp_to_input(
        preprocessing.to_rgb(image, 'bgr'), box))
    assert abs(float(out['poses'][0, 0, 0]) - float(want.mean())) < 1e-3
    np.testing.assert_allclose(engine.buffers['images'].numpy(), want, atol=0.02)
    assert backend._stream.syncs == 1 and len(executions) == 1
    host, _ = backend._image_buffers[(60, 120)]
    backend.infer_image(image, 'bgr', box)                # buffers and plan reused
    assert backend._image_buffers[(60, 120)][0] is host and len(backend._plans) == 1


def test_prebuilt_engine_given_as_model_is_used_as_is(fake_trt_backend, tmp_path):
    """Issue 20 with the model file: ``model:=<engine>`` loads that engine, builds nothing."""
    from logocap_ros.backends import model_file
    from logocap_ros.backends.model_estimator import create_estimator_from_model
    builds, exports, loads = fake_trt_backend
    info = model_file.ModelInfo(arch='w32', flip_test=False, input_hw=(64, 128), input_size=64,
                                network_dtype='fp16', opset=17, weights='random:B',
                                weights_sha256='ab' * 32, version='0.1.0')
    engine = tmp_path / 'w32.engine'
    engine.write_bytes(b'prebuilt engine')
    model_file.write_sidecar(engine, info)
    estimator, read = create_estimator_from_model(engine, device='cuda', backend='auto')
    assert read == info
    assert loads == [engine], 'the given engine is the one loaded'
    assert builds.calls == 0 and exports == [], 'nothing is exported or built'
    assert estimator.config.arch == 'w32' and estimator.config.flip_test is False
