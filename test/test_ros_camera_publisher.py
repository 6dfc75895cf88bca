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

import cv2
from logocap_ros.ros.camera_publisher import iter_frames, load_camera_info, parse_args
import numpy as np
import pytest
from ros_helpers import camera_command, child_env, private_domain, Proc, TestGraph, wait_until
from sensor_msgs.msg import CameraInfo, Image

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
            camera = Proc(camera_command(str(tmp_path), '--rate', '20', '--loop', '--frame-id',
                                         'cam_optical', '--camera-info',
                                         str(tmp_path / 'c.yaml'), '--qos', 'reliable',
                                         '--ros-args', '-r', 'image:=cam/image', '-r',
                                         'camera_info:=cam/camera_info'),
                          child_env(domain_id))
            assert wait_until(lambda: len(got) >= 4 and infos, 30), camera.output()
            camera.stop()
        finally:
            graph.close()
    msgs = [m for _, m in got]
    assert {m.header.frame_id for m in msgs} == {'cam_optical'}
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in msgs]
    assert stamps == sorted(stamps) and stamps[0] > 0
    first = np.frombuffer(msgs[0].data, np.uint8).reshape(48, 64, 3)
    assert any(np.array_equal(first, image) for image in images)
    assert infos[0][1].header.frame_id == 'cam_optical' and infos[0][1].k[0] == 50.0
