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

"""Track ids in the outputs of ``logocap-offline`` (JSON, CSV, output bag, annotated images).

The estimator replays the synthetic ``crossing`` scene (six people, shuffled order every
frame); the frame number is written into each input image, so every output can be checked
against the true identities.
"""

import csv
import json
from pathlib import Path

from bag_helpers import image, write_bag
import cv2
from logocap_ros.frames.draw import person_color
from logocap_ros.frames.sources import Frame
from logocap_ros.tools import bag_io, offline
from logocap_ros.tools.sinks import FolderSink, track_colors
import numpy as np
import pytest
from rosbags.rosbag2 import Reader
from scripted_pose_node import frame_index, scene_order, scene_result
from tracking_eval import make_scene

FRAMES = 45
SCENE = make_scene('crossing', 0)


def estimator(image, color='bgr'):
    """Return the scene's detections of the frame whose number is written in ``image``."""
    return scene_result(SCENE, frame_index(image))


def _image(k: int) -> np.ndarray:
    image = np.zeros((24, 32, 3), np.uint8)
    image[0, 0, 0], image[0, 0, 1] = k % 256, k // 256
    return image


def _folder(root: Path) -> Path:
    folder = root / 'frames'
    folder.mkdir()
    for k in range(FRAMES):
        cv2.imwrite(str(folder / f'img_{k:03d}.png'), _image(k))
    return folder


def _bag(root: Path) -> Path:
    stamps = [5 * 10**9 + k * 33_333_333 for k in range(FRAMES)]
    return write_bag(root / 'bag', {'/camera/image_raw': bag_io.IMAGE_TYPE},
                     [('/camera/image_raw', ns, image(_image(k), ns, 'cam'))
                      for k, ns in enumerate(stamps)])


def _run(*args) -> int:
    return offline.main([str(a) for a in args] + ['--weights', 'unused', '--quiet'],
                        estimator=estimator)


def _check_identities(ids_per_frame) -> None:
    """Every confirmed id belongs to one true person, every person gets exactly one id."""
    owner = {}
    for k, ids in enumerate(ids_per_frame):
        truth = scene_order(SCENE, k)
        assert len(ids) == len(truth)
        for person, tid in zip(truth, ids):
            if tid >= 0:
                assert owner.setdefault(tid, int(person)) == person, (k, owner)
    assert sorted(owner.values()) == list(range(6))
    assert ids_per_frame[0] and set(ids_per_frame[0]) == {-1}   # tentative at first


def test_json_and_csv_carry_track_ids(tmp_path):
    folder = _folder(tmp_path)
    assert _run(folder, '--out', tmp_path / 'j') == 0
    doc = json.loads((tmp_path / 'j' / 'poses.json').read_text())
    ids = [[p['track_id'] for p in f['people']] for f in doc['frames']]
    _check_identities(ids)
    assert doc['tracking']['min_hits'] == 3 and doc['tracking']['max_age'] == 30
    assert _run(folder, '--out', tmp_path / 'c', '--format', 'csv') == 0
    with open(tmp_path / 'c' / 'poses.csv', newline='') as handle:
        rows = list(csv.DictReader(handle))
    per_frame = [[] for _ in range(FRAMES)]
    for row in rows:
        per_frame[int(row['frame'])].append(int(row['track_id']))
    assert per_frame == ids


def test_no_track_gives_minus_one(tmp_path):
    assert _run(_folder(tmp_path), '--out', tmp_path / 'o', '--no-track') == 0
    doc = json.loads((tmp_path / 'o' / 'poses.json').read_text())
    assert doc['tracking'] is False
    assert {p['track_id'] for f in doc['frames'] for p in f['people']} == {-1}


def test_output_bag_carries_the_same_track_ids(tmp_path):
    bag = _bag(tmp_path)
    assert _run(bag, '--out', tmp_path / 'o') == 0
    doc = json.loads((tmp_path / 'o' / 'poses.json').read_text())
    json_ids = [[p['track_id'] for p in f['people']] for f in doc['frames']]
    store = bag_io.logocap_typestore()
    with Reader(tmp_path / 'o' / 'bag_poses') as reader:
        bag_ids = [[p.track_id for p in store.deserialize_cdr(raw, c.msgtype).people]
                   for c, _, raw in reader.messages() if c.topic == '/poses']
    assert bag_ids == json_ids
    _check_identities(bag_ids)


def test_annotated_images_coloured_by_track_id(tmp_path):
    result = scene_result(SCENE, 10)
    ids = np.arange(len(result)) + 5
    ids[0] = -1
    assert track_colors(len(result), ids)[1:] == [person_color(int(i)) for i in ids[1:]]
    assert track_colors(len(result), ids)[0] == person_color(0)
    sink = FolderSink(tmp_path / 'a')
    canvas = np.zeros((720, 1280, 3), np.uint8)
    sink.add(Frame(0, canvas, None, 'f.png'), result, ids)
    drawn = cv2.imread(str(tmp_path / 'a' / 'f.png'))
    person = result.keypoints[1]
    joint = int(np.flatnonzero(person[:, 2] > 0.2)[0])
    x, y = (int(round(v)) for v in person[joint, :2])
    assert tuple(int(c) for c in drawn[y, x]) == pytest.approx(person_color(int(ids[1])),
                                                               abs=2)
