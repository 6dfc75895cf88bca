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


"""COCO keypoint results and evaluation helpers (pure functions, no model, no ROS).

:func:`coco_results` turns one :class:`~logocap_ros.core.result.PoseResult` into COCO result
entries exactly as the official LOGO-CAP ``tools/test.py`` writes them; :func:`evaluate_results`
scores a list of such entries with pycocotools' ``COCOeval(..., 'keypoints')``.

Dataset layouts understood by :func:`dataset_paths` (``--root`` is the folder shown)::

    coco/                                   (official LOGO-CAP layout: data/coco)
      annotations/person_keypoints_val2017.json
      images/val2017/000000000139.jpg ...   (or val2017/ directly under coco/)
    OCHuman/                                (data/OCHuman)
      annotations/ochuman_coco_format_val_range_0.00_1.00.json   (--split val)
      annotations/ochuman_coco_format_test_range_0.00_1.00.json  (--split test)
      images/000001.jpg ...
"""

import contextlib
import copy
import io
import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

#: The 10 numbers of ``COCOeval.summarize()`` for keypoints, in its order.
STAT_NAMES: Tuple[str, ...] = ('AP', 'AP50', 'AP75', 'APM', 'APL',
                               'AR', 'AR50', 'AR75', 'ARM', 'ARL')
_STAT_LABELS: Tuple[str, ...] = (
    'Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ]',
    'Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets= 20 ]',
    'Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets= 20 ]',
    'Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets= 20 ]',
    'Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets= 20 ]',
    'Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ]',
    'Average Recall     (AR) @[ IoU=0.50      | area=   all | maxDets= 20 ]',
    'Average Recall     (AR) @[ IoU=0.75      | area=   all | maxDets= 20 ]',
    'Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets= 20 ]',
    'Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets= 20 ]',
)

#: ``{dataset: {split: (annotation file, image folder candidates)}}`` relative to ``--root``.
LAYOUTS: Dict[str, Dict[str, Tuple[str, Tuple[str, ...]]]] = {
    'coco': {
        'val2017': ('annotations/person_keypoints_val2017.json', ('images/val2017', 'val2017')),
        'train2017': ('annotations/person_keypoints_train2017.json',
                      ('images/train2017', 'train2017')),
    },
    'ochuman': {
        'val': ('annotations/ochuman_coco_format_val_range_0.00_1.00.json', ('images',)),
        'test': ('annotations/ochuman_coco_format_test_range_0.00_1.00.json', ('images',)),
    },
}
DEFAULT_SPLITS = {'coco': 'val2017', 'ochuman': 'val'}


class DatasetError(RuntimeError):
    """The dataset folder, annotation file or an image is missing or unreadable."""


def coco_results(image_id: int, result, scores: Optional[np.ndarray] = None,
                 category_id: int = 1) -> List[dict]:
    """Build the COCO keypoint result entries of one image.

    :param image_id: COCO ``image_id``.
    :param result: a ``PoseResult`` (uses ``.keypoints`` and ``.scores``), or an
        ``(N, 17, 3)`` array of x, y (original-image px) and joint score.
    :param scores: ``(N,)`` pose scores, required when ``result`` is an array.
    :param category_id: COCO category (1 = person).
    :return: one dict per person: ``image_id``, ``category_id``, ``keypoints`` (51 floats,
        x, y, score per joint - the third value is the joint score, as LOGO-CAP writes it),
        ``score`` (pose score) and ``bbox`` (keypoint extent ``[x, y, w, h]``).
    """
    if scores is None:
        keypoints, scores = result.keypoints, result.scores
    else:
        keypoints = result
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(-1, 17, 3)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(keypoints):
        raise ValueError(f'{len(keypoints)} poses but {len(scores)} scores')
    entries = []
    for pose, score in zip(keypoints, scores):
        lo, hi = pose[:, :2].min(axis=0), pose[:, :2].max(axis=0)
        entries.append({
            'image_id': int(image_id), 'category_id': int(category_id),
            'keypoints': [float(v) for v in pose.reshape(-1)], 'score': float(score),
            'bbox': [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])],
        })
    return entries


def load_coco(ann_file: Union[str, os.PathLike], quiet: bool = True):
    """Load a COCO annotation file with pycocotools (its chatter silenced when ``quiet``).

    :raises DatasetError: file missing or not a COCO annotation file.
    """
    from pycocotools.coco import COCO
    path = Path(ann_file)
    if not path.is_file():
        raise DatasetError(f'annotation file not found: {path}')
    sink = io.StringIO() if quiet else None
    try:
        with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
            return COCO(str(path))
    except (ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f'{path} is not a COCO annotation file: {exc}') from None


def evaluate_results(ann_file, results: Sequence[dict], img_ids: Optional[Iterable[int]] = None,
                     verbose: bool = False) -> Dict[str, float]:
    """Score keypoint results with pycocotools ``COCOeval(gt, dt, 'keypoints')``.

    :param ann_file: annotation file path, or an already loaded ``COCO`` object.
    :param results: COCO keypoint result dicts (see :func:`coco_results`); not modified.
    :param img_ids: the evaluated image ids (``params.imgIds``); default: all GT images.
    :param verbose: let pycocotools print its progress and summary.
    :return: ``{name: value}`` for :data:`STAT_NAMES` (-1 where COCO has no ground truth
        in an area range; all 0 when ``results`` is empty).
    """
    from pycocotools.cocoeval import COCOeval
    gt = ann_file if hasattr(ann_file, 'loadRes') else load_coco(ann_file, quiet=not verbose)
    ids = sorted(int(i) for i in (img_ids if img_ids is not None else gt.getImgIds()))
    if not results:
        return dict.fromkeys(STAT_NAMES, 0.0)
    sink = None if verbose else io.StringIO()
    with contextlib.redirect_stdout(sink) if sink else contextlib.nullcontext():
        try:
            dt = gt.loadRes(copy.deepcopy(list(results)))
        except AssertionError:
            raise ValueError('results refer to images that are not in the annotation '
                             'file') from None
        evaluator = COCOeval(gt, dt, 'keypoints')
        evaluator.params.imgIds = ids
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(STAT_NAMES, evaluator.stats)}


def format_stats(stats: Dict[str, float]) -> str:
    """Return the standard 10-line COCO keypoint table for ``stats``."""
    return '\n'.join(f' {label} = {stats[name]:.3f}'
                     for name, label in zip(STAT_NAMES, _STAT_LABELS))


def dataset_paths(dataset: str, root: Optional[os.PathLike], ann: Optional[os.PathLike] = None,
                  images: Optional[os.PathLike] = None,
                  split: Optional[str] = None) -> Tuple[Path, Path]:
    """Find the annotation file and image folder of a dataset.

    :param dataset: ``'coco'`` or ``'ochuman'``.
    :param root: dataset folder (layouts in the module docstring); may be None when both
        ``ann`` and ``images`` are given.
    :param ann: explicit annotation file (overrides the layout).
    :param images: explicit image folder (overrides the layout).
    :param split: ``val2017``/``train2017`` (COCO) or ``val``/``test`` (OCHuman).
    :return: ``(annotation_file, image_folder)``, both existing.
    :raises DatasetError: something is missing; the message names what and where.
    """
    if dataset not in LAYOUTS:
        raise DatasetError(f'unknown dataset {dataset!r}; expected one of {sorted(LAYOUTS)}')
    split = split or DEFAULT_SPLITS[dataset]
    if split not in LAYOUTS[dataset]:
        raise DatasetError(f'unknown {dataset} split {split!r}; expected one of '
                           f'{sorted(LAYOUTS[dataset])}')
    rel_ann, rel_images = LAYOUTS[dataset][split]
    if root is not None and not Path(root).is_dir() and (ann is None or images is None):
        raise DatasetError(f'dataset folder not found: {root}')
    ann_path = Path(ann) if ann else Path(root or '.') / rel_ann
    if not ann_path.is_file():
        raise DatasetError(f'annotation file not found: {ann_path} (expected layout: '
                           f'<root>/{rel_ann}; or pass --ann)')
    if images:
        image_dir = Path(images)
    else:
        candidates = [Path(root or '.') / rel for rel in rel_images]
        image_dir = next((c for c in candidates if c.is_dir()), candidates[0])
    if not image_dir.is_dir():
        raise DatasetError(f'image folder not found: {image_dir} (expected layout: '
                           f'<root>/{rel_images[0]}; or pass --images)')
    return ann_path, image_dir
