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

from logocap_ros.backends import build_engine, engine_cache
from logocap_ros.backends.base import BackendUnavailable
from logocap_ros.backends.engine_cache import (check_engine, EngineCache, EngineKey, make_key,
                                               sidecar_path)
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
    onnx = pytest.importorskip('onnx')
    from onnx import helper, TensorProto
    from logocap_ros.backends.export_onnx import write_metadata
    graph = helper.make_graph(
        [helper.make_node('Identity', ['images'], ['poses'])], 'g',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, 64, 128])],
        [helper.make_tensor_value_info('poses', TensorProto.FLOAT, [1, 3, 64, 128])])
    path = tmp_path / 'w32-64x128.onnx'
    onnx.save(helper.make_model(graph), str(path))
    write_metadata(path, {'logocap_ros.input_hw': '64x128'})
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
class _FakeTrtRuntime:
    """What TensorRTBackend._activate touches of ``tensorrt`` (builds are faked elsewhere)."""

    __version__ = '10.3.0'

    class Logger:
        WARNING = 2

        def __init__(self, level):
            pass

    class Runtime:
        def __init__(self, logger):
            pass


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
    monkeypatch.setattr(tensorrt_backend, 'import_tensorrt', lambda: _FakeTrtRuntime)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'Stream', lambda device=None: object())
    monkeypatch.setattr(torch.cuda, 'empty_cache', lambda: None)
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
    from logocap_ros.backends.base import InferenceBackend

    class Working(InferenceBackend):
        name = 'onnxruntime'

        def __init__(self, *_a, **_k):
            super().__init__()

        def _activate(self):
            pass

        def _deactivate(self):
            pass

        def _infer(self, images):
            return {}
    monkeypatch.setattr(build_engine, 'build_serialized_engine', _failing_build)
    monkeypatch.setattr(registry, 'auto_candidates', lambda dev: ['tensorrt', 'onnxruntime'])
    monkeypatch.setitem(registry.BACKENDS, 'onnxruntime', Working)
    with caplog.at_level(logging.WARNING, 'logocap_ros.backends'):
        backend = registry.open_backend('auto', object(), device='cuda', prepare_hw=[(64, 128)],
                                        cache_dir=str(tmp_path / 'c'))
    assert isinstance(backend, Working) and backend.is_active
    lines = [r.getMessage() for r in caplog.records if "backend 'auto'" in r.getMessage()]
    assert len(lines) == 1 and '\n' not in lines[0]
    assert lines[0].startswith("backend 'auto': tensorrt cannot start here (TensorRT could "
                               'not parse m.onnx: In node 7 (Conv)')
    assert lines[0].endswith('trying onnxruntime')
