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

"""The real node with ``publish_detections`` and ``hri_enable`` over real DDS; optional packages.

One node process (CPU, deterministic random weights, input 64) in a private domain. The checks
follow the track ids in ``poses``: a confirmed person (id >= 0) has a REP-155 body, a
tentative one (-1) has none and the detection id ``''`` (without a tracker every person is
tentative). Bodies with scripted track and live ids are tested through the same
:class:`~logocap_ros.ros.interop.InteropOutputs` in ``test_ros_interop_dds.py``.
"""

try:  # optional ROS 2 packages: without them this module is skipped, naming them
    import hri_msgs  # noqa: F401
    import vision_msgs  # noqa: F401
except ImportError as exc:
    from optional_ros import skip_missing
    skip_missing(exc)

import subprocess
import sys
import time

from hri_msgs.msg import IdsList, Skeleton2D
from interop_scenario import expected_skeleton
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from logocap_ros.msg import PersonPoseArray
import numpy as np
import pytest
from ros_helpers import (child_env, image_msg as random_image, node_command, private_domain, Proc,
                         running_nodes, wait_until)
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray, Detection3DArray

pytestmark = [pytest.mark.ros, pytest.mark.slow]

FRAME_TIMEOUT = 60.0  # s; one CPU inference takes about 1 s, much more on a loaded machine
PREFIX = '/humans_node'
STAMPS = (11, 12, 13)


def image_msg(sec: int, seed: int = -1) -> Image:
    """Return a 160x120 bgr8 image stamped ``sec`` (pixels from ``seed``, default ``sec``)."""
    return random_image(sec, 160, 120, 'interop_cam', nanosec=5,
                        seed=None if seed < 0 else seed)


def at(items, sec: int) -> list:
    return [m for _, m in items if m.header.stamp.sec == sec]


@pytest.fixture(scope='module')
def graph():
    """Start the node with both interop outputs on, send three frames, collect everything."""
    with running_nodes([node_command(weights='random', input_size=64, flip_test=False,
                                     max_people=5, pose_threshold=0.0, publish_detections=True,
                                     hri_enable=True, hri_prefix=PREFIX,
                                     hri_body_id_prefix='node_')]) as g:
        node = g.proc
        g.poses = g.collect(PersonPoseArray, 'poses')
        g.detections = g.collect(Detection2DArray, 'detections')
        g.detections_3d = g.collect(Detection3DArray, 'detections_3d')
        g.tracked = g.collect(IdsList, f'{PREFIX}/bodies/tracked')
        image_pub = g.node.create_publisher(Image, 'image', 10)
        assert wait_until(lambda: image_pub.get_subscription_count() > 0
                          and g.node.count_publishers('detections') == 1
                          and g.node.count_publishers(f'{PREFIX}/bodies/tracked') == 1, 20)
        time.sleep(1.0)  # let the node's publishers match our subscriptions
        for sec in STAMPS:
            image_pub.publish(image_msg(sec))
            assert wait_until(lambda: at(g.poses, sec) and at(g.detections, sec)
                              and at(g.tracked, sec), FRAME_TIMEOUT), node.output()[-2000:]
        time.sleep(0.5)
        g.image_pub = image_pub
        yield g


def test_configure_logs_the_interop_outputs(graph):
    log = graph.proc.output()
    assert 'publishing vision_msgs detections' in log
    assert f'REP-155 bodies: {PREFIX}/bodies/tracked, body ids node_<track id>' in log


def test_node_detections_match_poses_frame_by_frame(graph):
    for sec in STAMPS:
        (poses,), (dets,) = at(graph.poses, sec), at(graph.detections, sec)
        assert dets.header == poses.header and dets.header.frame_id == 'interop_cam'
        assert 0 < len(dets.detections) == len(poses.people) <= 5
        for person, det in zip(poses.people, dets.detections):
            box = person.bbox
            assert det.id == (str(person.track_id) if person.track_id >= 0 else '')
            assert det.bbox.center.position.x == pytest.approx((box.x_min + box.x_max) / 2)
            assert det.bbox.center.position.y == pytest.approx((box.y_min + box.y_max) / 2)
            assert (det.bbox.size_x, det.bbox.size_y) == pytest.approx(
                (box.x_max - box.x_min, box.y_max - box.y_min))
            assert det.results[0].hypothesis.class_id == 'person'
            assert det.results[0].hypothesis.score == pytest.approx(person.score)
    assert graph.detections_3d == []  # no 3D keypoints: nothing on detections_3d


def body_ids(poses: PersonPoseArray) -> list:
    """Return the body ids of the confirmed people of ``poses``."""
    return [f'node_{p.track_id}' for p in poses.people if p.track_id >= 0]


def check_tracked(graph, sec: int) -> None:
    """Check ``tracked`` of frame ``sec`` against ``poses``.

    Header of the image; ids sorted by track id; every confirmed person of this frame listed,
    and nothing but people confirmed in this or an earlier frame (live tracks not seen in this
    frame stay listed until removed). Without a tracker: always empty.
    """
    (tracked,), (poses,) = at(graph.tracked, sec), at(graph.poses, sec)
    ever = {b for _, m in graph.poses if m.header.stamp.sec <= sec for b in body_ids(m)}
    assert tracked.header == poses.header
    assert set(body_ids(poses)) <= set(tracked.ids) <= ever, (sec, tracked.ids, ever)
    tracks = [int(i[len('node_'):]) for i in tracked.ids]
    assert all(i.startswith('node_') for i in tracked.ids) and tracks == sorted(set(tracks))


def test_node_publishes_tracked_every_frame(graph):
    for sec in STAMPS:
        check_tracked(graph, sec)
    latest = at(graph.tracked, STAMPS[-1])[0].ids
    want = {f'{PREFIX}/bodies/{b}/{t}' for b in latest for t in ('skeleton2d', 'roi')}

    def bodies() -> set:
        return {n for n, _ in graph.node.get_topic_names_and_types()
                if n.startswith(f'{PREFIX}/bodies/') and n != f'{PREFIX}/bodies/tracked'
                and graph.node.count_publishers(n) > 0}
    assert wait_until(lambda: bodies() == want, 10), (bodies(), want)


def test_tracked_and_bodies_follow_the_confirmed_people_of_poses(graph):
    """Every confirmed person in ``poses`` has a body in ``tracked`` and gets skeletons.

    The same pixels every frame let a tracker confirm the people (after ``track_min_hits``
    frames); without tracking nobody is confirmed and ``tracked`` stays empty.
    """
    skeletons, first_seen = {}, {}
    for sec in range(21, 29):
        graph.image_pub.publish(image_msg(sec, seed=20))
        assert wait_until(lambda: at(graph.poses, sec) and at(graph.tracked, sec),
                          FRAME_TIMEOUT), graph.proc.output()[-2000:]
        check_tracked(graph, sec)
        for body in body_ids(at(graph.poses, sec)[0]):
            if body not in skeletons:
                first_seen[body] = sec
                skeletons[body] = graph.collect(Skeleton2D, f'{PREFIX}/bodies/{body}/skeleton2d')
        time.sleep(0.3)  # new body topics: let them match before the next frame
    for body, received in skeletons.items():
        assert received or first_seen[body] > 26, f'no skeleton2d for {body}'
        for _, skeleton in received:
            (poses,) = at(graph.poses, skeleton.header.stamp.sec)
            (person,) = [p for p in poses.people if f'node_{p.track_id}' == body]
            np.testing.assert_allclose(
                [(q.x, q.y, q.c) for q in skeleton.skeleton],
                expected_skeleton(person, poses.image_width, poses.image_height), atol=1e-6)


def test_deactivate_empties_tracked_and_cleanup_removes_the_topics(graph):
    change = graph.node.create_client(ChangeState, '/logocap_node/change_state')
    before = len(graph.tracked)
    for tid in (Transition.TRANSITION_DEACTIVATE, Transition.TRANSITION_CLEANUP):
        request = ChangeState.Request(transition=Transition(id=tid))
        assert graph.call(change, request, 60).success, graph.proc.output()[-1500:]
    assert wait_until(lambda: len(graph.tracked) > before, 10)
    assert [m.ids for _, m in graph.tracked[before:]] == [[]] * (len(graph.tracked) - before)
    assert wait_until(lambda: graph.node.count_publishers('detections') == 0
                      and graph.node.count_publishers(f'{PREFIX}/bodies/tracked') == 0, 10)


def hidden_package_command(package: str, **params: object) -> list:
    """Return the node command with ``package`` unimportable, as if it were not installed."""
    hide = (f"import runpy, sys; sys.modules['{package}'] = sys.modules['{package}.msg'] = None; "
            "runpy.run_module('logocap_ros.ros.node', run_name='__main__')")
    return [sys.executable, '-c', hide] + node_command(**params)[3:]


@pytest.mark.parametrize('parameter, package', [('publish_detections', 'vision_msgs'),
                                                ('hri_enable', 'hri_msgs')])
def test_feature_without_its_package_fails_configure_with_one_line(parameter, package):
    command = hidden_package_command(package, weights='random', **{parameter: True})
    with private_domain() as domain_id:
        done = subprocess.run(command, env=child_env(domain_id), capture_output=True,
                              text=True, timeout=120)
    lines = [t for t in (done.stdout + done.stderr).splitlines() if t.strip()]
    assert done.returncode == 1, lines
    assert len(lines) == 1 and 'cannot configure' in lines[0], lines
    assert f'{parameter}:=true needs the ROS 2 message package {package}' in lines[0]
    assert 'ros-$ROS_DISTRO-' + package.replace('_', '-') in lines[0]


def test_hidden_package_is_not_needed_while_its_feature_is_off():
    command = hidden_package_command('vision_msgs', weights='random', input_size=64,
                                     hri_enable=True)
    with private_domain() as domain_id:
        node = Proc(command, child_env(domain_id))
        try:
            assert node.wait_for('active: listening on /image', 120), node.output()
        finally:
            assert node.stop() in (0, -2), node.output()


def test_invalid_hri_prefix_fails_with_one_line():
    with private_domain() as domain_id:
        done = subprocess.run(node_command(weights='random', hri_enable=True,
                                           hri_prefix='/2humans'),
                              env=child_env(domain_id), capture_output=True, text=True,
                              timeout=120)
    lines = [t for t in (done.stdout + done.stderr).splitlines() if t.strip()]
    assert done.returncode == 1 and len(lines) == 1, lines
    assert "hri_prefix:='/2humans' is invalid" in lines[0]
