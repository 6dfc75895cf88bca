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

Publishes ``sensor_msgs/Image`` on ``image`` (remappable), stamped with the publish time and
the given ``frame_id``; with ``--compressed jpeg|png`` also ``sensor_msgs/CompressedImage`` on
``<image>/compressed`` (image_transport's naming: it follows an ``image:=`` remap unless
``image/compressed`` is remapped itself), and optionally ``sensor_msgs/CameraInfo`` on
``camera_info`` from a camera_calibration YAML file. A video plays at its own frame rate
unless ``--rate`` says otherwise; images and ``synthetic:WxH`` (moving test frames, no file)
at 10 Hz. Example::

    camera_publisher video.mp4 --loop --frame-id camera --ros-args -r image:=/cam/image
"""

import argparse
import itertools
from pathlib import Path
import re
import sys
from typing import Any, Iterator, List, Optional, Tuple, Union

import cv2
from logocap_ros.frames.image_conversion import bgr_to_image_msg
from logocap_ros.frames.sources import (IMAGE_SUFFIXES, ImageFolderSource, InputError,
                                        VideoSource)
from logocap_ros.ros.camera_depth import add_depth_arguments, DepthPublisher
from logocap_ros.ros.input_monitor import input_topics
from logocap_ros.ros.qos import image_qos
from logocap_ros.ros.shutdown import ExitRequest, init_ros, spin_until_exit
import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

#: Frames per second for images, folders and synthetic frames (and videos without a rate).
DEFAULT_RATE_HZ = 10.0
#: Largest side of a synthetic frame [px].
MAX_SYNTHETIC_SIDE = 16384
#: Video frame rates outside (0, this] are treated as unknown [Hz].
MAX_VIDEO_RATE_HZ = 1000.0
#: ``--compressed`` choice -> (OpenCV file extension, ``CompressedImage.format``); the format
#: strings follow compressed_image_transport.
COMPRESSED_FORMATS = {
    'jpeg': ('.jpg', 'bgr8; jpeg compressed bgr8'),
    'png': ('.png', 'bgr8; png compressed bgr8'),
}


def iter_frames(source: str, loop: bool) -> Iterator[np.ndarray]:
    """Yield BGR frames ``(H, W, 3)`` uint8 from a video, a folder, an image or ``synthetic:WxH``.

    :raises ValueError: when the source cannot be read (says what was expected).
    """
    if source.startswith('synthetic:'):
        return _synthetic(*parse_synthetic(source))
    path = Path(source)
    if not path.exists():
        raise ValueError(f'source not found: {path} (expected a video, image, folder or '
                         'synthetic:WxH)')
    images = path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES
    try:  # the readers of logocap-offline (frames/sources.py)
        opened = ImageFolderSource(path) if images else VideoSource(path)
    except InputError as exc:
        raise ValueError(str(exc) if images else f'cannot open video {path}: unsupported '
                         'format, not a video, or no readable frames') from None
    return _frames(opened, loop or path.is_file() and images)


def parse_synthetic(source: str) -> Tuple[int, int]:
    """Return ``(width, height)`` [px] of a ``synthetic:WIDTHxHEIGHT`` source.

    :raises ValueError: unless both are integers in [1, MAX_SYNTHETIC_SIDE].
    """
    spec = source.split(':', 1)[1]
    match = re.fullmatch(r'\s*(\d+)\s*[xX]\s*(\d+)\s*', spec)
    example = 'expected synthetic:WIDTHxHEIGHT in pixels, e.g. synthetic:640x480'
    if match is None:
        raise ValueError(f"invalid source '{source}': {example}")
    width, height = int(match.group(1)), int(match.group(2))
    if not (1 <= width <= MAX_SYNTHETIC_SIDE and 1 <= height <= MAX_SYNTHETIC_SIDE):
        raise ValueError(f"invalid source '{source}': width and height must be in "
                         f'[1, {MAX_SYNTHETIC_SIDE}]; {example}')
    return width, height


def source_rate(source: str) -> Optional[float]:
    """Return the frame rate [Hz] stored in a video file, or None (not a video, or unknown)."""
    path = Path(source)
    if source.startswith('synthetic:') or not path.is_file() or \
            path.suffix.lower() in IMAGE_SUFFIXES:
        return None
    capture = cv2.VideoCapture(str(path))
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS)) if capture.isOpened() else 0.0
    finally:
        capture.release()
    return fps if 0.0 < fps <= MAX_VIDEO_RATE_HZ else None


def publish_rate(requested: Union[str, float], source: str) -> Tuple[float, str]:
    """Return the publishing rate [Hz] and where it comes from, for ``--rate`` ``requested``.

    ``auto`` means the video's own frame rate, else :data:`DEFAULT_RATE_HZ`.
    """
    if requested != 'auto':
        return float(requested), '--rate'
    fps = source_rate(source)
    if fps is not None:
        return fps, "the video's frame rate"
    return DEFAULT_RATE_HZ, 'default'


def encode_compressed(frame: np.ndarray, fmt: str) -> Tuple[str, bytes]:
    """Encode a BGR frame as ``fmt`` (``jpeg`` or ``png``); return (format string, bytes)."""
    suffix, format_string = COMPRESSED_FORMATS[fmt]
    ok, data = cv2.imencode(suffix, frame)
    if not ok:
        raise ValueError(f'OpenCV could not encode a {frame.shape} frame as {fmt}')
    return format_string, data.tobytes()


def _frames(source, loop: bool) -> Iterator[np.ndarray]:
    """Yield the images of an opened folder or video source, again and again with ``loop``."""
    while True:
        count = 0
        try:
            for frame in source.frames():
                count += 1
                yield frame.image
        except InputError as exc:
            raise ValueError(str(exc)) from None
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


#: camera_calibration YAML keys that must be there -> number of values of their ``data``.
CALIBRATION_MATRICES = {'camera_matrix': 9, 'projection_matrix': 12}
CALIBRATION_HELP = ('expected a camera_calibration YAML (ros2 run camera_calibration '
                    'cameracalibrator writes one): image_width, image_height, camera_matrix '
                    '{data: [9 values]}, projection_matrix {data: [12 values]}, optionally '
                    'distortion_model, distortion_coefficients, rectification_matrix')


def load_camera_info(path: str) -> CameraInfo:
    """Read a camera_calibration YAML (``image_width``, ``camera_matrix`` ...) into CameraInfo.

    :raises ValueError: the file is not such a YAML (names what is missing or wrong).
    """
    import yaml
    with open(path, encoding='utf-8') as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            where = ' '.join(str(exc).split())  # one line
            raise ValueError(f'--camera-info {path}: not valid YAML ({where}); '
                             f'{CALIBRATION_HELP}') from None
    if not isinstance(data, dict):
        raise ValueError(f'--camera-info {path}: holds a {type(data).__name__}, not a mapping; '
                         f'{CALIBRATION_HELP}')
    missing = [k for k in ('image_width', 'image_height', *CALIBRATION_MATRICES)
               if k not in data]
    if missing:
        raise ValueError(f'--camera-info {path}: missing {", ".join(missing)}; '
                         f'{CALIBRATION_HELP}')
    try:
        info = CameraInfo()
        info.width, info.height = int(data['image_width']), int(data['image_height'])
        info.distortion_model = str(data.get('distortion_model', 'plumb_bob'))
        info.d = _matrix(data, 'distortion_coefficients', None, [])
        info.k = _matrix(data, 'camera_matrix', 9)
        info.r = _matrix(data, 'rectification_matrix', 9, [1, 0, 0, 0, 1, 0, 0, 0, 1])
        info.p = _matrix(data, 'projection_matrix', 12)
    except (TypeError, ValueError) as exc:
        raise ValueError(f'--camera-info {path}: {exc}; {CALIBRATION_HELP}') from None
    return info


def _matrix(data: dict, key: str, size: Optional[int],
            default: Optional[list] = None) -> List[float]:
    """Return ``data[key]['data']`` as floats, checking that it has ``size`` values."""
    entry = data.get(key)
    if entry is None:
        return [float(v) for v in default]
    values = entry.get('data') if isinstance(entry, dict) else None
    if not isinstance(values, list) or (size is not None and len(values) != size):
        raise ValueError(f'{key} needs data: [{size or "N"} numbers], not {entry!r}')
    return [float(v) for v in values]


def size_mismatch(info: Optional[CameraInfo], shape: Tuple[int, ...]) -> Optional[str]:
    """Return a warning when ``info`` is for another size than frames of ``shape`` (H, W, C)."""
    if info is None or (info.width, info.height) == (shape[1], shape[0]):
        return None
    return (f'camera_info is for {info.width}x{info.height} images but the frames are '
            f'{shape[1]}x{shape[0]}: its intrinsics do not fit them (3D and rectification '
            'will be wrong); use a calibration made at the frame size')


def open_frames(source: str, loop: bool) -> Tuple[np.ndarray, Iterator[np.ndarray]]:
    """Open ``source`` and read its first frame; return it and all frames (the first again).

    :raises ValueError: the source cannot be read or has no frames (before ROS starts).
    """
    frames = iter_frames(source, loop)
    first = next(frames, None)
    if first is None:
        raise ValueError(f'no frames in {source}')
    return first, itertools.chain([first], frames)


class CameraPublisher(Node):
    """Publishes frames from :func:`iter_frames` at ``rate`` Hz."""

    def __init__(self, args: argparse.Namespace, frames: Iterator[np.ndarray],
                 info: Optional[CameraInfo] = None) -> None:
        super().__init__('camera_publisher')
        self._frames = frames
        self._frame_id = args.frame_id
        self._remaining = args.count if args.count > 0 else None
        self._info = info
        self._compressed = None if args.compressed == 'none' else args.compressed
        self._image_pub = self.create_publisher(Image, 'image', image_qos(args.qos))
        # <image>/compressed after an image:= remap, as image_transport names it
        compressed_topic = input_topics('raw', self.resolve_topic_name)[1]
        self._compressed_pub = (
            self.create_publisher(CompressedImage, compressed_topic, image_qos(args.qos))
            if self._compressed else None)
        self._info_pub = (self.create_publisher(CameraInfo, 'camera_info', image_qos(args.qos))
                          if self._info is not None else None)
        self._wait = args.wait_for_subscriber
        self._depth = DepthPublisher(self, args, self._info) if args.depth else None
        self.done = False
        self._size_checked = info is None
        rate, origin = publish_rate(args.rate, args.source)
        self.create_timer(1.0 / rate, self._tick)
        topics = self._image_pub.topic_name + (
            f' and {self._compressed_pub.topic_name} ({self._compressed})'
            if self._compressed_pub else '')
        self.get_logger().info(f'publishing {args.source} on {topics} at {rate:g} Hz '
                               f'({origin}, {args.qos})')

    def _subscribed(self) -> bool:
        pubs = [self._image_pub, self._compressed_pub]
        return any(p is not None and p.get_subscription_count() > 0 for p in pubs)

    def _tick(self) -> None:
        if self.done or (self._wait and not self._subscribed()):
            return
        self._wait = False
        frame = next(self._frames, None)
        if frame is None or self._remaining == 0:
            self.done = True
            return
        if not self._size_checked:
            self._size_checked = True
            warning = size_mismatch(self._info, frame.shape)
            if warning:
                self.get_logger().warning(warning)
        msg = bgr_to_image_msg(frame, None, Image)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self._frame_id
        self._image_pub.publish(msg)
        if self._compressed_pub is not None:
            fmt, data = encode_compressed(frame, self._compressed)
            self._compressed_pub.publish(CompressedImage(header=msg.header, format=fmt,
                                                         data=data))
        if self._info_pub is not None:
            self._info.header = msg.header
            self._info_pub.publish(self._info)
        if self._depth is not None:
            self._depth.publish(msg.header, frame.shape[:2])
        if self._remaining is not None:
            self._remaining -= 1


def _rate(text: str) -> Union[str, float]:
    if text == 'auto':
        return text
    try:
        value = float(text)
    except ValueError:
        value = float('nan')
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be 'auto' or frames per second > 0, not {text!r}")
    return value


def parse_args(argv: List[str]) -> argparse.Namespace:
    """Parse the command line (ROS arguments already removed)."""
    parser = argparse.ArgumentParser(prog='camera_publisher', description=__doc__.split('\n')[0])
    parser.add_argument('source', help='video file, image folder, image file or synthetic:WxH')
    parser.add_argument('--rate', type=_rate, default='auto',
                        help="frames per second; 'auto' (default): a video's own frame rate, "
                        f'{DEFAULT_RATE_HZ:g} for images and synthetic frames')
    parser.add_argument('--frame-id', default='camera', help='header.frame_id (camera)')
    parser.add_argument('--camera-info', help='camera_calibration YAML to publish on '
                        'camera_info')
    parser.add_argument('--compressed', choices=('none', *COMPRESSED_FORMATS), default='none',
                        help='also publish sensor_msgs/CompressedImage in this format on '
                        '<image>/compressed (none)')
    parser.add_argument('--qos', choices=('best_effort', 'reliable'), default='best_effort',
                        help='reliability (best_effort, like camera drivers)')
    parser.add_argument('--loop', action='store_true', help='restart at the end')
    parser.add_argument('--count', type=int, default=0, help='stop after N frames (0 = no '
                        'limit)')
    parser.add_argument('--wait-for-subscriber', action='store_true',
                        help='start publishing once a subscriber is matched')
    add_depth_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the publisher until the source ends (without --loop), SIGINT or SIGTERM.

    A bad source exits 1 with one line before ROS is started; a signal exits 0 after an
    orderly cleanup (:mod:`logocap_ros.ros.shutdown`).
    """
    argv = sys.argv if argv is None else argv
    args = parse_args(remove_ros_args(argv)[1:])
    try:
        _, frames = open_frames(args.source, args.loop)
        info = load_camera_info(args.camera_info) if args.camera_info else None
    except (ValueError, OSError) as exc:
        print(f'[camera_publisher] error: {exc}', file=sys.stderr)
        return 1
    exit_request = ExitRequest().install()
    init_ros(argv)
    node: Any = None
    try:
        node = CameraPublisher(args, frames, info)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        spin_until_exit(executor, exit_request, done=lambda: node.done)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (ValueError, OSError, KeyError) as exc:
        print(f'[camera_publisher] error: {exc}', file=sys.stderr)
        return 1
    finally:
        exit_request.stopping()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
