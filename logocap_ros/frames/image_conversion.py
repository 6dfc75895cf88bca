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

"""Image, depth and camera_info messages to arrays and a camera model, and BGR back.

The functions take any object with the message's fields (``height``, ``width``, ``encoding``,
``is_bigendian``, ``step``, ``data``; or ``format``, ``data``), so they are usable and testable
without a running ROS graph. Every malformed input raises :class:`ValueError` with a message
that says what is wrong and how to fix it; nothing else escapes.

Semantics follow ``cv_bridge``'s ``imgmsg_to_cv2(msg, 'bgr8')``: 16-bit colour and mono16 are
scaled by 255/65535 with rounding, ``yuv422`` is UYVY and ``yuv422_yuy2`` is YUYV, and
``bayer_*8``/``bayer_*16`` mosaics are demosaiced (bilinear, OpenCV) before scaling. Encodings
``cv_bridge`` refuses for a colour target (``32FC1``, ``16UC1``, ``8UC1``, ``8UC3``) are
converted here: single-channel data is min-max normalised over its finite values to 0..255
(NaN and infinity become 0); ``8UC3`` is taken as BGR. When a ROS 2 ``cv_bridge`` is importable
it is used for the encodings it supports, after the same validation; where it fails (e.g. an
older cv_bridge without YUYV), this module's own conversion is used.
"""

import struct
from typing import Any, Optional, Tuple

import cv2
from logocap_ros.core.camera_model import CameraModel
from logocap_ros.core.depth import depth_from_buffer
import numpy as np

try:  # pragma: no cover - only on machines with a ROS 2 cv_bridge
    from cv_bridge import CvBridge as _CvBridge
    from cv_bridge import CvBridgeError as _CvBridgeError
except Exception:  # noqa: BLE001 - PyPI's ROS 1 port fails in several ways on import
    _CvBridge = None
    _CvBridgeError = ValueError

#: Default limit on ``width * height`` (about 8K UHD); larger images are rejected.
DEFAULT_MAX_PIXELS = 7680 * 4320

#: encoding -> (numpy dtype of one channel, channels, how to get to BGR).
_ENCODINGS = {
    'bgr8': ('u1', 3, None),
    'rgb8': ('u1', 3, cv2.COLOR_RGB2BGR),
    'bgra8': ('u1', 4, cv2.COLOR_BGRA2BGR),
    'rgba8': ('u1', 4, cv2.COLOR_RGBA2BGR),
    'mono8': ('u1', 1, cv2.COLOR_GRAY2BGR),
    '8UC1': ('u1', 1, cv2.COLOR_GRAY2BGR),
    '8UC3': ('u1', 3, None),
    'bgr16': ('u2', 3, None),
    'rgb16': ('u2', 3, cv2.COLOR_RGB2BGR),
    'bgra16': ('u2', 4, cv2.COLOR_BGRA2BGR),
    'rgba16': ('u2', 4, cv2.COLOR_RGBA2BGR),
    'mono16': ('u2', 1, cv2.COLOR_GRAY2BGR),
    '16UC1': ('u2', 1, 'normalise'),
    '32FC1': ('f4', 1, 'normalise'),
    '64FC1': ('f8', 1, 'normalise'),
    'yuv422': ('u1', 2, cv2.COLOR_YUV2BGR_UYVY),
    'uyvy': ('u1', 2, cv2.COLOR_YUV2BGR_UYVY),
    'yuv422_yuy2': ('u1', 2, cv2.COLOR_YUV2BGR_YUY2),
    'yuyv': ('u1', 2, cv2.COLOR_YUV2BGR_YUY2),
}
# Bayer mosaics (ROS names the top-left 2x2 cell; OpenCV's codes name the second row's
# middle, hence the shifted names, as cv_bridge maps them): demosaiced, then 16 bit scaled.
for _depth, _dtype in ((8, 'u1'), (16, 'u2')):
    for _ros, _cv in (('rggb', cv2.COLOR_BayerBG2BGR), ('bggr', cv2.COLOR_BayerRG2BGR),
                      ('gbrg', cv2.COLOR_BayerGR2BGR), ('grbg', cv2.COLOR_BayerGB2BGR)):
        _ENCODINGS[f'bayer_{_ros}{_depth}'] = (_dtype, 1, ('bayer', _cv))

#: Encodings for which a ROS 2 cv_bridge gives the same result as this module.
CV_BRIDGE_ENCODINGS = frozenset((
    'bgr8', 'rgb8', 'bgra8', 'rgba8', 'mono8', 'bgr16', 'rgb16', 'bgra16', 'rgba16', 'mono16',
    'yuv422', 'yuv422_yuy2'))

SUPPORTED_ENCODINGS = tuple(sorted(_ENCODINGS))


class ImageError(ValueError):
    """A malformed or unsupported image; ``reason`` is a short key for diagnostics counters.

    :param reason: one of ``encoding``, ``zero_size``, ``too_large``, ``layout``,
        ``non_finite``, ``corrupt``.
    :param message: the actionable, human-readable explanation.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def depth_from_msg(msg: Any) -> np.ndarray:
    """Return the pixels of a depth ``sensor_msgs/Image``: uint16 mm or float32 m, ``(H, W)``."""
    return depth_from_buffer(msg.data, msg.height, msg.width, msg.step, msg.encoding,
                             bool(msg.is_bigendian))


def camera_model_from_info(info: Any, rectified: bool = False) -> CameraModel:
    """Convert a ``sensor_msgs/CameraInfo`` to a :class:`CameraModel` (ValueError if invalid)."""
    return CameraModel.from_camera_info(info.k, info.d, info.distortion_model, info.width,
                                        info.height, p=info.p, rectified=rectified)


def cv_bridge_available() -> bool:
    """Return True when a ROS 2 ``cv_bridge`` was importable."""
    return _CvBridge is not None


def image_to_bgr(msg: Any, max_pixels: int = DEFAULT_MAX_PIXELS,
                 use_cv_bridge: bool = True) -> np.ndarray:
    """Convert a ``sensor_msgs/Image`` to a BGR image.

    :param msg: the message (or any object with its fields).
    :param max_pixels: images with more than this many pixels are rejected.
    :param use_cv_bridge: use ``cv_bridge`` when it is importable and supports the encoding.
    :return: ``(height, width, 3)`` uint8, C-contiguous, BGR channel order.
    :raises ValueError: for an empty, oversized, inconsistent or unsupported image.
    """
    encoding = str(msg.encoding)
    spec = _ENCODINGS.get(encoding)
    if spec is None:
        raise ImageError(
            'encoding', f"unsupported image encoding '{encoding}'; supported: "
            f"{', '.join(SUPPORTED_ENCODINGS)} (or use input_transport:=compressed)")
    dtype, channels, code = spec
    height, width = int(msg.height), int(msg.width)
    _check_size(height, width, max_pixels)
    if channels == 2 and width % 2:
        raise ImageError('layout', f'{encoding} image has odd width {width}; YUV 4:2:2 needs '
                         'an even width')
    if isinstance(code, tuple) and (width < 2 or height < 2):
        raise ImageError('layout', f'{encoding} image is {width}x{height}; a Bayer mosaic '
                         'needs at least 2x2 pixels')
    data = _data_view(msg.data)
    itemsize = np.dtype(dtype).itemsize
    step = int(msg.step)
    _check_layout(encoding, height, width, step, itemsize * channels, data.size)
    if use_cv_bridge and _CvBridge is not None and encoding in CV_BRIDGE_ENCODINGS:
        converted = _via_cv_bridge(msg)
        if converted is not None:
            return converted
    pixels = _pixel_array(data, height, width, step, dtype, channels, bool(msg.is_bigendian))
    return _to_bgr8(pixels, code, encoding)


def compressed_to_bgr(msg: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a ``sensor_msgs/CompressedImage`` (JPEG or PNG) to a BGR image.

    The image size is read from the JPEG/PNG header and checked against ``max_pixels``
    before anything is decoded.

    :param msg: the message (or any object with ``format`` and ``data``).
    :param max_pixels: images with more than this many pixels are rejected.
    :return: ``(height, width, 3)`` uint8 BGR.
    :raises ValueError: for empty, truncated, corrupt, oversized or non-image data.
    """
    fmt = str(getattr(msg, 'format', ''))
    if 'compresseddepth' in fmt.lower():
        raise ImageError('encoding', f"compressed format '{fmt}' is a depth stream; subscribe "
                         'to a colour image (jpeg or png) instead')
    buf = _data_view(msg.data)
    if buf.size == 0:
        raise ImageError('zero_size', 'compressed image has no data (0 bytes)')
    size = _header_size(buf.tobytes()[:65536])
    if size is None:
        raise ImageError('corrupt', f"compressed data ({buf.size} bytes, format '{fmt}') is "
                         'neither JPEG nor PNG, or its header is corrupt')
    _check_size(size[0], size[1], max_pixels)
    if not _has_end_marker(buf):
        raise ImageError('corrupt', f"compressed image ({buf.size} bytes, format '{fmt}') is "
                         'truncated: no end-of-image marker')
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None or image.ndim != 3 or image.shape[2] != 3 or image.shape[:2] != size:
        raise ImageError('corrupt', f"compressed image ({buf.size} bytes, format '{fmt}') "
                         'could not be decoded: truncated or corrupt data')
    return np.ascontiguousarray(image)


def bgr_to_image_msg(image: np.ndarray, header: Any, msg_type: Any) -> Any:
    """Wrap a BGR image into a ``sensor_msgs/Image`` (``bgr8``, tightly packed).

    :param image: ``(H, W, 3)`` uint8 BGR.
    :param header: ``std_msgs/Header`` copied into the message (None: leave empty).
    :param msg_type: the ``sensor_msgs.msg.Image`` class.
    :return: the message.
    """
    image = np.ascontiguousarray(image, dtype=np.uint8)
    msg = msg_type()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(image.shape[0]), int(image.shape[1])
    msg.encoding = 'bgr8'
    msg.is_bigendian = 0
    msg.step = int(image.shape[1] * 3)
    msg.data = image.tobytes()
    return msg


def _check_size(height: int, width: int, max_pixels: int) -> None:
    if height <= 0 or width <= 0:
        raise ImageError('zero_size', f'image has zero size ({width}x{height}); the camera '
                         'driver sent an empty frame')
    if height * width > max_pixels:
        raise ImageError('too_large', f'image {width}x{height} has {width * height} pixels, '
                         f'more than max_image_pixels={max_pixels}; raise the parameter if '
                         'this is intended')


def _check_layout(encoding: str, height: int, width: int, step: int, pixel_bytes: int,
                  size: int) -> None:
    if step < width * pixel_bytes:
        raise ImageError('layout', f'{encoding} image {width}x{height}: step {step} is '
                         f'smaller than width * {pixel_bytes} bytes = {width * pixel_bytes}')
    if size != height * step:
        raise ImageError('layout', f'{encoding} image {width}x{height}: data has {size} bytes but '
                         f'height * step = {height * step}; the message is truncated or '
                         'step is wrong')


def _data_view(data: Any) -> np.ndarray:
    if isinstance(data, (bytes, bytearray, memoryview, np.ndarray)) or hasattr(data, 'typecode'):
        return np.frombuffer(data, dtype=np.uint8)
    return np.asarray(data, dtype=np.uint8).reshape(-1)


def _pixel_array(data: np.ndarray, height: int, width: int, step: int, dtype: str,
                 channels: int, big_endian: bool) -> np.ndarray:
    """Return ``(H, W, C)`` native-endian pixels, honouring ``step`` (row padding)."""
    rows = data.reshape(height, step)[:, :width * channels * np.dtype(dtype).itemsize]
    wire = np.dtype(dtype).newbyteorder('>' if big_endian else '<')
    typed = np.ascontiguousarray(rows).view(wire)
    return typed.reshape(height, width, channels).astype(np.dtype(dtype).newbyteorder('='))


def _to_bgr8(pixels: np.ndarray, code: Any, encoding: str) -> np.ndarray:
    if code == 'normalise':
        gray = _normalise(pixels[:, :, 0], encoding)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    if isinstance(code, tuple):  # ('bayer', OpenCV code): demosaic at full depth first
        pixels = cv2.cvtColor(np.ascontiguousarray(pixels[:, :, 0]), code[1])
        code = None
    if pixels.dtype == np.uint16:
        pixels = _scale16(pixels)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if code is not None:
        pixels = cv2.cvtColor(np.ascontiguousarray(pixels), code)
    return np.ascontiguousarray(pixels)


def _scale16(pixels: np.ndarray) -> np.ndarray:
    """Scale uint16 to uint8 by 255/65535 with round-half-even, as OpenCV's convertTo."""
    return np.rint(pixels.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)


def _normalise(values: np.ndarray, encoding: str) -> np.ndarray:
    """Min-max normalise finite values to uint8 0..255; non-finite become 0."""
    values = values.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        raise ImageError('non_finite', f'{encoding} image has no finite pixel values (all NaN '
                         'or infinite); check the camera driver')
    low, high = values[finite].min(), values[finite].max()
    span = high - low
    out = np.zeros(values.shape, np.float64)
    if span > 0 and np.isfinite(span):
        out[finite] = (values[finite] - low) * (255.0 / span)
    elif span > 0:  # range overflows float64: scale in two steps
        out[finite] = (values[finite] / 2 - low / 2) * (255.0 / (high / 2 - low / 2))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _via_cv_bridge(msg: Any) -> Optional[np.ndarray]:  # pragma: no cover - needs cv_bridge
    """Convert with cv_bridge; None when this cv_bridge cannot (older distros lack some)."""
    try:
        image = _CvBridge().imgmsg_to_cv2(msg, desired_encoding='bgr8')
    except (_CvBridgeError, TypeError, ValueError, cv2.error):
        return None
    return np.ascontiguousarray(image)


def _header_size(head: bytes) -> Optional[Tuple[int, int]]:
    """Return ``(height, width)`` from a PNG or JPEG header, None if neither or corrupt."""
    if head[:8] == b'\x89PNG\r\n\x1a\n' and len(head) >= 24 and head[12:16] == b'IHDR':
        width, height = struct.unpack('>II', head[16:24])
        return height, width
    if head[:2] == b'\xff\xd8':
        return _jpeg_size(head)
    return None


def _has_end_marker(buf: np.ndarray) -> bool:
    """Return True when JPEG data ends with EOI or PNG data with its IEND chunk."""
    tail = buf[-64:].tobytes()
    return b'\xff\xd9' in tail or b'IEND' in tail


def _jpeg_size(head: bytes) -> Optional[Tuple[int, int]]:
    """Walk JPEG marker segments up to the first start-of-frame (SOF0..SOF15)."""
    pos = 2
    while pos + 9 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack('>H', head[pos + 2:pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack('>HH', head[pos + 5:pos + 9])
            return height, width
        if length < 2:
            return None
        pos += 2 + length
    return None
