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


"""3D for ``logocap-offline`` on a rosbag2 that holds a registered depth image + camera_info.

Topics: ``--depth-topic`` (a ``sensor_msgs/msg/Image`` with ``16UC1``/``32FC1`` depth registered
to the colour topic) and its camera_info, by default ``<depth topic's folder>/camera_info``.
Without ``--depth-topic`` the bag is searched: the one Image topic other than the colour topic
whose name contains ``depth`` and that has a sibling ``camera_info`` is used; otherwise the run
is 2D only (``--no-depth`` forces that).

Pairing, like the node: for each processed colour image, the depth image with the nearest
header stamp within ``--depth-slop`` seconds, and the camera_info nearest to that depth stamp
within the same slop. An index of header stamps is built first (reading only the first bytes of
each serialised message); the chosen depth image is then read by its bag timestamp and handed
to the frame pipeline, which lifts the joints as the node does (the ``--depth-*-m``,
``--depth-window-px`` options are the node's ``depth_*`` parameters).

Outputs: per person ``keypoints_3d`` = 17 x ``[x, y, z, status]`` (metres in the depth optical
frame; ``null`` coordinates unless status is 0 = VALID) in JSON, ``<joint>_X/_Y/_Z/_status3d``
columns in CSV, ``keypoints_3d`` + ``depth_header`` in the output bag's ``/poses``; per frame
``depth_frame_id``/``depth_stamp_ns``, or ``depth_missing`` with the reason.
"""

import argparse
from bisect import bisect_left
import math
from pathlib import Path
import struct
from typing import Any, Dict, List, Optional, Tuple

from logocap_ros.core.keypoints import KEYPOINT_NAMES
from logocap_ros.frames.image_conversion import camera_model_from_info, depth_from_msg
from logocap_ros.frames.pipeline import DepthImage, Points3D
from logocap_ros.frames.sources import InputError
from logocap_ros.frames.stamps import NS_PER_S, stamp_ns
import numpy as np

IMAGE_TYPE = 'sensor_msgs/msg/Image'
INFO_TYPE = 'sensor_msgs/msg/CameraInfo'
CSV_COLUMNS_3D: List[str] = [f'{joint}_{field}' for joint in KEYPOINT_NAMES
                             for field in ('X', 'Y', 'Z', 'status3d')]


def add_depth_args(parser: argparse.ArgumentParser) -> None:
    """Add the ``--depth*`` options of ``logocap-offline``."""
    parser.add_argument('--depth-topic', default=None,
                        help='bag depth image topic registered to the colour topic (16UC1 mm '
                             'or 32FC1 m); default: found by name, see docs/tools.md')
    parser.add_argument('--depth-info-topic', default=None,
                        help='camera_info of the depth topic (default: next to it)')
    parser.add_argument('--depth-slop', type=float, default=0.05,
                        help='largest colour/depth/camera_info stamp difference [s] (0.05)')
    parser.add_argument('--no-depth', action='store_true', help='2D only, even with depth')


def header_stamp_ns(raw: bytes) -> int:
    """Return ``header.stamp`` of a serialised (CDR) message whose first field is a Header."""
    little = raw[1] & 1
    sec, nanosec = struct.unpack('<iI' if little else '>iI', bytes(raw[4:12]))
    return sec * NS_PER_S + nanosec


class BagDepth:
    """Depth + camera_info of a bag, matched to colour stamps (see the module docstring).

    :param source: the opened ``BagSource`` (its path, typestore and connections are used).
    :param depth_topic: the depth image topic.
    :param info_topic: its camera_info topic.
    :param slop: largest stamp difference [s].
    :raises InputError: a topic is missing or has the wrong type, or the bag cannot be read.
    """

    def __init__(self, source: Any, depth_topic: str, info_topic: str,
                 slop: float = 0.05) -> None:
        from rosbags.rosbag2 import Reader
        self.depth_topic, self.info_topic = depth_topic, info_topic
        self.slop_ns = int(round(slop * 1e9))
        self._typestore = source.typestore
        self._depth_conns = _connections(source.reader, depth_topic, IMAGE_TYPE)
        info_conns = _connections(source.reader, info_topic, INFO_TYPE)
        self._reader = Reader(source.path)
        self._reader.open()
        self._depth_index: List[Tuple[int, int]] = sorted(
            (header_stamp_ns(raw), ts)
            for _, ts, raw in self._reader.messages(connections=self._depth_conns))
        self._infos = sorted(
            ((header_stamp_ns(raw), self._typestore.deserialize_cdr(raw, INFO_TYPE))
             for _, _, raw in self._reader.messages(connections=info_conns)),
            key=lambda item: item[0])
        self._depth_stamps = [s for s, _ in self._depth_index]
        self._info_stamps = [s for s, _ in self._infos]

    def describe(self) -> Dict[str, Any]:
        """Return the metadata entries for ``poses.json``."""
        return {'depth_topic': self.depth_topic, 'depth_info_topic': self.info_topic,
                'depth_slop_s': self.slop_ns / 1e9}

    def depth_for(self, colour_ns: int) -> Tuple[Optional[DepthImage], str]:
        """Return the depth of one colour frame: ``(DepthImage, '')`` or ``(None, reason)``.

        :param colour_ns: the colour image's header stamp [ns].
        """
        depth_at = _nearest(self._depth_stamps, colour_ns, self.slop_ns)
        if depth_at is None:
            return None, f'no depth image within {self.slop_ns / 1e9:g} s'
        info_at = _nearest(self._info_stamps, self._depth_stamps[depth_at], self.slop_ns)
        if info_at is None:
            return None, f'no camera_info within {self.slop_ns / 1e9:g} s of the depth image'
        depth_msg = self._read_depth(*self._depth_index[depth_at])
        try:
            return DepthImage(depth_from_msg(depth_msg),
                              camera_model_from_info(self._infos[info_at][1]),
                              depth_msg.header), ''
        except ValueError as exc:
            return None, str(exc)

    def _read_depth(self, stamp_ns: int, bag_ts: int) -> Any:
        for _, _, raw in self._reader.messages(connections=self._depth_conns, start=bag_ts,
                                               stop=bag_ts + 1):
            if header_stamp_ns(raw) == stamp_ns:
                return self._typestore.deserialize_cdr(raw, IMAGE_TYPE)
        raise InputError(f'{self.depth_topic}: depth image at {bag_ts} ns vanished from the bag')

    def close(self) -> None:
        """Close the second reader."""
        self._reader.close()


def open_bag_depth(kind: str, source: Any, args: argparse.Namespace) -> Optional[BagDepth]:
    """Return the :class:`BagDepth` for the command line, or None (2D only).

    :raises InputError: an explicit ``--depth-topic``/``--depth-info-topic`` is unusable.
    """
    if kind != 'bag' or args.no_depth:
        if args.depth_topic and kind != 'bag':
            raise InputError('--depth-topic only applies to rosbag2 input')
        return None
    depth_topic, info_topic = args.depth_topic, args.depth_info_topic
    if depth_topic is None:
        found = _find_depth_topics(source)
        if found is None:
            return None
        depth_topic, found_info = found
        info_topic = info_topic or found_info
    info_topic = info_topic or _sibling_info(depth_topic)
    return BagDepth(source, depth_topic, info_topic, args.depth_slop)


def record_3d(record: dict, frame_3d: Optional[Points3D], reason: str) -> None:
    """Add the 3D of a frame (or why it has none) to its ``poses.json`` record, in place."""
    if frame_3d is None:
        record['depth_missing'] = reason
        return
    record['depth_frame_id'] = str(frame_3d.header.frame_id)
    record['depth_stamp_ns'] = stamp_ns(frame_3d.header.stamp)
    for person, points, status in zip(record['people'], frame_3d.points, frame_3d.status):
        person['keypoints_3d'] = [[_num(x), _num(y), _num(z), int(s)]
                                  for (x, y, z), s in zip(points.tolist(), status.tolist())]


def csv_cells_3d(person: dict) -> List[str]:
    """Return the :data:`CSV_COLUMNS_3D` cells of one person record (empty without 3D)."""
    joints = person.get('keypoints_3d')
    if joints is None:
        return [''] * len(CSV_COLUMNS_3D)
    return [cell for x, y, z, s in joints
            for cell in ('' if x is None else f'{x:.4f}', '' if y is None else f'{y:.4f}',
                         '' if z is None else f'{z:.4f}', str(s))]


def keypoints_3d_messages(types: Any, points: np.ndarray, status: np.ndarray,
                          scores: np.ndarray) -> list:
    """Return 17 rosbags ``logocap_ros/msg/Keypoint3D`` of one person."""
    kp_t, point_t = types['logocap_ros/msg/Keypoint3D'], types['geometry_msgs/msg/Point']
    return [kp_t(position=point_t(x=x, y=y, z=z), score=float(s), status=int(st))
            for (x, y, z), s, st in zip(points.astype(float).tolist(), scores.tolist(),
                                        status.tolist())]


def _num(value: float) -> Optional[float]:
    return None if math.isnan(value) else float(value)


def _nearest(stamps: List[int], stamp: int, slop_ns: int) -> Optional[int]:
    if not stamps:
        return None
    pos = bisect_left(stamps, stamp)
    best = min((i for i in (pos - 1, pos) if 0 <= i < len(stamps)),
               key=lambda i: abs(stamps[i] - stamp))
    return best if abs(stamps[best] - stamp) <= slop_ns else None


def _connections(reader: Any, topic: str, msgtype: str) -> list:
    conns = [c for c in reader.connections if c.topic == topic]
    if not conns:
        raise InputError(f'depth: topic {topic} is not in the bag; pass --depth-topic and '
                         '--depth-info-topic, or --no-depth')
    if any(c.msgtype != msgtype for c in conns):
        raise InputError(f'depth: topic {topic} carries {conns[0].msgtype}, not {msgtype}')
    return conns


def _sibling_info(depth_topic: str) -> str:
    return str(Path(depth_topic).parent / 'camera_info')


def _find_depth_topics(source: Any) -> Optional[Tuple[str, str]]:
    types = {c.topic: c.msgtype for c in source.reader.connections}
    candidates = [t for t, m in types.items() if m == IMAGE_TYPE and 'depth' in t.lower()
                  and t != source.topic and types.get(_sibling_info(t)) == INFO_TYPE]
    if len(candidates) != 1:
        return None
    return candidates[0], _sibling_info(candidates[0])
