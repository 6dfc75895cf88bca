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


"""rosbag2 input/output for offline processing, with the ``rosbags`` library (no ROS needed).

Reading: sqlite3 (``.db3``) and MCAP bags, as a bag folder or a single storage file; images
from ``sensor_msgs/msg/Image`` or ``sensor_msgs/msg/CompressedImage``. Writing: a new bag
(same storage format as the input) holding every original message unchanged plus one
``logocap_ros/msg/PersonPoseArray`` per processed image on ``/poses``, whose header (stamp,
frame_id) is the source image's and whose bag timestamp is the image message's.

Our message types are registered with the rosbags typestore from the package's ``msg/*.msg``
files, found in ``$LOGOCAP_MSG_DIR``, the source checkout, or the ament share folder.
"""

import os
from pathlib import Path
import sqlite3
import struct
import sys
from typing import Any, Dict, Iterator, List, Optional, Tuple

from logocap_ros.frames.image_conversion import compressed_to_bgr, image_to_bgr
from logocap_ros.frames.sources import Frame, InputError
from logocap_ros.frames.stamps import stamp_ns
from logocap_ros.tools.bag_depth import keypoints_3d_messages
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg, get_typestore, Stores

IMAGE_TYPE = 'sensor_msgs/msg/Image'
COMPRESSED_TYPE = 'sensor_msgs/msg/CompressedImage'
IMAGE_TYPES = (IMAGE_TYPE, COMPRESSED_TYPE)
POSES_TYPE = 'logocap_ros/msg/PersonPoseArray'
DEFAULT_IMAGE_TOPIC = '/camera/image_raw'
DEFAULT_POSES_TOPIC = '/poses'
_READ_ERRORS = (ReaderError, OSError, sqlite3.Error, ValueError, KeyError, IndexError,
                struct.error, AssertionError)


def msg_dir_candidates() -> List[Path]:
    """Folders searched for this package's ``.msg`` files, in order."""
    found = []
    if os.environ.get('LOGOCAP_MSG_DIR'):
        found.append(Path(os.environ['LOGOCAP_MSG_DIR']))
    found.append(Path(__file__).resolve().parents[2] / 'msg')  # source checkout
    try:
        from ament_index_python.packages import get_package_share_directory
        found.append(Path(get_package_share_directory('logocap_ros')) / 'msg')
    except Exception:  # noqa: BLE001 - not installed, or no ament environment
        pass
    found.append(Path(sys.prefix) / 'share' / 'logocap_ros' / 'msg')  # pip data_files
    return found


def logocap_typestore(msg_dir: Optional[Path] = None):
    """Return a ROS 2 (Kilted) rosbags typestore with the ``logocap_ros/msg/*`` types added.

    :raises InputError: the ``.msg`` files cannot be found.
    """
    folders = [Path(msg_dir)] if msg_dir else msg_dir_candidates()
    folder = next((f for f in folders if (f / 'PersonPoseArray.msg').is_file()), None)
    if folder is None:
        raise InputError('cannot find the logocap_ros .msg files (looked in '
                         f'{", ".join(map(str, folders))}); set LOGOCAP_MSG_DIR')
    typestore = get_typestore(getattr(Stores, 'ROS2_KILTED', Stores.LATEST))
    types: Dict[str, Any] = {}
    for path in sorted(folder.glob('*.msg')):
        types.update(get_types_from_msg(path.read_text(), f'logocap_ros/msg/{path.stem}'))
    typestore.register(types)
    return typestore


def poses_message(typestore, result, header, track_ids=None, frame_3d=None) -> Any:
    """Build a ``logocap_ros/msg/PersonPoseArray`` (rosbags object) from a ``PoseResult``.

    :param typestore: from :func:`logocap_typestore`.
    :param result: ``PoseResult`` in original-image pixels.
    :param header: the source image's ``std_msgs/msg/Header`` (copied as is).
    :param track_ids: ``(N,)`` track ids, or None for ``NO_TRACK``.
    :param frame_3d: the frame's ``frames.pipeline.Points3D`` (fills ``keypoints_3d`` and
        ``depth_header``), or None.
    """
    types = typestore.types
    kp_t, box_t = types['logocap_ros/msg/Keypoint2D'], types['logocap_ros/msg/BoundingBox2D']
    person_t = types['logocap_ros/msg/PersonPose']
    people = []
    for i, (kps, score, box) in enumerate(zip(result.keypoints, result.scores, result.boxes)):
        people.append(person_t(
            track_id=person_t.NO_TRACK if track_ids is None else int(track_ids[i]),
            score=float(score),
            bbox=box_t(x_min=float(box[0]), y_min=float(box[1]), x_max=float(box[2]),
                       y_max=float(box[3])),
            keypoints=[kp_t(x=float(x), y=float(y), score=float(s)) for x, y, s in kps],
            keypoints_3d=[] if frame_3d is None else keypoints_3d_messages(
                types, frame_3d.points[i], frame_3d.status[i], kps[:, 2])))
    height, width = result.image_size
    depth_header = frame_3d.header if frame_3d is not None else _empty_header(types)
    return types[POSES_TYPE](header=header, image_width=int(width), image_height=int(height),
                             people=people, depth_header=depth_header)


def _empty_header(types) -> Any:
    return types['std_msgs/msg/Header'](stamp=types['builtin_interfaces/msg/Time'](
        sec=0, nanosec=0), frame_id='')


class BagSource:
    """Image frames of one topic of a rosbag2, with access to all of its messages.

    :param path: bag folder, or a single ``.mcap``/``.db3`` file.
    :param topic: image topic; None picks ``/camera/image_raw`` or else the only image topic.
    :raises InputError: unreadable bag, or the topic is missing / not an image topic.
    """

    def __init__(self, path: Path, topic: Optional[str] = None, typestore=None) -> None:
        self.path = path
        self.typestore = typestore or logocap_typestore()
        try:
            self.reader = Reader(path)
            self.reader.open()
        except _READ_ERRORS as exc:
            raise InputError(f'cannot read rosbag2 {path}: {exc}') from None
        try:
            self.connections = self._image_connections(topic)
        except InputError:
            self.reader.close()
            raise
        self.topic = self.connections[0].topic

    @property
    def fps(self) -> Optional[float]:
        """Mean image rate of the topic from the bag's time span, or None if unknown."""
        count, span = len(self), self.reader.duration / 1e9
        return (count - 1) / span if count > 1 and span > 0 else None

    def _image_connections(self, topic: Optional[str]) -> list:
        images = {c.topic: c.msgtype for c in self.reader.connections
                  if c.msgtype in IMAGE_TYPES}
        listing = ', '.join(f'{t} ({m})' for t, m in sorted(images.items())) or 'none'
        if topic is None:
            candidates = [DEFAULT_IMAGE_TOPIC] if DEFAULT_IMAGE_TOPIC in images else list(images)
            if len(candidates) != 1:
                raise InputError(f'{self.path}: pick the image topic with --topic; image '
                                 f'topics: {listing}')
            topic = candidates[0]
        conns = [c for c in self.reader.connections if c.topic == topic]
        if not conns:
            raise InputError(f'topic {topic} not in {self.path}; image topics: {listing}')
        if any(c.msgtype not in IMAGE_TYPES for c in conns):
            raise InputError(f'topic {topic} carries {conns[0].msgtype}, not an image type '
                             f'({", ".join(IMAGE_TYPES)}); image topics: {listing}')
        return conns

    def __len__(self) -> int:
        return sum(c.msgcount for c in self.connections)

    @property
    def storage(self) -> StoragePlugin:
        """Storage plugin of the input (the output bag uses the same)."""
        files = [self.path] if self.path.is_file() else list(self.path.iterdir())
        return (StoragePlugin.MCAP if any(p.suffix == '.mcap' for p in files)
                else StoragePlugin.SQLITE3)

    def messages(self, every: int = 1) -> Iterator[Tuple[Any, int, bytes, Optional[Frame]]]:
        """Yield ``(connection, bag_timestamp_ns, rawdata, frame)`` for every message.

        ``frame`` is a decoded :class:`Frame` for every ``every``-th image of the topic, else
        None.

        :raises InputError: the bag is corrupt or an image cannot be decoded.
        """
        ids = {c.id for c in self.connections}
        count = 0
        try:
            for conn, timestamp, raw in self.reader.messages():
                frame = None
                if conn.id in ids:
                    if count % every == 0:
                        frame = self._decode(conn, raw, count)
                    count += 1
                yield conn, timestamp, raw, frame
        except _READ_ERRORS as exc:
            raise InputError(f'error while reading {self.path}: {exc}') from None

    def _decode(self, conn, raw: bytes, index: int) -> Frame:
        msg = self.typestore.deserialize_cdr(raw, conn.msgtype)
        try:
            if conn.msgtype == COMPRESSED_TYPE:
                image = compressed_to_bgr(msg)
            else:
                image = image_to_bgr(msg, use_cv_bridge=False)
        except ValueError as exc:
            raise InputError(f'{conn.topic} message {index}: {exc}') from None
        return Frame(index, image, stamp_ns(msg.header.stamp), f'frame_{index:06d}',
                     msg.header)

    def close(self) -> None:
        """Close the reader."""
        self.reader.close()


class BagCopyWriter:
    """A new bag with every connection of ``source`` plus the poses topic.

    Use as a context manager; on an exception the partial bag is aborted (the caller writes
    it inside a staging folder, so nothing incomplete survives).
    """

    def __init__(self, path: Path, source: BagSource,
                 poses_topic: str = DEFAULT_POSES_TOPIC) -> None:
        self.source = source
        self.writer = Writer(path, version=9, storage_plugin=source.storage)
        self.poses_topic = poses_topic
        self._map: Dict[int, Any] = {}
        self._poses = None

    def __enter__(self) -> 'BagCopyWriter':
        self.writer.open()
        for conn in self.source.reader.connections:
            self._map[conn.id] = self.writer.add_connection(
                conn.topic, conn.msgtype, **self._definition(conn),
                serialization_format=conn.ext.serialization_format,
                offered_qos_profiles=conn.ext.offered_qos_profiles)
        self._poses = self.writer.add_connection(self.poses_topic, POSES_TYPE,
                                                 typestore=self.source.typestore)
        return self

    def _definition(self, conn) -> dict:
        msgdef = conn.msgdef.data if conn.msgdef else ''
        if msgdef and conn.digest:
            return {'msgdef': msgdef, 'rihs01': conn.digest}
        typestore = self.source.typestore
        if conn.msgtype not in typestore.types and msgdef:
            typestore.register(get_types_from_msg(msgdef, conn.msgtype))
        if conn.msgtype not in typestore.types:
            raise InputError(f'{conn.topic}: type {conn.msgtype} has no definition in the '
                             'bag and is unknown to rosbags; cannot copy it')
        return {'typestore': typestore}

    def write_raw(self, conn, timestamp: int, raw: bytes) -> None:
        """Copy one original message unchanged."""
        self.writer.write(self._map[conn.id], timestamp, raw)

    def write_poses(self, timestamp: int, result, header, track_ids=None,
                    frame_3d=None) -> None:
        """Write the ``PersonPoseArray`` of one image at the image's bag timestamp."""
        msg = poses_message(self.source.typestore, result, header, track_ids, frame_3d)
        self.writer.write(self._poses, timestamp,
                          self.source.typestore.serialize_cdr(msg, POSES_TYPE))

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.writer.close()
        else:
            self.writer.abort()
