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


"""What a ``weights`` value means: a checkpoint file, a cached short name, or ``random[:X]``.

One parser for every entry point (the node's ``weights`` parameter, every CLI's ``--weights``,
:func:`logocap_ros.backends.factory.create_estimator`):

* a path to an existing ``.pth``/``.pth.tar`` file;
* ``w32``/``w48``: the official checkpoint in the cache (``logocap-weights download w32``);
  :func:`resolve_weights` gives its path, or a FileNotFoundError with the download command;
* ``random``: deterministic untrained weights of the architecture given alongside (``arch``),
  ``random:w48`` (``random:<arch>``) of that architecture, overriding the one given;
  ``random:<arch>:A`` / ``random:<arch>:B`` pick the fill variant of
  :func:`logocap_ros.core.checkpoint.filled_state_dict` (``B`` by default; ``A`` and ``B`` are
  the two weight sets of the numerical parity data in ``refcheck``).

Cache folder (``~/.cache/logocap_ros`` by default; ``$LOGOCAP_CACHE_DIR`` or
``$XDG_CACHE_HOME/logocap_ros`` override it): see ``logocap-weights``
(:mod:`logocap_ros.tools.weights`), which downloads and verifies the checkpoints. A cached
official checkpoint is checked against its download on every resolution
(:func:`check_cached`).
"""

import contextlib
import json
import os
from pathlib import Path
from typing import Dict, NamedTuple, Optional

from logocap_ros.backends.cache import atomic_write_bytes, cache_root, file_sha256
from logocap_ros.core.architectures import ARCHS

#: ``weights`` value for the deterministic untrained weights.
RANDOM = 'random'
#: Fill variants of the untrained weights (the parity data's two weight sets).
RANDOM_VARIANTS = ('A', 'B')
DEFAULT_RANDOM_VARIANT = 'B'
#: Short name -> checkpoint file name (in the release archive and the cache).
CHECKPOINTS: Dict[str, str] = {
    'w32': 'logocap-hrnet-w32-coco.pth.tar',
    'w48': 'logocap-hrnet-w48-coco.pth.tar',
}
ARCHIVE_NAME = 'logocap.tar.gz'
#: Known-good sha256 digests, by file name. The real values of the authors' release were not
#: available when this was written, so every entry is ``None`` (= not checked). Fill in a
#: digest (64 hex characters) to make every download and ``verify`` check it; until then the
#: digests recorded in ``manifest.json`` at download time are what ``verify`` checks against.
KNOWN_SHA256: Dict[str, Optional[str]] = {
    ARCHIVE_NAME: None,
    CHECKPOINTS['w32']: None,
    CHECKPOINTS['w48']: None,
}
MANIFEST_NAME = 'manifest.json'
#: Remembers the last successful load-time check of each file (:func:`check_cached`).
VERIFIED_NAME = 'verified.json'


class WeightsError(RuntimeError):
    """Download, extraction or verification of the weights failed."""


class RandomWeights(NamedTuple):
    """A parsed ``random[:arch[:variant]]``: the architecture and the fill variant."""

    arch: str
    variant: str = DEFAULT_RANDOM_VARIANT

    @property
    def spelling(self) -> str:
        """Return the canonical spelling, ``random:<arch>:<variant>``."""
        return f'{RANDOM}:{self.arch}:{self.variant}'


def random_spellings() -> str:
    """Return the accepted spellings, for error messages."""
    return ', '.join([RANDOM] + [f'{RANDOM}:{a}' for a in ARCHS]) + \
        f' (or {RANDOM}:<arch>:A|B for the parity fill variants)'


def parse_random(spec: os.PathLike, arch: str) -> Optional[RandomWeights]:
    """Return the :class:`RandomWeights` of a ``random[:arch[:variant]]`` value, else None.

    :param spec: the ``weights`` value.
    :param arch: the architecture given alongside (used by a bare ``random``).
    :raises ValueError: ``random:...`` with an unknown architecture or variant.
    """
    text = os.fspath(spec).strip()
    if text != RANDOM and not text.startswith(RANDOM + ':'):
        return None
    parts = text.split(':')[1:]
    chosen = parts[0] if parts and parts[0] else arch
    variant = parts[1] if len(parts) > 1 else DEFAULT_RANDOM_VARIANT
    if chosen not in ARCHS:
        problem = f"unknown architecture '{chosen}'"
    elif variant not in RANDOM_VARIANTS or len(parts) > 2:
        problem = f"unknown fill variant '{':'.join(parts[1:])}'"
    else:
        return RandomWeights(chosen, variant)
    raise ValueError(f"weights '{text}': {problem}; use {random_spellings()}")


def default_cache_dir() -> Path:
    """Return the weights cache folder (created on first download): the exports' too.

    Order: ``$LOGOCAP_CACHE_DIR``, ``$XDG_CACHE_HOME/logocap_ros``, ``~/.cache/logocap_ros``
    (:func:`logocap_ros.backends.cache.cache_root`).
    """
    return cache_root()


def cached_path(name: str, cache_dir: Optional[os.PathLike] = None) -> Path:
    """Return where the checkpoint ``name`` (``'w32'``/``'w48'``) lives in the cache."""
    key = name.lower()
    if key not in CHECKPOINTS:
        raise ValueError(f'unknown weights name {name!r}; expected one of {sorted(CHECKPOINTS)}')
    return Path(cache_dir or default_cache_dir()) / CHECKPOINTS[key]


def download_command(name: str, cache_dir: Optional[os.PathLike] = None) -> str:
    """Return the exact shell command that downloads ``name`` into ``cache_dir``."""
    cmd = f'logocap-weights download {name.lower()}'
    if cache_dir is not None and Path(cache_dir) != default_cache_dir():
        cmd += f' --cache-dir {cache_dir}'
    return cmd


def resolve_weights(name_or_path: os.PathLike,
                    cache_dir: Optional[os.PathLike] = None) -> Path:
    """Turn a weights argument (file path, or short name ``w32``/``w48``) into an existing path.

    :param name_or_path: an existing file path, or ``'w32'``/``'w48'`` (case-insensitive)
        for the cached official checkpoint.
    :param cache_dir: cache folder; default :func:`default_cache_dir`.
    :return: the checkpoint path (existing file).
    :raises FileNotFoundError: with the exact download command when a short name is not in
        the cache, or when the path does not exist.
    :raises WeightsError: a cached official checkpoint differs from its download
        (:func:`check_cached`).
    """
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.exists():
        check_cached(path, cache_dir)
        return path
    if text.lower() in CHECKPOINTS:
        target = cached_path(text, cache_dir)
        if target.is_file():
            check_cached(target, cache_dir)
            return target
        raise FileNotFoundError(
            f'LOGO-CAP {text.upper()} weights are not downloaded yet (expected {target}). '
            f'Run: {download_command(text, cache_dir)}')
    raise FileNotFoundError(
        f'weights file not found: {path}. Pass an existing .pth/.pth.tar file or a short '
        f'name (w32, w48) after running: logocap-weights download w32')


def check_cached(path: Path, cache_dir: Optional[os.PathLike] = None) -> None:
    """Refuse a cached official checkpoint that no longer matches its download.

    Applies to the files of :data:`CHECKPOINTS` inside the cache that ``manifest.json``
    records (other paths, and files copied in by hand, are not checked). The size is compared
    on every call; the sha256 only when the file's size or modification time changed since
    the last successful check (remembered in ``verified.json`` next to the manifest), so a
    repeated start costs one ``stat``.

    :raises WeightsError: size or sha256 differs from the manifest (or :data:`KNOWN_SHA256`);
        the message names the file and the command that downloads it again.
    """
    cache = Path(cache_dir or default_cache_dir())
    name = next((n for n, f in CHECKPOINTS.items() if f == path.name), None)
    if name is None or not _same_file(path.parent, cache):
        return
    entry = load_manifest(cache)['files'].get(name)
    expected = KNOWN_SHA256.get(path.name) or (entry or {}).get('sha256')
    if not entry or not expected:
        return
    stat = path.stat()
    fix = (f'the file was changed or damaged since it was downloaded; run: '
           f'{download_command(name, cache)} --force')
    if entry.get('size') is not None and stat.st_size != entry['size']:
        raise WeightsError(f'cached {name.upper()} weights {path} are {stat.st_size} bytes, '
                           f'the download was {entry["size"]}: {fix}')
    stamp = {'size': stat.st_size, 'mtime_ns': stat.st_mtime_ns, 'sha256': expected}
    verified = _load_json(cache / VERIFIED_NAME)
    if verified.get(path.name) == stamp:
        return
    digest = file_sha256(path)
    if digest != expected:
        raise WeightsError(f'cached {name.upper()} weights {path} have sha256 {digest}, the '
                           f'download had {expected}: {fix}')
    verified[path.name] = stamp
    with contextlib.suppress(OSError):  # a read-only cache only costs a re-hash next time
        atomic_write_bytes(cache / VERIFIED_NAME,
                           (json.dumps(verified, indent=2) + '\n').encode('utf-8'))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _load_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_manifest(cache_dir: Path) -> dict:
    """Read ``manifest.json`` (empty manifest if absent or unreadable)."""
    try:
        data = json.loads((cache_dir / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return {'version': 1, 'files': {}}
    data.setdefault('files', {})
    return data
