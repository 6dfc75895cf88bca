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


"""benchmarks/gpu_checks.py's own logic on the CPU: outcomes, exit status, summary, pairing."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

_SPEC = importlib.util.spec_from_file_location(
    'gpu_checks', Path(__file__).resolve().parent.parent / 'benchmarks' / 'gpu_checks.py')
checks = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(checks)


def _unavailable():
    raise checks.Unavailable('tensorrt is not installed')


def _fails():
    raise AssertionError('found 50%')


def test_missing_optional_package_is_reported_not_failed():
    runner = checks.Runner(60, required=['torch'])
    runner.run('torch', 'torch', lambda: 'ok')
    runner.run('tensorrt fp16', 'tensorrt', _unavailable)
    assert [r['status'] for r in runner.results] == [checks.PASS, checks.UNAVAILABLE]
    assert runner.exit_code() == 0
    assert '| tensorrt fp16 | unavailable |' in runner.table()


def test_missing_required_package_fails_the_run():
    runner = checks.Runner(60, required=['torch', 'tensorrt'])
    runner.run('tensorrt fp16', 'tensorrt', _unavailable)
    assert runner.results[0]['status'] == checks.NOT_RUN and runner.exit_code() == 3


def test_a_failed_check_and_the_time_budget():
    runner = checks.Runner(60, required=['torch'])
    runner.run('parity', 'torch', _fails)
    assert runner.results[0]['status'] == checks.FAIL and runner.exit_code() == 1
    late = checks.Runner(-1, required=[])
    late.run('anything', 'torch', lambda: 'ok')
    assert late.results[0]['status'] == checks.NOT_RUN and late.exit_code() == 3


def test_without_cuda_the_script_says_so_and_exits_3(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert checks.main(['--out', str(tmp_path)]) == 3
    assert 'no CUDA GPU' in capsys.readouterr().err
    assert 'cannot run here' in (tmp_path / 'summary.md').read_text()


def test_parity_pairs_candidates_by_centre_not_by_index():
    centers = np.array([[5, 5, 0.9], [9, 9, 0.8], [20, 20, 0.3]], np.float32)
    poses = np.random.default_rng(0).uniform(0, 50, (3, 17, 3)).astype(np.float32)
    ref = {'centers': centers, 'scores': np.array([0.9, 0.8, 0.3], np.float32),
           'poses': poses}
    swapped = {k: v[[1, 0, 2]].copy() for k, v in ref.items()}   # near-tie reordered
    p = checks.parity(ref, swapped, 0.01)
    assert p['found'] == 1.0 and p['close'] == 1.0 and p['max_px'] == 0.0
    swapped['poses'][0, 3, 0] += 2.0
    p = checks.parity(ref, swapped, 0.01)
    assert p['max_px'] == pytest.approx(2.0) and p['close'] == pytest.approx(50 / 51)


def test_benchmark_table_and_speedups():
    rows = [{'label': 'torch eager', 'precision': 'fp32', 'flip': True, 'input': '704x512',
             'median_ms': 20.0, 'p95_ms': 22.0, 'start_s': 1.0, 'status': 'pass',
             'parity': {'p50_px': 0.0, 'max_px': 0.0, 'found': 1.0}},
            {'label': 'torch graph', 'precision': 'fp16', 'flip': True, 'input': '704x512',
             'median_ms': 5.0, 'p95_ms': 6.0, 'start_s': 3.0, 'status': 'pass',
             'parity': {'p50_px': 0.25, 'max_px': 3.5, 'found': 0.95}},
            {'label': 'tensorrt', 'precision': 'fp16', 'flip': True, 'status': 'unavailable',
             'error': 'tensorrt is not installed'}]
    checks.add_speedups(rows)
    table = checks.bench_table(rows)
    assert '| torch graph | fp16 | 704x512 | on | 5.00 | 6.00 | 4.00x | 0.25 / 3.5, 95% |' \
        in table
    assert '| tensorrt | fp16 | ? | on | unavailable: tensorrt is not installed' in table


def test_quick_benchmark_covers_the_target_setting():
    rows = checks.bench_rows('quick', 'cuda')
    labels = {(r['label'], r['precision'], r['flip']) for r in rows}
    assert ('torch eager', 'fp32', True) in labels and ('tensorrt', 'fp16', True) in labels
    assert all(r['camera'] == (480, 640) for r in rows)
