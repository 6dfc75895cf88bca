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
score] * 17, "score", "bbox"}`` as the official ``tools/test.py`` writes it; ``image_id`` is
the integer in the file name when there is one (``000000397133.jpg`` -> 397133), else the
image's index on the command line.
"""

import argparse
import json
import os
from pathlib import Path
import re
import sys
from typing import Callable, List, Optional, Sequence, Tuple

from logocap_ros.tools.cli_common import add_model_args, build_estimator, run_reporting_errors
from logocap_ros.tools.coco import coco_results
from logocap_ros.tools.fileutil import atomic_write_text
import numpy as np

PROG = 'logocap-infer'


class InputError(ValueError):
    """An input image is missing or cannot be decoded."""


def image_id_for(path: Path, index: int) -> int:
    """Return the last run of digits in the file name's stem, else ``index``."""
    digits = re.findall(r'\d+', path.stem)
    return int(digits[-1]) if digits else int(index)


def read_images(paths: Sequence[Path]) -> List[Tuple[Path, np.ndarray]]:
    """Decode every image (BGR uint8) before any model work, failing on the first bad one.

    :raises InputError: naming the file and what is wrong with it.
    """
    import cv2
    images = []
    for path in paths:
        if not path.is_file():
            raise InputError(f'image not found: {path}')
        data = np.fromfile(str(path), dtype=np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise InputError(f'not a readable image (JPEG/PNG/BMP/...): {path}')
        images.append((path, image))
    return images


def run(estimator: Callable, images: Sequence[Tuple[Path, np.ndarray]],
        vis_dir: Optional[Path] = None) -> List[dict]:
    """Estimate poses on ``images`` and return the COCO records (``file_name`` added).

    :param estimator: ``estimator(image_bgr, color='bgr') -> PoseResult``.
    :param vis_dir: when given, write ``<stem>_poses.png`` with the skeletons drawn there.
    """
    records = []
    for index, (path, image) in enumerate(images):
        result = estimator(image, color='bgr')
        for rec in coco_results(image_id_for(path, index), result):
            records.append({'file_name': path.name, **rec})
        if vis_dir is not None:
            _write_vis(vis_dir, path, image, result)
        print(f'{path}: {len(result)} people in {result.timings.get("total", 0.0):.2f} s')
    return records


def _write_vis(vis_dir: Path, path: Path, image: np.ndarray, result) -> None:
    import cv2
    from logocap_ros.tools.draw import draw_poses
    vis_dir.mkdir(parents=True, exist_ok=True)
    out = vis_dir / f'{path.stem}_poses.png'
    if not cv2.imwrite(str(out), draw_poses(image, result, draw_scores=True)):
        raise OSError(f'cannot write {out}')


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0])
    add_model_args(parser)
    parser.add_argument('--out', type=Path, required=True,
                        help='COCO keypoint results JSON to write')
    parser.add_argument('--vis', type=Path, default=None,
                        help='also write images with the skeletons drawn into this folder')
    parser.add_argument('images', nargs='+', type=Path, metavar='IMAGE')
    return parser


def main(argv: Optional[List[str]] = None, estimator: Optional[Callable] = None) -> int:
    """Entry point of ``logocap-infer``; returns the exit status.

    :param estimator: use this callable instead of loading ``--weights`` (tests).
    """
    args = _parser().parse_args(argv)
    return run_reporting_errors(PROG, lambda: _run(args, estimator),
                                (InputError, FileNotFoundError, ValueError, OSError,
                                 RuntimeError), 'no results written')


def _run(args: argparse.Namespace, estimator: Optional[Callable]) -> int:
    images = read_images(args.images)
    if not args.out.parent.resolve().is_dir():
        raise InputError(f'output folder does not exist: {args.out.parent}')
    estimator = estimator or build_estimator(args)
    records = run(estimator, images, args.vis)
    atomic_write_text(args.out, json.dumps(records) + os.linesep)
    print(f'{len(records)} poses from {len(images)} images written to {args.out}'
          + (f'; drawings in {args.vis}' if args.vis else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
