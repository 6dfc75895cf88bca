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

"""Model structure, checkpoint loading and the estimator API (no reference data needed)."""

from pathlib import Path

from logocap_ros.backends.factory import create_estimator
from logocap_ros.core import checkpoint, decoding, postprocessing, preprocessing
from logocap_ros.core.estimator import EstimatorConfig
from logocap_ros.core.model import LogoCapNet
import numpy as np
import pytest
import torch

KEYS_FILE = Path(__file__).resolve().parents[2] / 'shared' / 'docs' / \
    'logocap_w32_state_dict_keys.txt'


@pytest.fixture(scope='module')
def w32():
    return LogoCapNet('w32').eval()


@pytest.fixture(scope='module')
def w48():
    return LogoCapNet('w48').eval()


@pytest.mark.skipif(not KEYS_FILE.is_file(), reason=f'{KEYS_FILE} only in the team checkout')
def test_w32_state_dict_equals_official_key_list(w32):
    rows = [line.split('\t') for line in KEYS_FILE.read_text().splitlines()
            if line and not line.startswith('#')]
    expected = [(k, [int(v) for v in s.strip('[]').split(',') if v.strip()]) for k, s, _ in rows]
    ours = [(k, list(v.shape)) for k, v in w32.state_dict().items()]
    assert ours == expected


def test_w48_shapes_and_size(w48):
    sd = w48.state_dict()
    assert len(sd) == 1873
    assert sum(v.numel() for v in sd.values()) == 72194268
    assert tuple(sd['transition_cls.0.weight'].shape) == (48, 720, 1, 1)
    assert tuple(sd['final_layer_cls.weight'].shape) == (18, 48, 1, 1)
    assert tuple(sd['backbone.stage4.0.branches.3.0.conv1.weight'].shape) == (384, 384, 3, 3)


def test_w48_strict_load_and_forward_shapes(w48, tmp_path):
    path = tmp_path / 'w48.pth'
    torch.save({'state_dict': {f'module.{k}': v
                               for k, v in checkpoint.filled_state_dict(w48).items()}}, path)
    net = LogoCapNet('w48')
    checkpoint.load_into(net, checkpoint.load_state_dict(path))
    with torch.inference_mode():
        hm, off, feats = net.eval().heads(torch.zeros(2, 3, 128, 192))
    assert hm.shape == (2, 18, 32, 48) and off.shape == (2, 34, 32, 48)
    assert feats.shape == (2, 720, 32, 48)


def test_loading_the_wrong_architecture_names_the_right_one(w32, w48):
    with pytest.raises(checkpoint.CheckpointError, match='looks like LOGO-CAP W48') as info:
        checkpoint.load_into(w32, w48.state_dict())
    assert info.value.suggested_arch == 'w48'
    assert '--arch' not in str(info.value)  # the caller names its own option (CLI or node)


def test_foreign_state_dict_is_explained(w32):
    with pytest.raises(checkpoint.CheckpointError, match='does not look like a LOGO-CAP model'):
        checkpoint.load_into(w32, {'fc.weight': torch.zeros(3, 3)})


def test_corrupt_and_missing_files(tmp_path):
    with pytest.raises(checkpoint.CheckpointError, match='not found'):
        checkpoint.load_state_dict(tmp_path / 'nope.pth')
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a torch file')
    with pytest.raises(checkpoint.CheckpointError, match='cannot read checkpoint'):
        checkpoint.load_state_dict(bad)
    junk = tmp_path / 'junk.pth'
    torch.save({'epoch': 3}, junk)
    with pytest.raises(checkpoint.CheckpointError, match='no model state dict'):
        checkpoint.load_state_dict(junk)


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': torch.zeros(1), 'obj': Path('/tmp')}, path)
    with pytest.raises(checkpoint.CheckpointError) as info:
        checkpoint.load_state_dict(path)
    # never pass on torch's advice to load with weights_only=False (runs code from the file)
    assert 'weights_only' not in str(info.value) and 'PosixPath' in str(info.value)
    assert '\n' not in str(info.value)


def test_random_weights_are_deterministic(w32):
    a, b = checkpoint.filled_state_dict(w32), checkpoint.filled_state_dict(LogoCapNet('w32'))
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError):
        checkpoint.filled_state_dict(w32, 'C')


@pytest.mark.parametrize('hw', [(480, 640), (330, 300), (1080, 1920), (1, 1)])
def test_coordinate_round_trip(hw):
    """A point in the original image maps to the input and back to the same place."""
    box = preprocessing.letterbox_for(hw, 512)
    assert box.input_hw[0] % 64 == 0 and box.input_hw[1] % 64 == 0
    assert min(box.input_hw) == 512
    pts = np.array([[0.0, 0.0], [hw[1] - 1.0, hw[0] - 1.0], [hw[1] / 3.0, hw[0] / 2.0]])
    fwd = box.forward_matrix()
    inp = pts @ fwd[:, :2].T + fwd[:, 2]
    poses = np.zeros((1, 17, 3), np.float32)
    poses[0, :3, :2] = inp
    back = postprocessing.to_original(poses, box)[0, :3, :2]
    np.testing.assert_allclose(back, pts, atol=1e-3 * max(hw))


def test_synthetic_peak_comes_back_at_its_pixel():
    """A centre peak decodes at its input-px position and maps to the right original px."""
    box = preprocessing.letterbox_for((480, 640), 512)
    cmap = torch.zeros(box.input_hw)
    cmap[300, 400] = 1.0
    centers = decoding.find_centers(cmap, 30)
    assert centers[0].tolist() == [400.0, 300.0, 1.0] and float(centers[1, 2]) == 0.0
    pose = np.zeros((1, 17, 3), np.float32)
    pose[0, :, :2] = centers[0, :2].numpy()
    orig = postprocessing.to_original(pose, box)[0, 0, :2]
    k = 512 / 480
    np.testing.assert_allclose(orig, [320 + (400 - 352) / k, 240 + (300 - 256) / k], atol=1e-3)


def test_pose_nms_merges_duplicates_and_keeps_distinct():
    base = np.zeros((17, 3), np.float32)
    base[:, 0] = np.linspace(0, 100, 17)
    base[:, 1] = np.linspace(0, 200, 17)
    poses = np.stack([base, base + [1, 1, 0], base + [500, 0, 0]])
    keep = postprocessing.pose_nms(poses, np.array([0.5, 0.9, 0.3], np.float32))
    assert keep.tolist() == [1, 2]


def test_finalize_sorts_people_by_decreasing_score():
    box = preprocessing.letterbox_for((256, 256), 256)  # identity geometry
    base = np.zeros((17, 3), np.float32)
    base[:, 0] = np.linspace(0, 40, 17)
    base[:, 1] = np.linspace(0, 80, 17)
    base[:, 2] = 0.5
    poses = np.stack([base + [60 * i, 0, 0] for i in range(4)])  # four distinct people
    scores = np.array([0.2, 0.9, 0.5, 0.7], np.float32)
    centers = np.ones((4, 3), np.float32)
    kps, out = postprocessing.finalize(poses, scores, centers, box)
    assert out.tolist() == pytest.approx([0.9, 0.7, 0.5, 0.2])
    np.testing.assert_allclose(kps[0, :, 0], base[:, 0] + 60, atol=1e-3)
    kps, out = postprocessing.finalize(poses, scores, centers, box, max_people=2)
    assert out.tolist() == pytest.approx([0.9, 0.7])
    _, official = postprocessing.finalize(poses, scores, centers, box, sort=False)
    assert official.tolist() == pytest.approx([0.2, 0.9, 0.5, 0.7])  # NMS order


def test_person_box_uses_scored_joints_and_stays_in_the_image():
    from logocap_ros.core.result import PoseResult
    kps = np.zeros((2, 17, 3), np.float32)
    kps[:, :, 0] = np.linspace(10, 90, 17)
    kps[:, :, 1] = np.linspace(20, 60, 17)
    kps[:, :, 2] = 0.5
    kps[0, 0] = [-500.0, 900.0, 0.0]   # unscored joint far away: not part of the box
    kps[0, 1] = [5.0, 15.0, -0.1]      # negative score: not part of the box either
    kps[1, 16] = [130.0, -7.0, 0.4]    # scored joint outside the image: box clipped
    boxes = PoseResult(kps, [0.5, 0.5], (100, 120)).boxes
    np.testing.assert_allclose(boxes[0], [20.0, 25.0, 90.0, 60.0])
    np.testing.assert_allclose(boxes[1], [10.0, 0.0, 119.0, 57.5])
    none_scored = kps[:1].copy()
    none_scored[..., 2] = 0.0
    box = PoseResult(none_scored, [0.0], (100, 120)).boxes[0]
    assert 0 <= box[0] <= box[2] <= 119 and 0 <= box[1] <= box[3] <= 99


def test_config_validation():
    for bad in ({'arch': 'w40'}, {'input_size': 100}, {'precision': 'int4'},
                {'max_people': 0}):
        with pytest.raises(ValueError):
            EstimatorConfig(**bad).validate()
    assert EstimatorConfig(arch='w48').resolved_input_size == 640


@pytest.fixture(scope='module')
def small_estimator():
    return create_estimator('random', EstimatorConfig(input_size=128, backend='torch'))


def test_estimator_api_and_colour_order(small_estimator):
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (96, 160, 3), dtype=np.uint8)
    res_bgr = small_estimator(img, color='bgr')
    res_rgb = small_estimator(img[:, :, ::-1].copy(), color='rgb')
    assert res_bgr.keypoints.shape[1:] == (17, 3) and res_bgr.image_size == (96, 160)
    assert len(res_bgr) > 0
    np.testing.assert_array_equal(res_bgr.keypoints, res_rgb.keypoints)
    assert {'preprocess', 'network', 'refine', 'postprocess'} <= set(res_bgr.timings)
    assert np.all(np.isfinite(res_bgr.keypoints)) and np.all(np.isfinite(res_bgr.scores))


def test_estimator_rejects_bad_images(small_estimator):
    for bad, msg in ((np.zeros((0, 5, 3), np.uint8), 'H, W > 0'),
                     (np.zeros((8, 8), np.uint8), r'\(H, W, 3\)'),
                     (np.zeros((8, 8, 3), np.float32), 'uint8')):
        with pytest.raises(ValueError, match=msg):
            small_estimator(bad)
    with pytest.raises(ValueError, match='color'):
        small_estimator(np.zeros((8, 8, 3), np.uint8), color='hsv')


def test_pruned_and_full_candidates_agree(small_estimator):
    """Refining only the kept candidates gives the same people as refining all 30."""
    from logocap_ros.core.pipeline import LogoCapPipeline
    net = small_estimator.backend.pipeline.net
    img = np.random.default_rng(5).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    box = preprocessing.letterbox_for(img.shape[:2], 128)
    x = torch.from_numpy(preprocessing.normalise(preprocessing.warp_to_input(img, box)))
    outs = []
    for prune in (True, False):
        with torch.inference_mode():
            p, s, c = LogoCapPipeline(net, prune=prune)(x)
        outs.append(postprocessing.finalize(p.numpy(), s.numpy(), c.numpy(), box))
    np.testing.assert_allclose(outs[0][0], outs[1][0], atol=1e-4)
    np.testing.assert_allclose(outs[0][1], outs[1][1], atol=1e-6)
