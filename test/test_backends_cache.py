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


"""The export/engine cache: size limit with least-recently-used eviction, ``logocap-cache``."""

import os
import time

from logocap_ros.backends import cache
from logocap_ros.tools import cache_cli
import pytest

MB = 1 << 20


def _file(path, size_mb, age_s):
    """Create ``path`` with ``size_mb`` MiB, last used ``age_s`` seconds ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'\0' * int(size_mb * MB))
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


@pytest.fixture
def filled(tmp_path):
    """Return a cache with three exports, an engine + sidecar, a timing cache, weights."""
    root = tmp_path / 'cache'
    files = {
        'old': _file(root / 'onnx' / 'w32-dynamic-flip-a.onnx', 3, 500),
        'mid': _file(root / 'onnx' / 'w32-dynamic-noflip-b.onnx', 3, 300),
        'new': _file(root / 'onnx' / 'w48-dynamic-flip-c.onnx', 3, 10),
        'engine': _file(root / 'engines' / 'w32-512x704-fp16.engine', 2, 400),
        'timing': _file(root / 'engines' / 'timing-H100-sm9.0-trt10.3.0.cache', 1, 900),
        'weights': _file(root / 'logocap-hrnet-w32-coco.pth.tar', 4, 1000),
    }
    files['sidecar'] = _file(root / 'engines' / 'w32-512x704-fp16.engine.json', 0.001, 400)
    return root, files


def test_entries_pair_engines_with_sidecars_and_skip_weights(filled):
    root, files = filled
    entries = cache.cache_entries(root)
    assert [e.path for e in entries] == [files[k] for k in ('timing', 'old', 'engine', 'mid',
                                                            'new')]
    engine = next(e for e in entries if e.kind == 'engines' and e.evictable)
    assert engine.files == (files['engine'], files['sidecar'])
    assert not next(e for e in entries if e.path == files['timing']).evictable


def test_prune_removes_least_recently_used_until_under_the_limit(filled, caplog):
    root, files = filled
    removed = cache.prune_cache(root, limit_mb=7)      # 11 MiB evictable -> remove 'old', engine
    assert removed == [files['old'], files['engine']]
    assert not files['sidecar'].exists() and files['mid'].exists() and files['new'].exists()
    assert files['timing'].exists() and files['weights'].exists()
    assert 'least recently used w32-dynamic-flip-a.onnx' in caplog.text


def test_prune_keeps_files_in_use_and_touch_refreshes(filled):
    root, files = filled
    cache.touch(files['old'])                           # used just now: newest
    removed = cache.prune_cache(root, limit_mb=7, keep=[files['mid']])
    assert files['old'].exists() and files['mid'].exists()
    assert removed == [files['engine'], files['new']]


def test_limit_from_the_environment(filled, monkeypatch):
    root, _ = filled
    monkeypatch.setenv(cache.LIMIT_ENV, '1000')
    assert cache.cache_limit_mb() == 1000 and cache.prune_cache(root) == []
    monkeypatch.setenv(cache.LIMIT_ENV, 'lots')
    with pytest.raises(ValueError, match='LOGOCAP_CACHE_LIMIT_MB must be a number'):
        cache.cache_limit_mb()
    assert cache.prune_cache(root, limit_mb=0) == [], '0 disables the limit'


def test_cache_command_lists_and_clears(filled, capsys):
    root, files = filled
    assert cache_cli.main(['--cache-dir', str(root), 'list']) == 0
    out = capsys.readouterr().out
    assert 'w32-512x704-fp16.engine' in out and '5 files' in out
    assert 'pth.tar' not in out, 'weights are managed by logocap-weights'
    assert cache_cli.main(['--cache-dir', str(root), 'clear', '--kind', 'onnx']) == 0
    assert 'removed 3 files' in capsys.readouterr().out
    assert not files['new'].exists() and files['engine'].exists()
    assert cache_cli.main(['--cache-dir', str(root), 'clear']) == 0
    assert not files['engine'].exists() and not files['timing'].exists()
    assert files['weights'].exists()


def test_cache_command_prune(filled, capsys):
    root, files = filled
    assert cache_cli.main(['--cache-dir', str(root), 'prune', '--limit-mb', '4']) == 0
    assert 'removed 3 files' in capsys.readouterr().out
    assert files['new'].exists() and not files['mid'].exists()


def test_a_new_export_prunes_the_cache(filled, monkeypatch):
    """``cached_onnx`` prunes after exporting (the new file is kept)."""
    from logocap_ros.backends import export_onnx
    from logocap_ros.core.model import LogoCapNet
    root, files = filled

    def fake_export(net, path, input_hw, **_kw):
        return _file(path, 3, 0)
    monkeypatch.setattr(export_onnx, 'export_onnx', fake_export)
    path = export_onnx.cached_onnx(LogoCapNet('w32'), None, cache_dir=root,
                                   weights_digest='d' * 64, cache_limit_mb=6)
    assert path.exists() and path.name.startswith('w32-dynamic-flip-opset17-conv-')
    assert not files['old'].exists() and not files['engine'].exists()


def test_cache_files_get_the_usual_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        written = cache.atomic_write_bytes(tmp_path / 'onnx' / 'x.onnx', b'data')
        beside = cache.temp_path_beside(tmp_path / 'engines' / 'y.engine')
    finally:
        os.umask(old)
    assert written.read_bytes() == b'data'
    assert written.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    assert beside.stat().st_mode & 0o777 == 0o644


def test_cache_list_into_a_closed_pipe_and_singular_counts(filled, tmp_path):
    import subprocess
    import sys
    root, _ = filled
    for k in range(1500):  # more than a pipe holds (64 KiB) after `head -1` left
        _file(root / 'onnx' / f'export-{k:04d}-{"x" * 40}.onnx', 0, 0)
    done = subprocess.run(f'{sys.executable} -m logocap_ros.tools.cache_cli --cache-dir '
                          f'{root} list | head -1', shell=True, capture_output=True, text=True,
                          timeout=60, executable='/bin/bash')
    assert done.returncode == 0 and done.stdout.startswith('cache: '), done
    assert 'BrokenPipe' not in done.stderr and done.stderr == '', done.stderr
    one = tmp_path / 'one'
    _file(one / 'onnx' / 'x.onnx', 1, 0)
    done = subprocess.run([sys.executable, '-m', 'logocap_ros.tools.cache_cli',
                           '--cache-dir', str(one), 'clear'], capture_output=True, text=True,
                          timeout=60)
    assert 'removed 1 file (' in done.stdout and 'files' not in done.stdout, done.stdout
