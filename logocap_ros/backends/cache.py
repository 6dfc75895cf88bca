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
where ``<cache>`` is ``$LOGOCAP_CACHE_DIR`` or ``~/.cache/logocap_ros``.
"""

import hashlib
import os
from pathlib import Path
import tempfile
from typing import Optional, Union

CACHE_ENV = 'LOGOCAP_CACHE_DIR'
_CHUNK = 1 << 20


def cache_root(override: Optional[Union[str, os.PathLike]] = None) -> Path:
    """Return the cache root: ``override``, else ``$LOGOCAP_CACHE_DIR``, else ``~/.cache/...``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / '.cache' / 'logocap_ros'


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


def atomic_write_bytes(path: Union[str, os.PathLike], data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file and a rename (readers never see half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + '.', suffix='.part', dir=str(path.parent))
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
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
    return Path(tmp)
