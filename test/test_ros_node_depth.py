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

"""3D over real DDS between processes: camera_publisher (colour + depth + camera_info) -> node.

The node runs the real model with deterministic random weights, so its 2D joints are
meaningless but real. What proves the integration is consistency: for every joint of every
published ``poses`` message, its 3D status and position must equal what the depth image that
the node paired with the frame (received here too, found by ``depth_header.stamp``) gives at
that joint's 2D position, back-projected through the published camera_info; and the markers
must be those 3D points, in metres, in the depth frame. With vision_msgs on the path the node
also publishes ``detections_3d``, which must be built from those 3D points; with
``smoothing:=true`` (set at run time) ``poses_raw`` must carry the 3D of the model's 2D joints.
"""

import os

from diagnostic_msgs.msg import DiagnosticArray
from logocap_ros.msg import Keypoint3D, PersonPoseArray
from logocap_ros.ros.qos import image_qos
import numpy as np
import pytest
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from ros_helpers import (camera_command, child_env, node_command, private_domain, Proc,
                         running_nodes, wait_until)
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import Marker, MarkerArray

pytestmark = [pytest.mark.ros, pytest.mark.slow]

try:
    import message_filters  # noqa: F401 - only whether the node process can import it
    HAVE_MESSAGE_FILTERS = True
except ImportError:
    HAVE_MESSAGE_FILTERS = False
try:
    from vision_msgs.msg import Detection3DArray
    HAVE_VISION_MSGS = True
except ImportError:
    HAVE_VISION_MSGS = False

FRAME_TIMEOUT = 90.0
WINDOW = 5
KEYPOINT_THRESHOLD = 0.05


def _ns(stamp) -> int:
    return stamp.sec * 10**9 + stamp.nanosec


@pytest.fixture(scope='module')
def graph():
    """Start the node (use_depth) and a test graph listening to its outputs and the camera."""
    if not HAVE_MESSAGE_FILTERS:
        pytest.skip('message_filters (Python) is not on PYTHONPATH; source scripts/env.sh with '
                    'build/ros2_extra, or install ros-<distro>-message-filters')
    with running_nodes([node_command(
            weights='random', input_size=64, flip_test=False, max_people=5, pose_threshold=0.0,
            keypoint_threshold=KEYPOINT_THRESHOLD, use_depth=True, depth_occlusion_m=50.0,
            depth_window_px=WINDOW, no_image_warn_s=0.0, publish_detections=HAVE_VISION_MSGS)],
            timeout=180) as g:
        g.poses = g.collect(PersonPoseArray, 'poses')
        g.raw = g.collect(PersonPoseArray, 'poses_raw')
        g.detections_3d = (g.collect(Detection3DArray, 'detections_3d')
                           if HAVE_VISION_MSGS else [])
        g.markers = g.collect(MarkerArray, 'markers')
        g.diag = g.collect(DiagnosticArray, '/diagnostics')
        g.depth = g.collect(Image, 'depth/image_raw', image_qos('best_effort'))
        g.infos = g.collect(CameraInfo, 'depth/camera_info', image_qos('best_effort'))
        yield g


def _camera(g, frame_id, *extra):
    return Proc(camera_command('synthetic:320x240', '--rate', '10', '--loop', '--frame-id',
                               frame_id, *extra), child_env(g.domain_id))


def _poses(g, frame_id):
    return [m for _, m in g.poses if m.header.frame_id == frame_id]


def _diag(g) -> dict:
    for _, array in reversed(g.diag):
        for status in array.status:
            if 'logocap_node' in status.name:
                return {kv.key: kv.value for kv in status.values}
    return {}


def test_without_depth_the_node_publishes_2d_and_says_why(graph):
    camera = _camera(graph, 'cam_2d')
    try:
        assert wait_until(lambda: len(_poses(graph, 'cam_2d')) >= 2, FRAME_TIMEOUT), \
            graph.proc.output()[-3000:]
        assert wait_until(lambda: 'no depth image' in _diag(graph).get(
            'depth.missing_reason', ''), 10), _diag(graph)
    finally:
        camera.stop()
    for msg in _poses(graph, 'cam_2d'):
        assert msg.people and all(len(p.keypoints_3d) == 0 for p in msg.people)
        assert msg.depth_header.frame_id == ''
    log = graph.proc.output()
    assert 'publishing 2D only: no depth image received yet' in log
    assert log.count('publishing 2D only') <= 3  # rate-limited
    assert wait_until(lambda: int(_diag(graph).get('depth.frames_2d_only', 0)) >= 2, 10), \
        _diag(graph)  # /diagnostics comes once a second


def _expected(depth_m: np.ndarray, info, keypoint):
    """Return (status, xyz) the node must give for a keypoint (u, v, score)."""
    u, v, score = keypoint
    height, width = depth_m.shape
    col, row = int(np.rint(u)), int(np.rint(v))
    if not score >= KEYPOINT_THRESHOLD or not (0 <= col < width and 0 <= row < height):
        return Keypoint3D.NO_DEPTH, None
    half = WINDOW // 2
    window = depth_m[max(row - half, 0):row + half + 1, max(col - half, 0):col + half + 1]
    values = window[window > 0]
    if values.size == 0:
        return Keypoint3D.NO_DEPTH, None
    z = float(np.median(values))
    fx, cx, fy, cy = info.k[0], info.k[2], info.k[4], info.k[5]
    return Keypoint3D.VALID, np.array([(u - cx) / fx * z, (v - cy) / fy * z, z])


def _checkable(g, frames) -> int:
    """Count ``frames`` with 3D whose depth image the test got too (0 before a camera info).

    The node's inputs reach the test over best effort as well: a copy can be lost or late.
    """
    if not g.infos:
        return 0
    depth = {_ns(m.header.stamp) for _, m in g.depth}
    return len([m for m in frames
                if m.depth_header.frame_id and _ns(m.depth_header.stamp) in depth])


def test_3d_is_consistent_with_the_depth_at_the_2d_joints(graph):
    camera = _camera(graph, 'cam_rgb', '--depth', 'synthetic', '--depth-frame-id', 'cam_depth')
    try:  # the test's own best-effort copies can be lost or late, so wait for them as well
        assert wait_until(lambda: _checkable(graph, _poses(graph, 'cam_rgb')) >= 3,
                          FRAME_TIMEOUT), \
            (len(graph.infos), len(graph.depth), graph.proc.output()[-3000:])
        assert wait_until(lambda: _markers_3d(graph), 20)
    finally:
        camera.stop()
    depth_by_stamp = {_ns(m.header.stamp): m for _, m in graph.depth}
    info = graph.infos[-1][1]
    assert info.distortion_model == 'plumb_bob' and info.k[0] > 0
    checked, statuses = 0, set()
    for msg in _poses(graph, 'cam_rgb'):
        if not msg.depth_header.frame_id:
            continue
        assert msg.depth_header.frame_id == 'cam_depth' and msg.header.frame_id == 'cam_rgb'
        assert msg.depth_header.stamp == msg.header.stamp  # same stamps, offset 0
        depth_msg = depth_by_stamp.get(_ns(msg.depth_header.stamp))
        if depth_msg is None:  # this best-effort copy was lost on the way to the test
            continue
        assert depth_msg.encoding == '16UC1'
        depth_m = np.frombuffer(depth_msg.data, '<u2').reshape(240, 320) / 1000.0
        for person in msg.people:
            assert len(person.keypoints_3d) == 17
            for kp2, kp3 in zip(person.keypoints, person.keypoints_3d):
                status, xyz = _expected(depth_m, info, (kp2.x, kp2.y, kp2.score))
                assert kp3.status == status, (kp2, kp3)
                got = np.array([kp3.position.x, kp3.position.y, kp3.position.z])
                if status == Keypoint3D.VALID:
                    np.testing.assert_allclose(got, xyz, atol=1e-4)
                else:
                    assert np.isnan(got).all()
                assert kp3.score == pytest.approx(kp2.score)
                statuses.add(status)
                checked += 1
    assert checked >= 3 * 17 and Keypoint3D.VALID in statuses, (checked, statuses)
    # /diagnostics comes once a second: wait for one sent after those frames
    assert wait_until(lambda: int(_diag(graph).get('depth.frames_3d', 0)) >= 3, 10), \
        _diag(graph)


def _markers_3d(g):
    return [m for _, m in g.markers if len(m.markers) > 1
            and m.markers[1].header.frame_id == 'cam_depth']


def test_markers_are_the_3d_skeletons_in_metres(graph):
    arrays = _markers_3d(graph)
    assert arrays, 'no 3D markers received'
    poses = {_ns(m.depth_header.stamp): m for m in _poses(graph, 'cam_rgb')
             if m.depth_header.frame_id}
    matched = 0
    for array in arrays:
        assert array.markers[0].action == Marker.DELETEALL
        msg = poses.get(_ns(array.markers[1].header.stamp))
        if msg is None:
            continue
        for marker in array.markers[1:]:
            assert marker.header.frame_id == 'cam_depth'
            if marker.ns != 'joints':
                continue
            person = msg.people[marker.id]
            valid = [k.position for k in person.keypoints_3d if k.status == Keypoint3D.VALID]
            np.testing.assert_allclose([(p.x, p.y, p.z) for p in marker.points],
                                       [(p.x, p.y, p.z) for p in valid], atol=1e-9)
            assert all(1.4 <= p.z <= 2.6 for p in marker.points)  # metres, not pixels
            matched += 1
    assert matched >= 1


def test_depth_beyond_slop_is_2d_only_with_the_reason(graph):
    camera = _camera(graph, 'cam_late', '--depth', 'synthetic', '--depth-offset', '1000',
                     '--depth-encoding', '32FC1')
    try:
        assert wait_until(lambda: len(_poses(graph, 'cam_late')) >= 2, FRAME_TIMEOUT), \
            graph.proc.output()[-3000:]
        assert wait_until(lambda: 'beyond depth_slop=0.05' in _diag(graph).get(
            'depth.missing_reason', ''), 10), _diag(graph)
    finally:
        camera.stop()
    assert all(len(p.keypoints_3d) == 0 for m in _poses(graph, 'cam_late') for p in m.people)
    assert 'publishing 2D only: nearest depth image is ' in graph.proc.output()


def test_detections_3d_are_built_from_the_3d_of_poses(graph):
    if not HAVE_VISION_MSGS:
        pytest.skip('vision_msgs is not on PYTHONPATH (source scripts/env.sh with '
                    'build/ros2_extra, or install ros-<distro>-vision-msgs)')
    poses = {_ns(m.depth_header.stamp): m for m in _poses(graph, 'cam_rgb')
             if m.depth_header.frame_id}
    matched = 0
    for _, dets in graph.detections_3d:
        assert dets.header.frame_id == 'cam_depth'  # the depth header of poses
        msg = poses.get(_ns(dets.header.stamp))
        if msg is None:
            continue
        valid = [np.array([(k.position.x, k.position.y, k.position.z) for k in p.keypoints_3d
                           if k.status == Keypoint3D.VALID]) for p in msg.people]
        people = [(p, v) for p, v in zip(msg.people, valid) if len(v)]
        assert len(dets.detections) == len(people)
        for det, (person, points) in zip(dets.detections, people):
            assert det.id == (str(person.track_id) if person.track_id >= 0 else '')
            centre = det.bbox.center.position
            np.testing.assert_allclose([centre.x, centre.y, centre.z],
                                       (points.min(axis=0) + points.max(axis=0)) / 2, atol=1e-6)
        matched += 1
    assert matched >= 1, 'no detections_3d matched a poses message with 3D'


def test_smoothing_poses_raw_carries_the_3d_of_the_model_output(graph):
    client = graph.node.create_client(SetParameters, '/logocap_node/set_parameters')
    request = SetParameters.Request(
        parameters=[Parameter('smoothing', value=True).to_parameter_msg()])
    assert all(r.successful for r in graph.call(client, request).results)
    camera = _camera(graph, 'cam_smooth', '--depth', 'synthetic', '--depth-frame-id',
                     'cam_depth')

    def raw_with_poses():
        """Raw frames of this camera whose smoothed ``poses`` the test has as well."""
        shown = {_ns(m.header.stamp) for m in _poses(graph, 'cam_smooth')}
        return [m for _, m in graph.raw
                if m.header.frame_id == 'cam_smooth' and _ns(m.header.stamp) in shown]

    try:
        assert wait_until(lambda: _checkable(graph, raw_with_poses()) >= 3, FRAME_TIMEOUT), \
            (len(graph.infos), len(graph.depth), graph.proc.output()[-3000:])
    finally:
        camera.stop()
    depth_by_stamp = {_ns(m.header.stamp): m for _, m in graph.depth}
    poses = {_ns(m.header.stamp): m for m in _poses(graph, 'cam_smooth')}
    info, checked = graph.infos[-1][1], 0
    for _, raw in graph.raw:
        depth_msg = depth_by_stamp.get(_ns(raw.depth_header.stamp))
        msg = poses.get(_ns(raw.header.stamp))
        if raw.header.frame_id != 'cam_smooth' or depth_msg is None or msg is None:
            continue
        assert msg.depth_header == raw.depth_header
        depth_m = np.frombuffer(depth_msg.data, '<u2').reshape(240, 320) / 1000.0
        for person_raw, person in zip(raw.people, msg.people):
            assert person_raw.track_id == person.track_id
            for kp2, kp3 in zip(person_raw.keypoints, person_raw.keypoints_3d):
                status, xyz = _expected(depth_m, info, (kp2.x, kp2.y, kp2.score))
                assert kp3.status == status
                if status == Keypoint3D.VALID:
                    np.testing.assert_allclose(
                        [kp3.position.x, kp3.position.y, kp3.position.z], xyz, atol=1e-4)
                checked += 1
            for kp2, kp3 in zip(person.keypoints, person.keypoints_3d):  # 3D of the 2D shown
                assert kp3.status == _expected(depth_m, info, (kp2.x, kp2.y, kp2.score))[0]
    assert checked >= 3 * 17


def test_missing_message_filters_fails_configure_with_one_line(tmp_path):
    fake = tmp_path / 'message_filters'
    fake.mkdir()
    (fake / '__init__.py').write_text("raise ImportError('No module named message_filters')\n")
    with private_domain() as domain_id:
        env = child_env(domain_id)
        env['PYTHONPATH'] = os.pathsep.join([str(tmp_path), env['PYTHONPATH']])
        node = Proc(node_command(weights='random', input_size=64, use_depth=True), env)
        try:
            node.popen.wait(120)
        finally:
            code = node.stop()
    out = node.output()
    assert code == 1, out
    assert 'install ros-' in out and '-message-filters or set use_depth:=false' in out
    assert 'Traceback' not in out, out
