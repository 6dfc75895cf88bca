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


"""Tests of the COCO results builder, the pycocotools evaluation and the ``logocap-eval`` CLI.

The ground truth is a synthetic COCO-format set written by the tests. Predictions are the GT
keypoints shifted per joint by ``c * 2 * sigma_j * sqrt(area)``; pycocotools' OKS is then
exactly ``exp(-c**2 / 2)`` for every person, so the AP over the thresholds 0.50:0.05:0.95 is
known in closed form.
"""

import json
import math
from pathlib import Path

import cv2
from logocap_ros.core.keypoints import KEYPOINT_NAMES, OKS_SIGMAS, SKELETON_EDGES
from logocap_ros.core.result import PoseResult
from logocap_ros.tools import coco, evaluate
import numpy as np
import pytest

SIGMAS = np.array(OKS_SIGMAS)
# (image id, person origin x, y, width, height); areas: 3 large (> 96**2), 2 medium.
PEOPLE = [(1, 40, 30, 160, 300), (1, 360, 60, 120, 240), (2, 100, 100, 50, 60),
          (3, 20, 20, 200, 320), (3, 400, 300, 40, 60)]
IMAGE_IDS = (1, 2, 3)


def _person_keypoints(x0, y0, w, h):
    """Return ``(17, 2)`` float joints spread over a ``w`` x ``h`` box at ``(x0, y0)``."""
    rel = np.array([[.5, .05], [.45, .03], [.55, .03], [.4, .05], [.6, .05], [.3, .2],
                    [.7, .2], [.2, .35], [.8, .35], [.15, .5], [.85, .5], [.35, .55],
                    [.65, .55], [.35, .75], [.65, .75], [.35, .97], [.65, .97]])
    return rel * [w, h] + [x0, y0]


def _write_dataset(root: Path) -> Path:
    """Write ``annotations/person_keypoints_val2017.json`` + PNG images under ``root``."""
    (root / 'annotations').mkdir(parents=True)
    (root / 'images' / 'val2017').mkdir(parents=True)
    images, anns = [], []
    for img_id in IMAGE_IDS:
        name = f'{img_id:012d}.png'
        cv2.imwrite(str(root / 'images' / 'val2017' / name),
                    np.full((480, 640, 3), 10 * img_id, np.uint8))
        images.append({'id': img_id, 'file_name': name, 'height': 480, 'width': 640})
    for ann_id, (img_id, x0, y0, w, h) in enumerate(PEOPLE, start=1):
        kps = np.concatenate([_person_keypoints(x0, y0, w, h), np.full((17, 1), 2.0)], 1)
        anns.append({'id': ann_id, 'image_id': img_id, 'category_id': 1, 'iscrowd': 0,
                     'bbox': [x0, y0, w, h], 'area': float(w * h * 0.6),
                     'num_keypoints': 17, 'keypoints': kps.reshape(-1).tolist()})
    cats = [{'id': 1, 'name': 'person', 'supercategory': 'person',
             'keypoints': list(KEYPOINT_NAMES),
             'skeleton': [[a + 1, b + 1] for a, b in SKELETON_EDGES]}]
    ann_file = root / 'annotations' / 'person_keypoints_val2017.json'
    ann_file.write_text(json.dumps({'images': images, 'annotations': anns,
                                    'categories': cats}))
    return ann_file


@pytest.fixture
def dataset(tmp_path):
    """Return ``(root, ann_file)`` of a synthetic COCO val2017 layout."""
    root = tmp_path / 'coco'
    return root, _write_dataset(root)


def _predictions(oks_by_person=None, drop=()):
    """Return ``{image_id: PoseResult}`` with each person shifted to a chosen OKS."""
    oks_by_person = oks_by_person or {}
    out = {}
    for idx, (img_id, x0, y0, w, h) in enumerate(PEOPLE):
        kps = _person_keypoints(x0, y0, w, h)
        oks = oks_by_person.get(idx, 1.0)
        if oks < 1.0:
            c = math.sqrt(-2.0 * math.log(oks))
            kps = kps + np.stack([c * 2 * SIGMAS * math.sqrt(w * h * 0.6), 0 * SIGMAS], 1)
        if idx in drop:
            continue
        pose = np.concatenate([kps, np.full((17, 1), 0.9)], 1)[None]
        prev = out.get(img_id)
        if prev is not None:
            pose = np.concatenate([prev.keypoints, pose])
        out[img_id] = PoseResult(pose, np.full(len(pose), 0.9), (480, 640))
    return out


def _results(preds):
    return [r for img_id, res in sorted(preds.items()) for r in coco.coco_results(img_id, res)]


def test_coco_results_schema():
    kps = np.zeros((2, 17, 3), np.float32)
    kps[:, :, 0] = np.arange(17) + 10
    kps[:, :, 1] = np.arange(17)[::-1] * 2 + 5
    kps[:, :, 2] = 0.5
    entries = coco.coco_results(42, PoseResult(kps, [0.7, 0.3], (100, 100)))
    assert len(entries) == 2
    first = entries[0]
    assert set(first) == {'image_id', 'category_id', 'keypoints', 'score', 'bbox'}
    assert first['image_id'] == 42 and first['category_id'] == 1
    assert first['keypoints'][:6] == [10.0, 37.0, 0.5, 11.0, 35.0, 0.5]
    assert len(first['keypoints']) == 51
    assert first['score'] == pytest.approx(0.7)
    assert first['bbox'] == [10.0, 5.0, 16.0, 32.0]
    json.dumps(entries)  # plain Python types only
    assert coco.coco_results(1, kps, scores=[1, 2])[1]['score'] == 2.0
    assert coco.coco_results(1, PoseResult.empty((10, 10))) == []
    with pytest.raises(ValueError):
        coco.coco_results(1, kps, scores=[1.0])


def test_perfect_predictions_give_ap_one(dataset):
    _, ann = dataset
    stats = coco.evaluate_results(ann, _results(_predictions()), IMAGE_IDS)
    assert list(stats) == list(coco.STAT_NAMES)
    for name in coco.STAT_NAMES:
        assert stats[name] == pytest.approx(1.0), name


@pytest.mark.parametrize('oks, expected_ap', [
    (0.62, 0.3),   # passes thresholds 0.50, 0.55, 0.60 of ten
    (0.83, 0.7),   # passes 0.50 ... 0.80
    (0.97, 1.0),
    (0.40, 0.0),   # below 0.5: nothing matches
])
def test_known_oks_gives_known_ap(dataset, oks, expected_ap):
    _, ann = dataset
    preds = _predictions(dict.fromkeys(range(len(PEOPLE)), oks))
    stats = coco.evaluate_results(ann, _results(preds), IMAGE_IDS)
    assert stats['AP'] == pytest.approx(expected_ap, abs=1e-6)
    assert stats['AR'] == pytest.approx(expected_ap, abs=1e-6)
    assert stats['AP50'] == pytest.approx(1.0 if oks >= 0.5 else 0.0)
    assert stats['AP75'] == pytest.approx(1.0 if oks >= 0.75 else 0.0)


def test_perturbing_medium_people_only_lowers_apm(dataset):
    _, ann = dataset
    medium = [i for i, p in enumerate(PEOPLE) if p[3] * p[4] * 0.6 < 96 ** 2]
    assert medium == [2, 4]
    stats = coco.evaluate_results(ann, _results(_predictions(dict.fromkeys(medium, 0.4))),
                                  IMAGE_IDS)
    assert stats['APL'] == pytest.approx(1.0)
    assert stats['APM'] == pytest.approx(0.0)
    assert stats['AR'] == pytest.approx(3 / 5)
    assert 0.0 < stats['AP'] < 1.0


def test_missed_people_lower_recall(dataset):
    _, ann = dataset
    stats = coco.evaluate_results(ann, _results(_predictions(drop=(1, 3))), IMAGE_IDS)
    assert stats['AR'] == pytest.approx(3 / 5)
    assert stats['AP'] == pytest.approx(0.6, abs=0.01)  # recall capped at 0.6, precision 1


def test_img_ids_restrict_the_evaluation(dataset):
    _, ann = dataset
    preds = _predictions(dict.fromkeys([0, 1], 0.4))  # image 1 wrong, images 2 and 3 perfect
    assert coco.evaluate_results(ann, _results(preds), [2, 3])['AP'] == pytest.approx(1.0)
    assert coco.evaluate_results(ann, _results(preds), IMAGE_IDS)['AP'] < 1.0


def test_empty_results_and_foreign_ids(dataset):
    _, ann = dataset
    assert coco.evaluate_results(ann, [], IMAGE_IDS) == dict.fromkeys(coco.STAT_NAMES, 0.0)
    bad = coco.coco_results(999, np.zeros((1, 17, 3)), scores=[1.0])
    with pytest.raises(ValueError, match='not in the annotation file'):
        coco.evaluate_results(ann, bad, IMAGE_IDS)


def test_format_stats_has_ten_lines():
    table = coco.format_stats(dict(zip(coco.STAT_NAMES, np.linspace(0.1, 1.0, 10))))
    lines = table.splitlines()
    assert len(lines) == 10 and lines[0].endswith('= 0.100') and lines[9].endswith('= 1.000')
    assert 'area=medium' in lines[3]


def test_dataset_paths_layouts(tmp_path, dataset):
    root, ann = dataset
    assert coco.dataset_paths('coco', root) == (ann, root / 'images' / 'val2017')
    och = tmp_path / 'OCHuman'
    (och / 'annotations').mkdir(parents=True)
    (och / 'images').mkdir()
    och_ann = och / 'annotations' / 'ochuman_coco_format_test_range_0.00_1.00.json'
    och_ann.write_text('{}')
    assert coco.dataset_paths('ochuman', och, split='test') == (och_ann, och / 'images')
    with pytest.raises(coco.DatasetError, match='ochuman_coco_format_val_range_0.00_1.00.json'):
        coco.dataset_paths('ochuman', och)
    with pytest.raises(coco.DatasetError, match='dataset folder not found'):
        coco.dataset_paths('coco', tmp_path / 'nope')


class _GroundTruthEstimator:
    """Fake estimator: recognises the image by its fill value and returns shifted GT poses."""

    def __init__(self, preds, fail_on=None):
        self.preds = preds
        self.fail_on = fail_on
        self.calls = []

    def __call__(self, image, color='bgr'):
        img_id = int(image[0, 0, 0]) // 10
        self.calls.append((img_id, color))
        if img_id == self.fail_on:
            raise RuntimeError('boom')
        return self.preds.get(img_id, PoseResult.empty(image.shape[:2]))


def test_cli_with_fake_estimator(dataset, tmp_path, capsys):
    root, _ = dataset
    out = tmp_path / 'res.json'
    fake = _GroundTruthEstimator(_predictions(dict.fromkeys(range(len(PEOPLE)), 0.62)))
    rc = evaluate.main(['--dataset', 'coco', '--root', str(root), '--weights', 'unused',
                        '--out', str(out), '--quiet'], estimator=fake)
    assert rc == 0
    assert fake.calls == [(1, 'bgr'), (2, 'bgr'), (3, 'bgr')]
    results = json.loads(out.read_text())
    assert len(results) == len(PEOPLE)
    assert {r['image_id'] for r in results} == set(IMAGE_IDS)
    printed = capsys.readouterr().out
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ] = 0.300' \
        in printed


def test_cli_limit(dataset, tmp_path):
    root, _ = dataset
    fake = _GroundTruthEstimator(_predictions())
    rc = evaluate.main(['--root', str(root), '--weights', 'x', '--limit', '2', '--quiet',
                        '--out', str(tmp_path / 'r.json')], estimator=fake)
    assert rc == 0 and [c[0] for c in fake.calls] == [1, 2]


def test_cli_missing_dataset_is_clear_error(tmp_path, capsys):
    out = tmp_path / 'res.json'
    rc = evaluate.main(['--root', str(tmp_path / 'missing'), '--weights', 'x', '--out',
                        str(out)], estimator=_GroundTruthEstimator({}))
    err = capsys.readouterr().err
    assert rc == 1 and 'dataset folder not found' in err and 'Traceback' not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_missing_image_and_crash_leave_no_results(dataset, tmp_path, capsys):
    root, _ = dataset
    out = tmp_path / 'out'
    out.mkdir()
    (root / 'images' / 'val2017' / '000000000002.png').unlink()
    rc = evaluate.main(['--root', str(root), '--weights', 'x', '--out', str(out / 'r.json'),
                        '--quiet'], estimator=_GroundTruthEstimator(_predictions()))
    assert rc == 1 and 'cannot read image' in capsys.readouterr().err
    assert list(out.iterdir()) == []
    with pytest.raises(RuntimeError, match='boom'):
        evaluate.main(['--root', str(root), '--weights', 'x', '--out', str(out / 'r.json'),
                       '--quiet', '--limit', '1'],
                      estimator=_GroundTruthEstimator(_predictions(), fail_on=1))
    assert list(out.iterdir()) == []


def test_cli_missing_weights_message(dataset, tmp_path, monkeypatch, capsys):
    root, _ = dataset
    monkeypatch.setenv('LOGOCAP_CACHE_DIR', str(tmp_path / 'empty_cache'))
    rc = evaluate.main(['--root', str(root), '--weights', 'w48', '--arch', 'w48',
                        '--out', str(tmp_path / 'r.json')])
    assert rc == 1
    assert 'logocap-weights download w48' in capsys.readouterr().err


def test_cli_bad_checkpoint_is_one_line_error(dataset, tmp_path, capsys):
    root, _ = dataset
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'definitely not a checkpoint')
    rc = evaluate.main(['--root', str(root), '--weights', str(bad), '--out',
                        str(tmp_path / 'r.json')])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith('logocap-eval: error:') and 'bad.pth' in err
    assert not (tmp_path / 'r.json').exists()


@pytest.mark.slow
def test_cli_end_to_end_with_random_weights(dataset, tmp_path, capsys):
    """Run the real estimator (random weights, 128 px input) on 2 images via a checkpoint."""
    from logocap_ros.core.checkpoint import save_random_checkpoint
    root, _ = dataset
    for img_id in (1, 2):  # textured images give the random network something to respond to
        noise = np.random.default_rng(img_id).integers(0, 255, (120, 160, 3), np.uint8)
        cv2.imwrite(str(root / 'images' / 'val2017' / f'{img_id:012d}.png'), noise)
    weights = save_random_checkpoint(tmp_path / 'random_w32.pth', 'w32')
    out = tmp_path / 'res.json'
    rc = evaluate.main(['--root', str(root), '--weights', str(weights), '--arch', 'w32',
                        '--input-size', '128', '--no-flip', '--limit', '2', '--quiet',
                        '--out', str(out)])
    assert rc == 0
    results = json.loads(out.read_text())
    assert results, 'random weights still produce candidate poses'
    for entry in results:
        assert set(entry) == {'image_id', 'category_id', 'keypoints', 'score', 'bbox'}
        assert entry['image_id'] in (1, 2) and entry['category_id'] == 1
        assert len(entry['keypoints']) == 51 and all(map(math.isfinite, entry['keypoints']))
        xs, ys = entry['keypoints'][0::3], entry['keypoints'][1::3]
        assert entry['bbox'] == pytest.approx([min(xs), min(ys), max(xs) - min(xs),
                                               max(ys) - min(ys)])
    assert 'maxDets= 20 ]' in capsys.readouterr().out
