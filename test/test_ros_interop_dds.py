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

"""The interop outputs over real DDS between processes: vision_msgs detections, REP-155 bodies.

Two ``interop_driver.py`` processes stand in for two camera nodes (namespaces ``/cam_a`` and
``/cam_b``, prefixes ``/humans_a`` with body ids ``cam_a_<n>`` and ``/humans_b`` with a random
id prefix). Each publishes the scripted frames of ``interop_scenario`` (track ids and live ids
set by hand) on ``poses`` and through :class:`logocap_ros.ros.interop.InteropOutputs`, exactly
as the node does; this process receives everything, stepping both drivers frame by frame.
"""

try:  # optional ROS 2 packages: without them this module is skipped, naming them
    import hri_msgs  # noqa: F401
    import vision_msgs  # noqa: F401
except ImportError as exc:
    from optional_ros import skip_missing
    skip_missing(exc)

from pathlib import Path
import sys
import time
from typing import Dict, List

from hri_msgs.msg import IdsList, NormalizedRegionOfInterest2D, Skeleton2D
import interop_scenario as scenario
from logocap_ros.msg import PersonPoseArray
import numpy as np
import pytest
from ros_helpers import child_env, private_domain, Proc, TestGraph, wait_until
from std_msgs.msg import UInt32
from vision_msgs.msg import Detection2DArray, Detection3DArray

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DRIVER = Path(__file__).resolve().parent / 'interop_driver.py'
TRACKS = (0, 1, 2)
N_FRAMES = len(scenario.FRAMES)


def stamp_of(msg) -> int:
    return msg.header.stamp.sec - scenario.FIRST_SEC


def by_frame(items) -> Dict[int, List]:
    """Received ``(t, msg)`` grouped by scenario frame index."""
    out: Dict[int, List] = {}
    for _, msg in items:
        out.setdefault(stamp_of(msg), []).append(msg)
    return out


class Camera:
    """One driver process and everything received from it."""

    def __init__(self, g: TestGraph, name: str, prefix: str, id_prefix: str, env) -> None:
        self.name, self.prefix = name, prefix
        self.proc = Proc([sys.executable, str(DRIVER), prefix, id_prefix, '--ros-args', '-r',
                          f'__ns:=/{name}'], env)
        self.id_prefix = id_prefix
        self.step_pub = g.node.create_publisher(UInt32, f'/{name}/step', 10)
        self.poses = g.collect(PersonPoseArray, f'/{name}/poses')
        self.detections = g.collect(Detection2DArray, f'/{name}/detections')
        self.detections_3d = g.collect(Detection3DArray, f'/{name}/detections_3d')
        self.tracked = g.collect(IdsList, f'{prefix}/bodies/tracked')
        self.bodies_seen: List[set] = []  # body topics with a publisher, after each frame
        self.skeletons: Dict[int, list] = {}
        self.rois: Dict[int, list] = {}

    def ready(self) -> None:
        assert self.proc.wait_for('driver ready: ', 60), self.proc.output()
        line = [s for s in self.proc.output().splitlines() if 'driver ready: ' in s][0]
        self.id_prefix = line.split('driver ready: ')[1].strip()

    def subscribe_bodies(self, g: TestGraph) -> None:
        for i in TRACKS:
            ns = f'{self.prefix}/bodies/{self.id_prefix}{i}'
            self.skeletons[i] = g.collect(Skeleton2D, f'{ns}/skeleton2d')
            self.rois[i] = g.collect(NormalizedRegionOfInterest2D, f'{ns}/roi')

    def body_topics(self, g: TestGraph) -> set:
        names = [n for n, _ in g.node.get_topic_names_and_types()
                 if n.startswith(f'{self.prefix}/bodies/') and not n.endswith('/tracked')]
        return {n for n in names if g.node.count_publishers(n) > 0}

    def frame_done(self, k: int) -> bool:
        """Everything frame ``k`` must deliver has arrived (bodies only if live before)."""
        people, live = scenario.FRAMES[k]
        prev = scenario.FRAMES[k - 1][1] if k else frozenset()
        need = [self.poses, self.detections, self.tracked]
        need += [self.skeletons[t] for t, *_ in people if t in live and t in prev]
        need += [self.rois[t] for t, *_ in people if t in live and t in prev]
        if k in scenario.frames_with_3d():
            need.append(self.detections_3d)
        return all(k in by_frame(items) for items in need)

    def expected_body_topics(self, k: int) -> set:
        return {f'{self.prefix}/bodies/{self.id_prefix}{i}/{t}' for i in scenario.FRAMES[k][1]
                for t in ('skeleton2d', 'roi')}


def step(g: TestGraph, cam: Camera, k: int) -> None:
    """Publish step ``k`` (again every 1.5 s: new publishers need a moment to match)."""
    deadline = time.monotonic() + 40
    while not cam.frame_done(k):
        assert time.monotonic() < deadline, (cam.name, k, cam.proc.output()[-2000:])
        cam.step_pub.publish(UInt32(data=k))
        wait_until(lambda: cam.frame_done(k), 1.5)
    want = cam.expected_body_topics(k)
    wait_until(lambda: cam.body_topics(g) == want, 10)
    cam.bodies_seen.append(cam.body_topics(g))


@pytest.fixture(scope='module')
def cams():
    """Run the whole scenario on both drivers; return them with everything they published."""
    with private_domain() as domain_id:
        env = child_env(domain_id)
        g = TestGraph(domain_id)
        a = Camera(g, 'cam_a', '/humans_a', 'cam_a_', env)
        b = Camera(g, 'cam_b', '/humans_b', '', env)
        try:
            for cam in (a, b):
                cam.ready()
                cam.subscribe_bodies(g)
            for k in range(N_FRAMES):
                for cam in (a, b):
                    step(g, cam, k)
            time.sleep(0.5)
            for cam in (a, b):
                cam.tracked_publishers = g.node.count_publishers(f'{cam.prefix}/bodies/tracked')
            yield a, b
        finally:
            g.close()
            for cam in (a, b):
                assert cam.proc.stop() in (0, -2), cam.proc.output()


def test_detections_match_poses_frame_by_frame(cams):
    for cam in cams:
        poses, dets = by_frame(cam.poses), by_frame(cam.detections)
        assert sorted(poses) == sorted(dets) == list(range(N_FRAMES))
        for k, msgs in poses.items():
            for det_array in dets[k]:
                pose = msgs[0]
                assert det_array.header == pose.header
                assert len(det_array.detections) == len(pose.people)
                for person, det in zip(pose.people, det_array.detections):
                    box = person.bbox
                    assert det.id == (str(person.track_id) if person.track_id >= 0 else '')
                    assert det.header == pose.header
                    assert det.bbox.center.position.x == pytest.approx((box.x_min + box.x_max) / 2)
                    assert det.bbox.center.position.y == pytest.approx((box.y_min + box.y_max) / 2)
                    assert det.bbox.size_x == pytest.approx(box.x_max - box.x_min)
                    assert det.bbox.size_y == pytest.approx(box.y_max - box.y_min)
                    assert [(r.hypothesis.class_id, r.hypothesis.score) for r in det.results] \
                        == [('person', pytest.approx(person.score))]


def test_detections_3d_from_valid_joints(cams):
    poses, dets = by_frame(cams[0].poses), by_frame(cams[0].detections_3d)
    assert sorted(dets) == scenario.frames_with_3d()
    for k, arrays in dets.items():
        tracked = [p for p in poses[k][0].people if p.track_id >= 0]
        header = poses[k][0].depth_header if scenario.HAS_DEPTH_HEADER else poses[k][0].header
        for array in arrays:
            assert array.header == header
            assert [d.id for d in array.detections] == [str(p.track_id) for p in tracked]
            for person, det in zip(tracked, array.detections):
                valid = np.array([(q.position.x, q.position.y, q.position.z)
                                  for q in person.keypoints_3d[:10]])
                centre = det.bbox.center.position
                np.testing.assert_allclose([centre.x, centre.y, centre.z],
                                           (valid.min(0) + valid.max(0)) / 2, atol=1e-6)
                np.testing.assert_allclose([det.bbox.size.x, det.bbox.size.y, det.bbox.size.z],
                                           valid.max(0) - valid.min(0), atol=1e-6)


def test_tracked_lists_exactly_the_live_ids_every_frame(cams):
    for cam in cams:
        tracked = by_frame(cam.tracked)
        assert sorted(tracked) == list(range(N_FRAMES))
        for k, msgs in tracked.items():
            want = [f'{cam.id_prefix}{i}' for i in sorted(scenario.FRAMES[k][1])]
            assert all(m.ids == want for m in msgs), (cam.name, k, [m.ids for m in msgs])
            assert all(m.header.frame_id == scenario.FRAME_ID for m in msgs)


def test_body_topics_carry_normalised_skeletons_and_rois(cams):
    cam = cams[0]
    poses = by_frame(cam.poses)
    delivered = 0
    for track in TRACKS:
        for kind in (cam.skeletons, cam.rois):
            frames = by_frame(kind[track])
            seen = {k for k, msgs in poses.items()
                    if any(p.track_id == track for p in msgs[0].people)}
            assert set(frames) <= seen, (track, sorted(frames), sorted(seen))
            for k, msgs in frames.items():
                person = [p for p in poses[k][0].people if p.track_id == track][0]
                for msg in msgs:
                    delivered += 1
                    assert msg.header == poses[k][0].header
                    if isinstance(msg, Skeleton2D):
                        got = np.array([(q.x, q.y, q.c) for q in msg.skeleton])
                        want = scenario.expected_skeleton(person, scenario.WIDTH, scenario.HEIGHT)
                        np.testing.assert_allclose(got, want, atol=1e-6)
                    else:
                        box = person.bbox
                        np.testing.assert_allclose(
                            [msg.xmin, msg.ymin, msg.xmax, msg.ymax, msg.c],
                            [(box.x_min + 0.5) / 640, (box.y_min + 0.5) / 480,
                             (box.x_max + 0.5) / 640, (box.y_max + 0.5) / 480, person.score],
                            atol=1e-6)
    # tracks 0 and 1 are seen again after the frame that created their publishers
    assert {1}.issubset(by_frame(cam.skeletons[0])) and {1, 2, 3} <= set(by_frame(cam.rois[1]))
    assert 4 in by_frame(cam.skeletons[2]) and delivered >= 12


def test_topics_of_removed_bodies_stop(cams):
    for cam in cams:
        assert cam.bodies_seen == [cam.expected_body_topics(k) for k in range(N_FRAMES)], \
            cam.name
    a = cams[0]
    assert 2 not in by_frame(a.skeletons[0])           # lost in frame 2: nothing published
    assert max(by_frame(a.skeletons[0])) < 3 and max(by_frame(a.skeletons[1])) < 4
    assert max(by_frame(a.rois[0])) < 3 and max(by_frame(a.rois[1])) < 4


def test_two_instances_with_different_prefixes_do_not_collide(cams):
    a, b = cams
    assert a.id_prefix == 'cam_a_'
    assert len(b.id_prefix) == 5 and b.id_prefix[:4].isalpha() and b.id_prefix != a.id_prefix
    for cam, other in ((a, b), (b, a)):
        assert cam.tracked_publishers == 1
        ids = {i for _, m in cam.tracked for i in m.ids}
        assert ids == {f'{cam.id_prefix}{i}' for i in TRACKS}
        assert not any(i.startswith(other.id_prefix) for i in ids)
        assert all(f'/bodies/{cam.id_prefix}' in t for seen in cam.bodies_seen for t in seen)
