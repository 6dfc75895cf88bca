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


"""Where annotated frames go: a video file or a folder of images (``logocap-offline --vis``)."""

from pathlib import Path
from typing import List, Optional, Sequence

import cv2
from logocap_ros.frames.draw import draw_poses, person_color
from logocap_ros.frames.sources import Frame, InputError

DEFAULT_FPS = 10.0


def track_colors(count: int, track_ids: Optional[Sequence[int]]) -> List[tuple]:
    """BGR colour per person: by track id, else (tentative or no tracking) by index."""
    if track_ids is None:
        return [person_color(i) for i in range(count)]
    return [person_color(int(t) if t >= 0 else i) for i, t in enumerate(track_ids)]


class VideoSink:
    """Annotated frames written to a video (mp4v ``.mp4``; MJPG ``.avi`` as a fallback).

    The frame size is fixed by the first frame; later frames of another size are resized.
    """

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.fps = fps
        self.writer: Optional[cv2.VideoWriter] = None
        self.size = None
        self.count = 0

    def _open(self, width: int, height: int) -> None:
        for path, codec in ((self.path, 'mp4v'), (self.path.with_suffix('.avi'), 'MJPG')):
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), self.fps,
                                     (width, height))
            if writer.isOpened():
                self.writer, self.path, self.size = writer, path, (width, height)
                return
            writer.release()
            if path.exists():
                path.unlink()
        raise InputError('OpenCV cannot write video here (no mp4v or MJPG encoder)')

    def add(self, frame: Frame, result, track_ids: Optional[Sequence[int]] = None) -> None:
        """Draw ``result`` on ``frame`` (coloured by track id when given) and append it."""
        image = draw_poses(frame.image, result, colors=track_colors(len(result), track_ids))
        if self.writer is None:
            self._open(image.shape[1], image.shape[0])
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        self.count += 1

    def close(self) -> None:
        """Finish the file."""
        if self.writer is not None:
            self.writer.release()
            self.writer = None


class FolderSink:
    """Annotated images written under their original file names."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def add(self, frame: Frame, result, track_ids: Optional[Sequence[int]] = None) -> None:
        """Draw ``result`` on ``frame`` and save it as ``<folder>/<frame.name>``."""
        name = frame.name if Path(frame.name).suffix else f'{frame.name}.png'
        drawn = draw_poses(frame.image, result, colors=track_colors(len(result), track_ids))
        if not cv2.imwrite(str(self.folder / name), drawn):
            raise InputError(f'cannot write annotated image {self.folder / name}')
        self.count += 1

    def close(self) -> None:
        """Nothing to finish."""


def make_sink(kind: str, folder: Path, source, every: int = 1):
    """Return the sink for an input kind: a folder for images, a video otherwise."""
    if kind == 'images':
        return FolderSink(folder / 'annotated')
    fps = (getattr(source, 'fps', None) or DEFAULT_FPS) / max(every, 1)
    return VideoSink(folder / 'annotated.mp4', max(fps, 1.0))
