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
  ``track_id`` per person (stable across frames; ``--no-track`` turns tracking off) and,
  with ``--smoothing``, the smoothed joints (as the node's ``poses``);
* with ``--vis``: ``annotated.mp4`` (video and bag input) or ``annotated/`` (image folder or
  a single image, which is processed as a folder of one image);
* for a bag: ``<bag name>_poses/``, a new rosbag2 (same storage format) with every original
  message plus ``logocap_ros/msg/PersonPoseArray`` on ``/poses`` carrying the image headers
  and track ids.
* for a bag with a registered depth image + camera_info: 3D joints in all of the above (see
  :mod:`logocap_ros.tools.bag_depth`).

Every frame goes through :class:`logocap_ros.frames.pipeline.FramePipeline`, the node's own
pipeline (pose threshold, tracking, smoothing, 3D), with the settings of the node parameters of
the same names (``--pose-threshold``, ``--smoothing``, ``--track-min-hits``, ...; see
:mod:`logocap_ros.tools.pipeline_args`), at the frame times: the image stamps of a bag, the
video position, or ``index / 10 fps`` for an image folder. A bag run with the node's
parameters gives the node's people, track ids and 3D, frame by frame.

Examples::

    logocap-offline walk.mp4 --weights w32 --vis
    logocap-offline photos/ --weights w32 --format csv --out photos_poses
    logocap-offline recording/ --weights w32 --topic /camera/image_raw --every 2
"""

import argparse
from dataclasses import asdict, replace
import functools
from glob import escape as glob_escape
from pathlib import Path
import sys
from typing import Any, Callable, List, Optional

from logocap_ros.frames.config import PipelineConfig, tracker_config
from logocap_ros.frames.pipeline import FramePipeline, FrameResult
from logocap_ros.frames.sources import detect_kind, ImageFolderSource, InputError, VideoSource
from logocap_ros.tools.bag_depth import add_depth_args, open_bag_depth, record_3d
from logocap_ros.tools.cli_common import add_model_args, build_estimator, run_reporting_errors
from logocap_ros.tools.fileutil import staging_dir
from logocap_ros.tools.pipeline_args import add_pipeline_args, config_from_args
from logocap_ros.tools.pose_records import frame_record, write_poses
from logocap_ros.tools.progress import progress_bar
from logocap_ros.tools.sinks import DEFAULT_FPS, make_sink


def open_source(path: Path, topic: Optional[str] = None, skip_bad: bool = False):
    """Open the input as ``(kind, source)``; fails before any output is created.

    :param skip_bad: leave unreadable images of an image folder out (listed afterwards).
    :raises InputError: missing, empty or unreadable input, or a missing bag topic.
    """
    kind = detect_kind(path)
    if kind == 'bag':
        from logocap_ros.tools.bag_io import BagSource
        return kind, BagSource(path, topic)
    if topic is not None:
        raise InputError('--topic only applies to rosbag2 input')
    return kind, (ImageFolderSource(path, skip_bad) if kind == 'images' else VideoSource(path))


def process(input_path: Path, estimator: Callable, out_dir: Path, *, fmt: str = 'json',
            vis: bool = False, topic: Optional[str] = None, every: int = 1,
            overwrite: bool = False, show_progress: bool = True,
            meta: Optional[dict] = None, opened: Optional[tuple] = None,
            track: bool = True, depth=None, config: Optional[PipelineConfig] = None) -> Path:
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
    :param track: give people track ids across frames (else every ``track_id`` is -1);
        overrides ``config.tracking``.
    :param depth: a ``BagDepth`` for 3D (bag input only), or None for 2D.
    :param config: the pipeline settings (default: the node parameters' defaults).
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
        config = replace(config or PipelineConfig(), tracking=track)
        meta['tracking'] = asdict(tracker_config(config)) if track else False
        meta['pipeline'] = asdict(config)
        with staging_dir(out_dir, overwrite) as tmp:
            sink = make_sink(kind, tmp, source, every) if vis else None
            step = FrameStep(FramePipeline(config, estimator), sink,
                             getattr(source, 'fps', None))
            runner = functools.partial(_run_bag, depth=depth) if kind == 'bag' else _run_frames
            try:
                records = runner(source, step, tmp, every, show_progress, meta)
            finally:
                if sink is not None:
                    sink.close()
            if not records:
                raise InputError(f'no frames were processed from {input_path}')
            skipped = getattr(source, 'skipped', None)
            if skipped:
                meta['skipped'] = [{'name': name, 'reason': why} for name, why in skipped]
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
    """The work on one frame: the frame pipeline, then record and draw its result.

    :param pipeline: the :class:`FramePipeline` (estimator, tracking, smoothing, 3D).
    :param sink: where annotated frames go, or None.
    :param fps: frame rate used for the time of frames without a stamp (image folders).
    """

    def __init__(self, pipeline: FramePipeline, sink, fps: Optional[float] = None) -> None:
        self.pipeline, self.sink = pipeline, sink
        self.fps = fps or DEFAULT_FPS
        self.records: List[dict] = []

    def __call__(self, frame, depth: Any = None) -> FrameResult:
        """Process ``frame`` (with a ``DepthImage`` or ``(None, reason)`` for 3D)."""
        stamp_ns = (round(frame.index * 1e9 / self.fps) if frame.stamp_ns is None
                    else frame.stamp_ns)
        depth_image, missing = depth if isinstance(depth, tuple) else (depth, '')
        out = self.pipeline(frame.image, stamp_ns, depth_image)
        record = frame_record(frame.index, frame.stamp_ns, frame.name, out.people,
                              track_ids=out.track_ids)
        if depth is not None:
            record_3d(record, out.points_3d, missing or out.depth_missing)
        self.records.append(record)
        if self.sink is not None:
            self.sink.add(frame, out.people, out.track_ids)
        return out


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
                done = step(frame, depth.depth_for(frame.stamp_ns) if depth else None)
                out.write_poses(timestamp, done.people, frame.header, done.track_ids,
                                done.points_3d)
                bar.update(1)
    return step.records


def default_out_dir(input_path: Path) -> Path:
    """Return ``./<input name>_logocap`` (in the current folder).

    The name of a file input is its stem (``walk.mp4`` -> ``walk_logocap``), or stem and
    suffix (``walk_avi_logocap``) when another file with that stem but another suffix lies
    beside it, so ``walk.mp4`` and ``walk.avi`` never share an output folder.
    """
    if not input_path.is_file():
        return Path.cwd() / f'{input_path.resolve().name}_logocap'
    name = input_path.stem
    siblings = [p for p in input_path.parent.glob(f'{glob_escape(name)}.*')
                if p.is_file() and p.stem == name and p.name != input_path.name]
    if siblings and input_path.suffix:
        name = f'{name}_{input_path.suffix[1:]}'
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
    parser.add_argument('--skip-bad', action='store_true',
                        help='image folders: leave unreadable (truncated, corrupt) images out '
                             'and list them, instead of stopping')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    add_pipeline_args(parser)
    add_depth_args(parser)
    return parser


def main(argv: Optional[List[str]] = None, estimator: Optional[Callable] = None) -> int:
    """Entry point of ``logocap-offline``; returns the exit status.

    :param argv: command line (default ``sys.argv[1:]``).
    :param estimator: use this callable instead of loading ``--weights`` (tests).
    """
    from logocap_ros.backends.base import BackendUnavailable  # TorchMissing among them
    args = _parser().parse_args(argv)
    return run_reporting_errors(
        'logocap-offline', lambda: _run(args, estimator),
        (InputError, FileExistsError, FileNotFoundError, ValueError, BackendUnavailable),
        'no output written')


def _run_meta(args: argparse.Namespace) -> dict:
    """Return what the run's outputs record of the model: from ``--model``'s file or options."""
    if getattr(args, 'model', None):
        from logocap_ros.backends.model_file import read_model_info
        info = read_model_info(args.model)
        return {'arch': info.arch, 'model': str(args.model), 'weights': info.weights,
                'input_size': args.input_size or info.input_size, 'flip_test': info.flip_test}
    return {'arch': args.arch, 'weights': str(args.weights), 'input_size': args.input_size,
            'flip_test': not args.no_flip}


def _run(args: argparse.Namespace, estimator: Optional[Callable]) -> int:
    out = args.out or default_out_dir(args.input)
    meta = _run_meta(args)
    config = config_from_args(args)
    if out.exists() and not args.overwrite:
        raise FileExistsError(f'{out} already exists (pass --overwrite to replace it)')
    opened = open_source(args.input, args.topic, args.skip_bad)  # fails before the model
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
                meta=meta, opened=opened, track=config.tracking, depth=depth, config=config)
    finally:
        close_source(depth)
    skipped = getattr(opened[1], 'skipped', None)
    if skipped:
        print(f'logocap-offline: skipped {len(skipped)} unreadable image(s): '
              + '; '.join(why for _, why in skipped), file=sys.stderr)
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
