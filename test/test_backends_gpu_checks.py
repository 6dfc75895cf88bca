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


def test_parity_leaves_near_tie_joints_out_and_says_how_many():
    centers = np.array([[5, 5, 0.9], [9, 9, 0.8]], np.float32)
    poses = np.random.default_rng(1).uniform(0, 50, (2, 17, 3)).astype(np.float32)
    clear = np.ones((2, 17), bool)
    clear[0, 4] = False                       # a near-tie joint: it may move by a blend step
    ref = {'centers': centers, 'scores': np.array([0.9, 0.8], np.float32), 'poses': poses,
           'clear': clear}
    got = {k: v.copy() for k, v in ref.items() if k != 'clear'}
    got['poses'][0, 4, 0] += 0.5
    p = checks.parity(ref, got, 0.01)
    assert p['close'] == 1.0 and p['ties'] == pytest.approx(1 / 34) and p['max_px'] == 0.5
    got['poses'][1, 2, 1] += 0.5              # an unambiguous joint that moved: counted
    p = checks.parity(ref, got, 0.01)
    assert p['close'] == pytest.approx(32 / 33)
    assert 'near-ties left out: 2.9%' in checks.assert_parity(p, 0.9, 0.95)


def test_cpu_reference_marks_tied_adapted_maps(monkeypatch):
    adapted = np.zeros((1, 2, 3, 3), np.float32)
    adapted[0, 0] = [[0, 0, 0], [0, 0.9, 0.5], [0, 0, 0.1]]   # clear maximum
    adapted[0, 1, 1, 1] = adapted[0, 1, 2, 2] = 0.7          # two equal cells
    monkeypatch.setattr(checks.ex, 'run_torch', lambda *a: {'adapted': adapted})
    assert checks.cpu_reference(None, None, True)['clear'].tolist() == [[True, False]]


def test_preprocessing_check_accepts_float_rounding_not_other_pixels(monkeypatch):
    from logocap_ros.backends import gpu_preprocess as gp
    real = gp.warp_normalise

    def nudged(*args, **kwargs):
        out = real(*args, **kwargs)
        return out + torch.where(torch.rand_like(out) < 0.5, 1e-6, 0.0)   # last-bit FMA noise
    monkeypatch.setattr(gp, 'warp_normalise', nudged)
    assert 'float rounding' in checks.check_device_preprocessing('cpu')

    def shifted(*args, **kwargs):
        return real(*args, **kwargs) + 0.5
    monkeypatch.setattr(gp, 'warp_normalise', shifted)
    with pytest.raises(AssertionError, match='grey levels'):
        checks.check_device_preprocessing('cpu')


def test_estimator_check_on_tensorrt_is_unavailable_without_tensorrt(monkeypatch):
    monkeypatch.setattr(checks, 'has_tensorrt', lambda: False)
    with pytest.raises(checks.Unavailable, match='tensorrt is not installed'):
        checks.check_estimator(None, 'cuda', 'fp32', 'tensorrt')


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
    assert ('torch eager', 'fp32', True) in labels
    assert all(r['camera'] == (480, 640) for r in rows)


def test_tensorrt_rows_first_both_dynconv_forms_low_optimisation_level():
    """Issue 20 findings 5 and 6: both forms timed, TensorRT first, a fast builder level."""
    for mode in ('quick', 'full'):
        rows = checks.bench_rows(mode, 'cuda')
        first = rows[:3]
        assert [r['backend'] for r in first] == ['tensorrt'] * 3
        trt = [r for r in rows if r['backend'] == 'tensorrt']
        assert {(r['precision'], r['options']['dynconv']) for r in trt} >= {
            ('fp16', 'shifted'), ('fp16', 'conv'), ('fp32', 'shifted')}
        assert all(r['options']['optimization_level'] == checks.CHECK_OPT_LEVEL < 3
                   for r in trt)
    names = []

    class Recorder:
        def run(self, name, needs, fn):
            names.append((name, needs))
    checks.all_checks(Recorder(), _tiny_net(), 'cuda', Path('/nonexistent'))
    needs = [n for _, n in names]
    assert needs[:needs.count('tensorrt')] == ['tensorrt'] * needs.count('tensorrt')
    assert any('conv form' in name for name, _ in names)


def _tiny_net():
    from logocap_ros.backends.factory import load_network
    torch.manual_seed(0)
    return load_network('w32', 'random')[0]


@pytest.mark.parametrize('precision, version, tol, says', [
    ('fp32', '4.11.0', 0.01, False), ('fp32', '4.12.0', 0.01, False),
    ('fp32', '4.10.0', 1.0, True), ('fp32', '4.5.4', 1.0, True), ('fp16', '4.5.4', 4.0, False)])
def test_estimator_check_tolerance_follows_the_opencv_version(precision, version, tol, says):
    """Issue 20 finding 10: 0.01 px needs OpenCV >= 4.11 (JetPack's is older): say so."""
    got, note = checks.estimator_tolerance(precision, version)
    assert got == tol and ('< 4.11' in note) is says
