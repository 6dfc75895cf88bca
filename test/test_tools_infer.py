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

"""``logocap-infer``: end to end on a random-weight checkpoint, and its error handling."""

import json
import os
import subprocess
import sys

import cv2
from logocap_ros.core.checkpoint import save_random_checkpoint
from logocap_ros.tools import infer
import numpy as np
import pytest


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    return save_random_checkpoint(tmp_path_factory.mktemp('ck') / 'random_w32.pth')


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    paths = [tmp_path / '000000397133.jpg', tmp_path / 'frame.png']
    for p in paths:
        cv2.imwrite(str(p), rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    return paths


def test_image_id_rule(tmp_path):
    assert infer.image_ids([tmp_path / '000000397133.jpg', tmp_path / 'cam_2_frame_0042.png']) \
        == [397133, 42]
    # a file without a number, or two files with the same number: positions for all
    assert infer.image_ids([tmp_path / 'img_001.jpg', tmp_path / 'single.png']) == [0, 1]
    assert infer.image_ids([tmp_path / 'a' / '1.jpg', tmp_path / 'b' / '1.jpg']) == [0, 1]
    assert infer.image_ids([tmp_path / 'x_1.jpg', tmp_path / 'y_01.png']) == [0, 1]


def _one_person(image, color='bgr'):
    from logocap_ros.core.result import PoseResult
    kps = np.zeros((1, 17, 3), np.float32)
    kps[0, :, :2] = 10.0
    kps[0, :, 2] = 0.5
    return PoseResult(kps, [0.5], image.shape[:2], {'total': 0.0})


@pytest.mark.parametrize('names', [('img_001.jpg', 'single.png'), ('a/1.jpg', 'b/1.jpg')])
def test_image_ids_and_drawings_are_unique_in_one_output(tmp_path, names):
    paths = []
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.zeros((40, 60, 3), np.uint8))
        paths.append(str(path))
    out, vis = tmp_path / 'res.json', tmp_path / 'vis'
    assert infer.main(['--weights', 'unused', '--out', str(out), '--vis', str(vis)] + paths,
                      estimator=_one_person) == 0
    records = json.loads(out.read_text())
    assert len(records) == 2 and len({r['image_id'] for r in records}) == 2, records
    assert len(list(vis.iterdir())) == 2


@pytest.mark.slow
def test_random_weights_and_drawings_only(images, tmp_path):
    vis = tmp_path / 'vis'
    rc = infer.main(['--weights', 'random', '--input-size', '64', '--no-flip', '--backend',
                     'torch', '--vis', str(vis), str(images[0])])
    assert rc == 0 and [p.name for p in vis.iterdir()] == ['000000397133_poses.png']


def test_out_or_vis_is_required(images, capsys):
    with pytest.raises(SystemExit) as info:
        infer.main(['--weights', 'random', str(images[0])])
    assert info.value.code == 2 and '--out' in capsys.readouterr().err


@pytest.mark.slow
def test_cli_writes_coco_json_and_drawings(ckpt, images, tmp_path):
    out = tmp_path / 'res.json'
    vis = tmp_path / 'vis'
    rc = infer.main(['--arch', 'w32', '--weights', str(ckpt), '--input-size', '128',
                     '--no-flip', '--backend', 'torch', '--out', str(out), '--vis', str(vis)]
                    + [str(p) for p in images])
    assert rc == 0
    records = json.loads(out.read_text())
    assert records, 'random weights still give candidate poses'
    assert {r['image_id'] for r in records} <= {0, 1}  # frame.png has no number
    for r in records:
        assert set(r) == {'file_name', 'image_id', 'category_id', 'keypoints', 'score', 'bbox'}
        assert r['category_id'] == 1 and len(r['keypoints']) == 51
    assert sorted(p.name for p in vis.iterdir()) == ['000000397133_poses.png', 'frame_poses.png']


@pytest.mark.parametrize('case', ['missing', 'not_image'])
def test_bad_images_give_one_line_and_exit_1(ckpt, tmp_path, case, capsys):
    path = tmp_path / 'x.jpg'
    if case == 'not_image':
        path.write_text('hello')
    out = tmp_path / 'res.json'
    rc = infer.main(['--weights', str(ckpt), '--out', str(out), str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and str(path) in err[0]
    assert not out.exists()


def test_wrong_checkpoint_is_one_readable_line(tmp_path, images):
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'garbage')
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, '-m', 'logocap_ros.tools.infer', '--weights',
                           str(bad), '--out', str(tmp_path / 'r.json'), str(images[0])],
                          capture_output=True, text=True, env=env, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1
    assert len(lines) == 1 and 'cannot read checkpoint' in lines[0], proc.stderr


def test_wrong_architecture_hint_names_the_cli_option(tmp_path, images, capsys):
    import torch
    path = tmp_path / 'looks_like_w48.pth'
    torch.save({'backbone.transition1.0.0.weight': torch.zeros(48, 256, 3, 3)}, path)
    rc = infer.main(['--weights', str(path), '--out', str(tmp_path / 'r.json'), str(images[0])])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and '--arch w48' in err[0], err


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_a_folder_is_not_called_missing(tmp_path, capsys):
    rc = infer.main(['--weights', 'random', '--out', str(tmp_path / 'r.json'), str(tmp_path)])
    line = _one_error_line(capsys)
    assert rc == 1 and 'is a folder' in line and f'logocap-offline {tmp_path}' in line, line
    assert 'not found' not in line


def test_an_uncreatable_vis_folder_is_one_readable_line(images, capsys):
    rc = infer.main(['--weights', 'unused', '--vis', '/proc/logocap_x', str(images[0])],
                    estimator=_one_person)
    line = _one_error_line(capsys)
    assert rc == 1 and 'cannot create the --vis folder /proc/logocap_x' in line, line
    assert '[Errno' not in line and 'writable folder' in line


def test_cuda_without_a_gpu_names_the_cli_option(images, tmp_path, capsys, monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    rc = infer.main(['--weights', 'random', '--device', 'cuda', '--out',
                     str(tmp_path / 'r.json'), str(images[0])])
    line = _one_error_line(capsys)
    assert rc == 1 and '--device cpu' in line and 'device:=' not in line, line


def test_input_size_zero_is_the_default_as_for_the_node(images, tmp_path, monkeypatch):
    from logocap_ros.backends import factory
    seen = []
    monkeypatch.setattr(factory, 'create_estimator',
                        lambda weights, config: seen.append(config) or _one_person)
    rc = infer.main(['--weights', 'random', '--input-size', '0', '--out',
                     str(tmp_path / 'r.json'), str(images[0])])
    assert rc == 0 and seen[0].input_size is None and seen[0].resolved_input_size == 512
