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


"""Cache folder, file/weights hashing and atomic writes shared by the exporters and backends.

Exported ONNX models live in ``<cache>/onnx`` and TensorRT engines in ``<cache>/engines``,
where ``<cache>`` is :func:`cache_root` (``$LOGOCAP_CACHE_DIR``, else
``$XDG_CACHE_HOME/logocap_ros``, else ``~/.cache/logocap_ros``; the downloaded weights live
there too). Together they are kept
under a size limit (``$LOGOCAP_CACHE_LIMIT_MB``, default 4096 MiB) by deleting the least
recently used files after each new export or engine (:func:`prune_cache`);
``logocap-cache list|clear|prune`` shows and manages them (:mod:`logocap_ros.tools.cache_cli`).
"""

import contextlib
from dataclasses import dataclass
import hashlib
import logging
import os
from pathlib import Path
import tempfile
from typing import Iterable, List, Optional, Sequence, Tuple, Union

LOG = logging.getLogger('logocap_ros.backends')
CACHE_ENV = 'LOGOCAP_CACHE_DIR'
_CHUNK = 1 << 20


def cache_root(override: Optional[Union[str, os.PathLike]] = None) -> Path:
    """Return the one cache folder of weights, exports and engines (not created here).

    Order: ``override``, ``$LOGOCAP_CACHE_DIR``, ``$XDG_CACHE_HOME/logocap_ros``,
    ``~/.cache/logocap_ros``.
    """
    if override:
        return Path(override).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get('XDG_CACHE_HOME')
    return (Path(xdg).expanduser() if xdg else Path.home() / '.cache') / 'logocap_ros'


def file_sha256(path: Union[str, os.PathLike]) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def weights_sha256(net) -> str:
    """Hex sha256 of a module's state dict (names, dtypes, shapes and values, sorted by name).

    Equal for the same weights whether they came from a file or were filled at random, so it
    keys caches of artefacts exported from a network object.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f'{name}|{t.dtype}|{tuple(t.shape)}|'.encode())
        digest.update(t.view(-1).view(dtype=_byte_dtype()).numpy().tobytes()
                      if t.numel() else b'')
    return digest.hexdigest()


def _byte_dtype():
    import torch
    return torch.uint8


def current_umask() -> int:
    """Return the process umask (from ``/proc`` on Linux, else by setting it back at once)."""
    try:
        with open('/proc/self/status', encoding='ascii') as status:
            for line in status:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: Union[str, os.PathLike], folder: bool = False) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would have given it.

    :func:`tempfile.mkstemp` and :func:`tempfile.mkdtemp` create 0600 files and 0700
    folders; outputs renamed from them into place get 0666/0777 minus the umask instead.
    """
    os.chmod(path, (0o777 if folder else 0o666) & ~current_umask())


def atomic_write_bytes(path: Union[str, os.PathLike], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Readers never see a half-written file; the result has the usual umask permissions.

    :param path: final file name; its folder is created if needed.
    :param data: file content.
    :return: the final path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=str(path.parent))
    try:
        with os.fdopen(fd, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        apply_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def temp_path_beside(path: Union[str, os.PathLike]) -> Path:
    """Return an unused temporary file name in the folder of ``path`` (created, empty)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + '.', suffix='.part', dir=str(path.parent))
    os.close(fd)
    apply_umask(tmp)  # renamed into place later: usual permissions, not mkstemp's 0600
    return Path(tmp)


#: Environment variable with the size limit (MiB) of the exports and engines in the cache.
LIMIT_ENV = 'LOGOCAP_CACHE_LIMIT_MB'
DEFAULT_LIMIT_MB = 4096.0
#: Cache subfolders of derived artefacts (exports, engines) that the size limit manages.
MANAGED_DIRS = ('onnx', 'engines')
#: Subfolders the ``logocap-cache`` command lists and clears (weights are not among them:
#: ``logocap-weights`` manages those).
ARTEFACT_DIRS = ('onnx', 'engines', 'ort_trt', 'openvino')


@dataclass(frozen=True)
class CacheEntry:
    """One cached artefact: an export, or an engine with its sidecar.

    :param kind: subfolder (``onnx``, ``engines``, ``ort_trt``).
    :param files: the file and its companions (an engine's ``.json`` sidecar).
    :param size: bytes of all files; ``last_used``: POSIX time of the last use (mtime).
    :param evictable: False for timing caches and ONNX Runtime's TensorRT cache (small, or
        managed by ONNX Runtime), which only ``clear`` removes.
    """

    kind: str
    files: Tuple[Path, ...]
    size: int
    last_used: float
    evictable: bool

    @property
    def path(self) -> Path:
        """The main file."""
        return self.files[0]


def touch(path: Union[str, os.PathLike]) -> None:
    """Mark a cached file as used now (its mtime orders the least-recently-used eviction)."""
    try:
        os.utime(path)
    except OSError:
        pass


def cache_limit_mb(override: Optional[float] = None) -> float:
    """Return the size limit: ``override``, else ``$LOGOCAP_CACHE_LIMIT_MB``, else 4096."""
    if override is not None:
        return float(override)
    text = os.environ.get(LIMIT_ENV)
    if text:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f'{LIMIT_ENV} must be a number of MiB, not {text!r}') from None
    return DEFAULT_LIMIT_MB


def cache_entries(cache_dir: Optional[Union[str, os.PathLike]] = None,
                  kinds: Sequence[str] = ARTEFACT_DIRS) -> List[CacheEntry]:
    """List the artefacts under the cache root, least recently used first."""
    root = cache_root(cache_dir)
    entries = []
    for kind in kinds:
        folder = root / kind
        if not folder.is_dir():
            continue
        files = sorted(p for p in folder.rglob('*') if p.is_file())
        sidecars = {p for p in files if p.name.endswith('.engine.json')}
        for path in files:
            if path in sidecars or path.name.endswith('.part'):
                continue
            group = (path,)
            side = Path(str(path) + '.json')
            if side in sidecars:
                group = (path, side)
            stat = path.stat()
            evictable = kind in MANAGED_DIRS and not path.name.startswith('timing-')
            entries.append(CacheEntry(kind, group, sum(p.stat().st_size for p in group),
                                      stat.st_mtime, evictable))
    return sorted(entries, key=lambda e: e.last_used)


def prune_cache(cache_dir: Optional[Union[str, os.PathLike]] = None,
                limit_mb: Optional[float] = None,
                keep: Iterable[Union[str, os.PathLike]] = ()) -> List[Path]:
    """Delete least recently used exports/engines until they fit the size limit.

    :param limit_mb: see :func:`cache_limit_mb`; 0 or less disables the limit.
    :param keep: files never deleted here (the ones just made or in use).
    :return: the deleted main files (each also logged).
    """
    limit = cache_limit_mb(limit_mb) * 2**20
    if limit <= 0:
        return []
    keep_set = {Path(p).resolve() for p in keep}
    entries = [e for e in cache_entries(cache_dir, MANAGED_DIRS) if e.evictable]
    total = sum(e.size for e in entries)
    removed = []
    for entry in entries:
        if total <= limit:
            break
        if entry.path.resolve() in keep_set:
            continue
        _remove(entry)
        total -= entry.size
        removed.append(entry.path)
        LOG.warning('cache over %.0f MiB: removed the least recently used %s (%.0f MB)',
                    limit / 2**20, entry.path.name, entry.size / 1e6)
    return removed


def clear_cache(cache_dir: Optional[Union[str, os.PathLike]] = None,
                kinds: Sequence[str] = ARTEFACT_DIRS) -> List[CacheEntry]:
    """Delete every artefact of ``kinds`` (weights are never touched); return what went."""
    entries = cache_entries(cache_dir, kinds)
    for entry in entries:
        _remove(entry)
    return entries


def _remove(entry: CacheEntry) -> None:
    """Delete the files of one cache entry (the model and its sidecars; gone ones are fine)."""
    for path in entry.files:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
