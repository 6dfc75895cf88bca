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


"""``logocap-eval``: COCO keypoint AP of LOGO-CAP on COCO val2017 or OCHuman.

Mirrors the official ``tools/test.py``: every image of the split (also those without people),
one image at a time, single scale, flip test on by default; results are written as a COCO
keypoint results JSON and scored with pycocotools ``COCOeval(..., 'keypoints')`` restricted to
the evaluated image ids. Example::

    logocap-eval --dataset coco --root data/coco --arch w32 --weights w32 --out w32_val.json
"""

import argparse
import json
import os
from pathlib import Path
import sys
import time
from typing import Callable, List, Optional, Sequence

from logocap_ros.tools.cli_common import add_model_args, build_estimator, run_reporting_errors
from logocap_ros.tools.coco import (coco_results, dataset_paths, DatasetError, evaluate_results,
                                    format_stats, LAYOUTS, load_coco)
from logocap_ros.tools.fileutil import atomic_write_text
from logocap_ros.tools.progress import progress_bar


def run_on_images(estimator: Callable, coco, img_ids: Sequence[int], image_dir: Path,
                  show_progress: bool = True) -> List[dict]:
    """Run ``estimator`` on each image and collect COCO keypoint results.

    :param estimator: callable ``estimator(image_bgr, color='bgr') -> PoseResult``.
    :param coco: loaded pycocotools ``COCO`` ground truth (for the file names).
    :param img_ids: image ids to process, in order.
    :param image_dir: folder holding the images' ``file_name``.
    :raises DatasetError: an image is missing or unreadable.
    """
    import cv2
    results: List[dict] = []
    with progress_bar(total=len(img_ids), desc='evaluating', unit='img',
                      enable=show_progress) as bar:
        for img_id in img_ids:
            path = image_dir / coco.imgs[img_id]['file_name']
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise DatasetError(f'cannot read image {path} (image id {img_id})')
            results.extend(coco_results(img_id, estimator(image, color='bgr')))
            bar.update(1)
    return results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='logocap-eval', description='COCO keypoint AP of LOGO-CAP (pycocotools), as the '
        'official tools/test.py computes it.')
    parser.add_argument('--dataset', choices=sorted(LAYOUTS), default='coco')
    parser.add_argument('--root', type=Path, help='dataset folder (see README for the layout)')
    parser.add_argument('--split', help='coco: val2017 (default) | train2017; '
                                        'ochuman: val (default) | test')
    parser.add_argument('--ann', type=Path, help='annotation JSON (overrides --root layout)')
    parser.add_argument('--images', type=Path, help='image folder (overrides --root layout)')
    add_model_args(parser)
    parser.add_argument('--limit', type=int, default=None, help='only the first N images')
    parser.add_argument('--out', type=Path, required=True, help='results JSON to write')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    return parser


def main(argv: Optional[List[str]] = None, estimator: Optional[Callable] = None) -> int:
    """Entry point of ``logocap-eval``; returns the exit status.

    :param argv: command line (default ``sys.argv[1:]``).
    :param estimator: use this callable instead of loading ``--weights`` (tests).
    """
    args = _parser().parse_args(argv)
    if args.root is None and (args.ann is None or args.images is None):
        print('logocap-eval: error: pass --root, or both --ann and --images', file=sys.stderr)
        return 2
    return run_reporting_errors('logocap-eval', lambda: _run(args, estimator),
                                (DatasetError, FileNotFoundError, ValueError, OSError),
                                'no results written')


def _run(args: argparse.Namespace, estimator: Optional[Callable]) -> int:
    ann_file, image_dir = dataset_paths(args.dataset, args.root, args.ann, args.images,
                                        args.split)
    if not args.out.parent.is_dir():
        raise DatasetError(f'output folder does not exist: {args.out.parent}')
    coco = load_coco(ann_file)
    img_ids = sorted(coco.getImgIds())[:args.limit] if args.limit else sorted(coco.getImgIds())
    if not img_ids:
        raise DatasetError(f'{ann_file} lists no images')
    estimator = estimator or build_estimator(args)
    start = time.monotonic()
    results = run_on_images(estimator, coco, img_ids, image_dir, not args.quiet)
    elapsed = time.monotonic() - start
    atomic_write_text(args.out, json.dumps(results) + os.linesep)
    print(f'{len(img_ids)} images, {len(results)} poses in {elapsed:.1f} s '
          f'({len(img_ids) / max(elapsed, 1e-9):.2f} img/s); results: {args.out}')
    stats = evaluate_results(coco, results, img_ids)
    print(format_stats(stats))
    keys = ('AP', 'AP50', 'AP75', 'APM', 'APL')
    print('| ' + ' | '.join(keys) + ' |')
    print('| ' + ' | '.join(f'{stats[k]:.3f}' for k in keys) + ' |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
