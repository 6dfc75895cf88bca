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


"""Build TensorRT engines from ONNX files, offline, with progress, timing cache and engine cache.

Command line (:mod:`logocap_ros.tools.build_engine_cli`): ``logocap-build-engine --onnx
model.onnx`` or ``logocap-build-engine --arch w32 --weights CKPT --input-size 512 --image-size
480x640`` (exports the ONNX first, into the ONNX cache). FP16 by default (``--fp32`` for full
precision). A valid cached engine is reused;
a stale or foreign one (other model, shape, precision, TensorRT or GPU) is rebuilt and the
reason printed; ``--force`` always rebuilds.

In FP16 the network runs in half precision while the refinement after it (coordinates up to
the image size, top-K, gathers, peak blending) stays FP32, since half precision cannot represent
pixel coordinates above 1024 to better than one pixel. The preferred route is a strongly typed
build of an export whose network is stored in FP16 (``network_dtype='fp16'``, chosen
automatically when exporting for an FP16 engine); TensorRT versions without strong typing use
the FP16 builder flag with per-layer FP32 constraints on the refinement and on the
attentive-normalisation statistics (``.../attn_weights/ReduceMean`` and the variance around it,
which overflow in FP16) instead. TensorRT 11 and later are always strongly typed.

The build runs on the CUDA device ``device_index`` (made current for the build), with one
process-wide TensorRT logger that forwards TensorRT's messages to Python logging (and so, in
the node, to /rosout): :func:`trt_logger`.
"""

import contextlib
import logging
import os
from pathlib import Path
import threading
import time
from typing import Dict, Iterator, List, Optional, Tuple, Union

from .base import BackendUnavailable
from .cache import file_sha256
from .engine_cache import EngineCache, make_key

LOG = logging.getLogger('logocap_ros.backends')
PathLike = Union[str, os.PathLike]
PRECISIONS = ('fp16', 'fp32')
#: ONNX node-name prefixes of the network; every other layer is kept in FP32 under FP16.
NETWORK_SCOPES = ('/backbone/', '/transition_', '/final_layer_', '/joints_mlp/')
#: Inside the network, the statistics of attentive normalisation (mean and variance of the
#: activations, :class:`logocap_ros.core.model.MixtureAttention`) stay FP32 as well; only the
#: 1x1 attention convolution after them (``.../attn_weights/attention/...``) may run in FP16.
STATISTICS_SCOPE, STATISTICS_HALF_OK = '/attn_weights/', '/attn_weights/attention/'
#: TensorRT major version from which every network is strongly typed (no FP16 builder flag).
STRONGLY_TYPED_FROM = 11
HEARTBEAT_S = 30.0


class EngineBuildError(RuntimeError):
    """Parsing the ONNX file or building the engine failed (message says why)."""


def import_tensorrt():
    """Import ``tensorrt`` or raise :class:`BackendUnavailable` saying what to install."""
    try:
        import tensorrt
    except ImportError:
        raise BackendUnavailable(
            "backend 'tensorrt' needs NVIDIA TensorRT's Python bindings: pip install "
            'tensorrt-cu12 (or -cu13, matching your CUDA) --extra-index-url '
            "https://pypi.nvidia.com (desktop/server; the libraries are on NVIDIA's index, "
            'not PyPI) or, on Jetson, the JetPack package python3-libnvinfer (sudo apt '
            'install nvidia-jetpack)') from None
    return tensorrt


def decide(reasons: List[str], force: bool, on_stale: str) -> str:
    """Choose ``'use'``, ``'build'`` or ``'error'`` for a cached engine.

    :param reasons: from :func:`logocap_ros.backends.engine_cache.check_engine`.
    :param on_stale: ``'build'`` or ``'error'`` when the engine is missing or invalid.
    """
    if on_stale not in ('build', 'error'):
        raise ValueError(f"on_stale must be 'build' or 'error', not {on_stale!r}")
    if force:
        return 'build'
    if not reasons:
        return 'use'
    return on_stale


def ensure_engine(onnx_path: PathLike, precision: str = 'fp16',
                  cache_dir: Optional[PathLike] = None, force: bool = False,
                  on_stale: str = 'build', workspace_gb: Optional[float] = None,
                  device_index: int = 0, optimization_level: Optional[int] = None) -> Path:
    """Return a valid cached engine for ``onnx_path``, building it when missing or stale.

    :param device_index: the CUDA device the engine is built for (and on).
    :param optimization_level: TensorRT ``builder_optimization_level`` (0-5; None: TensorRT's
        default 3); lower builds faster and may run slower (scripts/gpu_checks.sh uses 1).

    :raises BackendUnavailable: ``on_stale='error'`` and no valid engine (message says why
        and how to build one), or TensorRT missing.
    :raises EngineBuildError: the build failed.
    """
    from .engine_cache import current_environment
    from .export_onnx import read_metadata
    import_tensorrt()
    onnx_path = Path(onnx_path)
    hw = read_metadata(onnx_path).get('logocap_ros.input_hw')
    if hw is None or hw == 'dynamic':
        raise EngineBuildError(f'{onnx_path} has no fixed input size (logocap_ros.input_hw '
                               f'{hw!r}); export one with logocap-export-onnx --image-size HxW')
    shape = (1, 3) + tuple(int(v) for v in hw.split('x'))
    env = current_environment(device_index)
    key = make_key(file_sha256(onnx_path), shape, precision, env)
    cache = EngineCache(cache_dir)
    path, reasons = cache.lookup(onnx_path.stem, key)
    action = decide(reasons, force, on_stale)
    if action == 'use':
        LOG.info('using cached TensorRT engine %s', path)
        from .cache import touch
        touch(path)
        return path
    why = 'forced rebuild' if force else '; '.join(reasons)
    if action == 'error':
        raise BackendUnavailable(
            f'no valid TensorRT engine for {onnx_path.name} ({precision}): {why}. Build it '
            f'with: logocap-build-engine --onnx {onnx_path}'
            + (' --fp32' if precision == 'fp32' else ''))
    LOG.warning('building TensorRT %s engine for %s (%s); one-time step, typically minutes',
                precision, onnx_path.name, why)
    t0 = time.perf_counter()
    release_torch_cache()
    options = {} if optimization_level is None else {'optimization_level': optimization_level}
    with on_device(device_index):
        engine, info = build_serialized_engine(onnx_path, precision, workspace_gb,
                                               cache.timing_cache_path(env), **options)
    info.update(build_seconds=round(time.perf_counter() - t0, 1), onnx_path=str(onnx_path),
                workspace_gb=workspace_gb, device_index=device_index,
                optimization_level=optimization_level)
    path = cache.store(onnx_path.stem, key, engine, info)
    LOG.warning('TensorRT engine built in %.0f s: %s', info['build_seconds'], path)
    from .cache import prune_cache
    prune_cache(cache_dir, keep=[path, onnx_path])
    return path


def release_torch_cache() -> None:
    """Return PyTorch's cached CUDA memory to the driver before a build (if torch is loaded).

    An FP16 export is traced on the GPU; its blocks stay in PyTorch's caching allocator and
    TensorRT's builder, which allocates through CUDA directly, would not get them (out of
    memory on 8-16 GB Jetson Orins).
    """
    import sys
    torch = sys.modules.get('torch')
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextlib.contextmanager
def on_device(index: int) -> Iterator[None]:
    """Make CUDA device ``index`` current while the block runs (TensorRT builds there).

    Uses PyTorch when it is installed, else ``cuda-python``; device 0 needs neither.

    :raises EngineBuildError: ``index`` > 0 and neither can select a device.
    """
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        with torch.cuda.device(int(index)):
            yield
        return
    if int(index) == 0:
        yield
        return
    from .cuda_python import call, CudaError, import_cudart
    cudart = import_cudart()
    if cudart is None:
        raise EngineBuildError(f'cannot select CUDA device {index} for the TensorRT build '
                               'without PyTorch or cuda-python; pip install cuda-python, or '
                               f'run with CUDA_VISIBLE_DEVICES={index} and device 0')
    try:
        previous = call(cudart, 'cudaGetDevice')
        call(cudart, 'cudaSetDevice', int(index))
    except CudaError as exc:
        raise EngineBuildError(f'cannot select CUDA device {index} for the TensorRT build: '
                               f'{exc}') from None
    try:
        yield
    finally:
        cudart.cudaSetDevice(previous)


_LOGGERS: Dict[int, Tuple[object, object]] = {}


def trt_logger(trt):
    """Return this process's one TensorRT logger; it forwards to ``logging``.

    TensorRT severities map to ERROR (internal error, error), WARNING, INFO and DEBUG
    (verbose) of the ``logocap_ros.backends.tensorrt`` logger; the node forwards that to
    /rosout. A TensorRT without ``ILogger`` gets its own ``Logger(WARNING)`` (one instance too).
    """
    entry = _LOGGERS.get(id(trt))
    if entry is None or entry[0] is not trt:
        entry = _LOGGERS[id(trt)] = (trt, _make_logger(trt))   # keeps the module's id unique
    return entry[1]


def _make_logger(trt):
    base = getattr(trt, 'ILogger', None)
    if base is None:
        return trt.Logger(trt.Logger.WARNING)
    severity = getattr(base, 'Severity', trt.Logger)
    levels = {}
    for name, level in (('INTERNAL_ERROR', logging.ERROR), ('ERROR', logging.ERROR),
                        ('WARNING', logging.WARNING), ('INFO', logging.INFO),
                        ('VERBOSE', logging.DEBUG)):
        if hasattr(severity, name):
            levels[getattr(severity, name)] = level
    log = logging.getLogger('logocap_ros.backends.tensorrt')

    class _Forward(base):
        def __init__(self):
            base.__init__(self)

        def log(self, sev, msg):
            log.log(levels.get(sev, logging.WARNING), 'TensorRT: %s', msg)

    return _Forward()


def tensorrt_major(trt) -> int:
    """Return the major version of the ``tensorrt`` module (e.g. 10)."""
    return int(str(trt.__version__).split('.')[0])


def build_serialized_engine(onnx_path: PathLike, precision: str = 'fp16',
                            workspace_gb: Optional[float] = None,
                            timing_cache: Optional[PathLike] = None,
                            optimization_level: Optional[int] = None) -> Tuple[bytes, Dict]:
    """Parse ``onnx_path`` and build a serialized engine (on the current CUDA device).

    :return: the engine bytes and build information (I/O tensors, TensorRT version).
    :raises EngineBuildError: parse or build failure (TensorRT's messages included).
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, not {precision!r}')
    trt = import_tensorrt()
    strongly = _strongly_typed(trt, onnx_path, precision)
    logger = trt_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(_network_flags(trt, strongly))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise EngineBuildError(f'TensorRT could not parse {onnx_path}: ' + ' | '.join(errors))
    io = _log_io(network)
    config = builder.create_builder_config()
    if optimization_level is not None:
        config.builder_optimization_level = int(optimization_level)
    if workspace_gb:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if precision == 'fp32' and hasattr(trt.BuilderFlag, 'TF32'):
        config.clear_flag(trt.BuilderFlag.TF32)     # FP32 means IEEE FP32, for parity
    if precision == 'fp16' and not strongly:
        config.set_flag(trt.BuilderFlag.FP16)
        kept = _keep_refinement_fp32(trt, network, config)
        LOG.info('FP16 builder flag, %d refinement and statistics layers kept in FP32', kept)
    cache = _attach_timing_cache(config, timing_cache)
    monitor = _attach_progress(trt, config)     # keep a reference while building
    with _Heartbeat('TensorRT build'):
        serialized = builder.build_serialized_network(network, config)
    del monitor
    if serialized is None:
        raise EngineBuildError(f'TensorRT failed to build an engine from {onnx_path} (see the '
                               'TensorRT messages above; try --workspace-gb or --fp32)')
    if cache is not None and timing_cache:
        from .cache import atomic_write_bytes
        atomic_write_bytes(timing_cache, bytes(cache.serialize()))
    return bytes(serialized), {'io': io, 'tensorrt': trt.__version__, 'precision': precision,
                               'strongly_typed': strongly}


def _network_flags(trt, strongly_typed: bool) -> int:
    """Explicit batch (needed before TensorRT 10, the only mode since), strong typing."""
    flags = trt.NetworkDefinitionCreationFlag
    batch = getattr(flags, 'EXPLICIT_BATCH', None)
    value = 1 << int(batch) if batch is not None and tensorrt_major(trt) < 10 else 0
    strong = getattr(flags, 'STRONGLY_TYPED', None)
    if strongly_typed and strong is not None:   # TensorRT >= 11: implied when absent
        value |= 1 << int(strong)
    return value


def _strongly_typed(trt, onnx_path: PathLike, precision: str) -> bool:
    """Whether to build a strongly typed network (precision taken from the ONNX types).

    FP16 engines come from exports whose network is stored in FP16 (``--half-network``;
    :func:`ensure_engine` and the backend choose them); where this TensorRT has no strong
    typing, or for an FP32 export asked to build FP16, the FP16 builder flag is used with the
    refinement constrained to FP32 (TensorRT versions that still support it).

    :raises EngineBuildError: the ONNX file's network precision cannot give ``precision``.
    """
    from .export_onnx import read_metadata
    net_dtype = read_metadata(onnx_path).get('logocap_ros.network_dtype', 'fp32')
    always_strong = tensorrt_major(trt) >= STRONGLY_TYPED_FROM
    has_strong = always_strong or hasattr(trt.NetworkDefinitionCreationFlag, 'STRONGLY_TYPED')
    has_fp16_flag = not always_strong and hasattr(trt.BuilderFlag, 'FP16')
    if net_dtype == 'fp16' and precision == 'fp32':
        raise EngineBuildError(f'{onnx_path} stores the network in FP16; export it without '
                               '--half-network for an FP32 engine')
    if net_dtype == 'fp16':
        return has_strong
    if precision == 'fp16' and not has_fp16_flag:
        raise EngineBuildError(f'this TensorRT builds FP16 only from strongly typed models: '
                               f'export {onnx_path} again with logocap-export-onnx '
                               '--half-network (or let logocap-build-engine --weights do it)')
    return has_strong and precision == 'fp32'


def _log_io(network) -> List[Dict[str, object]]:
    """Log and return every network input/output name, shape and dtype."""
    io = []
    for kind, count, get in (('input', network.num_inputs, network.get_input),
                             ('output', network.num_outputs, network.get_output)):
        for i in range(count):
            t = get(i)
            io.append({'kind': kind, 'name': t.name, 'shape': list(t.shape),
                       'dtype': str(t.dtype)})
            LOG.info('%s %s %s %s', kind, t.name, tuple(t.shape), t.dtype)
    return io


def keeps_fp32(layer_name: str) -> bool:
    """Whether a weakly typed FP16 build holds this ONNX layer to FP32.

    True for the refinement (outside :data:`NETWORK_SCOPES`) and for the attentive-norm
    statistics inside the network (``.../attn_weights/ReduceMean`` and the ops around it).
    """
    if not layer_name.startswith(NETWORK_SCOPES):
        return True
    return STATISTICS_SCOPE in layer_name and STATISTICS_HALF_OK not in layer_name


def _keep_refinement_fp32(trt, network, config) -> int:
    """Constrain the layers :func:`keeps_fp32` names to FP32; return how many."""
    flag = getattr(trt.BuilderFlag, 'PREFER_PRECISION_CONSTRAINTS', None)
    if flag is not None:
        config.set_flag(flag)
    count = 0
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if not keeps_fp32(layer.name):
            continue
        outs = [layer.get_output(k) for k in range(layer.num_outputs)]
        if not outs or any(o.dtype != trt.float32 for o in outs):
            continue
        layer.precision = trt.float32
        for k in range(layer.num_outputs):
            layer.set_output_type(k, trt.float32)
        count += 1
    return count


def _attach_timing_cache(config, path: Optional[PathLike]):
    """Load (or start) the timing cache at ``path`` and attach it to ``config``."""
    if not path:
        return None
    path = Path(path)
    data = path.read_bytes() if path.is_file() else b''
    cache = config.create_timing_cache(data)
    if not config.set_timing_cache(cache, ignore_mismatch=False):
        LOG.warning('timing cache %s does not match this GPU/TensorRT; starting afresh', path)
        cache = config.create_timing_cache(b'')
        config.set_timing_cache(cache, ignore_mismatch=True)
    elif data:
        LOG.info('timing cache loaded from %s (%d bytes)', path, len(data))
    return cache


def _attach_progress(trt, config):
    """Report build phases through ``IProgressMonitor`` when this TensorRT has it.

    :return: the monitor (the caller keeps it alive during the build), or None.
    """
    base = getattr(trt, 'IProgressMonitor', None)
    if base is None or not hasattr(config, 'progress_monitor'):
        return None

    class _Monitor(base):
        def __init__(self):
            base.__init__(self)
            self._last = 0.0

        def phase_start(self, phase_name, parent_phase, num_steps):
            LOG.info('[build] %s%s (%d steps)', '  ' if parent_phase else '', phase_name,
                     num_steps)

        def step_complete(self, phase_name, step):
            now = time.monotonic()
            if now - self._last > 5.0:
                self._last = now
                LOG.info('[build] %s: step %d', phase_name, step + 1)
            return True

        def phase_finish(self, phase_name):
            LOG.debug('[build] %s done', phase_name)

    monitor = _Monitor()
    config.progress_monitor = monitor
    return monitor


class _Heartbeat:
    """Log 'still building' every :data:`HEARTBEAT_S` seconds while the block runs."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            LOG.warning('%s still running (%.0f s so far)', self.what,
                        time.monotonic() - self._t0)

    def __enter__(self) -> '_Heartbeat':
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
