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

"""``logocap-offline`` on a bag with a registered depth image + camera_info: 3D in every output.

The bag holds colour frames, 16UC1 depth of a plane at 2.5 m (stamped 10 ms after the colour,
one frame without depth) and a plumb_bob camera_info. The fake estimator returns a person
whose joints are known 3D points projected through that camera, so the 3D written by the tool
can be compared with the truth.
"""

import json
from pathlib import Path

from bag_helpers import header, image, TYPES, write_bag
from depth_scenes import camera, CAMERAS, keypoints_for, person_3d
from logocap_ros.core.depth import NO_DEPTH, VALID
from logocap_ros.core.result import PoseResult
from logocap_ros.tools import bag_io, offline
from logocap_ros.tools.bag_depth import CSV_COLUMNS_3D
from logocap_ros.tools.pose_records import CSV_COLUMNS
import numpy as np
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin

W, H = 640, 480
FRAMES = 4
NO_DEPTH_FRAME = 2
DEPTH_TOPIC = '/cam/aligned_depth_to_color/image_raw'
INFO_TOPIC = '/cam/aligned_depth_to_color/camera_info'
TRUTH = person_3d(0.1, -0.05, 2.5)


class PersonEstimator:
    """One person at :data:`TRUTH`, seen through the plumb_bob test camera."""

    def __call__(self, image, color='bgr'):
        kps = keypoints_for(camera('plumb_bob'), TRUTH[None])
        kps[0, 0, 2] = 0.01  # the nose is below the keypoint threshold
        return PoseResult(kps, [0.9], image.shape[:2])


def _bag(root: Path, storage: StoragePlugin = StoragePlugin.MCAP) -> Path:
    k, d = CAMERAS['plumb_bob']
    records = []
    for i in range(FRAMES):
        ts, colour_ns, depth_ns = (70 + i) * 10**9, (50 + i) * 10**9, (50 + i) * 10**9 + 10**7
        records.append(('/cam/color/image_raw', ts,
                        image(np.full((H, W, 3), 90, np.uint8), colour_ns, 'cam_color', 'rgb8')))
        if i == NO_DEPTH_FRAME:
            continue
        info = TYPES['sensor_msgs/msg/CameraInfo'](
            header=header(depth_ns, 'cam_depth'), height=H, width=W,
            distortion_model='plumb_bob', d=np.array(d), k=np.array(k, float),
            r=np.eye(3).reshape(-1), p=np.zeros(12), binning_x=0, binning_y=0,
            roi=TYPES['sensor_msgs/msg/RegionOfInterest'](x_offset=0, y_offset=0, height=0,
                                                          width=0, do_rectify=False))
        records += [(DEPTH_TOPIC, ts + 5, image(np.full((H, W), 2500, '<u2'), depth_ns,
                                                'cam_depth', '16UC1')),
                    (INFO_TOPIC, ts + 6, info)]
    return write_bag(root / 'rgbd', {'/cam/color/image_raw': bag_io.IMAGE_TYPE,
                                     DEPTH_TOPIC: bag_io.IMAGE_TYPE,
                                     INFO_TOPIC: 'sensor_msgs/msg/CameraInfo'},
                     records, storage)


def _run(args):
    return offline.main([str(a) for a in args] + ['--weights', 'unused', '--quiet'],
                        estimator=PersonEstimator())


@pytest.mark.parametrize('storage', [StoragePlugin.SQLITE3, StoragePlugin.MCAP])
def test_bag_with_depth_gets_3d_in_json_and_output_bag(tmp_path, storage):
    bag = _bag(tmp_path, storage)
    out = tmp_path / 'out'
    assert _run([bag, '--out', out, '--topic', '/cam/color/image_raw']) == 0  # auto-detected
    doc = json.loads((out / 'poses.json').read_text())
    assert doc['depth_topic'] == DEPTH_TOPIC and doc['depth_info_topic'] == INFO_TOPIC
    for i, frame in enumerate(doc['frames']):
        person = frame['people'][0]
        if i == NO_DEPTH_FRAME:
            assert frame['depth_missing'] == 'no depth image within 0.05 s'
            assert 'keypoints_3d' not in person
            continue
        assert frame['depth_frame_id'] == 'cam_depth'
        assert frame['depth_stamp_ns'] == (50 + i) * 10**9 + 10_000_000
        joints = person['keypoints_3d']
        assert [j[3] for j in joints] == [NO_DEPTH] + [VALID] * 16
        assert joints[0][:3] == [None, None, None]
        error = np.linalg.norm(np.array([j[:3] for j in joints[1:]]) - TRUTH[1:], axis=1)
        assert error.max() < 1e-3  # 16UC1 millimetres, distortion undone
    store = bag_io.logocap_typestore()
    with Reader(out / 'rgbd_poses') as dst:
        poses = [store.deserialize_cdr(raw, c.msgtype) for c, _, raw in dst.messages()
                 if c.topic == '/poses']
    assert len(poses) == FRAMES
    assert poses[0].header.frame_id == 'cam_color' and poses[0].depth_header.frame_id == \
        'cam_depth'
    kp3 = poses[1].people[0].keypoints_3d
    assert len(kp3) == 17 and kp3[5].status == VALID
    assert kp3[5].position.z == pytest.approx(2.5)
    assert kp3[5].position.x == pytest.approx(TRUTH[5, 0], abs=1e-3)
    assert np.isnan(kp3[0].position.z)
    assert poses[NO_DEPTH_FRAME].people[0].keypoints_3d == []
    assert poses[NO_DEPTH_FRAME].depth_header.frame_id == ''
    ids = [frame['people'][0]['track_id'] for frame in doc['frames']]  # tracking is on
    assert ids == [p.people[0].track_id for p in poses] and ids[0] == -1 and ids[-1] >= 0
    assert len(poses[-1].people[0].keypoints_3d) == 17  # a track id and 3D together


def test_csv_gets_3d_columns(tmp_path):
    out = tmp_path / 'out'
    assert _run([_bag(tmp_path), '--out', out, '--format', 'csv', '--topic',
                 '/cam/color/image_raw']) == 0
    lines = (out / 'poses.csv').read_text().splitlines()
    assert lines[0].split(',') == CSV_COLUMNS + CSV_COLUMNS_3D
    rows = [line.split(',') for line in lines[1:]]
    col = lines[0].split(',').index
    assert float(rows[0][col('left_shoulder_Z')]) == pytest.approx(2.5)
    assert rows[0][col('nose_X')] == '' and rows[0][col('nose_status3d')] == str(NO_DEPTH)
    assert rows[NO_DEPTH_FRAME][col('left_shoulder_Z')] == ''
    assert col('track_id') < col('nose_X') and rows[0][col('track_id')] == '-1'
    assert int(rows[-1][col('track_id')]) >= 0 and rows[-1][col('left_shoulder_Z')] != ''


def test_no_depth_flag_and_explicit_topics(tmp_path, capsys):
    bag = _bag(tmp_path)
    out = tmp_path / 'plain'
    assert _run([bag, '--out', out, '--topic', '/cam/color/image_raw', '--no-depth']) == 0
    doc = json.loads((out / 'poses.json').read_text())
    assert 'depth_topic' not in doc and 'keypoints_3d' not in doc['frames'][0]['people'][0]
    out = tmp_path / 'explicit'
    assert _run([bag, '--out', out, '--topic', '/cam/color/image_raw', '--depth-topic',
                 DEPTH_TOPIC, '--depth-info-topic', INFO_TOPIC, '--depth-slop', '0.005']) == 0
    doc = json.loads((out / 'poses.json').read_text())
    assert all(f['depth_missing'] == 'no depth image within 0.005 s' for f in doc['frames'])
    assert _run([bag, '--out', tmp_path / 'bad', '--topic', '/cam/color/image_raw',
                 '--depth-topic', '/cam/nope']) == 1
    err = capsys.readouterr().err
    assert 'depth: topic /cam/nope is not in the bag' in err and 'Traceback' not in err
    assert not (tmp_path / 'bad').exists()
