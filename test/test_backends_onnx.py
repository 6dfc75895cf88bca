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


"""ONNX export and ONNX Runtime (CPU) parity with PyTorch (CPU), on small inputs.

Two exports of the random-weight ('B') W32 model serve most tests: the export CLI writes one
(64x128, flip, the 'shifted' dynamic convolution, with intermediate outputs) and the ONNX Runtime
backend exports the other at activation into a temporary cache (any input size, no flip, the
grouped 'conv'), which is then checked at several input sizes.
Per-candidate outputs are compared on the candidates the post-processing keeps (centre
confidence >= 0.01), paired by centre position: the zero-confidence tail is a tie in arbitrary
order that is discarded, and exact ties between centre peaks may resolve differently under
float rounding (see :func:`logocap_ros.backends.export_onnx.compare_outputs`).
"""

import logging

from logocap_ros.backends import export_onnx as ex
from logocap_ros.backends.cache import weights_sha256
from logocap_ros.backends.factory import create_estimator, load_network
from logocap_ros.backends.registry import create_backend
from logocap_ros.backends.torch_backend import TorchBackend
from logocap_ros.core.estimator import EstimatorConfig
from logocap_ros.tools import export_onnx_cli
from model_helpers import assert_matches_reference
import numpy as np
import pytest

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')


@pytest.fixture(scope='module')
def net():
    """W32 with the deterministic random weights 'B'."""
    model, _ = load_network('w32', 'random')
    return model


class _Records(logging.Handler):
    """Collects log messages (module-scoped fixtures cannot use ``caplog``)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope='module')
def cli_export(tmp_path_factory, net):
    """Run ``logocap-export-onnx`` in-process; return (exit code, stdout, log, model path)."""
    import contextlib
    import io
    out = tmp_path_factory.mktemp('export') / 'tiny.onnx'
    buf, records = io.StringIO(), _Records()
    logger = logging.getLogger('logocap_ros')
    level = logger.level
    logger.addHandler(records)
    logger.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(buf):
            rc = export_onnx_cli.main(['--arch', 'w32', '--weights', 'random', '--input-size',
                                       '64', '--image-size', '60x120', '--dynconv', 'shifted',
                                       '--debug-outputs', '--out', str(out)])
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    return rc, buf.getvalue(), '\n'.join(records.messages), out


@pytest.fixture(scope='module')
def image():
    """Return a normalised random image ``(1, 3, 64, 128)`` float32."""
    return np.random.default_rng(3).standard_normal((1, 3, 64, 128)).astype(np.float32)


@pytest.fixture(scope='module')
def cli_outputs(cli_export, net, image):
    """Return (ONNX Runtime outputs, PyTorch outputs) of the CLI's export on ``image``."""
    got = ex.run_onnxruntime(cli_export[3], image)
    return got, ex.run_torch(net, image, True, list(got))


def test_export_cli_writes_checked_model_with_metadata(cli_export, net):
    rc, stdout, log, path = cli_export
    assert rc == 0, log
    assert 'input 64x128' in log and 'check passed' in log
    assert stdout == '', 'progress must go to the log, not to stdout'
    meta = ex.read_metadata(path)
    assert meta['logocap_ros.arch'] == 'w32'
    assert meta['logocap_ros.input_hw'] == '64x128'
    assert meta['logocap_ros.flip_test'] == 'True'
    assert meta['logocap_ros.dynconv'] == 'shifted'
    assert meta['logocap_ros.weights'] == 'random:B'
    assert meta['logocap_ros.weights_sha256'] == weights_sha256(net)


def test_heatmaps_match_torch(cli_outputs):
    got, ref = cli_outputs
    assert got['heatmaps'].shape == (18, 16, 32)
    np.testing.assert_allclose(got['heatmaps'], ref['heatmaps'], rtol=0, atol=1e-4)
    np.testing.assert_allclose(got['offsets'], ref['offsets'], rtol=0, atol=1e-3)


def test_final_keypoints_match_torch(cli_outputs):
    got, ref = cli_outputs
    diffs = ex.compare_outputs(ref, got)
    assert len(ex._kept(ref)) >= 3, 'the test image should give several candidates'
    assert diffs['found'] >= 0.9
    assert diffs['scores'] < 1e-4
    assert diffs['initial_poses'] < 1e-3 and diffs['kam_logits'] < 1e-3
    assert diffs['joints_moved'] <= 0.02


def test_compare_outputs_pairs_by_centre_and_detects_moved_joints():
    centers = np.array([[5, 5, 0.9], [9, 9, 0.5], [20, 20, 0.3], [0, 0, 0.0]], np.float32)
    poses = np.arange(4 * 17 * 3, dtype=np.float32).reshape(4, 17, 3)
    ref = {'centers': centers, 'scores': np.array([0.9, 0.5, 0.3, 0.0], np.float32),
           'poses': poses}
    got = {k: v.copy() for k, v in ref.items()}
    got['poses'][1, 4, 0] += 2.0
    got['poses'][3, :, :2] += 50.0          # discarded candidate: ignored
    diffs = ex.compare_outputs(ref, got)
    assert diffs['poses'] == pytest.approx(2.0) and diffs['found'] == 1.0
    assert diffs['joints_moved'] == pytest.approx(1 / 51)
    swapped = {k: v[[1, 0, 2, 3]] for k, v in ref.items()}    # same people, other order
    assert ex.compare_outputs(ref, swapped)['poses'] == 0.0
    got['centers'][2, :2] = (40, 40)                           # a person not found
    assert ex.compare_outputs(ref, got)['found'] == pytest.approx(2 / 3)


@pytest.fixture(scope='module')
def ort_cache(tmp_path_factory):
    """Return a private export cache root."""
    return tmp_path_factory.mktemp('cache')


@pytest.fixture(scope='module')
def ort_backend(net, ort_cache):
    """ONNX Runtime backend (no flip) that exports one dynamic-size graph at activation."""
    backend = create_backend('onnxruntime', net, device='cpu', flip_test=False,
                             cache_dir=str(ort_cache), prepare_hw=[(64, 64)])
    backend.activate()
    square = np.random.default_rng(5).standard_normal((1, 3, 64, 64)).astype(np.float32)
    out = backend.infer({'images': square})
    return backend, square, out


def test_backend_exports_once_at_activation_and_matches_torch(ort_backend, ort_cache, net):
    backend, square, out = ort_backend
    files = sorted((ort_cache / 'onnx').glob('*.onnx'))
    assert [f.name.split('-')[:4] for f in files] == [['w32', 'dynamic', 'noflip', 'opset17']]
    assert ex.read_metadata(files[0])['logocap_ros.input_hw'] == 'dynamic'
    assert backend.input_shape() == (1, 3, 64, 64)
    assert set(out) == {'poses', 'scores', 'centers'} and out['poses'].shape == (30, 17, 3)
    with TorchBackend(net, flip_test=False) as torch_backend:
        ref = torch_backend.infer({'images': square})
    assert len(ex._kept(ref)) >= 3
    assert_matches_reference(ref, out)


@pytest.mark.parametrize('hw', [(64, 128), (128, 64), (128, 192)])
def test_one_dynamic_export_serves_every_input_size(ort_backend, ort_cache, net, hw):
    backend = ort_backend[0]
    images = np.random.default_rng(sum(hw)).standard_normal((1, 3) + hw).astype(np.float32)
    out = backend.infer({'images': images})
    assert backend.input_shape() == (1, 3) + hw
    assert len(list((ort_cache / 'onnx').glob('*.onnx'))) == 1, 'exported again'
    ref = ex.run_torch(net, images, False, ['poses', 'scores', 'centers'])
    assert_matches_reference(ref, out)


def test_cached_export_is_reused(ort_backend, ort_cache, net, monkeypatch):
    def no_export(*_a, **_k):
        raise AssertionError('exported again although the cache holds the model')
    monkeypatch.setattr(ex, 'export_onnx', no_export)
    backend = create_backend('onnxruntime', net, flip_test=False, cache_dir=str(ort_cache))
    again = backend.infer({'images': ort_backend[1]})
    np.testing.assert_array_equal(again['centers'], ort_backend[2]['centers'])
    backend.deactivate()


def test_estimator_runs_on_onnxruntime(ort_backend, ort_cache, monkeypatch):
    monkeypatch.setenv('LOGOCAP_CACHE_DIR', str(ort_cache))
    cfg = EstimatorConfig(arch='w32', input_size=64, flip_test=False, backend='onnxruntime')
    img = np.random.default_rng(7).integers(0, 256, (50, 50, 3), dtype=np.uint8)
    est = create_estimator('random', cfg)
    ref = create_estimator('random', EstimatorConfig(arch='w32', input_size=64,
                                                     flip_test=False, backend='torch'))
    res, want = est(img), ref(img)
    assert est.backend.name == 'onnxruntime'
    assert len(list((ort_cache / 'onnx').glob('*.onnx'))) == 1, 'the export was not reused'
    assert len(want.scores) >= 4, 'the test image should give several people'
    # Centre peaks of the upsampled map can be exact ties that one-ulp differences (ONNX
    # Resize vs torch) resolve differently, adding or dropping a candidate; every person
    # found by both must agree, and most must be found by both.
    matched = 0
    for kps, score in zip(want.keypoints, want.scores):
        dist = np.abs(res.keypoints[:, :, :2] - kps[None, :, :2]).max(axis=(1, 2))
        if len(dist) and dist.min() < 0.01:
            matched += 1
            assert res.scores[int(dist.argmin())] == pytest.approx(score, abs=1e-4)
    assert matched >= 0.75 * len(want.scores), (matched, len(want.scores))
    est.close()


def test_fixed_file_rejects_other_sizes_and_flip(cli_export, net, image):
    backend = create_backend('onnxruntime', net, onnx_path=str(cli_export[3]))
    assert backend.activate().input_shape() == (1, 3, 64, 128)
    assert backend.infer({'images': image})['poses'].shape == (30, 17, 3)
    with pytest.raises(ValueError, match='logocap-export-onnx'):
        backend.infer({'images': np.zeros((1, 3, 64, 64), np.float32)})
    wrong_flip = create_backend('onnxruntime', net, flip_test=False,
                                onnx_path=str(cli_export[3]))
    with pytest.raises(ValueError, match='flip_test'):
        wrong_flip.activate()


def test_export_rejects_bad_sizes(net, tmp_path):
    with pytest.raises(ValueError, match='multiples of 64'):
        ex.export_onnx(net, tmp_path / 'x.onnx', (64, 100))


def test_input_hw_for_camera_resolutions():
    assert ex.input_hw_for(512, (480, 640)) == (512, 704)
    assert ex.input_hw_for(512, (720, 1280)) == (512, 960)
    assert ex.input_hw_for(512) == (512, 512)


@pytest.mark.slow
def test_official_size_export_matches_torch_and_official_reference(net, tmp_path):
    """Check W32 at the official 704x512 input (640x480 camera) with flip.

    ONNX Runtime against PyTorch and, where the team's copy of the official-code reference is
    present, against the official outputs (weights 'B').
    """
    from logocap_ros.core import preprocessing
    import refcheck_data as rc
    rgb = rc.image('rand480x640') if rc.REFCHECK.is_dir() else \
        np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    box = preprocessing.letterbox_for(rgb.shape[:2], 512)
    images = preprocessing.normalise(preprocessing.warp_to_input(rgb, box))
    path = ex.export_onnx(net, tmp_path / 'w32_704x512.onnx', box.input_hw,
                          debug_outputs=True)
    got = ex.run_onnxruntime(path, images)
    ref = ex.run_torch(net, images, True, list(got))
    assert rc.rel_err(got['heatmaps'], ref['heatmaps']) < 1e-4
    assert_matches_reference(ref, got)
    if not (rc.REFCHECK / 'refB_rand480x640.npz').is_file():
        return
    official = rc.load('refB', 'rand480x640')
    assert rc.rel_err(got['heatmaps'], official['heatmaps']) < 1e-4
    np.testing.assert_allclose(got['centers'][:, :2], official['decoder_centers_all'][:, :2])
    ok = official['global_topk_unambiguous']
    np.testing.assert_allclose(got['poses'][..., :2][ok],
                               official['poses_input_res'][..., :2][ok], atol=1e-2)
    np.testing.assert_allclose(got['scores'], official['scores_input_res'], atol=1e-4)


@pytest.mark.parametrize('weights, arch', [('random', 'w32'), ('random:w48', 'w48')])
def test_export_clis_accept_the_random_spellings_of_the_node(weights, arch):
    # logocap-export-onnx, -build-engine and -triton-repo read --weights through this
    from logocap_ros.tools.export_onnx_cli import resolve_network
    net, _ = resolve_network('w32', weights)
    assert net.arch == arch


def test_export_cli_never_creates_a_missing_output_folder(tmp_path, capsys):
    out = tmp_path / 'nonexistent' / 'x.onnx'
    rc = export_onnx_cli.main(['--weights', 'random', '--input-size', '64', '--out', str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and 'output folder does not exist' in err, err
    assert not out.parent.exists()
