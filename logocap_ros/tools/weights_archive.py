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


"""Safe extraction of the checkpoints from the LOGO-CAP release archive.

Only regular-file members whose base name is one of the expected checkpoint names are read;
they are streamed to temporary files next to their destination, hashed, validated, and then
renamed into place all together. Member names are never used as output paths, and an archive
holding any absolute or ``..`` member name is rejected outright as suspicious.
"""

import contextlib
import hashlib
import os
from pathlib import Path, PurePosixPath
import tarfile
import tempfile
from typing import Callable, Dict, Mapping, Optional, Tuple
import zlib

from logocap_ros.tools.fileutil import apply_umask

#: Upper bound on one checkpoint's size (the official W48 one is a few hundred MB).
MAX_MEMBER_BYTES = 4 << 30


class ArchiveError(RuntimeError):
    """The archive is corrupt, suspicious, or lacks an expected checkpoint."""


def is_safe_member_name(name: str) -> bool:
    """Return True if ``name`` is a relative path without ``..`` components.

    ``.`` and ``./`` (the top folder of ``tar czf x.tgz -C dir .``) are safe.
    """
    text = name.replace('\\', '/')
    path = PurePosixPath(text)
    if path.is_absolute() or '..' in path.parts:
        return False
    if not path.parts:
        return text in ('.', './')
    return ':' not in path.parts[0]  # no Windows drive letters either


def _find_members(tar: tarfile.TarFile,
                  file_names: Mapping[str, str]) -> Dict[str, tarfile.TarInfo]:
    """Map each wanted key to its archive member, located by base name."""
    by_name = {fname: key for key, fname in file_names.items()}
    found: Dict[str, tarfile.TarInfo] = {}
    for member in tar.getmembers():
        if not is_safe_member_name(member.name):
            raise ArchiveError(f'refusing archive with unsafe member path {member.name!r}')
        key = by_name.get(PurePosixPath(member.name).name)
        if key is None:
            continue
        if not member.isfile():
            raise ArchiveError(f'archive member {member.name!r} is not a regular file')
        if key in found:
            raise ArchiveError(f'archive holds {file_names[key]} twice')
        if member.size > MAX_MEMBER_BYTES:
            raise ArchiveError(f'archive member {member.name!r} is implausibly large')
        found[key] = member
    missing = sorted(set(file_names) - set(found))
    if missing:
        names = ', '.join(file_names[k] for k in missing)
        raise ArchiveError(f'the archive does not contain {names}')
    return found


def _copy_member(tar: tarfile.TarFile, member: tarfile.TarInfo, dest_dir: Path,
                 final_name: str) -> Tuple[Path, str]:
    """Stream one member to a temporary file in ``dest_dir``; return ``(tmp, sha256)``."""
    source = tar.extractfile(member)
    if source is None:
        raise ArchiveError(f'cannot read archive member {member.name!r}')
    fd, tmp = tempfile.mkstemp(prefix=f'.{final_name}.', suffix='.tmp', dir=dest_dir)
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(fd, 'wb') as out, source:
        for block in iter(lambda: source.read(1 << 20), b''):
            digest.update(block)
            size += len(block)
            out.write(block)
    if size != member.size:
        os.unlink(tmp)
        raise ArchiveError(f'archive member {member.name!r} is truncated')
    apply_umask(tmp)
    return Path(tmp), digest.hexdigest()


def extract_checkpoints(archive: Path, file_names: Mapping[str, str], dest_dir: Path,
                        known_sha256: Mapping[str, Optional[str]],
                        validate: Callable[..., None]) -> Dict[str, Tuple[Path, str]]:
    """Extract, check and install the wanted checkpoints; all of them or none.

    :param archive: the ``.tar.gz`` release archive.
    :param file_names: ``{short_name: file_name}`` to extract (located by base name).
    :param dest_dir: folder receiving ``file_name`` for each entry.
    :param known_sha256: ``{file_name: hex digest or None}``; a set digest must match.
    :param validate: ``validate(path, arch=short_name)`` raising ``ValueError`` if the
        file is not a usable checkpoint.
    :return: ``{short_name: (installed_path, sha256)}``.
    :raises ArchiveError: corrupt or suspicious archive, missing member, failed check;
        nothing in ``dest_dir`` is modified then.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    staged: Dict[str, Tuple[Path, str]] = {}
    try:
        with tarfile.open(archive, 'r:*') as tar:
            for key, member in _find_members(tar, file_names).items():
                staged[key] = _copy_member(tar, member, dest_dir, file_names[key])
        for key, (tmp, digest) in staged.items():
            _check(tmp, digest, key, file_names[key], known_sha256, validate)
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        _discard(staged)
        raise ArchiveError(f'{archive.name} is corrupt or unreadable: {_reason(exc)}') from exc
    except BaseException:
        _discard(staged)
        raise
    result = {}
    for key, (tmp, digest) in staged.items():
        final = dest_dir / file_names[key]
        os.replace(tmp, final)
        result[key] = (final, digest)
    return result


def _reason(exc: BaseException) -> str:
    """Return a one-line description of an archive read error."""
    text = ' '.join(str(exc).split())
    if isinstance(exc, tarfile.ReadError) and 'could not be opened' in text:
        return 'not a tar archive (gzip, bzip2, xz or plain)'
    return text or type(exc).__name__


def _check(tmp: Path, digest: str, key: str, file_name: str,
           known_sha256: Mapping[str, Optional[str]], validate: Callable[..., None]) -> None:
    known = known_sha256.get(file_name)
    if known and digest != known.lower():
        raise ArchiveError(f'sha256 mismatch for {file_name}: expected {known}, got {digest}')
    try:
        validate(tmp, arch=key)
    except ValueError as exc:
        raise ArchiveError(f'{file_name} from the archive is not a valid checkpoint: '
                           f'{exc}') from None


def _discard(staged: Dict[str, Tuple[Path, str]]) -> None:
    for tmp, _ in staged.values():
        with contextlib.suppress(OSError):
            tmp.unlink()
