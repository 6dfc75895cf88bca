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
from pathlib import Path
from typing import Any, Iterator, List, Optional

import cv2
import numpy as np

IMAGE_SUFFIXES = frozenset(('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.ppm',
                            '.pgm'))
BAG_SUFFIXES = frozenset(('.mcap', '.db3'))


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
    ``.mcap``/``.db3`` file; another folder is an image folder; another file a video.

    :raises InputError: the path does not exist.
    """
    if not path.exists():
        raise InputError(f'input not found: {path}')
    if path.is_dir():
        if (path / 'metadata.yaml').is_file() or any(
                p.suffix in BAG_SUFFIXES for p in path.iterdir()):
            return 'bag'
        return 'images'
    return 'bag' if path.suffix.lower() in BAG_SUFFIXES else 'video'


class ImageFolderSource:
    """The images of a folder (not recursive), sorted by file name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: List[Path] = sorted(p for p in folder.iterdir()
                                        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise InputError(f'no images ({", ".join(sorted(IMAGE_SUFFIXES))}) in {folder}')
        self.fps = None

    def __len__(self) -> int:
        return len(self.files)

    def frames(self, every: int = 1) -> Iterator[Frame]:
        """Yield every ``every``-th image as a :class:`Frame`.

        :raises InputError: an image file cannot be decoded.
        """
        for index, path in enumerate(self.files):
            if index % every:
                continue
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise InputError(f'cannot decode image {path}')
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
