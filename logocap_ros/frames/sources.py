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


"""Frame sources for offline processing: video files and image folders (bags: ``bag_io``).

Every source yields :class:`Frame` objects with a BGR image; opening a source checks it up
front, so a bad input fails before any output is created.
"""

from dataclasses import dataclass
import os
from pathlib import Path
from typing import Any, Iterator, List, Optional

import cv2
import numpy as np

IMAGE_SUFFIXES = frozenset(('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.ppm',
                            '.pgm'))
BAG_SUFFIXES = frozenset(('.mcap', '.db3'))
# FFmpeg's own messages ("moov atom not found") would come before the one-line error that
# says the same; read once, at the first VideoCapture. A user's own setting wins.
os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '-8')


class InputError(RuntimeError):
    """The input cannot be read (missing, empty, corrupt, wrong topic); message says why."""


@dataclass
class Frame:
    """One image of a source.

    :param index: position in the source (0-based, counting every frame, also skipped ones).
    :param image: ``(H, W, 3)`` uint8 BGR.
    :param stamp_ns: time of the frame in ns (video position, or the ROS header stamp), or
        None when the source has no time (image folder).
    :param name: file name (image folder) or ``frame_<index>``.
    :param header: the ROS ``std_msgs/Header`` of a bag image (rosbags object), else None.
    """

    index: int
    image: np.ndarray
    stamp_ns: Optional[int]
    name: str
    header: Any = None


def detect_kind(path: Path) -> str:
    """Return ``'bag'``, ``'images'`` or ``'video'`` for an input path.

    A rosbag2 is a folder with ``metadata.yaml`` (or ``.mcap``/``.db3`` files), or a single
    ``.mcap``/``.db3`` file; another folder is an image folder; a single image file (by suffix,
    or JPEG/PNG content) counts as a folder of one image; any other file is a video.

    :raises InputError: the path does not exist.
    """
    if not path.exists():
        raise InputError(f'input not found: {path}')
    if path.is_dir():
        if (path / 'metadata.yaml').is_file() or any(
                p.suffix in BAG_SUFFIXES for p in path.iterdir()):
            return 'bag'
        return 'images'
    if path.suffix.lower() in BAG_SUFFIXES:
        return 'bag'
    return 'images' if path.suffix.lower() in IMAGE_SUFFIXES or _image_magic(path) else 'video'


def _image_magic(path: Path) -> bool:
    """Return True when the file starts like a JPEG or PNG."""
    try:
        with open(path, 'rb') as stream:
            head = stream.read(8)
    except OSError:
        return False
    return head.startswith(_JPEG_START) or head.startswith(_PNG_START)


_JPEG_START = b'\xff\xd8\xff'
_PNG_START = b'\x89PNG\r\n\x1a\n'


def read_image(path: Path) -> np.ndarray:
    """Decode an image file to BGR uint8, refusing truncated JPEG/PNG files.

    OpenCV decodes a truncated JPEG into a partly grey image with only a warning, so JPEG and
    PNG files must end with their end marker (JPEG ``FFD9``, PNG ``IEND``) first.

    :raises InputError: the file is truncated or cannot be decoded.
    """
    data = np.fromfile(str(path), dtype=np.uint8)
    head, tail = data[:8].tobytes(), data[-64:].tobytes()
    if (head.startswith(_JPEG_START) and b'\xff\xd9' not in tail) or (
            head.startswith(_PNG_START) and b'IEND' not in tail):
        raise InputError(f'image {path} is truncated (no end-of-image marker); copy or '
                         'download it again')
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f'cannot decode image {path} (empty, corrupt or not an image)')
    return image


class ImageFolderSource:
    """The images of a folder (not recursive), sorted by file name, or one image file.

    The first image is decoded when the source is opened, so a single bad image fails
    before any output is created. With ``skip_bad``, unreadable images (truncated, corrupt)
    are left out and listed in :attr:`skipped` as ``(file name, reason)`` instead.
    """

    def __init__(self, folder: Path, skip_bad: bool = False) -> None:
        self.folder = folder
        self.skip_bad = skip_bad
        self.skipped: List[tuple] = []
        if folder.is_file():
            self.files: List[Path] = [folder]
        else:
            self.files = sorted(p for p in folder.iterdir()
                                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise InputError(f'no images ({", ".join(sorted(IMAGE_SUFFIXES))}) in {folder}')
        if not any(self._read(path) is not None for path in self.files):
            raise InputError(f'none of the {len(self.files)} images in {folder} is readable')
        self.skipped.clear()  # counted again when the frames are read
        self.fps = None

    def _read(self, path: Path) -> Optional[np.ndarray]:
        """Decode ``path``; None (and listed in :attr:`skipped`) when skipping bad ones."""
        try:
            return read_image(path)
        except InputError as exc:
            if not self.skip_bad:
                hint = '; pass --skip-bad to leave such images out' if len(self.files) > 1 \
                    else ''
                raise InputError(f'{exc}{hint}') from None
            self.skipped.append((path.name, str(exc)))
            return None

    def __len__(self) -> int:
        return len(self.files)

    def frames(self, every: int = 1) -> Iterator[Frame]:
        """Yield every ``every``-th image as a :class:`Frame`.

        :raises InputError: an image file cannot be decoded.
        """
        for index, path in enumerate(self.files):
            if index % every:
                continue
            image = self._read(path)
            if image is not None:
                yield Frame(index, image, None, path.name)


class VideoSource:
    """A video file read with OpenCV."""

    def __init__(self, path: Path) -> None:
        self.path = path
        capture = cv2.VideoCapture(str(path))
        ok = capture.isOpened()
        first = capture.read()[1] if ok else None
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT) if ok else 0
        fps = capture.get(cv2.CAP_PROP_FPS) if ok else 0
        capture.release()
        if not ok:
            raise InputError(f'cannot open {path} as a video (unsupported format or not a '
                             'video; pass a folder for images or a rosbag2 for bags)')
        if first is None:
            raise InputError(f'video {path} has no readable frames (empty or corrupt)')
        self.count = int(count) if count and count > 0 else None
        self.fps = float(fps) if fps and fps > 0 else None
        self.size = first.shape[:2]

    def __len__(self) -> int:
        return self.count or 0

    def frames(self, every: int = 1) -> Iterator[Frame]:
        """Yield every ``every``-th frame; the stamp is the frame time (``index / fps``)."""
        capture = cv2.VideoCapture(str(self.path))
        try:
            index = 0
            while True:
                if index % every:
                    if not capture.grab():
                        break
                    index += 1
                    continue
                ok, image = capture.read()
                if not ok or image is None:
                    break
                stamp = int(round(index * 1e9 / self.fps)) if self.fps else None
                yield Frame(index, image, stamp, f'frame_{index:06d}')
                index += 1
        finally:
            capture.release()
