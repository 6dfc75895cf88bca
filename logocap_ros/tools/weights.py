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


"""``logocap-weights``: fetch, cache, verify and locate the official LOGO-CAP checkpoints.

The checkpoints are the LOGO-CAP authors' (``cherubicXN/logocap``, GitHub release
``checkpoints``) and are subject to their terms; this tool only downloads them for the user.

Cache layout (:func:`default_cache_dir`: ``$LOGOCAP_CACHE_DIR``, else
``$XDG_CACHE_HOME/logocap_ros``, else ``~/.cache/logocap_ros``; ``--cache-dir`` overrides it;
the exports and engines of the backends live there too)::

    logocap-hrnet-w32-coco.pth.tar     extracted, validated checkpoints
    logocap-hrnet-w48-coco.pth.tar
    manifest.json                      sha256, size, source URL of every file placed here
    verified.json                      size/mtime at the last load-time sha256 check
    downloads/logocap.tar.gz(.part)    the release archive while it is being fetched

Short names ``w32``/``w48`` given to the node or a CLI resolve to this cache through
:func:`logocap_ros.backends.weights.resolve_weights`.
"""

import argparse
import contextlib
import datetime
import json
import os
from pathlib import Path
import sys
import tarfile
from typing import Dict, Iterator, List, Optional, Tuple

# resolution and the load-time check live next to the factory; re-exported for the CLI
from logocap_ros.backends.weights import (  # noqa: F401
    _load_json, ARCHIVE_NAME, cached_path, check_cached, CHECKPOINTS, default_cache_dir,
    download_command, KNOWN_SHA256, load_manifest, MANIFEST_NAME, resolve_weights,
    VERIFIED_NAME, WeightsError)
from logocap_ros.tools import weights_archive
from logocap_ros.tools.download import download_file, DownloadError
from logocap_ros.tools.fileutil import atomic_write_text, sha256_file

DEFAULT_URL_BASE = 'https://github.com/cherubicXN/logocap/releases/download/checkpoints'


def _record(cache_dir: Path, name: str, path: Path, digest: str, source: str,
            archive_sha256: str) -> None:
    manifest = load_manifest(cache_dir)
    manifest['files'][name] = {
        'file': path.name, 'sha256': digest, 'size': path.stat().st_size, 'source': source,
        'archive_sha256': archive_sha256,
        'downloaded_at': datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec='seconds'),
    }
    atomic_write_text(cache_dir / MANIFEST_NAME, json.dumps(manifest, indent=2) + '\n')


def _is_good(cache_dir: Path, name: str) -> bool:
    """Return True if the cached ``name`` exists and matches its recorded (and known) sha256."""
    path = cached_path(name, cache_dir)
    entry = load_manifest(cache_dir)['files'].get(name)
    if not path.is_file() or not entry:
        return False
    digest = sha256_file(path)
    known = KNOWN_SHA256.get(path.name)
    return digest == entry.get('sha256') and (known is None or digest == known)


def download(names: List[str], cache_dir: Optional[os.PathLike] = None,
             url_base: str = DEFAULT_URL_BASE, force: bool = False, retries: int = 5,
             backoff: float = 1.0, keep_archive: bool = False,
             show_progress: bool = True) -> Dict[str, Path]:
    """Make the checkpoints ``names`` available in the cache; return ``{name: path}``.

    Files already present and matching the manifest are kept unless ``force``. The archive
    is fetched (resuming a ``.part`` file), checked against :data:`KNOWN_SHA256`, and each
    requested member is extracted to a temporary file, validated as a state dict and only
    then renamed over the final name, so a good file is never replaced by a bad one.

    :raises WeightsError: on any download, archive or validation failure.
    """
    cache = Path(cache_dir or default_cache_dir())
    wanted = sorted(CHECKPOINTS) if 'all' in [n.lower() for n in names] else \
        [n.lower() for n in names]
    for name in wanted:
        cached_path(name, cache)  # ValueError on an unknown name, before any download
    cache.mkdir(parents=True, exist_ok=True)
    with _cache_lock(cache):
        todo = [n for n in wanted if force or not _is_good(cache, n)]
        for name in sorted(set(wanted) - set(todo)):
            print(f'{name}: already downloaded and verified')
        if todo:
            if force:
                _discard_archive(cache)
            _fetch_and_extract(todo, cache, url_base, retries, backoff, keep_archive,
                               show_progress)
    return {n: cached_path(n, cache) for n in wanted}


def _discard_archive(cache: Path) -> None:
    """Delete a kept or partial archive so that the next fetch starts from scratch."""
    for path in (cache / 'downloads' / ARCHIVE_NAME,
                 cache / 'downloads' / (ARCHIVE_NAME + '.part')):
        if path.is_file():
            path.unlink()


@contextlib.contextmanager
def _cache_lock(cache: Path) -> Iterator[None]:
    """Hold an exclusive lock on the cache so two downloads never share a ``.part`` file."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking
        yield
        return
    with open(cache / '.lock', 'w') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print(f'waiting for another logocap-weights process using {cache} ...',
                  file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fetch_and_extract(todo: List[str], cache: Path, url_base: str, retries: int,
                       backoff: float, keep_archive: bool, show_progress: bool) -> None:
    url = f'{url_base.rstrip("/")}/{ARCHIVE_NAME}'
    archive = cache / 'downloads' / ARCHIVE_NAME
    try:
        if archive.is_file():
            digest = sha256_file(archive)
            known = KNOWN_SHA256.get(ARCHIVE_NAME)
            if known and digest != known:
                archive.unlink()
        if not archive.is_file():
            print(f'downloading {url}')
            digest = download_file(url, archive, retries=retries, backoff=backoff,
                                   expected_sha256=KNOWN_SHA256.get(ARCHIVE_NAME),
                                   show_progress=show_progress)
        members = {n: CHECKPOINTS[n] for n in todo}
        extracted = weights_archive.extract_checkpoints(
            archive, members, cache, KNOWN_SHA256, validate=validate_checkpoint)
    except (DownloadError, weights_archive.ArchiveError, tarfile.TarError, OSError) as exc:
        if isinstance(exc, DownloadError) or not archive.is_file():
            raise WeightsError(str(exc)) from exc
        archive.unlink()  # a corrupt archive must not be reused on the next run
        raise WeightsError(f'{exc}; the archive was deleted (nothing was installed), run the '
                           'command again to download it afresh') from exc
    for name, (path, file_digest) in extracted.items():
        _record(cache, name, path, file_digest, url, digest)
    if not keep_archive and archive.is_file():
        archive.unlink()


def validate_checkpoint(path: Path, arch: Optional[str] = None) -> None:
    """Check that ``path`` loads as a model state dict (tensors only, no code execution).

    Uses :func:`logocap_ros.core.checkpoint.load_state_dict` when available, else
    ``torch.load(weights_only=True)``. When the architecture can be guessed from the tensors
    and differs from ``arch``, that is an error too.

    :raises ValueError: the file is not a loadable state dict (message says why).
    """
    try:
        from logocap_ros.core.checkpoint import CheckpointError, guess_arch, load_state_dict
    except ImportError:
        _validate_with_torch(path)
        return
    try:
        state = load_state_dict(path)
    except CheckpointError as exc:
        raise ValueError(str(exc)) from None
    guessed = guess_arch(state)
    if arch and guessed and guessed != arch:
        raise ValueError(f'{path.name} holds {guessed.upper()} weights, expected {arch.upper()}')


def _validate_with_torch(path: Path) -> None:
    import torch
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise ValueError(f'{path.name} is not a loadable PyTorch file: {exc}') from None
    if isinstance(obj, dict) and isinstance(obj.get('state_dict'), dict):
        obj = obj['state_dict']
    if not (isinstance(obj, dict) and obj
            and all(isinstance(v, torch.Tensor) for v in obj.values())):
        raise ValueError(f'{path.name} does not hold a state dict of tensors')


def verify(cache_dir: Optional[os.PathLike] = None) -> List[str]:
    """Re-hash every file recorded in the manifest; return a list of problems (empty = ok)."""
    cache = Path(cache_dir or default_cache_dir())
    problems = []
    files = load_manifest(cache)['files']
    if not files:
        problems.append(f'nothing downloaded in {cache} yet; run: logocap-weights download w32')
    for name, entry in sorted(files.items()):
        path = cache / entry['file']
        if not path.is_file():
            problems.append(f'{name}: {path} is missing; run: {download_command(name, cache)}')
            continue
        digest = sha256_file(path)
        known = KNOWN_SHA256.get(entry['file'])
        expected = known or entry['sha256']
        status = 'OK' if digest == expected else 'MISMATCH'
        print(f'{name}: {status} {path} sha256={digest}')
        if status != 'OK':
            problems.append(f'{name}: sha256 of {path} is {digest}, expected {expected}; '
                            f'run: {download_command(name, cache)} --force')
    return problems


def status(cache_dir: Optional[os.PathLike] = None) -> Tuple[List[str], bool]:
    """Describe every known checkpoint in the cache: ``(lines, all_present_files_ok)``.

    Each line is ``<name>: OK|MISMATCH|UNRECORDED <path> (<size>)`` or ``<name>: not
    downloaded (run: ...)``; present files are re-hashed against the manifest (and
    :data:`KNOWN_SHA256`). A missing file is not a failure, a mismatching one is.
    """
    cache = Path(cache_dir or default_cache_dir())
    files = load_manifest(cache)['files']
    lines, ok = [f'cache: {cache}'], True
    for name in sorted(CHECKPOINTS):
        path = cached_path(name, cache)
        if not path.is_file():
            lines.append(f'{name}: not downloaded (run: {download_command(name, cache)})')
            continue
        entry = files.get(name)
        expected = KNOWN_SHA256.get(path.name) or (entry or {}).get('sha256')
        size = f'{path.stat().st_size / 1e6:.1f} MB'
        if expected is None:
            lines.append(f'{name}: UNRECORDED {path} ({size}; not in {MANIFEST_NAME}, so it '
                         f'cannot be verified; run: {download_command(name, cache)} --force)')
        elif sha256_file(path) == expected:
            lines.append(f'{name}: OK {path} ({size}, sha256 verified)')
        else:
            ok = False
            lines.append(f'{name}: MISMATCH {path} ({size}; sha256 differs from the download; '
                         f'run: {download_command(name, cache)} --force)')
    return lines, ok


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--cache-dir', type=Path, default=argparse.SUPPRESS,
                        help='cache folder (default: $LOGOCAP_CACHE_DIR or '
                             '$XDG_CACHE_HOME/logocap_ros or ~/.cache/logocap_ros)')
    parser = argparse.ArgumentParser(
        prog='logocap-weights', parents=[common], description='Download and locate the '
        "official LOGO-CAP checkpoints (the authors' weights, subject to their terms).")
    sub = parser.add_subparsers(dest='command', required=True)
    dl = sub.add_parser('download', parents=[common],
                        help='fetch and unpack checkpoints into the cache')
    dl.add_argument('name', choices=list(CHECKPOINTS) + ['all'])
    dl.add_argument('--url-base', default=DEFAULT_URL_BASE,
                    help='where logocap.tar.gz is served (a mirror, or file:///dir)')
    dl.add_argument('--force', action='store_true', help='download again even if present')
    dl.add_argument('--retries', type=int, default=5, help='retries on transient errors')
    dl.add_argument('--keep-archive', action='store_true',
                    help='keep downloads/logocap.tar.gz after extraction')
    dl.add_argument('--quiet', action='store_true', help='no progress bar')
    path = sub.add_parser('path', parents=[common], help='print the cached checkpoint path')
    path.add_argument('name', choices=sorted(CHECKPOINTS))
    sub.add_parser('verify', parents=[common], help='re-check the sha256 of cached files')
    for name in ('status', 'list'):
        sub.add_parser(name, parents=[common], help='show which checkpoints are cached and '
                       'whether they still match their recorded sha256')
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``logocap-weights``; returns the process exit status."""
    args = _parser().parse_args(argv)
    cache = getattr(args, 'cache_dir', None) or default_cache_dir()
    try:
        return _COMMANDS[args.command](args, cache)
    except (WeightsError, OSError, ValueError) as exc:
        print(f'logocap-weights: error: {exc}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('logocap-weights: interrupted (run the same command again to resume)',
              file=sys.stderr)
        return 130


def _cmd_download(args, cache: Path) -> int:
    names = sorted(CHECKPOINTS) if args.name == 'all' else [args.name]
    paths = download(names, cache, url_base=args.url_base, force=args.force,
                     retries=args.retries, keep_archive=args.keep_archive,
                     show_progress=not args.quiet)
    for name, path in paths.items():
        print(f'{name}: {path}')
        print(f'  use: logocap-infer --arch {name} --weights {path}   '
              f'(or the short name: --weights {name})')
    return 0


def _cmd_path(args, cache: Path) -> int:
    print(resolve_weights(args.name, cache))
    return 0


def _cmd_verify(args, cache: Path) -> int:
    problems = verify(cache)
    for problem in problems:
        print(f'logocap-weights: {problem}', file=sys.stderr)
    return 1 if problems else 0


def _cmd_status(args, cache: Path) -> int:
    lines, ok = status(cache)
    print('\n'.join(lines))
    return 0 if ok else 1


_COMMANDS = {'download': _cmd_download, 'path': _cmd_path, 'verify': _cmd_verify,
             'status': _cmd_status, 'list': _cmd_status}


if __name__ == '__main__':
    sys.exit(main())
