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

"""3D lifting on synthetic depth with known geometry (no ROS): accuracy, statuses, errors."""

from depth_scenes import camera, CAMERAS, keypoints_for, paint, person_3d, plane
from logocap_ros.core.camera_model import CameraModel, PINHOLE
from logocap_ros.core.depth import (depth_from_buffer, depth_to_metres, lift_keypoints,
                                    LiftConfig, NO_DEPTH, OCCLUDED, OUT_OF_RANGE, VALID)
import numpy as np
import pytest

W, H = 640, 480
#: Three people at 2.2 m, 3 m and 4.5 m; the outer ones reach the strongly distorted edges.
PEOPLE = [(-1.0, -0.05, 2.2), (0.25, 0.0, 3.0), (2.0, 0.2, 4.5)]


def _scene(cam: CameraModel):
    """Depth with each person on their own plane region, keypoints, and true 3D joints."""
    truth = np.stack([person_3d(*p) for p in PEOPLE])
    kps = keypoints_for(cam, truth)
    depth = plane(W, H, 6.0)  # back wall
    for person in np.argsort([-p[2] for p in PEOPLE]):  # far first: near ones occlude
        for u, v in kps[person, :, :2]:
            paint(depth, (u, v), 4, PEOPLE[person][2])
    return depth, kps, truth


@pytest.mark.parametrize('model', sorted(CAMERAS))
def test_clean_depth_error_under_1cm_with_distortion(model):
    cam = camera(model)
    depth, kps, truth = _scene(cam)
    assert (kps[..., 0] > 0).all() and (kps[..., 0] < W - 1).all()
    assert (kps[..., 1] > 0).all() and (kps[..., 1] < H - 1).all()
    points, status = lift_keypoints(kps, depth, cam, LiftConfig(max_depth_m=8.0))
    assert (status == VALID).all(), status
    error_mm = 1000 * np.linalg.norm(points - truth, axis=2)
    assert error_mm.max() < 10.0, error_mm.max()
    assert error_mm.max() < 0.1  # clean depth: only the undistortion's iteration remains
    # the test can fail: a pinhole shortcut (ignoring D) is off by centimetres here
    pinhole = (kps[..., :2] - cam.k[:2, 2]) / np.diag(cam.k)[:2] * truth[..., 2:]
    assert np.abs(pinhole - truth[..., :2]).max() > 0.03


@pytest.mark.parametrize('model', sorted(CAMERAS))
def test_noisy_depth_with_holes_stays_under_1cm_thanks_to_the_window_median(model):
    cam = camera(model)
    depth, kps, truth = _scene(cam)
    rng = np.random.default_rng(7)
    noisy = depth + rng.normal(0.0, 0.01, depth.shape).astype(np.float32)  # 1 cm noise
    noisy[rng.random(depth.shape) < 0.2] = 0.0                               # 20 % holes
    points, status = lift_keypoints(kps, noisy, cam, LiftConfig(max_depth_m=8.0))
    assert (status == VALID).all()
    error_mm = 1000 * np.linalg.norm(points - truth, axis=2)
    assert error_mm.max() < 10.0, error_mm.max()
    # one pixel per joint (what a single-pixel lookup does): holes and a larger error
    single, single_status = lift_keypoints(kps, noisy, cam, LiftConfig(max_depth_m=8.0,
                                                                       window_px=1))
    assert (single_status == NO_DEPTH).sum() >= 3
    single_mm = 1000 * np.linalg.norm(single - truth, axis=2)[single_status == VALID]
    assert single_mm.mean() > 1.5 * error_mm.mean()


@pytest.mark.parametrize('encoding', ['16UC1', '32FC1'])
@pytest.mark.parametrize('big_endian', [False, True])
def test_16uc1_millimetres_and_32fc1_metres_with_row_padding(encoding, big_endian):
    cam = camera('plumb_bob')
    depth_m, kps, truth = _scene(cam)
    if encoding == '16UC1':
        pixels = np.rint(depth_m * 1000).astype('>u2' if big_endian else '<u2')
    else:
        pixels = depth_m.astype('>f4' if big_endian else '<f4')
    padded = np.zeros((H, W * pixels.itemsize + 6), np.uint8)
    padded[:, :W * pixels.itemsize] = pixels.view(np.uint8).reshape(H, -1)
    depth = depth_from_buffer(padded.tobytes(), H, W, padded.shape[1], encoding, big_endian)
    assert depth.dtype == (np.uint16 if encoding == '16UC1' else np.float32)
    assert depth.shape == (H, W)
    np.testing.assert_allclose(depth_to_metres(depth), depth_m, atol=5e-4)
    points, status = lift_keypoints(kps, depth, cam, LiftConfig(max_depth_m=8.0))
    assert (status == VALID).all()
    assert 1000 * np.linalg.norm(points - truth, axis=2).max() < 1.0


def test_unsupported_encoding_and_bad_layout_are_clear_errors():
    with pytest.raises(ValueError, match='rgb8.*16UC1.*32FC1'):
        depth_from_buffer(bytes(12), 2, 2, 6, 'rgb8')
    with pytest.raises(ValueError, match='step'):
        depth_from_buffer(bytes(10), 2, 2, 4, '16UC1')


def test_holes_give_no_depth_and_partial_holes_use_the_valid_pixels():
    cam = camera('plumb_bob')
    kps = keypoints_for(cam, person_3d(0.0, -0.05, 2.5)[None])
    depth = plane(W, H, 2.5)
    paint(depth, kps[0, 9, :2], 3, 0.0)          # left wrist: whole 5x5 window is a hole
    paint(depth, kps[0, 10, :2], 3, np.nan)      # right wrist: NaN hole
    u, v = np.rint(kps[0, 0, :2]).astype(int)    # nose: 2 of 5 columns of the window missing
    depth[v - 2:v + 3, u - 2:u] = 0.0
    paint(depth, kps[0, 15, :2], 2, 2.5)
    depth[int(round(kps[0, 15, 1])), int(round(kps[0, 15, 0]))] = 9.0  # one flying pixel
    points, status = lift_keypoints(kps, depth, cam)
    assert status[0, 9] == NO_DEPTH and status[0, 10] == NO_DEPTH
    assert np.isnan(points[0, [9, 10]]).all()
    assert status[0, 0] == VALID and points[0, 0, 2] == pytest.approx(2.5)
    assert status[0, 15] == VALID and points[0, 15, 2] == pytest.approx(2.5)
    assert (status[0, [1, 2, 3, 4, 5, 6, 11, 12]] == VALID).all()


def test_16uc1_zero_is_no_data():
    cam = camera('plumb_bob')
    kps = keypoints_for(cam, person_3d(0.0, -0.05, 2.5)[None])
    depth = np.full((H, W), 2500, np.uint16)
    paint(depth, kps[0, 3, :2], 3, 0)
    _, status = lift_keypoints(kps, depth, cam)
    assert status[0, 3] == NO_DEPTH
    assert (np.delete(status[0], 3) == VALID).all()


def test_low_score_outside_image_and_nan_joints_have_no_depth():
    cam = camera('plumb_bob')
    kps = keypoints_for(cam, person_3d(0.0, -0.05, 2.5)[None])
    kps[0, 0, 2] = 0.05                     # below keypoint_threshold
    kps[0, 1, 2] = np.nan
    kps[0, 15, :2] = (W + 3.0, 100.0)       # outside the image
    kps[0, 16, :2] = (-0.6, 100.0)          # rounds to column -1
    kps[0, 3, :2] = np.nan
    kps[0, 13, :2] = (-0.4, 10.0)           # rounds to column 0: inside
    points, status = lift_keypoints(kps, plane(W, H, 2.5), cam, LiftConfig(
        keypoint_threshold=0.1))
    assert status[0, [0, 1, 3, 15, 16]].tolist() == [NO_DEPTH] * 5
    assert status[0, 13] == VALID
    assert np.isnan(points[0, [0, 1, 3, 15, 16]]).all()
    assert np.isfinite(points[0, status[0] == VALID]).all()


def test_out_of_range_min_and_max():
    cam = camera('plumb_bob')
    kps = keypoints_for(cam, person_3d(0.0, -0.05, 2.5)[None])
    depth = plane(W, H, 2.5)
    paint(depth, kps[0, 9, :2], 4, 12.0)
    paint(depth, kps[0, 10, :2], 4, 0.05)
    cfg = LiftConfig(min_depth_m=0.3, max_depth_m=10.0, occlusion_m=100.0)
    points, status = lift_keypoints(kps, depth, cam, cfg)
    assert status[0, 9] == OUT_OF_RANGE and status[0, 10] == OUT_OF_RANGE
    assert np.isnan(points[0, [9, 10]]).all()
    assert (np.delete(status[0], [9, 10]) == VALID).all()
    _, wide = lift_keypoints(kps, depth, cam, LiftConfig(min_depth_m=0.01, max_depth_m=20.0,
                                                         occlusion_m=100.0))
    assert (wide == VALID).all()


def test_occluder_in_front_and_background_behind_are_occluded():
    cam = camera('plumb_bob')
    people = np.stack([person_3d(-0.5, 0.1, 3.0), person_3d(0.6, 0.1, 3.0)])
    kps = keypoints_for(cam, people)
    depth = plane(W, H, 3.0)
    # person 0: a table at 2.2 m hides hips, wrists, knees, ankles; a wall leaks at the elbow
    for joint in (9, 10, 11, 12, 13, 14, 15, 16):
        paint(depth, kps[0, joint, :2], 4, 2.2)
    paint(depth, kps[0, 7, :2], 4, 5.0)
    points, status = lift_keypoints(kps, depth, cam, LiftConfig(occlusion_m=0.5))
    assert status[0, [7, 9, 10, 11, 12, 13, 14, 15, 16]].tolist() == [OCCLUDED] * 9
    assert (status[0, [0, 1, 2, 3, 4, 5, 6, 8]] == VALID).all()
    assert np.isnan(points[0, status[0] == OCCLUDED]).all()
    assert (status[1] == VALID).all()   # the other person's body depth is their own
    # within tolerance it is not occluded: a hand 0.4 m in front of the body
    depth2 = plane(W, H, 3.0)
    paint(depth2, kps[0, 9, :2], 4, 2.6)
    points2, status2 = lift_keypoints(kps, depth2, cam, LiftConfig(occlusion_m=0.5))
    assert status2[0, 9] == VALID and points2[0, 9, 2] == pytest.approx(2.6)


def test_person_with_only_limbs_uses_all_joints_for_the_body_depth():
    cam = camera('plumb_bob')
    kps = keypoints_for(cam, person_3d(0.0, -0.05, 2.5)[None])
    kps[0, [0, 1, 2, 3, 4, 5, 6, 11, 12], 2] = 0.0  # no head, shoulders or hips
    depth = plane(W, H, 2.5)
    paint(depth, kps[0, 16, :2], 4, 1.0)
    _, status = lift_keypoints(kps, depth, cam)
    assert status[0, 16] == OCCLUDED
    assert (status[0, [7, 8, 9, 10, 13, 14, 15]] == VALID).all()


def test_no_people_and_empty_shapes():
    points, status = lift_keypoints(np.zeros((0, 17, 3)), plane(W, H, 1.0), camera('plumb_bob'))
    assert points.shape == (0, 17, 3) and status.shape == (0, 17)
    assert points.dtype == np.float32 and status.dtype == np.uint8


def test_depth_and_colour_of_different_sizes_is_a_clear_error():
    cam = camera('plumb_bob')
    kps = keypoints_for(cam, person_3d(0.0, -0.05, 2.5)[None])
    with pytest.raises(ValueError, match=r'depth image is 640x480 but the colour image is '
                                         r'1280x720.*registered'):
        lift_keypoints(kps, plane(W, H, 2.5), cam, image_size=(720, 1280))
    with pytest.raises(ValueError, match='camera_info says 640x480'):
        lift_keypoints(kps, plane(320, 240, 2.5), cam)
    lift_keypoints(kps, plane(W, H, 2.5), cam, image_size=(H, W, 3))


def test_camera_model_validation_errors():
    k = [500.0, 0, 320, 0, 500, 240, 0, 0, 1]
    with pytest.raises(ValueError, match="unsupported.*'kannala'.*plumb_bob"):
        CameraModel.from_camera_info(k, [0.1, 0, 0, 0], 'kannala', W, H)
    with pytest.raises(ValueError, match='focal length'):
        CameraModel.from_camera_info([0.0] * 9, [], 'plumb_bob', W, H)
    with pytest.raises(ValueError, match='needs D of length 4'):
        CameraModel.from_camera_info(k, [0.1, 0.2, 0.3], 'equidistant', W, H)
    with pytest.raises(ValueError, match='image size 0x480'):
        CameraModel.from_camera_info(k, [], 'plumb_bob', 0, H)
    assert CameraModel.from_camera_info(k, [0.0] * 5, '', W, H).distortion_model == PINHOLE
    assert CameraModel.from_camera_info(k, [], 'plumb_bob', W, H).distortion_model == PINHOLE
    with pytest.raises(ValueError, match="unsupported.*''"):
        CameraModel.from_camera_info(k, [0.1, 0, 0, 0, 0], '', W, H)


def test_rectified_model_uses_p_without_distortion():
    k = [500.0, 0, 320, 0, 500, 240, 0, 0, 1]
    p = [450.0, 0, 300, 0, 0, 460, 250, 0, 0, 0, 1, 0]
    cam = CameraModel.from_camera_info(k, [-0.3, 0.1, 0, 0, 0], 'plumb_bob', W, H, p=p,
                                       rectified=True)
    assert cam.distortion_model == PINHOLE
    rays = cam.normalized_rays(np.array([[300.0 + 45.0, 250.0 - 92.0]]))
    np.testing.assert_allclose(rays, [[0.1, -0.2]], atol=1e-12)


def test_config_validation():
    with pytest.raises(ValueError, match='odd'):
        LiftConfig(window_px=4).validate()
    with pytest.raises(ValueError, match='min < max'):
        LiftConfig(min_depth_m=3.0, max_depth_m=2.0).validate()
    assert LiftConfig().validate().window_px == 5
