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

"""Depth frames of the camera stand-in: synthetic scene registered to the colour, files."""

import itertools

import cv2
from logocap_ros.core.depth import depth_from_buffer, depth_to_metres
from logocap_ros.frames import depth_frames
import numpy as np
import pytest


def test_synthetic_depth_is_registered_to_the_synthetic_colour_bar():
    from logocap_ros.ros.camera_publisher import iter_frames
    colours = itertools.islice(iter_frames('synthetic:160x120', loop=True), 3)
    depths = itertools.islice(depth_frames.iter_depth('synthetic', 160, 120), 3)
    for colour, depth in zip(colours, depths):
        bar = (colour == 255).all(axis=2)
        assert bar.sum() == 20 * 40
        hole = depth == 0
        assert hole[:, :8].all() and not hole[:, 8:].any()
        assert (depth[bar & ~hole] == depth_frames.BOX_M).all()
        assert (depth[~bar & ~hole] == depth_frames.WALL_M).all()


@pytest.mark.parametrize('encoding', ['16UC1', '32FC1'])
def test_encode_round_trip(encoding):
    depth = depth_frames.synthetic_depth(64, 48, 2)
    data, step = depth_frames.encode_depth(depth, encoding)
    back = depth_to_metres(depth_from_buffer(data, 48, 64, step, encoding))
    np.testing.assert_allclose(np.nan_to_num(back), depth, atol=1e-6)
    with pytest.raises(ValueError, match='16UC1 or 32FC1'):
        depth_frames.encode_depth(depth, 'mono8')


def test_depth_files_png_millimetres_npy_metres_and_errors(tmp_path):
    mm = np.full((12, 16), 1234, np.uint16)
    mm[0, 0] = 0
    cv2.imwrite(str(tmp_path / 'a.png'), mm)
    np.save(tmp_path / 'b.npy', np.full((12, 16), np.nan, np.float32))
    frames = list(itertools.islice(depth_frames.iter_depth(str(tmp_path), 0, 0, loop=True), 3))
    assert frames[0][0, 0] == 0 and frames[0][1, 1] == pytest.approx(1.234)
    assert (frames[1] == 0).all()  # NaN is no data
    assert np.array_equal(frames[2], frames[0])
    cv2.imwrite(str(tmp_path / 'c.png'), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match='16-bit image in millimetres'):
        depth_frames.read_depth(tmp_path / 'c.png')
    with pytest.raises(ValueError, match='depth source not found'):
        depth_frames.iter_depth(str(tmp_path / 'nope'), 1, 1)


def test_default_intrinsics_centre_and_focal():
    k = depth_frames.default_intrinsics(640, 480)
    assert k[0] == k[4] == 512.0 and (k[2], k[5]) == (319.5, 239.5)
