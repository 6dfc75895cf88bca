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


"""TensorRT engine cache: keys, sidecars, and stale/foreign engine detection (no GPU needed).

An engine is valid only for the exact ONNX file, input shape and precision it was built from,
and for the TensorRT version and GPU (name and compute capability) that built it. Each cached
engine ``<cache>/engines/<model>-<H>x<W>-<precision>.engine`` has a JSON sidecar
(``.engine.json``) recording all of that; :meth:`EngineCache.lookup` compares the sidecar with
the current :class:`EngineKey` and returns the reasons an engine cannot be used, so callers can
rebuild or report instead of silently rebuilding at every start.
"""

from dataclasses import asdict, dataclass, fields
import datetime
import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from .cache import atomic_write_bytes, cache_root

SIDECAR_FORMAT = 1
PathLike = Union[str, os.PathLike]

_LABELS = {
    'model_sha256': 'the ONNX model changed',
    'input_shape': 'the input shape differs',
    'precision': 'the precision differs',
    'trt_version': 'the TensorRT version differs',
    'gpu_name': 'the GPU differs',
    'compute_capability': 'the GPU compute capability differs',
}


@dataclass(frozen=True)
class EngineKey:
    """Everything that makes a serialized engine invalid when it changes.

    :param model_sha256: sha256 of the ONNX file's bytes.
    :param input_shape: ``(1, 3, H, W)``.
    :param precision: ``'fp16'``, ``'fp32'`` or ``'int8'``.
    :param trt_version: ``tensorrt.__version__``.
    :param gpu_name: e.g. ``'NVIDIA H100 80GB HBM3'``.
    :param compute_capability: e.g. ``'9.0'``.
    """

    model_sha256: str
    input_shape: Tuple[int, ...]
    precision: str
    trt_version: str
    gpu_name: str
    compute_capability: str

    def to_json(self) -> Dict[str, object]:
        """Return the key as JSON-ready values (shape as a list)."""
        d = asdict(self)
        d['input_shape'] = list(self.input_shape)
        return d

    @classmethod
    def from_json(cls, data: Dict[str, object]) -> 'EngineKey':
        """Inverse of :meth:`to_json`; raises KeyError/TypeError on a malformed record."""
        values = {f.name: data[f.name] for f in fields(cls)}
        values['input_shape'] = tuple(int(v) for v in values['input_shape'])
        return cls(**values)


def current_environment(device_index: int = 0) -> Dict[str, str]:
    """Return the TensorRT version, GPU name and compute capability here (imports them).

    The GPU facts come from PyTorch when it sees CUDA, else from cuda-python (both report
    CUDA's device properties, so engines cached by either are recognised by the other).

    :raises ImportError: tensorrt missing.
    :raises RuntimeError: no CUDA device (neither PyTorch nor cuda-python sees one).
    """
    import tensorrt
    name, capability = _gpu_facts(device_index)
    return {'trt_version': str(tensorrt.__version__), 'gpu_name': name,
            'compute_capability': capability}


def _gpu_facts(device_index: int) -> Tuple[str, str]:
    """Return ``(gpu name, 'major.minor')`` of CUDA device ``device_index``."""
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability(device_index)
        return torch.cuda.get_device_name(device_index), f'{major}.{minor}'
    from .cuda_python import CudaError, device_properties, import_cudart, INSTALL_HINT
    cudart = import_cudart()
    if cudart is None:
        raise RuntimeError('no CUDA device visible to PyTorch, and cuda-python is not '
                           f'installed ({INSTALL_HINT})')
    try:
        return device_properties(cudart, device_index)
    except CudaError as exc:
        raise RuntimeError(f'no CUDA device {device_index}: {exc}') from None


def make_key(model_sha256: str, input_shape, precision: str,
             environment: Dict[str, str]) -> EngineKey:
    """Build an :class:`EngineKey` from a model hash, shape, precision and an environment."""
    return EngineKey(model_sha256=model_sha256, input_shape=tuple(int(v) for v in input_shape),
                     precision=precision, trt_version=environment['trt_version'],
                     gpu_name=environment['gpu_name'],
                     compute_capability=environment['compute_capability'])


def describe_mismatch(recorded: EngineKey, wanted: EngineKey) -> List[str]:
    """Human-readable reasons why an engine built for ``recorded`` cannot serve ``wanted``."""
    reasons = []
    for f in fields(EngineKey):
        old, new = getattr(recorded, f.name), getattr(wanted, f.name)
        if old != new:
            if f.name == 'model_sha256':
                old, new = str(old)[:12], str(new)[:12]
            reasons.append(f'{_LABELS[f.name]} (engine: {old}; now: {new})')
    return reasons


def sidecar_path(engine_path: PathLike) -> Path:
    """Path of the JSON sidecar of an engine file."""
    return Path(str(engine_path) + '.json')


def read_sidecar(engine_path: PathLike) -> Optional[Dict[str, object]]:
    """Return the sidecar record of ``engine_path``, or None when missing or unreadable."""
    try:
        with open(sidecar_path(engine_path), encoding='utf-8') as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_engine(engine_path: PathLike, wanted: EngineKey) -> List[str]:
    """Reasons ``engine_path`` cannot be used for ``wanted`` (empty list = valid)."""
    path = Path(engine_path)
    if not path.is_file():
        return [f'no engine file at {path}']
    record = read_sidecar(path)
    if record is None:
        return [f'no readable sidecar {sidecar_path(path).name}, so the engine cannot be '
                'verified']
    if record.get('format') != SIDECAR_FORMAT:
        return [f'sidecar format {record.get("format")!r} is not {SIDECAR_FORMAT}']
    try:
        recorded = EngineKey.from_json(record['key'])
    except (KeyError, TypeError, ValueError):
        return ['the sidecar is malformed']
    return describe_mismatch(recorded, wanted)


class EngineCache:
    """Folder of engines with sidecars (default ``<cache>/engines``).

    :param cache_dir: cache root (engines go to its ``engines`` subfolder), or None for the
        default root (:func:`.cache.cache_root`).
    """

    def __init__(self, cache_dir: Optional[PathLike] = None) -> None:
        self.root = cache_root(cache_dir) / 'engines'

    def engine_path(self, model_name: str, key: EngineKey) -> Path:
        """Where the engine of ``model_name`` (ONNX file stem) for ``key`` is cached."""
        h, w = key.input_shape[-2:]
        return self.root / f'{model_name}-{h}x{w}-{key.precision}.engine'

    def lookup(self, model_name: str, key: EngineKey) -> Tuple[Path, List[str]]:
        """Return the engine path and the reasons it cannot be used (empty = use it)."""
        path = self.engine_path(model_name, key)
        return path, check_engine(path, key)

    def store(self, model_name: str, key: EngineKey, engine: bytes,
              info: Optional[Dict[str, object]] = None) -> Path:
        """Write ``engine`` and its sidecar (engine first, both atomically); return the path."""
        path = self.engine_path(model_name, key)
        sidecar = sidecar_path(path)
        if sidecar.exists():
            sidecar.unlink()
        atomic_write_bytes(path, engine)
        record = {'format': SIDECAR_FORMAT, 'key': key.to_json(),
                  'created': datetime.datetime.now(datetime.timezone.utc).isoformat(
                      timespec='seconds'),
                  'engine_bytes': len(engine)}
        record.update(info or {})
        atomic_write_bytes(sidecar, json.dumps(record, indent=2, sort_keys=True).encode())
        return path

    def timing_cache_path(self, environment: Dict[str, str]) -> Path:
        """Return the timing cache file for one GPU model and TensorRT version."""
        gpu = ''.join(c if c.isalnum() else '_' for c in environment['gpu_name'])
        return self.root / f'timing-{gpu}-sm{environment["compute_capability"]}-' \
                           f'trt{environment["trt_version"]}.cache'
