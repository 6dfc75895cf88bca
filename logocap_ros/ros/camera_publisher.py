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

"""``camera_publisher``: a camera stand-in publishing a video, image folder or image.

Publishes ``sensor_msgs/Image`` on ``image`` (remappable) at a fixed rate, stamped with the
publish time and the given ``frame_id``, and optionally ``sensor_msgs/CameraInfo`` on
``camera_info`` from a camera_calibration YAML file. ``synthetic:WxH`` generates moving test
frames without any file. Example::

    camera_publisher video.mp4 --rate 15 --loop --frame-id camera --ros-args -r image:=/cam/image
"""

import argparse
import itertools
from pathlib import Path
import sys
from typing import Iterator, List, Optional

import cv2
from logocap_ros.ros.camera_depth import add_depth_arguments, DepthPublisher
from logocap_ros.ros.image_conversion import bgr_to_image_msg
from logocap_ros.ros.qos import image_qos
import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import CameraInfo, Image

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def iter_frames(source: str, loop: bool) -> Iterator[np.ndarray]:
    """Yield BGR frames ``(H, W, 3)`` uint8 from a video, a folder, an image or ``synthetic:WxH``.

    :raises ValueError: when the source cannot be read (says what was expected).
    """
    if source.startswith('synthetic:'):
        width, height = (int(v) for v in source.split(':', 1)[1].lower().split('x'))
        return _synthetic(width, height)
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f'no images ({", ".join(IMAGE_SUFFIXES)}) in folder {path}')
        return _images(files, loop)
    if not path.is_file():
        raise ValueError(f'source not found: {path} (expected a video, image, folder or '
                         'synthetic:WxH)')
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return _images([path], True)
    return _video(path, loop)


def _images(files: List[Path], loop: bool) -> Iterator[np.ndarray]:
    for file in itertools.cycle(files) if loop else files:
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f'cannot read image {file}')
        yield image


def _video(path: Path, loop: bool) -> Iterator[np.ndarray]:
    while True:
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise ValueError(f'cannot open video {path}')
        count = 0
        ok, frame = capture.read()
        while ok:
            count += 1
            yield frame
            ok, frame = capture.read()
        capture.release()
        if not loop or count == 0:
            return


def _synthetic(width: int, height: int) -> Iterator[np.ndarray]:
    base = np.zeros((height, width, 3), np.uint8)
    base[:, :, 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    base[:, :, 1] = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    for k in itertools.count():
        frame = base.copy()
        x = (k * 7) % max(width - 20, 1)
        frame[height // 3:2 * height // 3, x:x + 20] = 255
        yield frame


def load_camera_info(path: str) -> CameraInfo:
    """Read a camera_calibration YAML (``image_width``, ``camera_matrix`` ...) into CameraInfo."""
    import yaml
    with open(path, encoding='utf-8') as handle:
        data = yaml.safe_load(handle)
    info = CameraInfo()
    info.width, info.height = int(data['image_width']), int(data['image_height'])
    info.distortion_model = data.get('distortion_model', 'plumb_bob')
    info.d = [float(v) for v in data.get('distortion_coefficients', {}).get('data', [])]
    info.k = [float(v) for v in data['camera_matrix']['data']]
    info.r = [float(v) for v in data.get('rectification_matrix', {}).get(
        'data', [1, 0, 0, 0, 1, 0, 0, 0, 1])]
    info.p = [float(v) for v in data['projection_matrix']['data']]
    return info


class CameraPublisher(Node):
    """Publishes frames from :func:`iter_frames` at ``rate`` Hz."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__('camera_publisher')
        self._frames = iter_frames(args.source, args.loop)
        self._frame_id = args.frame_id
        self._remaining = args.count if args.count > 0 else None
        self._info = load_camera_info(args.camera_info) if args.camera_info else None
        self._image_pub = self.create_publisher(Image, 'image', image_qos(args.qos))
        self._info_pub = (self.create_publisher(CameraInfo, 'camera_info', image_qos(args.qos))
                          if self._info is not None else None)
        self._wait = args.wait_for_subscriber
        self._depth = DepthPublisher(self, args, self._info) if args.depth else None
        self.done = False
        self.create_timer(1.0 / args.rate, self._tick)
        self.get_logger().info(f'publishing {args.source} on {self._image_pub.topic_name} at '
                               f'{args.rate} Hz ({args.qos})')

    def _tick(self) -> None:
        if self.done or (self._wait and self._image_pub.get_subscription_count() == 0):
            return
        self._wait = False
        frame = next(self._frames, None)
        if frame is None or self._remaining == 0:
            self.done = True
            return
        msg = bgr_to_image_msg(frame, None, Image)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self._frame_id
        self._image_pub.publish(msg)
        if self._info_pub is not None:
            self._info.header = msg.header
            self._info_pub.publish(self._info)
        if self._depth is not None:
            self._depth.publish(msg.header, frame.shape[:2])
        if self._remaining is not None:
            self._remaining -= 1


def parse_args(argv: List[str]) -> argparse.Namespace:
    """Parse the command line (ROS arguments already removed)."""
    parser = argparse.ArgumentParser(prog='camera_publisher', description=__doc__.split('\n')[0])
    parser.add_argument('source', help='video file, image folder, image file or synthetic:WxH')
    parser.add_argument('--rate', type=float, default=10.0, help='frames per second (10)')
    parser.add_argument('--frame-id', default='camera', help='header.frame_id (camera)')
    parser.add_argument('--camera-info', help='camera_calibration YAML to publish on '
                        'camera_info')
    parser.add_argument('--qos', choices=('best_effort', 'reliable'), default='best_effort',
                        help='reliability (best_effort, like camera drivers)')
    parser.add_argument('--loop', action='store_true', help='restart at the end')
    parser.add_argument('--count', type=int, default=0, help='stop after N frames (0 = no '
                        'limit)')
    parser.add_argument('--wait-for-subscriber', action='store_true',
                        help='start publishing once a subscriber is matched')
    add_depth_arguments(parser)
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error('--rate must be > 0')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Run the publisher until the source ends (without --loop) or Ctrl-C."""
    argv = sys.argv if argv is None else argv
    args = parse_args(remove_ros_args(argv)[1:])
    rclpy.init(args=argv)
    node = None
    try:
        node = CameraPublisher(args)
        while rclpy.ok() and not node.done:
            rclpy.spin_once(node, timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (ValueError, OSError, KeyError) as exc:
        print(f'[camera_publisher] error: {exc}', file=sys.stderr)
        return 1
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
