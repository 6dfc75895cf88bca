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

"""``make demo`` (``logocap_ros.tools.demo``): official weights, else an honest fallback.

The photograph comes from the scikit-image wheel.
"""

import json
from pathlib import Path
import subprocess
import sys
import tarfile
import zipfile

import cv2
from logocap_ros.core.checkpoint import save_random_checkpoint
from logocap_ros.frames.draw import BANNER_BG
from logocap_ros.tools import demo, weights
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / 'cache'
    monkeypatch.setenv('LOGOCAP_CACHE_DIR', str(path))
    return path


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / 'people.png'
    image = np.random.default_rng(3).integers(0, 256, (96, 128, 3), np.uint8)
    cv2.imwrite(str(path), image)
    return path


def _share(rows: np.ndarray) -> float:
    """Fraction of the pixels of ``rows`` in the banner colour."""
    return float(np.all(rows == np.array(BANNER_BG, np.uint8), axis=2).mean())


def _banner_share(drawing: Path) -> float:
    """Fraction of the drawing's top 4 rows in the banner colour."""
    return _share(cv2.imread(str(drawing))[:4])


def _run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'logocap_ros.tools.demo', *args],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_fallback_says_untrained_in_the_output_and_on_the_drawing(cache, photo, tmp_path):
    out = tmp_path / 'demo'
    done = _run_demo('--url-base', (tmp_path / 'no_mirror').as_uri(), '--image', str(photo),
                     '--input-size', '64', '--out', str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'falling back to UNTRAINED random weights' in done.stdout, done.stdout
    assert 'these skeletons are UNTRAINED (random weights) and meaningless' in done.stdout
    assert _banner_share(out / 'people_poses.png') > 0.9
    assert json.loads((out / 'results.json').read_text()), 'random weights still give poses'


@pytest.mark.slow
def test_official_weights_are_downloaded_verified_and_drawn_without_banner(cache, photo,
                                                                           tmp_path):
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    ckpt = save_random_checkpoint(tmp_path / 'w32.pth')  # stands in for the real checkpoint
    with tarfile.open(mirror / weights.ARCHIVE_NAME, 'w:gz', compresslevel=1) as tar:
        tar.add(ckpt, arcname='logocap/' + weights.CHECKPOINTS['w32'])
    out = tmp_path / 'demo'
    done = _run_demo('--url-base', mirror.as_uri(), '--image', str(photo), '--input-size',
                     '64', '--out', str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f'official LOGO-CAP W32 weights, verified: {cache}' in done.stdout, done.stdout
    assert 'UNTRAINED' not in done.stdout + done.stderr
    assert _banner_share(out / 'people_poses.png') < 0.5
    assert weights.verify(cache) == []  # recorded in the manifest like any download


def test_photo_comes_from_the_scikit_image_wheel(tmp_path, monkeypatch):
    import importlib.util
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name: None)  # not installed
    out = tmp_path / 'demo'
    (out / 'wheels').mkdir(parents=True)
    png = cv2.imencode('.png', np.full((8, 8, 3), 7, np.uint8))[1].tobytes()
    with zipfile.ZipFile(out / 'wheels' / 'scikit_image-0.26.0-cp311-x.whl', 'w') as whl:
        whl.writestr(demo.PHOTO_MEMBER, png)
    path, source = demo.find_photo(out, allow_pip=False)
    assert path == out / 'astronaut.png' and path.read_bytes() == png
    assert 'scikit_image-0.26.0' in source
    (out / 'wheels' / 'scikit_image-0.26.0-cp311-x.whl').unlink()
    path, source = demo.find_photo(out, allow_pip=False)
    assert path is None and demo.PHOTO_PACKAGE in source


def test_make_demo_runs_the_demo_module():
    text = (ROOT / 'scripts' / 'demo.sh').read_text()
    assert 'python -m logocap_ros.tools.demo' in text
    assert 'bash scripts/demo.sh' in (ROOT / 'Makefile').read_text()


def test_untrained_banner_is_drawn_across_the_top():
    from logocap_ros.frames.draw import draw_banner
    image = np.zeros((200, 300, 3), np.uint8)
    drawn = draw_banner(image)
    assert _share(drawn[:4]) > 0.9 and not drawn[-20:].any() and not image.any()


def test_infer_draws_the_banner_for_random_weights_only(photo, tmp_path):
    from logocap_ros.core.result import PoseResult
    from logocap_ros.tools import infer
    empty = lambda image, color='bgr': PoseResult.empty(image.shape[:2])  # noqa: E731
    for spec, expected in (('random', True), ('w32.pth', False)):
        vis = tmp_path / spec
        assert infer.main(['--weights', spec, '--vis', str(vis), str(photo)],
                          estimator=empty) == 0
        drawing = cv2.imread(str(vis / 'people_poses.png'))
        assert (_share(drawing[:4]) > 0.9) == expected, spec
