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


"""Tests of ``logocap-offline`` on an image folder, a video and rosbag2 files (sqlite3, mcap).

All inputs are written by the tests. Frame ``i`` is filled with the grey value ``20 * (i + 1)``;
the fake estimator reads that value back and returns a pose derived from it, so every output
can be traced to its source frame.
"""

import json
from pathlib import Path
import subprocess
import sys

from bag_helpers import header, image, TYPES, write_bag
import cv2
from logocap_ros.core.result import PoseResult
from logocap_ros.tools import bag_io, offline
from logocap_ros.tools.pose_records import CSV_COLUMNS
import numpy as np
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin

SIZE = (48, 64)  # (height, width)
N_FRAMES = 5


def _value(i: int) -> int:
    return 20 * (i + 1)


def _image(i: int) -> np.ndarray:
    return np.full(SIZE + (3,), _value(i), np.uint8)


class FakeEstimator:
    """Return one person derived from the image's grey level (none for level 40)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, image, color='bgr'):
        assert color == 'bgr' and image.dtype == np.uint8 and image.ndim == 3
        self.calls += 1
        level = int(round(float(image.mean()) / 20.0)) * 20
        if level == 40:
            return PoseResult.empty(image.shape[:2])
        return PoseResult(_pose(level)[None], [level / 255.0], image.shape[:2])


def _pose(level: int) -> np.ndarray:
    j = np.arange(17, dtype=np.float32)
    return np.stack([level / 10.0 + j, level / 20.0 + j, np.full(17, 0.5)], axis=1)


def _images_folder(root: Path) -> Path:
    folder = root / 'frames'
    folder.mkdir()
    for i in range(N_FRAMES):
        cv2.imwrite(str(folder / f'img_{i:02d}.png'), _image(i))
    (folder / 'notes.txt').write_text('ignored')
    return folder


def _video(root: Path, frames: int = N_FRAMES) -> Path:
    path = root / 'clip.avi'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 25.0, SIZE[::-1])
    assert writer.isOpened()
    for i in range(frames):
        writer.write(_image(i))
    writer.release()
    return path


def _bag(root: Path, storage: StoragePlugin, compressed: bool = False,
         topic: str = '/camera/image_raw', frames: int = N_FRAMES) -> Path:
    """Write a rosbag2 with an image topic and a /chatter String topic."""
    msgtype = bag_io.COMPRESSED_TYPE if compressed else bag_io.IMAGE_TYPE
    records = []
    for i in range(frames):
        stamp_ns, bag_ns = (100 + i) * 10**9 + 5000, (200 + i) * 10**9
        if compressed:
            data = np.frombuffer(cv2.imencode('.png', _image(i))[1].tobytes(), np.uint8)
            msg = TYPES[msgtype](header=header(stamp_ns, 'camera_optical_frame'),
                                 format='png', data=data)
        else:
            msg = image(cv2.cvtColor(_image(i), cv2.COLOR_BGR2RGB), stamp_ns,
                        'camera_optical_frame', 'rgb8')
        records += [(topic, bag_ns, msg),
                    ('/chatter', bag_ns + 1, TYPES['std_msgs/msg/String'](data=f'hello {i}'))]
    return write_bag(root / f'bag_{storage.name.lower()}',
                     {topic: msgtype, '/chatter': 'std_msgs/msg/String'}, records, storage)


def _run(args, estimator=None):
    return offline.main([str(a) for a in args] + ['--weights', 'unused', '--quiet'],
                        estimator=estimator or FakeEstimator())


def _debris(folder: Path):
    """Hidden staging folders or temporary files left behind in ``folder``."""
    return [p.name for p in folder.iterdir() if p.name.startswith('.') or p.suffix == '.tmp']


def test_image_folder_json_and_vis(tmp_path):
    out = tmp_path / 'out'
    assert _run([_images_folder(tmp_path), '--out', out, '--vis']) == 0
    doc = json.loads((out / 'poses.json').read_text())
    assert doc['kind'] == 'images' and len(doc['keypoint_names']) == 17
    assert [f['name'] for f in doc['frames']] == [f'img_{i:02d}.png' for i in range(N_FRAMES)]
    assert all(f['stamp_ns'] is None for f in doc['frames'])
    assert doc['frames'][1]['people'] == []
    person = doc['frames'][2]['people'][0]
    np.testing.assert_allclose(person['keypoints'], _pose(60), atol=1e-5)
    assert person['score'] == pytest.approx(60 / 255)
    assert person['bbox'] == pytest.approx([6.0, 3.0, 22.0, 19.0])
    annotated = sorted(p.name for p in (out / 'annotated').iterdir())
    assert annotated == [f'img_{i:02d}.png' for i in range(N_FRAMES)]
    drawn = cv2.imread(str(out / 'annotated' / 'img_02.png'))
    assert drawn.shape == SIZE + (3,) and (drawn != _image(2)).any()
    assert _debris(tmp_path) == []


def test_csv_format_and_every(tmp_path):
    out = tmp_path / 'out'
    assert _run([_images_folder(tmp_path), '--out', out, '--format', 'csv',
                 '--every', '2']) == 0
    lines = (out / 'poses.csv').read_text().splitlines()
    assert lines[0].split(',') == CSV_COLUMNS and len(CSV_COLUMNS) == 10 + 51
    rows = [line.split(',') for line in lines[1:]]
    assert [r[0] for r in rows] == ['0', '2', '4']  # frames 0, 2, 4; none has level 40
    assert rows[1][2] == 'img_02.png' and rows[1][1] == ''
    assert float(rows[1][CSV_COLUMNS.index('nose_x')]) == pytest.approx(6.0)
    assert float(rows[1][CSV_COLUMNS.index('right_ankle_y')]) == pytest.approx(19.0)
    assert not (out / 'poses.json').exists()


def test_video_with_every_and_vis(tmp_path):
    out = tmp_path / 'vid'
    fake = FakeEstimator()
    assert _run([_video(tmp_path), '--out', out, '--every', '2', '--vis'], fake) == 0
    doc = json.loads((out / 'poses.json').read_text())
    assert [f['frame'] for f in doc['frames']] == [0, 2, 4] and fake.calls == 3
    assert [f['stamp_ns'] for f in doc['frames']] == [0, 80_000_000, 160_000_000]
    assert doc['frames'][1]['people'][0]['score'] == pytest.approx(60 / 255)
    videos = [p for p in out.iterdir() if p.name.startswith('annotated.')]
    assert len(videos) == 1
    capture = cv2.VideoCapture(str(videos[0]))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert count == 3


@pytest.mark.parametrize('storage', [StoragePlugin.SQLITE3, StoragePlugin.MCAP])
@pytest.mark.parametrize('compressed', [False, True])
def test_bag_gets_poses_topic_with_source_headers(tmp_path, storage, compressed):
    bag = _bag(tmp_path, storage, compressed)
    out = tmp_path / 'out'
    assert _run([bag, '--out', out, '--every', '2', '--no-track']) == 0
    out_bag = out / f'{bag.name}_poses'
    suffix = '.mcap' if storage == StoragePlugin.MCAP else '.db3'
    assert any(p.suffix == suffix for p in out_bag.iterdir())
    store = bag_io.logocap_typestore()
    with Reader(bag) as src, Reader(out_bag) as dst:
        original = [(c.topic, t, bytes(raw)) for c, t, raw in src.messages()]
        copied = [(c.topic, t, bytes(raw)) for c, t, raw in dst.messages()]
        poses = [(t, store.deserialize_cdr(raw, c.msgtype)) for c, t, raw in dst.messages()
                 if c.topic == '/poses']
        assert {c.topic: c.msgtype for c in dst.connections}['/poses'] == bag_io.POSES_TYPE
    assert [m for m in copied if m[0] != '/poses'] == original
    assert [t for t, _ in poses] == [200e9, 202e9, 204e9]
    for i, (_, msg) in zip((0, 2, 4), poses):
        assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (100 + i, 5000)
        assert msg.header.frame_id == 'camera_optical_frame'
        assert (msg.image_width, msg.image_height) == (SIZE[1], SIZE[0])
        person = msg.people[0]
        assert person.track_id == -1 and person.score == pytest.approx(_value(i) / 255)
        assert [k.x for k in person.keypoints] == pytest.approx(_pose(_value(i))[:, 0])
        assert person.bbox.x_max == pytest.approx(_value(i) / 10 + 16)
    doc = json.loads((out / 'poses.json').read_text())
    assert doc['topic'] == '/camera/image_raw'
    assert [f['stamp_ns'] for f in doc['frames']] == [(100 + i) * 10**9 + 5000 for i in (0, 2, 4)]


def test_bag_empty_people_still_published_and_vis(tmp_path):
    bag = _bag(tmp_path, StoragePlugin.MCAP, topic='/cam/image')
    out = tmp_path / 'out'
    assert _run([bag, '--out', out, '--vis']) == 0  # the only image topic is picked
    store = bag_io.logocap_typestore()
    with Reader(out / f'{bag.name}_poses') as dst:
        msgs = [store.deserialize_cdr(raw, c.msgtype) for c, _, raw in dst.messages()
                if c.topic == '/poses']
    assert [len(m.people) for m in msgs] == [1, 0, 1, 1, 1]
    assert (out / 'annotated.mp4').is_file() or (out / 'annotated.avi').is_file()


def test_single_mcap_file_input(tmp_path):
    bag = _bag(tmp_path, StoragePlugin.MCAP)
    mcap = next(bag.glob('*.mcap'))
    out = tmp_path / 'out'
    assert _run([mcap, '--out', out]) == 0
    assert len(json.loads((out / 'poses.json').read_text())['frames']) == N_FRAMES


def test_missing_topic_is_clear_error(tmp_path, capsys):
    bag = _bag(tmp_path, StoragePlugin.SQLITE3)
    out = tmp_path / 'out'
    assert _run([bag, '--out', out, '--topic', '/nope']) == 1
    err = capsys.readouterr().err
    assert 'topic /nope not in' in err and '/camera/image_raw (sensor_msgs/msg/Image)' in err
    assert _run([bag, '--out', out, '--topic', '/chatter']) == 1
    assert 'not an image type' in capsys.readouterr().err
    assert not out.exists() and _debris(tmp_path) == []


@pytest.mark.parametrize('content', ['garbage-metadata', 'garbage-db3', 'truncated-mcap'])
def test_unreadable_bag_is_clear_error(tmp_path, capsys, content):
    bag = tmp_path / 'broken'
    if content == 'garbage-metadata':
        bag.mkdir()
        (bag / 'metadata.yaml').write_text(':::: not yaml [')
    elif content == 'garbage-db3':
        bag = tmp_path / 'broken.db3'
        bag.write_bytes(b'\x00' * 100 + b'not sqlite')
    else:
        good = next(_bag(tmp_path, StoragePlugin.MCAP).glob('*.mcap'))
        bag = tmp_path / 'broken.mcap'
        bag.write_bytes(good.read_bytes()[:300])
    out = tmp_path / 'out'
    assert _run([bag, '--out', out]) == 1
    err = capsys.readouterr().err
    assert err.startswith('logocap-offline: error:') and 'Traceback' not in err
    assert not out.exists() and _debris(tmp_path) == []


@pytest.mark.parametrize('kind', ['no-frames', 'zero-bytes', 'not-a-video'])
def test_empty_or_bad_video_is_clear_error(tmp_path, capsys, kind):
    if kind == 'no-frames':
        video = _video(tmp_path, frames=0)
    elif kind == 'zero-bytes':
        video = tmp_path / 'empty.mp4'
        video.write_bytes(b'')
    else:
        video = tmp_path / 'text.mp4'
        video.write_text('hello' * 100)
    out = tmp_path / 'out'
    assert _run([video, '--out', out]) == 1
    assert 'video' in capsys.readouterr().err
    assert not out.exists() and _debris(tmp_path) == []


def test_missing_input_and_empty_folder(tmp_path, capsys):
    assert _run([tmp_path / 'missing.mp4', '--out', tmp_path / 'o']) == 1
    assert 'input not found' in capsys.readouterr().err
    (tmp_path / 'empty').mkdir()
    assert _run([tmp_path / 'empty', '--out', tmp_path / 'o']) == 1
    assert 'no images' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()


def test_existing_output_needs_overwrite(tmp_path, capsys):
    folder = _images_folder(tmp_path)
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'old.txt').write_text('old')
    assert _run([folder, '--out', out]) == 1
    assert '--overwrite' in capsys.readouterr().err
    assert _run([folder, '--out', out, '--overwrite']) == 0
    assert sorted(p.name for p in out.iterdir()) == ['poses.json']
    assert _debris(tmp_path) == []


def test_crash_mid_run_leaves_no_output(tmp_path):
    class Crashing(FakeEstimator):
        def __call__(self, image, color='bgr'):
            if self.calls == 2:
                raise RuntimeError('model exploded')
            return super().__call__(image, color)

    bag = _bag(tmp_path, StoragePlugin.SQLITE3)
    out = tmp_path / 'out'
    with pytest.raises(RuntimeError, match='exploded'):
        _run([bag, '--out', out, '--vis'], Crashing())
    assert not out.exists() and _debris(tmp_path) == []


def test_tools_never_import_rclpy():
    code = ('import sys; import logocap_ros.tools.offline, logocap_ros.tools.bag_io, '
            'logocap_ros.tools.evaluate, logocap_ros.tools.weights, logocap_ros.frames.draw; '
            'assert "rclpy" not in sys.modules, "rclpy imported"')
    subprocess.run([sys.executable, '-c', code], check=True)


@pytest.mark.slow
def test_real_random_estimator_on_a_bag(tmp_path):
    """The real LOGO-CAP estimator (random weights, 128 px input) through the bag path."""
    from logocap_ros.backends.factory import create_estimator
    from logocap_ros.core.estimator import EstimatorConfig
    estimator = create_estimator('random', EstimatorConfig(arch='w32', input_size=128,
                                                           flip_test=False))
    bag = _bag(tmp_path, StoragePlugin.MCAP, frames=2)
    out = tmp_path / 'out'
    assert _run([bag, '--out', out, '--vis'], estimator) == 0
    store = bag_io.logocap_typestore()
    with Reader(out / f'{bag.name}_poses') as dst:
        msgs = [store.deserialize_cdr(raw, c.msgtype) for c, _, raw in dst.messages()
                if c.topic == '/poses']
    assert len(msgs) == 2
    doc = json.loads((out / 'poses.json').read_text())
    for msg, frame in zip(msgs, doc['frames']):
        assert len(msg.people) == len(frame['people'])
        for person, rec in zip(msg.people, frame['people']):
            assert len(person.keypoints) == 17
            assert [k.x for k in person.keypoints] == pytest.approx(
                [k[0] for k in rec['keypoints']], rel=1e-6)


def test_bad_input_fails_before_the_model_loads(tmp_path, monkeypatch, capsys):
    def no_model(args):
        raise AssertionError('the model must not be loaded for a bad input')

    monkeypatch.setattr(offline, 'build_estimator', no_model)
    bag = _bag(tmp_path, StoragePlugin.SQLITE3)
    assert offline.main([str(bag), '--weights', 'w32', '--topic', '/nope', '--quiet',
                         '--out', str(tmp_path / 'o')]) == 1
    assert 'topic /nope' in capsys.readouterr().err
    assert offline.main([str(bag), '--weights', 'w32', '--every', '0', '--quiet',
                         '--out', str(tmp_path / 'o')], estimator=FakeEstimator()) == 1
    assert '--every must be >= 1' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()


def test_missing_weights_tell_how_to_download(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('LOGOCAP_CACHE_DIR', str(tmp_path / 'empty_cache'))
    rc = offline.main([str(_images_folder(tmp_path)), '--weights', 'w48', '--arch', 'w48',
                       '--quiet', '--out', str(tmp_path / 'o')])
    err = capsys.readouterr().err
    assert rc == 1 and err.count('\n') == 1
    assert 'Run: logocap-weights download w48' in err
    assert not (tmp_path / 'o').exists()


@pytest.mark.parametrize('suffix', ['.jpg', '.png'])
def test_truncated_single_image_is_a_clear_error(tmp_path, capsys, suffix):
    data = cv2.imencode(suffix, np.random.default_rng(0).integers(0, 256, SIZE + (3,),
                                                                  np.uint8))[1].tobytes()
    image = tmp_path / f'photo{suffix}'
    image.write_bytes(data[:len(data) // 2])
    out = tmp_path / 'out'
    assert _run([image, '--out', out]) == 1
    err = capsys.readouterr().err
    assert 'truncated' in err and str(image) in err, err
    assert not out.exists() and _debris(tmp_path) == []


def test_truncated_image_in_a_folder_is_a_clear_error(tmp_path, capsys):
    folder = _images_folder(tmp_path)
    data = (folder / 'img_02.png').read_bytes()
    (folder / 'img_02.png').write_bytes(data[:len(data) - 20])
    assert _run([folder, '--out', tmp_path / 'out']) == 1
    assert 'img_02.png' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_single_image_file_is_processed_as_an_image(tmp_path):
    image = tmp_path / 'photo.png'
    cv2.imwrite(str(image), _image(2))
    out = tmp_path / 'out'
    assert _run([image, '--out', out, '--vis']) == 0
    poses = json.loads((out / 'poses.json').read_text())
    assert poses['kind'] == 'images' and len(poses['frames']) == 1
    assert poses['frames'][0]['name'] == 'photo.png'
    assert sorted(p.name for p in (out / 'annotated').iterdir()) == ['photo.png']


def test_truncated_image_in_a_folder_can_be_skipped_and_is_reported(tmp_path, capsys):
    folder = _images_folder(tmp_path)
    data = (folder / 'img_02.png').read_bytes()
    (folder / 'img_02.png').write_bytes(data[:len(data) - 20])
    assert _run([folder, '--out', tmp_path / 'strict']) == 1
    assert '--skip-bad' in capsys.readouterr().err  # the error names the way out
    out = tmp_path / 'out'
    assert _run([folder, '--out', out, '--skip-bad']) == 0
    err = capsys.readouterr().err
    assert 'skipped 1 unreadable image(s)' in err and 'img_02.png' in err, err
    poses = json.loads((out / 'poses.json').read_text())
    assert [f['name'] for f in poses['frames']] == [f'img_{i:02d}.png' for i in (0, 1, 3, 4)]
    assert [s['name'] for s in poses['skipped']] == ['img_02.png']
    (folder / 'img_00.png').write_bytes(b'')  # a bad first image is skipped as well
    assert _run([folder, '--out', tmp_path / 'out2', '--skip-bad']) == 0


def test_videos_with_one_stem_get_their_own_default_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    avi = _video(tmp_path)
    assert offline.default_out_dir(avi) == tmp_path / 'clip_logocap'  # alone: the short name
    mp4 = tmp_path / 'clip.mp4'
    mp4.write_bytes(avi.read_bytes())
    assert _run([mp4]) == 0 and _run([avi]) == 0  # walk.avi after walk.mp4 collided
    assert (tmp_path / 'clip_mp4_logocap' / 'poses.json').is_file()
    assert (tmp_path / 'clip_avi_logocap' / 'poses.json').is_file()


def test_ffmpeg_says_nothing_before_the_one_line_error(tmp_path):
    cut = tmp_path / 'cut.mp4'
    writer = cv2.VideoWriter(str(tmp_path / 'real.mp4'), cv2.VideoWriter_fourcc(*'mp4v'),
                             10.0, SIZE[::-1])
    for i in range(10):
        writer.write(_image(i % N_FRAMES))
    writer.release()
    data = (tmp_path / 'real.mp4').read_bytes()
    cut.write_bytes(data[:200])  # no moov atom: FFmpeg complained on stderr
    done = subprocess.run([sys.executable, '-m', 'logocap_ros.tools.offline', str(cut),
                           '--weights', 'random', '--out', str(tmp_path / 'o')],
                          capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, lines
    assert lines[0].startswith('logocap-offline: error: cannot open'), lines
