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


"""Tests of the skeleton drawing helper (pure function on numpy images)."""

from logocap_ros.core.keypoints import SKELETON_EDGES
from logocap_ros.core.result import PoseResult
from logocap_ros.frames.draw import draw_poses, PALETTE, person_color
import numpy as np
import pytest


def _person(x0: float, y0: float, score: float = 0.9) -> np.ndarray:
    """Return ``(17, 3)`` joints on a vertical line spaced 8 px apart."""
    j = np.arange(17, dtype=np.float32)
    return np.stack([np.full(17, x0), y0 + 8 * j, np.full(17, score)], axis=1)


def test_joints_and_bones_drawn_in_person_colour():
    image = np.zeros((200, 200, 3), np.uint8)
    poses = np.stack([_person(40, 20), _person(150, 20)])
    out = draw_poses(image, poses, radius=3, thickness=2)
    assert not image.any(), 'input must not be modified by default'
    for idx, x in enumerate((40, 150)):
        colour = np.array(person_color(idx))
        # joint 5 centre is filled with the person's colour
        assert (out[20 + 8 * 5, x] == colour).all()
        # a bone runs along the column between joints 5 (y=60) and 7 (y=76)
        assert (out[68, x] == colour).all()
    assert not out[:, 90:110].any(), 'nothing drawn between the two people'


def test_low_score_joints_and_their_bones_are_skipped():
    pose = _person(30, 20)
    pose[9, :2] = (90, 180)  # left wrist moved away from the others
    mid = ((pose[7, :2] + pose[9, :2]) / 2).astype(int)
    for score, drawn in ((0.01, False), (0.9, True)):
        pose[9, 2] = score
        out = draw_poses(np.zeros((200, 100, 3), np.uint8), pose[None], keypoint_threshold=0.1,
                         radius=2, thickness=1)
        assert out[178:183, 88:93].any() == drawn, 'joint 9'
        assert out[mid[1] - 1:mid[1] + 2, mid[0] - 1:mid[0] + 2].any() == drawn, 'bone 7-9'
        assert out[20 + 8 * 11, 30].any()
    assert (7, 9) in SKELETON_EDGES


def test_accepts_pose_result_grey_and_in_place():
    res = PoseResult(_person(10, 10)[None], [0.8], (150, 30))
    grey = np.zeros((150, 30), np.uint8)
    out = draw_poses(grey, res, draw_scores=True)
    assert out.shape == (150, 30, 3) and out.any()
    image = np.zeros((150, 30, 3), np.uint8)
    same = draw_poses(image, res, copy=False)
    assert same is image and image.any()
    assert draw_poses(image, PoseResult.empty((150, 30))).shape == image.shape


def test_colours_cycle_and_custom_colours():
    assert person_color(0) == person_color(len(PALETTE))
    out = draw_poses(np.zeros((200, 100, 3), np.uint8), _person(50, 20)[None],
                     colors=[(1, 2, 3)], radius=3)
    assert (out[20 + 8 * 5, 50] == (1, 2, 3)).all()


def test_non_finite_and_far_away_points_are_safe():
    pose = _person(50, 20)
    pose[0, :2] = np.nan
    pose[1, :2] = 1e12
    out = draw_poses(np.zeros((200, 100, 3), np.uint8), pose[None], radius=2, thickness=1)
    colour = np.array(person_color(0))
    assert (out[20 + 8 * 5, 50] == colour).all(), 'the finite joints are still drawn'
    # the NaN joint (the nose, at y=20) and its bones are not drawn
    assert not out[:20 + 8 * 2 - 3].any(), 'nothing drawn for the NaN joint'
    # the far joint (left eye, x=1e12) is clipped: its bones run off the right border only
    assert out[:, 99].any() and not out[:, :45].any()


def test_bad_images_raise():
    with pytest.raises(ValueError, match='uint8'):
        draw_poses(np.zeros((10, 10, 3), np.float32), np.zeros((0, 17, 3)))
    with pytest.raises(ValueError, match='H, W, 3'):
        draw_poses(np.zeros((10, 10, 4), np.uint8), np.zeros((0, 17, 3)))
