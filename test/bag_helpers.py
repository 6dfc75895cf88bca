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


"""Writing small rosbag2 recordings for the ``logocap-offline`` tests (rosbags, no ROS)."""

from pathlib import Path
from typing import Any, Dict, Iterable, Tuple

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import get_typestore, Stores

STORE = get_typestore(Stores.ROS2_KILTED)
TYPES = STORE.types


def header(stamp_ns: int, frame_id: str) -> Any:
    """Return a rosbags ``std_msgs/msg/Header`` stamped ``stamp_ns``."""
    return TYPES['std_msgs/msg/Header'](stamp=TYPES['builtin_interfaces/msg/Time'](
        sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9), frame_id=frame_id)


def image(pixels: np.ndarray, stamp_ns: int, frame_id: str, encoding: str = 'bgr8') -> Any:
    """Return a rosbags ``sensor_msgs/msg/Image`` of ``(H, W[, C])`` pixels."""
    height, width = pixels.shape[:2]
    return TYPES['sensor_msgs/msg/Image'](
        header=header(stamp_ns, frame_id), height=height, width=width, encoding=encoding,
        is_bigendian=0, step=pixels.strides[0],
        data=np.ascontiguousarray(pixels).view(np.uint8).reshape(-1))


def write_bag(path: Path, topics: Dict[str, str], records: Iterable[Tuple[str, int, Any]],
              storage: StoragePlugin = StoragePlugin.MCAP) -> Path:
    """Write ``(topic, bag timestamp [ns], message)`` records; ``topics``: topic -> type."""
    with Writer(path, version=9, storage_plugin=storage) as writer:
        conns = {topic: writer.add_connection(topic, msgtype, typestore=STORE)
                 for topic, msgtype in topics.items()}
        for topic, stamp, msg in records:
            writer.write(conns[topic], stamp, STORE.serialize_cdr(msg, topics[topic]))
    return path
