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

"""The camera stand-in: frame sources, camera_info YAML, and its process over DDS."""

import itertools
import re

import cv2
from logocap_ros.frames.image_conversion import compressed_to_bgr
from logocap_ros.ros.camera_publisher import (DEFAULT_RATE_HZ, encode_compressed, iter_frames,
                                              load_camera_info, main, parse_args, publish_rate,
                                              size_mismatch)
import numpy as np
import pytest
from ros_helpers import camera_command, child_env, private_domain, Proc, TestGraph, wait_until
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

pytestmark = pytest.mark.ros

CALIB = """image_width: 64
image_height: 48
camera_name: test
camera_matrix: {rows: 3, cols: 3, data: [50, 0, 32, 0, 50, 24, 0, 0, 1]}
distortion_model: plumb_bob
distortion_coefficients: {rows: 1, cols: 5, data: [0.1, 0, 0, 0, 0]}
projection_matrix: {rows: 3, cols: 4, data: [50, 0, 32, 0, 0, 50, 24, 0, 0, 0, 1, 0]}
"""


def frames(tmp_path, n=3):
    """Write ``n`` distinct 48x64 PNG frames; return them."""
    out = []
    for k in range(n):
        image = np.full((48, 64, 3), 40 * k, np.uint8)
        cv2.imwrite(str(tmp_path / f'f{k}.png'), image)
        out.append(image)
    return out


def test_folder_image_video_and_synthetic_sources(tmp_path):
    images = frames(tmp_path)
    got = list(iter_frames(str(tmp_path), loop=False))
    assert len(got) == 3 and all(np.array_equal(a, b) for a, b in zip(got, images))
    looped = list(itertools.islice(iter_frames(str(tmp_path), loop=True), 7))
    assert np.array_equal(looped[6], images[0])
    single = list(itertools.islice(iter_frames(str(tmp_path / 'f1.png'), loop=False), 2))
    assert len(single) == 2 and np.array_equal(single[1], images[1])
    video = tmp_path / 'v.avi'
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'MJPG'), 10, (64, 48))
    for image in images:
        writer.write(image)
    writer.release()
    assert len(list(iter_frames(str(video), loop=False))) == 3
    assert len(list(itertools.islice(iter_frames(str(video), loop=True), 5))) == 5
    synth = list(itertools.islice(iter_frames('synthetic:32x16', loop=False), 2))
    assert synth[0].shape == (16, 32, 3) and not np.array_equal(synth[0], synth[1])
    with pytest.raises(ValueError, match='source not found'):
        iter_frames(str(tmp_path / 'missing.mp4'), loop=False)
    with pytest.raises(SystemExit):
        parse_args(['x', '--rate', '0'])


def test_camera_info_yaml(tmp_path):
    (tmp_path / 'c.yaml').write_text(CALIB)
    info = load_camera_info(str(tmp_path / 'c.yaml'))
    assert (info.width, info.height) == (64, 48) and info.k[2] == 32.0
    assert list(info.d) == [0.1, 0, 0, 0, 0] and info.r[0] == 1.0 and info.p[6] == 24.0


def test_process_publishes_stamped_frames_and_camera_info(tmp_path):
    images = frames(tmp_path)
    (tmp_path / 'c.yaml').write_text(CALIB)
    with private_domain() as domain_id:
        graph = TestGraph(domain_id)
        try:
            got = graph.collect(Image, 'cam/image')
            infos = graph.collect(CameraInfo, 'cam/camera_info')
            packed = graph.collect(CompressedImage, 'cam/image/compressed')
            camera = Proc(camera_command(str(tmp_path), '--rate', '20', '--loop', '--frame-id',
                                         'cam_optical', '--camera-info',
                                         str(tmp_path / 'c.yaml'), '--qos', 'reliable',
                                         '--compressed', 'png', '--ros-args', '-r',
                                         'image:=cam/image', '-r',
                                         'image/compressed:=cam/image/compressed', '-r',
                                         'camera_info:=cam/camera_info'),
                          child_env(domain_id))
            assert wait_until(lambda: len(got) >= 4 and infos and packed, 30), camera.output()
            assert camera.stop() == 0, camera.output()
        finally:
            graph.close()
    msgs = [m for _, m in got]
    assert {m.header.frame_id for m in msgs} == {'cam_optical'}
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in msgs]
    assert stamps == sorted(stamps) and stamps[0] > 0
    first = np.frombuffer(msgs[0].data, np.uint8).reshape(48, 64, 3)
    assert any(np.array_equal(first, image) for image in images)
    assert infos[0][1].header.frame_id == 'cam_optical' and infos[0][1].k[0] == 50.0
    png = packed[0][1]
    assert png.format == 'bgr8; png compressed bgr8' and png.header.frame_id == 'cam_optical'
    assert any(np.array_equal(compressed_to_bgr(png), image) for image in images)


@pytest.mark.parametrize('source', ['synthetic:abc', 'synthetic:0x0', 'synthetic:640x',
                                    'synthetic:64x0', 'synthetic:-5x10', 'synthetic:99999x2'])
def test_invalid_synthetic_source_is_a_clear_error(source, capsys):
    with pytest.raises(ValueError, match=r'synthetic:WIDTHxHEIGHT .*synthetic:640x480'):
        iter_frames(source, loop=False)
    assert main(['camera_publisher', source]) == 1  # before ROS starts: no node, one line
    lines = capsys.readouterr().err.strip().splitlines()
    expected = f"[camera_publisher] error: invalid source '{source}'"
    assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_video_plays_at_its_own_frame_rate_unless_rate_is_given(tmp_path):
    video = tmp_path / 'v25.avi'
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'MJPG'), 25, (64, 48))
    for image in frames(tmp_path, 2):
        writer.write(image)
    writer.release()
    assert parse_args([str(video)]).rate == 'auto'
    assert publish_rate('auto', str(video))[0] == pytest.approx(25.0)
    assert publish_rate(parse_args([str(video), '--rate', '5']).rate, str(video))[0] == 5.0
    assert publish_rate('auto', str(tmp_path / 'f0.png'))[0] == DEFAULT_RATE_HZ
    assert publish_rate('auto', 'synthetic:32x16')[0] == DEFAULT_RATE_HZ
    for bad in ('0', '-3', 'fast', 'nan'):
        with pytest.raises(SystemExit):
            parse_args(['x', '--rate', bad])


def test_compressed_encoding_round_trip():
    image = np.random.default_rng(1).integers(0, 256, (48, 64, 3), np.uint8)
    fmt, data = encode_compressed(image, 'png')
    assert fmt == 'bgr8; png compressed bgr8'
    decoded = compressed_to_bgr(CompressedImage(format=fmt, data=data))
    assert np.array_equal(decoded, image)
    fmt, data = encode_compressed(np.full((48, 64, 3), 100, np.uint8), 'jpeg')
    decoded = compressed_to_bgr(CompressedImage(format=fmt, data=data))
    assert fmt.startswith('bgr8; jpeg') and np.abs(decoded.astype(int) - 100).max() <= 2
    with pytest.raises(SystemExit):
        parse_args(['x', '--compressed', 'tiff'])


@pytest.mark.parametrize('text, expected', [
    ('- just\n- a list\n', 'holds a list, not a mapping'),
    ('image_width: [unclosed\n', 'not valid YAML'),
    (CALIB.replace('projection_matrix', 'projection'), 'missing projection_matrix'),
    (CALIB.replace('[50, 0, 32, 0, 50, 24, 0, 0, 1]', '[50, 0, 32]'),
     'camera_matrix needs data: [9 numbers]'),
])
def test_bad_camera_info_is_one_line_before_ros_starts(tmp_path, capsys, text, expected):
    (tmp_path / 'c.yaml').write_text(text)
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_camera_info(str(tmp_path / 'c.yaml'))
    assert main(['camera_publisher', 'synthetic:64x48', '--camera-info',
                 str(tmp_path / 'c.yaml')]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert 'camera_calibration YAML' in lines[0] and 'Traceback' not in lines[0]


def test_unreadable_video_fails_before_publishing(tmp_path, capfd):
    video = tmp_path / 'broken.mp4'
    video.write_bytes(b'not a video at all')
    assert main(['camera_publisher', str(video)]) == 1
    captured = capfd.readouterr()  # the ROS logger writes to the file descriptors
    lines = captured.err.strip().splitlines()  # (FFmpeg may add its own line first)
    assert lines[-1].startswith('[camera_publisher] error: cannot open video'), lines
    assert 'publishing' not in captured.out + captured.err, lines


def test_calibration_of_another_size_warns_once(tmp_path):
    (tmp_path / 'c.yaml').write_text(CALIB)  # 64x48
    assert size_mismatch(load_camera_info(str(tmp_path / 'c.yaml')), (48, 64, 3)) is None
    with private_domain() as domain_id:
        camera = Proc(camera_command('synthetic:32x24', '--rate', '20', '--count', '5',
                                     '--camera-info', str(tmp_path / 'c.yaml')),
                      child_env(domain_id))
        try:
            assert camera.wait_for('do not fit', 30), camera.output()
        finally:
            camera.stop()
    out = camera.output()
    assert out.count('camera_info is for 64x48 images but the frames are 32x24') == 1, out


def test_compressed_stream_follows_the_image_remap():
    with private_domain() as domain_id:
        graph = TestGraph(domain_id)
        packed = graph.collect(CompressedImage, '/cam/image_raw/compressed')
        camera = Proc(camera_command('synthetic:64x48', '--rate', '20', '--qos', 'reliable',
                                     '--compressed', 'jpeg', '--ros-args',
                                     '-r', 'image:=/cam/image_raw'),
                      child_env(domain_id))
        try:
            assert wait_until(lambda: packed, 30), camera.output()
            assert graph.node.count_publishers('/image/compressed') == 0
        finally:
            code = camera.stop()
            graph.close()
    assert code == 0, camera.output()
    assert 'on /cam/image_raw and /cam/image_raw/compressed (jpeg) at 20 Hz' in camera.output()
