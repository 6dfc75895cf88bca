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

"""``camera_publisher --depth``: a registered depth stream next to the colour images.

Publishes, with every colour frame, a depth image on ``depth/image_raw`` (``16UC1`` mm or
``32FC1`` m, same size as the colour frame) and its ``depth/camera_info`` (the ``--camera-info``
YAML when given, else a distortion-free pinhole, see
:func:`logocap_ros.frames.depth_frames.default_intrinsics`): the topics ``logocap_node`` reads
with ``use_depth:=true``. The depth comes from :mod:`logocap_ros.frames.depth_frames`
(``synthetic`` or files). ``--depth-offset`` shifts the depth stamps to try ``depth_slop``.
"""

import argparse
from typing import Any, Optional, Tuple

from builtin_interfaces.msg import Time
from logocap_ros.frames.depth_frames import default_intrinsics, encode_depth, iter_depth
from logocap_ros.frames.stamps import stamp_from_ns, stamp_ns
from logocap_ros.ros.qos import image_qos
import numpy as np
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header


def add_depth_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--depth*`` options to the camera_publisher command line."""
    group = parser.add_argument_group('depth (registered to the colour frames)')
    group.add_argument('--depth', metavar='SOURCE', help='also publish depth/image_raw and '
                       'depth/camera_info: "synthetic" (wall at 2.5 m, box at 1.5 m on the '
                       'synthetic bar, no-data band on the left), a 16-bit PNG/TIFF in mm, '
                       'a .npy in m, or a folder of them')
    group.add_argument('--depth-encoding', choices=('16UC1', '32FC1'), default='16UC1',
                       help='16UC1 millimetres (default, like RealSense) or 32FC1 metres')
    group.add_argument('--depth-offset', type=float, default=0.0, metavar='S',
                       help='add S seconds to the depth stamps (to try depth_slop)')
    group.add_argument('--depth-frame-id', default=None,
                       help='depth header.frame_id (default: --frame-id, i.e. registered)')


class DepthPublisher:
    """Publishes one depth image + camera_info per colour frame.

    :param node: the camera_publisher node.
    :param args: the parsed command line (``depth*``, ``camera_info``, ``qos``, ``loop``).
    :param info: the colour camera_info from ``--camera-info`` (reused, it is registered), or
        None for a default pinhole of the frame size.
    """

    def __init__(self, node: Any, args: argparse.Namespace, info: Optional[CameraInfo]) -> None:
        self._node = node
        self._source = args.depth
        self._loop = args.loop
        self._encoding = args.depth_encoding
        self._offset_ns = int(round(args.depth_offset * 1e9))
        self._frame_id = args.depth_frame_id
        self._info = info
        self._frames = None
        qos = image_qos(args.qos)
        self._image_pub = node.create_publisher(Image, 'depth/image_raw', qos)
        self._info_pub = node.create_publisher(CameraInfo, 'depth/camera_info', qos)

    def publish(self, colour_header: Any, size: Tuple[int, int]) -> None:
        """Publish the next depth frame for the colour frame with ``colour_header``.

        :param colour_header: header of the colour image just published.
        :param size: ``(height, width)`` of that colour image (synthetic depth matches it).
        :raises ValueError: the depth source cannot be read.
        """
        if self._frames is None:
            self._frames = iter_depth(self._source, size[1], size[0], self._loop)
        depth = next(self._frames, None)
        if depth is None:
            return
        header = _shifted(colour_header, self._offset_ns, self._frame_id)
        data, step = encode_depth(depth, self._encoding)
        self._image_pub.publish(Image(header=header, height=depth.shape[0],
                                      width=depth.shape[1], encoding=self._encoding,
                                      is_bigendian=0, step=step, data=data))
        info = self._info if self._info is not None else _pinhole_info(depth.shape)
        info.header = header
        self._info_pub.publish(info)


def _pinhole_info(shape: Tuple[int, int]) -> CameraInfo:
    height, width = int(shape[0]), int(shape[1])
    k = default_intrinsics(width, height)
    p = np.zeros((3, 4))
    p[:, :3] = np.reshape(k, (3, 3))
    return CameraInfo(width=width, height=height, distortion_model='plumb_bob', d=[0.0] * 5,
                      k=k, r=[1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0], p=p.reshape(-1).tolist())


def _shifted(header: Any, offset_ns: int, frame_id: Optional[str]) -> Any:
    return Header(stamp=stamp_from_ns(stamp_ns(header.stamp) + offset_ns, Time),
                  frame_id=header.frame_id if frame_id is None else frame_id)
