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


"""Resumable, retrying HTTP(S) download with urllib only (no extra dependencies).

The payload is written to ``<dest>.part``; an interrupted transfer is resumed with an HTTP
``Range`` request on the next attempt (or the next run), and ``<dest>`` appears only once the
transfer is complete and, when an expected sha256 is given, verified.
"""

import http.client
import os
from pathlib import Path
import re
import socket
import sys
import time
from typing import Callable, Optional
import urllib.error
import urllib.parse
import urllib.request

from logocap_ros.tools.fileutil import sha256_file
from logocap_ros.tools.progress import progress_bar

USER_AGENT = 'logocap_ros-weights/0.1'
_CONTENT_RANGE = re.compile(r'bytes\s+(\d+)-(\d+)/(\d+|\*)')
_UNSATISFIABLE = re.compile(r'bytes\s+\*/(\d+)')


class DownloadError(RuntimeError):
    """A download failed for good (bad URL, HTTP 4xx, retries exhausted, hash mismatch)."""


class _RetryableError(Exception):
    """Internal: a transient failure worth another attempt."""


def part_path(dest: Path) -> Path:
    """Return the partial-download file used for ``dest`` (``<dest>.part``)."""
    return dest.with_name(dest.name + '.part')


def download_file(url: str, dest: os.PathLike, *, retries: int = 5, backoff: float = 1.0,
                  timeout: float = 60.0, expected_sha256: Optional[str] = None,
                  show_progress: bool = True, chunk_size: int = 1 << 16,
                  sleep: Callable[[float], None] = time.sleep) -> str:
    """Download ``url`` to ``dest``, resuming a previous ``.part`` file, and return its sha256.

    :param url: ``http(s)://`` or ``file://`` URL (redirects are followed).
    :param dest: final file path; written only after a complete (and verified) transfer.
    :param retries: extra attempts after a transient failure (connection reset, timeout,
        truncated body, HTTP 5xx/429); each resumes where the last one stopped.
    :param backoff: first wait in seconds between attempts, doubled each time.
    :param timeout: socket timeout per attempt, seconds.
    :param expected_sha256: if given, the completed file must have this digest, otherwise
        the partial file is deleted and :class:`DownloadError` is raised.
    :param show_progress: show a byte progress bar on stderr.
    :param chunk_size: read size in bytes.
    :param sleep: the wait function (tests pass a no-op).
    :return: the hex sha256 of the downloaded file.
    :raises DownloadError: on a permanent failure; the ``.part`` file is kept for a later
        resume unless its content is known to be wrong.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    last_error = None
    for attempt in range(retries + 1):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        try:
            _fetch_once(url, part, timeout, chunk_size, show_progress)
            break
        except _RetryableError as exc:
            last_error = exc
            print(f'download attempt {attempt + 1}/{retries + 1} failed: {exc}',
                  file=sys.stderr, flush=True)
    else:
        resume = (' (run the same command again to resume)'
                  if part.is_file() and part.stat().st_size else '')
        raise DownloadError(f'could not download {url} after {retries + 1} attempts: '
                            f'{last_error}{resume}')
    digest = sha256_file(part)
    if expected_sha256 and digest != expected_sha256.lower():
        part.unlink()
        raise DownloadError(f'sha256 mismatch for {url}: expected {expected_sha256}, '
                            f'got {digest}; the download was deleted')
    os.replace(part, dest)
    return digest


def _open(url: str, offset: int, timeout: float):
    """Open ``url`` asking for bytes from ``offset``; map failures to our error types."""
    headers = {'User-Agent': USER_AGENT}
    if offset:
        headers['Range'] = f'bytes={offset}-'
    request = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (checked scheme)
    except urllib.error.HTTPError as exc:
        if exc.code == 416:
            return exc
        if exc.code >= 500 or exc.code == 429:
            raise _RetryableError(f'HTTP {exc.code} {exc.reason}') from exc
        raise DownloadError(f'HTTP {exc.code} {exc.reason} for {url}') from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, FileNotFoundError):
            raise DownloadError(f'{url}: {exc.reason}') from exc
        if isinstance(exc.reason, socket.gaierror):  # DNS: retrying does not help
            host = urllib.parse.urlsplit(url).hostname
            raise DownloadError(
                f'cannot resolve host {host!r} ({exc.reason.strerror}); check the network '
                'connection, or download logocap.tar.gz elsewhere and pass '
                '--url-base file:///<its folder>') from exc
        raise _RetryableError(f'cannot reach {url}: {exc.reason}') from exc
    except (ConnectionError, TimeoutError, http.client.HTTPException) as exc:
        raise _RetryableError(f'{type(exc).__name__}: {exc}') from exc


def _check_scheme(url: str) -> None:
    if not url.lower().startswith(('http://', 'https://', 'file://')):
        raise DownloadError(f'unsupported URL scheme in {url!r} (use http, https or file)')


def _fetch_once(url: str, part: Path, timeout: float, chunk_size: int,
                show_progress: bool) -> None:
    """Run one transfer attempt, appending to ``part``; return when it holds the whole file."""
    _check_scheme(url)
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset, timeout)
    with response:
        status = getattr(response, 'status', None) or 200
        if status == 416:
            _handle_unsatisfiable(response, part, offset)
            return
        start, total = _plan(response, status, offset)
        _stream(response, part, start, total, chunk_size, show_progress)


def _handle_unsatisfiable(response, part: Path, offset: int) -> None:
    """HTTP 416 on a resume: the part file is complete, or it is stale and must go."""
    match = _UNSATISFIABLE.search(response.headers.get('Content-Range', '') or '')
    if match and int(match.group(1)) == offset:
        return
    part.unlink()
    raise _RetryableError('server rejected the resume range; restarting from scratch')


def _plan(response, status: int, offset: int):
    """Return ``(start_offset, total_size_or_None)`` for the body of ``response``."""
    length = response.headers.get('Content-Length')
    length = int(length) if length and length.isdigit() else None
    if status == 206:
        match = _CONTENT_RANGE.search(response.headers.get('Content-Range', '') or '')
        if not match or int(match.group(1)) != offset:
            raise _RetryableError('server sent an unexpected byte range')
        total = match.group(3)
        return offset, (int(total) if total.isdigit() else None)
    return 0, length


def _stream(response, part: Path, start: int, total: Optional[int], chunk_size: int,
            show_progress: bool) -> None:
    """Copy the body of ``response`` into ``part`` from byte ``start``."""
    mode = 'ab' if start else 'wb'
    received = start
    with open(part, mode) as out, progress_bar(
            total=total, desc=part.name[:-len('.part')], unit='B', unit_scale=True,
            enable=show_progress) as bar:
        bar.update(start)
        try:
            for block in iter(lambda: response.read(chunk_size), b''):
                out.write(block)
                received += len(block)
                bar.update(len(block))
        except (ConnectionError, TimeoutError, http.client.HTTPException) as exc:
            raise _RetryableError(f'transfer interrupted at {received} bytes: '
                                  f'{type(exc).__name__}') from exc
    if total is not None and received != total:
        raise _RetryableError(f'transfer ended at {received} of {total} bytes')
