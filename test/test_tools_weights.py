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


"""Tests of ``logocap-weights`` against a local HTTP server serving a fake release archive."""

import hashlib
import http.server
import io
import os
from pathlib import Path
import tarfile
import threading

from logocap_ros.tools import weights
from logocap_ros.tools.download import download_file, DownloadError
from logocap_ros.tools.fileutil import sha256_file
import pytest
import torch

W32 = weights.CHECKPOINTS['w32']
W48 = weights.CHECKPOINTS['w48']


def _fake_checkpoint(seed: int) -> bytes:
    """Serialise a small random state dict (not the real model) to bytes."""
    gen = torch.Generator().manual_seed(seed)
    state = {'layer.weight': torch.randn(4, 3, generator=gen),
             'layer.bias': torch.randn(4, generator=gen),
             'bn.num_batches_tracked': torch.tensor(7)}
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def _tar_gz(members, symlinks=()) -> bytes:
    """Build a .tar.gz in memory from ``{member_name: bytes}`` (+ symlink members)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in symlinks:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


def _good_archive(prefix='logocap/', seed=0) -> bytes:
    return _tar_gz({prefix + W32: _fake_checkpoint(seed), prefix + W48: _fake_checkpoint(seed + 1),
                    'logocap/README.txt': b'not a checkpoint'})


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.payload`` at ``/logocap.tar.gz`` with Range support and fault knobs."""

    def do_GET(self):  # noqa: N802 (http.server API)
        srv = self.server
        srv.requests.append(self.headers.get('Range'))
        if self.path != '/' + weights.ARCHIVE_NAME:
            self.send_error(404)
            return
        if srv.errors_left > 0:
            srv.errors_left -= 1
            self.send_error(503)
            return
        data, start = srv.payload, 0
        rng = self.headers.get('Range')
        if rng and srv.ranges:
            start = int(rng.split('=')[1].split('-')[0])
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if srv.cuts_left > 0:
            srv.cuts_left -= 1
            body = body[:len(body) // 2]
            self.close_connection = True
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """Serve the fake archive on 127.0.0.1 at a random port; the URL base is ``.url``."""
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    srv.payload = _good_archive()
    srv.requests, srv.errors_left, srv.cuts_left, srv.ranges = [], 0, 0, True
    srv.url = f'http://127.0.0.1:{srv.server_address[1]}'
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Return an empty cache folder, also made the default through the environment."""
    path = tmp_path / 'cache'
    monkeypatch.setenv('LOGOCAP_CACHE_DIR', str(path))
    return path


def _download(server, cache, names=('w32',), **kwargs):
    kwargs.setdefault('backoff', 0.0)
    return weights.download(list(names), cache, url_base=server.url, show_progress=False,
                            **kwargs)


def _leftovers(cache: Path):
    """Files that look like finished outputs or staging debris, relative to ``cache``."""
    if not cache.exists():
        return []
    return sorted(str(p.relative_to(cache)) for p in cache.rglob('*')
                  if p.is_file() and p.name not in (weights.MANIFEST_NAME, weights.VERIFIED_NAME,
                                                    '.lock'))


def test_download_extracts_validates_and_records(server, cache):
    paths = _download(server, cache, ['w32', 'w48'])
    assert paths == {'w32': cache / W32, 'w48': cache / W48}
    for name, seed in (('w32', 0), ('w48', 1)):
        state = torch.load(paths[name], weights_only=True)
        expected = torch.load(io.BytesIO(_fake_checkpoint(seed)), weights_only=True)
        assert torch.equal(state['layer.weight'], expected['layer.weight'])
    manifest = weights.load_manifest(cache)
    assert manifest['files']['w32']['sha256'] == sha256_file(cache / W32)
    assert manifest['files']['w32']['archive_sha256'] == hashlib.sha256(server.payload).hexdigest()
    assert _leftovers(cache) == sorted([W32, W48])  # archive removed, no .part/.tmp left
    assert weights.verify(cache) == []


@pytest.mark.parametrize('prefix', ['', 'logocap/', 'weights/logocap/'])
def test_members_located_by_file_name(server, cache, prefix):
    server.payload = _good_archive(prefix=prefix)
    assert (_download(server, cache, ['w48'])['w48']).is_file()
    assert not (cache / W32).exists()


def test_second_download_is_a_no_op_unless_forced(server, cache):
    _download(server, cache)
    count = len(server.requests)
    _download(server, cache)
    assert len(server.requests) == count
    _download(server, cache, force=True)
    assert len(server.requests) == count + 1


def test_resume_after_truncated_transfer_uses_range(server, cache):
    server.cuts_left = 1
    _download(server, cache, retries=2)
    assert server.requests[0] is None
    half = (len(server.payload)) // 2
    assert server.requests[1] == f'bytes={half}-'
    assert (cache / W32).read_bytes() == _fake_checkpoint(0)
    assert weights.verify(cache) == []


def test_resume_across_runs_keeps_part_file(server, cache):
    server.cuts_left = 1
    with pytest.raises(weights.WeightsError, match='run the same command again'):
        _download(server, cache, retries=0)
    part = cache / 'downloads' / (weights.ARCHIVE_NAME + '.part')
    assert part.stat().st_size == len(server.payload) // 2
    assert not (cache / W32).exists()
    _download(server, cache, retries=0)
    assert server.requests[-1] == f'bytes={len(server.payload) // 2}-'
    assert (cache / W32).is_file() and not part.exists()


def test_server_without_range_support_restarts(server, cache):
    server.cuts_left, server.ranges = 1, False
    _download(server, cache, retries=1)
    assert weights.verify(cache) == []


def test_retries_transient_http_errors(server, cache):
    server.errors_left = 2
    _download(server, cache, retries=2)
    assert len(server.requests) == 3
    server.errors_left = 5
    with pytest.raises(weights.WeightsError, match='after 2 attempts'):
        _download(server, cache, retries=1, force=True)


def test_download_file_backoff_doubles(server, tmp_path):
    server.errors_left = 3
    waits = []
    download_file(server.url + '/' + weights.ARCHIVE_NAME, tmp_path / 'a.tgz', retries=3,
                  backoff=0.5, sleep=waits.append, show_progress=False)
    assert waits == [0.5, 1.0, 2.0]


def test_http_404_is_not_retried(server, tmp_path):
    with pytest.raises(DownloadError, match='HTTP 404'):
        download_file(server.url + '/nope.tar.gz', tmp_path / 'x', retries=3, backoff=0,
                      show_progress=False)
    assert len(server.requests) == 1


@pytest.mark.parametrize('payload', [
    b'this is not a gzip file at all' * 100,
    _good_archive()[:600],  # truncated gzip stream (1.1 kB in full), served as complete
    _tar_gz({W32: b'not a torch file', W48: _fake_checkpoint(3)}),
    _tar_gz({W48: _fake_checkpoint(3)}),  # member missing
])
def test_corrupt_archive_leaves_nothing_looking_complete(server, cache, payload):
    server.payload = payload
    with pytest.raises(weights.WeightsError):
        _download(server, cache)
    assert _leftovers(cache) == []
    assert 'w32' not in weights.load_manifest(cache)['files']


def test_bad_archive_never_replaces_good_file(server, cache):
    _download(server, cache)
    before = sha256_file(cache / W32)
    server.payload = _tar_gz({W32: b'garbage', W48: b'garbage'})
    with pytest.raises(weights.WeightsError, match='not a valid checkpoint'):
        _download(server, cache, force=True)
    assert sha256_file(cache / W32) == before
    assert weights.verify(cache) == []


def test_known_archive_hash_mismatch(server, cache, monkeypatch):
    monkeypatch.setitem(weights.KNOWN_SHA256, weights.ARCHIVE_NAME, '0' * 64)
    with pytest.raises(weights.WeightsError, match='sha256 mismatch'):
        _download(server, cache)
    assert _leftovers(cache) == []


def test_known_member_hash_mismatch_and_match(server, cache, monkeypatch):
    monkeypatch.setitem(weights.KNOWN_SHA256, W32, 'f' * 64)
    with pytest.raises(weights.WeightsError, match='sha256 mismatch for ' + W32):
        _download(server, cache)
    assert _leftovers(cache) == []
    monkeypatch.setitem(weights.KNOWN_SHA256, W32, hashlib.sha256(_fake_checkpoint(0)).hexdigest())
    _download(server, cache)
    assert weights.verify(cache) == []


@pytest.mark.parametrize('evil', ['../evil.pth.tar', '/tmp/evil.pth.tar', 'a/../../' + W32])
def test_path_traversal_member_rejected(server, cache, tmp_path, evil):
    members = {'logocap/' + W32: _fake_checkpoint(0), evil: _fake_checkpoint(9)}
    server.payload = _tar_gz(members)
    with pytest.raises(weights.WeightsError, match='unsafe member path'):
        _download(server, cache)
    assert _leftovers(cache) == []
    assert not (tmp_path / 'evil.pth.tar').exists()


def test_symlink_member_rejected(server, cache):
    server.payload = _tar_gz({'x': _fake_checkpoint(0)}, symlinks=[(W32, '/etc/passwd')])
    with pytest.raises(weights.WeightsError, match='not a regular file'):
        _download(server, cache)
    assert _leftovers(cache) == []


def test_verify_detects_tampering(server, cache, capsys):
    _download(server, cache)
    with open(cache / W32, 'ab') as stream:
        stream.write(b'x')
    assert weights.main(['verify', '--cache-dir', str(cache)]) == 1
    assert 'logocap-weights download w32' in capsys.readouterr().err


def test_short_name_resolution(server, cache, tmp_path, monkeypatch):
    _download(server, cache, ['w32', 'w48'])
    assert weights.resolve_weights('w32') == cache / W32
    assert weights.resolve_weights('W48', cache) == cache / W48
    own = tmp_path / 'mine.pth'
    own.write_bytes(b'x')
    assert weights.resolve_weights(str(own)) == own
    monkeypatch.delenv('LOGOCAP_CACHE_DIR')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert weights.default_cache_dir() == tmp_path / 'xdg' / 'logocap_ros'


def test_missing_weights_message(cache, tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match='Run: logocap-weights download w48$'):
        weights.resolve_weights('w48')
    other = tmp_path / 'elsewhere'
    with pytest.raises(FileNotFoundError) as info:
        weights.resolve_weights('w32', other)
    assert f'logocap-weights download w32 --cache-dir {other}' in str(info.value)
    with pytest.raises(FileNotFoundError, match='weights file not found'):
        weights.resolve_weights(str(tmp_path / 'nope.pth'))
    assert weights.main(['path', 'w32']) == 1
    assert 'logocap-weights download w32' in capsys.readouterr().err


def test_cli_download_prints_usable_path(server, cache, capsys):
    rc = weights.main(['download', 'all', '--url-base', server.url, '--quiet',
                       '--cache-dir', str(cache)])
    out = capsys.readouterr().out
    assert rc == 0
    assert str(cache / W32) in out and str(cache / W48) in out
    assert weights.main(['path', 'w48']) == 0
    assert capsys.readouterr().out.strip() == str(cache / W48)
    assert weights.main(['verify']) == 0


def test_cli_unreachable_server_is_one_line_error(cache, capsys):
    rc = weights.main(['download', 'w32', '--url-base', 'http://127.0.0.1:9', '--retries', '0',
                       '--quiet'])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert rc == 1 and last.startswith('logocap-weights: error:') and 'Traceback' not in err
    assert 'Connection refused' in last
    assert not (cache / W32).exists()


def test_file_url_mirror(cache, tmp_path):
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    (mirror / weights.ARCHIVE_NAME).write_bytes(_good_archive())
    weights.download(['w32'], cache, url_base=mirror.as_uri(), show_progress=False)
    assert weights.verify(cache) == []
    assert os.path.getsize(cache / W32) == len(_fake_checkpoint(0))


def test_download_all_and_unknown_name(server, cache):
    assert set(_download(server, cache, ['all'])) == {'w32', 'w48'}
    with pytest.raises(ValueError, match='unknown weights name'):
        _download(server, cache, ['w64'])


def test_concurrent_downloads_are_serialised(server, cache):
    errors = []

    def worker():
        try:
            _download(server, cache, ['w32', 'w48'])
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(server.requests) == 1, 'the later runs find the verified files'
    assert weights.verify(cache) == []


def test_kept_archive_is_reused_but_not_with_force(server, cache):
    _download(server, cache, ['w32'], keep_archive=True)
    assert (cache / 'downloads' / weights.ARCHIVE_NAME).is_file()
    _download(server, cache, ['w48'])  # extracted from the kept archive, no new request
    assert len(server.requests) == 1 and (cache / W48).is_file()
    assert not (cache / 'downloads' / weights.ARCHIVE_NAME).exists()
    _download(server, cache, ['w32'], keep_archive=True)
    _download(server, cache, ['w32'], force=True)
    assert len(server.requests) == 2


def test_archive_made_with_tar_dot_is_accepted(server, cache, tmp_path):
    # `tar czf logocap.tar.gz -C dir .` stores the members as '.', './<file>', ...
    folder = tmp_path / 'release'
    folder.mkdir()
    (folder / W32).write_bytes(_fake_checkpoint(0))
    (folder / W48).write_bytes(_fake_checkpoint(1))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        tar.add(str(folder), arcname='.')
    server.payload = buf.getvalue()
    assert {m.name for m in tarfile.open(fileobj=io.BytesIO(server.payload))} == {
        '.', './' + W32, './' + W48}
    assert _download(server, cache, ['all'])['w48'].read_bytes() == _fake_checkpoint(1)


@pytest.mark.parametrize('payload', [
    b'this is not a gzip file at all' * 100,
    _good_archive()[:600],
    _tar_gz({W32: b'not a torch file', W48: _fake_checkpoint(3)}),
    _tar_gz({W48: _fake_checkpoint(3)}),
])
def test_cli_corrupt_archive_is_one_line(server, cache, capsys, payload):
    server.payload = payload
    rc = weights.main(['download', 'w32', '--url-base', server.url, '--quiet', '--retries', '0'])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 1 and len(err) == 1 and err[0].startswith('logocap-weights: error:'), err
    assert 'weights_only' not in err[0]  # never pass on torch's advice to load unsafely


def test_dns_failure_gives_up_at_once_without_resume_hint(cache, monkeypatch, capsys):
    import socket
    import urllib.error
    import urllib.request
    calls = []

    def no_dns(*args, **kwargs):
        calls.append(args)
        raise urllib.error.URLError(socket.gaierror(-2, 'Name or service not known'))

    monkeypatch.setattr(urllib.request, 'urlopen', no_dns)
    rc = weights.main(['download', 'w32', '--quiet', '--url-base', 'https://no-such-host.invalid'])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 1 and len(calls) == 1, calls
    assert len(err) == 1 and 'no-such-host.invalid' in err[0] and 'resume' not in err[0], err


def test_refused_connection_without_data_does_not_promise_a_resume(cache, capsys):
    rc = weights.main(['download', 'w32', '--url-base', 'http://127.0.0.1:9', '--retries', '0',
                       '--quiet'])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 1 and 'resume' not in last, last


def test_status_lists_what_is_cached_and_verified(server, cache, capsys):
    assert weights.main(['status']) == 0
    out = capsys.readouterr().out
    assert 'w32: not downloaded' in out and 'w48: not downloaded' in out, out
    _download(server, cache, ['w32'])
    with open(cache / W32, 'rb') as stream:
        assert stream.read(1)
    assert weights.main(['list']) == 0
    out = capsys.readouterr().out
    assert f'w32: OK {cache / W32}' in out and 'w48: not downloaded' in out, out
    with open(cache / W32, 'ab') as stream:
        stream.write(b'x')
    assert weights.main(['status']) == 1
    out = capsys.readouterr().out
    assert 'w32: MISMATCH' in out and 'download w32 --force' in out, out


def test_installed_files_respect_the_umask(server, cache):
    old = os.umask(0o022)
    try:
        _download(server, cache, ['w32'])
    finally:
        os.umask(old)
    assert (cache / W32).stat().st_mode & 0o777 == 0o644
    assert (cache / weights.MANIFEST_NAME).stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize('tamper', ['same_size', 'appended'])
def test_tampered_cached_checkpoint_is_refused_on_load(server, cache, tamper, capsys):
    _download(server, cache, ['w32'])
    path = cache / W32
    data = bytearray(path.read_bytes())
    if tamper == 'same_size':
        data[len(data) // 2] ^= 0xFF
    else:
        data += b'x'
    path.write_bytes(bytes(data))
    for spec in ('w32', str(path)):  # the short name and the printed path
        with pytest.raises(weights.WeightsError, match=r'download w32 --force$') as info:
            weights.resolve_weights(spec)
        assert str(path) in str(info.value)
    import cv2
    import numpy as np
    from logocap_ros.tools import infer
    image = cache / 'img.png'
    cv2.imwrite(str(image), np.zeros((64, 64, 3), np.uint8))
    assert infer.main(['--weights', 'w32', '--device', 'cpu', '--out', str(cache / 'r.json'),
                       str(image)]) == 1
    err = capsys.readouterr().err
    assert 'logocap-weights download w32 --force' in err, err


def test_node_refuses_a_tampered_cached_checkpoint(server, cache):
    from logocap_ros.ros.estimator_loader import resolve_path, StartupError
    _download(server, cache, ['w32'])
    with open(cache / W32, 'ab') as stream:
        stream.write(b'x')
    with pytest.raises(StartupError, match='download w32 --force'):
        resolve_path('w32')


def test_load_check_hashes_once_until_the_file_changes(server, cache, monkeypatch):
    _download(server, cache, ['w32'])
    from logocap_ros.backends import weights as resolution  # where the load check lives
    hashed = []
    real = resolution.file_sha256
    monkeypatch.setattr(resolution, 'file_sha256', lambda p: hashed.append(p) or real(p))
    assert weights.resolve_weights('w32') == cache / W32
    assert weights.resolve_weights('w32') == cache / W32
    assert len(hashed) == 1  # the second load trusts the remembered (size, mtime, sha256)
    stat = (cache / W32).stat()
    os.utime(cache / W32, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert weights.resolve_weights('w32') == cache / W32
    assert len(hashed) == 2  # touched: hashed again (still matching, so accepted)


def test_uncached_or_unrecorded_files_are_not_checked(server, cache, tmp_path):
    own = tmp_path / W32  # same name, outside the cache: the user's own file
    own.write_bytes(b'anything')
    assert weights.resolve_weights(str(own)) == own
    cache.mkdir()
    (cache / W48).write_bytes(b'copied in by hand')  # no manifest entry: UNRECORDED
    assert weights.resolve_weights('w48') == cache / W48


def test_one_cache_folder_with_xdg_cache_home(tmp_path, monkeypatch, capsys):
    from logocap_ros.tools import cache_cli
    from logocap_ros.backends.cache import cache_root
    monkeypatch.delenv('LOGOCAP_CACHE_DIR', raising=False)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    expected = tmp_path / 'xdg' / 'logocap_ros'
    assert weights.default_cache_dir() == expected
    assert cache_root() == expected
    (expected / 'onnx').mkdir(parents=True)
    (expected / 'onnx' / 'w32-dynamic-flip-opset17-x.onnx').write_bytes(b'x' * 10)
    assert cache_cli.main(['list']) == 0
    out = capsys.readouterr().out
    assert f'cache: {expected} ' in out and 'w32-dynamic-flip' in out, out
    monkeypatch.setenv('LOGOCAP_CACHE_DIR', str(tmp_path / 'explicit'))
    assert weights.default_cache_dir() == cache_root() == tmp_path / 'explicit'
