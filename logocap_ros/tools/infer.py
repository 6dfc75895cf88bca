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

"""``logocap-infer``: LOGO-CAP on image files, COCO keypoint results JSON out.

Example::

    logocap-infer --arch w32 --weights w32 --out results.json --vis out/ a.jpg b.png

The JSON is a list of ``{"file_name", "image_id", "category_id": 1, "keypoints": [x, y,
score] * 17, "score", "bbox"}`` as the official ``tools/test.py`` writes it. ``image_id`` is
the integer in the file name (``000000397133.jpg`` -> 397133) when every image has one and
they all differ; otherwise every image gets its 0-based position on the command line, so ids
are always unique within one output. ``--weights random`` runs untrained demo weights; their
``--vis`` drawings carry a banner saying so.
"""

import argparse
import json
import os
from pathlib import Path
import re
import sys
from typing import Callable, List, Optional, Sequence, Tuple

from logocap_ros.tools.cli_common import (add_model_args, build_estimator, run_reporting_errors,
                                          untrained_source)
from logocap_ros.tools.coco import coco_results
from logocap_ros.tools.fileutil import atomic_write_text
import numpy as np

PROG = 'logocap-infer'


class InputError(ValueError):
    """An input image is missing or cannot be decoded."""


def image_ids(paths: Sequence[Path]) -> List[int]:
    """Return one unique COCO ``image_id`` per path (see the module docstring for the rule).

    :param paths: the images in command-line order.
    :return: the last number in each file name's stem when all exist and differ, else
        ``0 .. len(paths) - 1``.
    """
    numbers = [re.findall(r'\d+', Path(path).stem) for path in paths]
    ids = [int(found[-1]) for found in numbers if found]
    if len(ids) == len(paths) and len(set(ids)) == len(ids):
        return ids
    return list(range(len(paths)))


def drawing_names(paths: Sequence[Path], ids: Sequence[int]) -> List[str]:
    """Return the ``--vis`` file name of each image.

    ``<stem>_poses.png``; when two images share a stem, ``<id>_<stem>_poses.png`` for all.
    """
    stems = [Path(path).stem for path in paths]
    if len(set(stems)) == len(stems):
        return [f'{stem}_poses.png' for stem in stems]
    return [f'{image_id}_{stem}_poses.png' for image_id, stem in zip(ids, stems)]


def read_images(paths: Sequence[Path]) -> List[Tuple[Path, np.ndarray]]:
    """Decode every image (BGR uint8) before any model work, failing on the first bad one.

    :raises InputError: naming the file and what is wrong with it.
    """
    import cv2
    images = []
    for path in paths:
        if path.is_dir():
            raise InputError(f'{path} is a folder; pass image files ({path}/*.jpg), or run '
                             f'logocap-offline {path} for a whole folder')
        if not path.is_file():
            raise InputError(f'image not found: {path}')
        data = np.fromfile(str(path), dtype=np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise InputError(f'not a readable image (JPEG/PNG/BMP/...): {path}')
        images.append((path, image))
    return images


def run(estimator: Callable, images: Sequence[Tuple[Path, np.ndarray]],
        vis_dir: Optional[Path] = None, banner: Optional[str] = None) -> List[dict]:
    """Estimate poses on ``images`` and return the COCO records (``file_name`` added).

    :param estimator: ``estimator(image_bgr, color='bgr') -> PoseResult``.
    :param vis_dir: when given, write ``<stem>_poses.png`` with the skeletons drawn there.
    :param banner: a line written across the top of every drawing (untrained weights).
    """
    paths = [path for path, _ in images]
    ids = image_ids(paths)
    names = drawing_names(paths, ids)
    records = []
    for (path, image), image_id, name in zip(images, ids, names):
        result = estimator(image, color='bgr')
        for rec in coco_results(image_id, result):
            records.append({'file_name': path.name, **rec})
        if vis_dir is not None:
            _write_vis(vis_dir / name, image, result, banner)
        print(f'{path}: image_id {image_id}, {len(result)} people in '
              f'{result.timings.get("total", 0.0):.2f} s')
    return records


def make_output_folder(folder: Path, option: str) -> None:
    """Create ``folder`` (and its parents) before any model work.

    :raises InputError: it cannot be created or written, naming the option and the reason.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f'cannot create the {option} folder {folder}: '
                         f'{exc.strerror or exc}; pass a writable folder') from None
    if not os.access(folder, os.W_OK):
        raise InputError(f'the {option} folder {folder} is not writable; pass a writable folder')


def _write_vis(out: Path, image: np.ndarray, result, banner: Optional[str] = None) -> None:
    import cv2
    from logocap_ros.frames.draw import draw_banner, draw_poses
    from logocap_ros.tools.fileutil import atomic_write_bytes
    drawn = draw_poses(image, result, draw_scores=True)
    ok, data = cv2.imencode('.png', draw_banner(drawn, banner) if banner else drawn)
    if not ok:
        raise OSError(f'cannot encode {out}')
    atomic_write_bytes(out, data.tobytes())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0])
    add_model_args(parser)
    parser.add_argument('--out', type=Path, default=None,
                        help='COCO keypoint results JSON to write (--out and/or --vis)')
    parser.add_argument('--vis', type=Path, default=None,
                        help='write images with the skeletons drawn into this folder')
    parser.add_argument('images', nargs='+', type=Path, metavar='IMAGE')
    return parser


def main(argv: Optional[List[str]] = None, estimator: Optional[Callable] = None) -> int:
    """Entry point of ``logocap-infer``; returns the exit status.

    :param estimator: use this callable instead of loading ``--weights`` (tests).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.out is None and args.vis is None:
        parser.error('nothing to write: pass --out results.json and/or --vis <folder>')
    return run_reporting_errors(PROG, lambda: _run(args, estimator),
                                (InputError, FileNotFoundError, ValueError, OSError,
                                 RuntimeError), 'no results written')


def _run(args: argparse.Namespace, estimator: Optional[Callable]) -> int:
    images = read_images(args.images)
    if args.out is not None and not args.out.parent.resolve().is_dir():
        raise InputError(f'output folder does not exist: {args.out.parent}')
    if args.vis is not None:
        make_output_folder(args.vis, '--vis')
    from logocap_ros.frames.draw import UNTRAINED_BANNER
    untrained = untrained_source(args)
    estimator = estimator or build_estimator(args)
    records = run(estimator, images, args.vis, UNTRAINED_BANNER if untrained else None)
    written = []
    if args.out is not None:
        atomic_write_text(args.out, json.dumps(records) + os.linesep)
        written.append(f'written to {args.out}')
    if args.vis is not None:
        written.append(f'drawings in {args.vis}')
    print(f'{len(records)} poses from {len(images)} images; ' + '; '.join(written))
    return 0


if __name__ == '__main__':
    sys.exit(main())
