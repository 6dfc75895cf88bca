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


"""``logocap-offline``: run LOGO-CAP over a video, an image folder, an image or a rosbag2.

Outputs (in ``--out``, default ``./<input name>_logocap``), all created in a hidden staging
folder that is renamed into place only when the whole run succeeded:

* ``poses.json`` or ``poses.csv`` (see :mod:`logocap_ros.tools.pose_records`), with a
  ``track_id`` per person (stable across frames; ``--no-track`` turns tracking off);
* with ``--vis``: ``annotated.mp4`` (video and bag input) or ``annotated/`` (image folder or
  a single image, which is processed as a folder of one image);
* for a bag: ``<bag name>_poses/``, a new rosbag2 (same storage format) with every original
  message plus ``logocap_ros/msg/PersonPoseArray`` on ``/poses`` carrying the image headers
  and track ids.
* for a bag with a registered depth image + camera_info: 3D joints in all of the above (see
  :mod:`logocap_ros.tools.bag_depth`).

Tracking uses :class:`logocap_ros.core.tracking.PoseTracker` with its default parameters and
the frame times: the image stamps of a bag, the video position, or ``index / 10 fps`` for an
image folder.

Examples::

    logocap-offline walk.mp4 --weights w32 --vis
    logocap-offline photos/ --weights w32 --format csv --out photos_poses
    logocap-offline recording/ --weights w32 --topic /camera/image_raw --every 2
"""

import argparse
from dataclasses import asdict
import functools
from pathlib import Path
import sys
from typing import Callable, List, Optional, Tuple

from logocap_ros.core.tracking import PoseTracker
from logocap_ros.tools.bag_depth import add_depth_args, open_bag_depth, record_3d
from logocap_ros.tools.cli_common import add_model_args, build_estimator, run_reporting_errors
from logocap_ros.tools.fileutil import staging_dir
from logocap_ros.tools.pose_records import frame_record, write_poses
from logocap_ros.tools.progress import progress_bar
from logocap_ros.tools.sinks import DEFAULT_FPS, make_sink
from logocap_ros.tools.sources import detect_kind, ImageFolderSource, InputError, VideoSource


def open_source(path: Path, topic: Optional[str] = None):
    """Open the input as ``(kind, source)``; fails before any output is created.

    :raises InputError: missing, empty or unreadable input, or a missing bag topic.
    """
    kind = detect_kind(path)
    if kind == 'bag':
        from logocap_ros.tools.bag_io import BagSource
        return kind, BagSource(path, topic)
    if topic is not None:
        raise InputError('--topic only applies to rosbag2 input')
    return kind, (ImageFolderSource(path) if kind == 'images' else VideoSource(path))


def process(input_path: Path, estimator: Callable, out_dir: Path, *, fmt: str = 'json',
            vis: bool = False, topic: Optional[str] = None, every: int = 1,
            overwrite: bool = False, show_progress: bool = True,
            meta: Optional[dict] = None, opened: Optional[tuple] = None,
            track: bool = True, depth=None) -> Path:
    """Run ``estimator`` over an input and write all outputs to ``out_dir`` atomically.

    :param input_path: video file, image folder, or rosbag2 (folder or ``.mcap``/``.db3``).
    :param estimator: ``estimator(image_bgr, color='bgr') -> PoseResult``.
    :param out_dir: output folder (must not exist unless ``overwrite``).
    :param fmt: ``'json'`` or ``'csv'``.
    :param vis: also write annotated images/video.
    :param topic: bag image topic (default: ``/camera/image_raw`` or the only image topic).
    :param every: process every N-th frame (a bag keeps all messages regardless).
    :param opened: ``(kind, source)`` from :func:`open_source` if already opened (it is
        closed here either way).
    :param track: give people track ids across frames (else every ``track_id`` is -1).
    :param depth: a ``BagDepth`` for 3D (bag input only), or None for 2D.
    :return: ``out_dir``.
    :raises InputError: bad input; nothing is left in ``out_dir`` then.
    """
    kind, source = opened or open_source(input_path, topic)
    meta = dict(meta or {}, source=str(input_path), kind=kind, every=every)
    try:
        if every < 1:
            raise ValueError(f'--every must be >= 1, not {every}')
        if fmt not in ('json', 'csv'):
            raise ValueError(f"format must be 'json' or 'csv', not {fmt!r}")
        tracker = PoseTracker() if track else None
        meta['tracking'] = asdict(tracker.config) if tracker else False
        with staging_dir(out_dir, overwrite) as tmp:
            sink = make_sink(kind, tmp, source, every) if vis else None
            step = FrameStep(estimator, sink, tracker, getattr(source, 'fps', None))
            runner = functools.partial(_run_bag, depth=depth) if kind == 'bag' else _run_frames
            try:
                records = runner(source, step, tmp, every, show_progress, meta)
            finally:
                if sink is not None:
                    sink.close()
            if not records:
                raise InputError(f'no frames were processed from {input_path}')
            write_poses(tmp, records, fmt, meta)
    finally:
        close_source(source)
    return out_dir


def close_source(source) -> None:
    """Release a source from :func:`open_source` (bags hold an open reader)."""
    close = getattr(source, 'close', None)
    if close is not None:
        close()


class FrameStep:
    """The work on one frame: estimate, track, record, draw.

    :param estimator: ``estimator(image_bgr, color='bgr') -> PoseResult``.
    :param sink: where annotated frames go, or None.
    :param tracker: a :class:`PoseTracker`, or None for no track ids.
    :param fps: frame rate used for the time of frames without a stamp (image folders).
    """

    def __init__(self, estimator: Callable, sink, tracker: Optional[PoseTracker],
                 fps: Optional[float] = None) -> None:
        self.estimator, self.sink, self.tracker = estimator, sink, tracker
        self.fps = fps or DEFAULT_FPS
        self.records: List[dict] = []

    def __call__(self, frame) -> Tuple[object, Optional[object]]:
        """Process ``frame``; return ``(PoseResult, track ids or None)``."""
        result = self.estimator(frame.image, color='bgr')
        ids = None
        if self.tracker is not None:
            stamp_s = (frame.index / self.fps if frame.stamp_ns is None
                       else frame.stamp_ns * 1e-9)
            ids = self.tracker.update(result.keypoints, result.scores, result.boxes, stamp_s)
        self.records.append(frame_record(frame.index, frame.stamp_ns, frame.name, result,
                                         track_ids=ids))
        if self.sink is not None:
            self.sink.add(frame, result, ids)
        return result, ids


def _run_frames(source, step: FrameStep, tmp: Path, every: int, show_progress: bool,
                meta: dict) -> List[dict]:
    total = -(-len(source) // every) if len(source) else None
    with progress_bar(total=total, desc='frames', unit='img', enable=show_progress) as bar:
        for frame in source.frames(every):
            step(frame)
            bar.update(1)
    return step.records


def _run_bag(source, step: FrameStep, tmp: Path, every: int, show_progress: bool,
             meta: dict, depth=None) -> List[dict]:
    from logocap_ros.tools.bag_io import BagCopyWriter
    name = source.path.stem if source.path.is_file() else source.path.name
    meta.update(topic=source.topic, output_bag=f'{name}_poses', poses_topic='/poses')
    meta.update(depth.describe() if depth is not None else {})
    total = -(-len(source) // every)
    with BagCopyWriter(tmp / f'{name}_poses', source) as out, progress_bar(
            total=total, desc=source.topic, unit='img', enable=show_progress) as bar:
        for conn, timestamp, raw, frame in source.messages(every):
            out.write_raw(conn, timestamp, raw)
            if frame is not None:
                result, ids = step(frame)
                frame_3d = None
                if depth is not None:
                    frame_3d, why = depth.lift(frame.stamp_ns, frame.image.shape[:2],
                                               result.keypoints)
                    record_3d(step.records[-1], frame_3d, why)
                out.write_poses(timestamp, result, frame.header, ids, frame_3d)
                bar.update(1)
    return step.records


def default_out_dir(input_path: Path) -> Path:
    """Return ``./<input name>_logocap`` (in the current folder)."""
    name = input_path.stem if input_path.is_file() else input_path.resolve().name
    return Path.cwd() / f'{name}_logocap'


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='logocap-offline', description='Run LOGO-CAP over a video file, an image folder '
        'or a rosbag2 (sqlite3/mcap) and write poses, annotated media and a bag with /poses.')
    parser.add_argument('input', type=Path,
                        help='video file, image folder, one image file, or rosbag2')
    add_model_args(parser)
    parser.add_argument('--out', type=Path, default=None,
                        help='output folder (default: ./<input name>_logocap)')
    parser.add_argument('--format', choices=['json', 'csv'], default='json',
                        help='poses file format (default: json)')
    parser.add_argument('--vis', action='store_true', help='write annotated video/images')
    parser.add_argument('--topic', default=None,
                        help='bag image topic (default: /camera/image_raw, or the only '
                             'sensor_msgs/Image or CompressedImage topic)')
    parser.add_argument('--every', type=int, default=1, help='process every N-th frame')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    parser.add_argument('--no-track', dest='track', action='store_false',
                        help='no tracking: every track_id is -1 (default: stable ids across '
                             'frames)')
    add_depth_args(parser)
    return parser


def main(argv: Optional[List[str]] = None, estimator: Optional[Callable] = None) -> int:
    """Entry point of ``logocap-offline``; returns the exit status.

    :param argv: command line (default ``sys.argv[1:]``).
    :param estimator: use this callable instead of loading ``--weights`` (tests).
    """
    args = _parser().parse_args(argv)
    return run_reporting_errors(
        'logocap-offline', lambda: _run(args, estimator),
        (InputError, FileExistsError, FileNotFoundError, ValueError), 'no output written')


def _run(args: argparse.Namespace, estimator: Optional[Callable]) -> int:
    out = args.out or default_out_dir(args.input)
    meta = {'arch': args.arch, 'weights': str(args.weights), 'input_size': args.input_size,
            'flip_test': not args.no_flip}
    if out.exists() and not args.overwrite:
        raise FileExistsError(f'{out} already exists (pass --overwrite to replace it)')
    opened = open_source(args.input, args.topic)  # bad input fails before the model loads
    depth = None
    try:
        depth = open_bag_depth(*opened, args)
        estimator = estimator or build_estimator(args)
    except BaseException:
        close_source(opened[1])
        close_source(depth)
        raise
    try:
        process(args.input, estimator, out, fmt=args.format, vis=args.vis, topic=args.topic,
                every=args.every, overwrite=args.overwrite, show_progress=not args.quiet,
                meta=meta, opened=opened, track=args.track, depth=depth)
    finally:
        close_source(depth)
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
