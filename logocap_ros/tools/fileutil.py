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


"""Small file-system helpers shared by the tools: atomic writes, staging folders, sha256.

Every tool writes its outputs so that a half-finished run never leaves a file or folder that
looks complete: files are written next to their final name and renamed into place
(:func:`os.replace` is atomic on one file system), folders are filled under a hidden temporary
name and renamed at the end (:func:`staging_dir`).
"""

import contextlib
import os
from pathlib import Path
import shutil
import tempfile
from typing import Iterator, Union

from logocap_ros.backends.cache import (apply_umask, atomic_write_bytes,  # noqa: F401
                                        current_umask, file_sha256 as sha256_file)

PathLike = Union[str, os.PathLike]


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode('utf-8'))


@contextlib.contextmanager
def staging_dir(final: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``final`` only if the ``with`` block succeeds.

    The temporary folder is a hidden sibling of ``final`` (same file system, so the final
    rename is atomic). On any exception it is deleted and ``final`` is left untouched.

    :param final: the output folder to create.
    :param overwrite: replace an existing ``final``; otherwise an existing one is an error.
    :raises FileExistsError: ``final`` exists and ``overwrite`` is false.
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise FileExistsError(f'{final} already exists (pass --overwrite to replace it)')
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{final.name}.', suffix='.tmp', dir=final.parent))
    try:
        apply_umask(tmp, folder=True)
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _replace_dir(tmp, final)


def _replace_dir(src: Path, final: Path) -> None:
    """Move folder ``src`` to ``final``, replacing an existing ``final`` last."""
    if not final.exists():
        os.replace(src, final)
        return
    old = final.with_name(f'.{final.name}.old-{os.getpid()}')
    os.replace(final, old)
    os.replace(src, final)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()
