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


"""The node over DDS and ``logocap-offline`` on a bag give the same people, frame by frame.

One recording, two runs of the one frame pipeline: colour images (the frame number written in
the first pixel), 16UC1 depth registered to them and a camera_info, all stamped alike. The
node process (``test/scripted_pose_node.py``: the estimator replays the synthetic
``crossing`` scene, scaled to 320x180) gets them over DDS one frame at a time; the same
messages, written to a rosbag2, go through ``logocap-offline`` with the same scripted
estimator. Tracking and smoothing (2D and 3D) are on in both, every other setting is the
default. Track ids, keypoints (x, y, score) and 3D joints (position and status) of ``/poses``
must be identical, to the bit, in every frame.
"""

import sys
import time

from builtin_interfaces.msg import Time
from logocap_ros.msg import PersonPoseArray
from logocap_ros.ros.qos import image_qos
from logocap_ros.tools import bag_io, offline
import numpy as np
import pytest
from rclpy.serialization import serialize_message
from ros_helpers import ROOT, running_nodes, wait_until
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from scripted_pose_node import frame_index, scene_result
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from tracking_eval import make_scene

pytestmark = [pytest.mark.ros, pytest.mark.slow]

try:
    import message_filters  # noqa: F401 - only whether the node process can import it
    HAVE_MESSAGE_FILTERS = True
except ImportError:
    HAVE_MESSAGE_FILTERS = False

SCENE, SEED, SCALE = 'crossing', 0, 0.25
W, H = 320, 180
FRAMES = 45
FPS = 30.0
K = [200.0, 0.0, 160.0, 0.0, 200.0, 90.0, 0.0, 0.0, 1.0]
PARAMS = {'weights': 'scripted', 'smoothing': True, 'use_depth': True,
          'reliability': 'reliable', 'no_image_warn_s': 0.0, 'publish_annotated_image': False}
TIMEOUT = 30.0


def stamp_of(k: int) -> Time:
    """Stamp of frame ``k``: 30 fps from 2000 s."""
    nanos = int(round(k / FPS * 1e9))
    return Time(sec=2000 + nanos // 10**9, nanosec=nanos % 10**9)


def messages(k: int):
    """Return the ``(colour, depth, camera_info)`` messages of frame ``k``."""
    header = Header(stamp=stamp_of(k), frame_id='cam_optical')
    pixels = np.zeros((H, W, 3), np.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1] = k % 256, k // 256
    colour = Image(header=header, height=H, width=W, encoding='bgr8', step=W * 3,
                   data=pixels.tobytes())
    # a slanted wall that moves 1 cm a frame, with a step: joints get distinct depths
    cols = np.arange(W)[None, :].repeat(H, 0)
    depth_mm = 2000 + 3 * cols + 10 * k + 150 * (cols > W // 2 + (k % 20))
    depth = Image(header=header, height=H, width=W, encoding='16UC1', step=W * 2,
                  data=depth_mm.astype('<u2').tobytes())
    info = CameraInfo(header=header, width=W, height=H, distortion_model='plumb_bob',
                      d=[0.0] * 5, k=K, p=K[:3] + [0.0] + K[3:6] + [0.0] + K[6:] + [0.0])
    return colour, depth, info


def poses_arrays(msg) -> tuple:
    """Return ``(track ids (N,), keypoints (N, 17, 3), 3D (N, 17, 3), status (N, 17))``."""
    ids = np.array([p.track_id for p in msg.people], np.int64)
    kps = np.array([[(k.x, k.y, k.score) for k in p.keypoints] for p in msg.people],
                   np.float64).reshape(-1, 17, 3)
    xyz = np.array([[(k.position.x, k.position.y, k.position.z) for k in p.keypoints_3d]
                    for p in msg.people], np.float64).reshape(-1, 17, 3)
    status = np.array([[k.status for k in p.keypoints_3d] for p in msg.people],
                      np.int64).reshape(-1, 17)
    return ids, kps, xyz, status


@pytest.fixture(scope='module')
def node_poses():
    """Play every frame to the scripted node over DDS; return its ``poses`` per frame."""
    if not HAVE_MESSAGE_FILTERS:
        pytest.skip('message_filters (Python) is not on PYTHONPATH; source scripts/env.sh with '
                    'build/ros2_extra, or install ros-<distro>-message-filters')
    args = [sys.executable, str(ROOT / 'test' / 'scripted_pose_node.py'), SCENE, str(SEED),
            f'--scale={SCALE}', '--ros-args'] + [
                a for k, v in PARAMS.items()
                for a in ('-p', f'{k}:={str(v).lower() if isinstance(v, bool) else v}')]
    with running_nodes([args], timeout=60) as g:
        poses = g.collect(PersonPoseArray, 'poses')
        qos = image_qos('reliable')
        pubs = [g.node.create_publisher(Image, 'image', qos),
                g.node.create_publisher(Image, 'depth/image_raw', qos),
                g.node.create_publisher(CameraInfo, 'depth/camera_info', qos)]
        assert wait_until(lambda: all(p.get_subscription_count() > 0 for p in pubs), 20)
        time.sleep(0.5)
        out = []
        for k in range(FRAMES):
            colour, depth, info = messages(k)
            pubs[2].publish(info)
            pubs[1].publish(depth)
            pubs[0].publish(colour)
            stamp = stamp_of(k)
            assert wait_until(lambda: len(poses) > k, TIMEOUT), g.proc.output()[-3000:]
            msg = poses[k][1]
            assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == \
                (stamp.sec, stamp.nanosec), 'the node dropped or reordered a frame'
            out.append(msg)
        return out


class ScriptedEstimator:
    """The node process's estimator, in this process."""

    def __init__(self) -> None:
        self.scene = make_scene(SCENE, SEED)

    def __call__(self, image, color='bgr'):
        return scene_result(self.scene, frame_index(image), SCALE)


def write_bag(path) -> None:
    """Write the frames of :func:`messages` to a rosbag2 (the node's topic names)."""
    store = bag_io.logocap_typestore()
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conns = [writer.add_connection(topic, msgtype, typestore=store) for topic, msgtype in (
            ('/camera/image_raw', 'sensor_msgs/msg/Image'),
            ('/camera/depth/image_raw', 'sensor_msgs/msg/Image'),
            ('/camera/depth/camera_info', 'sensor_msgs/msg/CameraInfo'))]
        for k in range(FRAMES):
            colour, depth, info = messages(k)
            bag_ns = (3000 + k) * 10**9
            for offset, (conn, msg) in enumerate(zip(conns, (colour, depth, info))):
                writer.write(conn, bag_ns + offset, serialize_message(msg))


def offline_poses(tmp_path) -> list:
    """Run ``logocap-offline`` on the bag (smoothing on); return its ``/poses`` per frame."""
    bag, out = tmp_path / 'rgbd', tmp_path / 'out'
    write_bag(bag)
    assert offline.main([str(bag), '--out', str(out), '--weights', 'scripted', '--quiet',
                         '--smoothing'], estimator=ScriptedEstimator()) == 0
    store = bag_io.logocap_typestore()
    with Reader(out / 'rgbd_poses') as reader:
        conns = [c for c in reader.connections if c.topic == '/poses']
        return [store.deserialize_cdr(raw, bag_io.POSES_TYPE)
                for _, _, raw in reader.messages(connections=conns)]


def test_node_and_offline_give_identical_people_frame_by_frame(node_poses, tmp_path):
    offline_msgs = offline_poses(tmp_path)
    assert len(offline_msgs) == len(node_poses) == FRAMES
    confirmed = smoothed_3d = 0
    for k, (live, recorded) in enumerate(zip(node_poses, offline_msgs)):
        ids, kps, xyz, status = poses_arrays(live)
        o_ids, o_kps, o_xyz, o_status = poses_arrays(recorded)
        assert ids.tolist() == o_ids.tolist(), f'frame {k}: track ids differ'
        assert np.array_equal(kps, o_kps, equal_nan=True), f'frame {k}: 2D keypoints differ'
        assert status.tolist() == o_status.tolist(), f'frame {k}: 3D statuses differ'
        assert np.array_equal(xyz, o_xyz, equal_nan=True), f'frame {k}: 3D joints differ'
        confirmed += int((ids >= 0).sum())
        smoothed_3d += int((status == 0).sum())
    # the comparison means something: people were tracked, lifted and smoothed
    assert confirmed > FRAMES and smoothed_3d > 17 * FRAMES
    raw = scene_result(make_scene(SCENE, SEED), FRAMES - 1, SCALE)
    last = poses_arrays(node_poses[-1])[1]
    assert len(last) == len(raw)
    assert not np.array_equal(last[:, :, :2], raw.keypoints[:, :, :2], equal_nan=True)
