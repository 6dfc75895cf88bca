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


"""Per-frame pose records and their JSON/CSV files (written by ``logocap-offline``).

JSON layout::

    {"source": ..., "kind": "video|images|bag", "keypoint_names": [...17],
     "skeleton": [[a, b], ...], "model": {...},
     "tracking": {"min_hits": 3, ...} or false,
     "frames": [{"frame": 0, "stamp_ns": 0, "name": "frame_000000",
                 "people": [{"person": 0, "track_id": 4, "score": 0.8,
                             "bbox": [x0, y0, x1, y1],
                             "keypoints": [[x, y, score], ... 17]}]}]}

CSV: one row per person: ``frame, stamp_ns, name, person, track_id, score, bbox_x_min ...
bbox_y_max`` then ``<joint>_x, <joint>_y, <joint>_score`` for the 17 joints in COCO order.
``stamp_ns`` is empty for image folders. Pixels are original-image pixels. ``person`` is the
index in the model output of that frame; ``track_id`` is the same person's id across frames
(-1 while its track is tentative, i.e. in its first frames, and always with ``--no-track``).

3D (bags with depth, :mod:`logocap_ros.tools.bag_depth`): JSON people get ``keypoints_3d``
and frames ``depth_frame_id``/``depth_stamp_ns`` or ``depth_missing``; CSV rows get the
:data:`~logocap_ros.tools.bag_depth.CSV_COLUMNS_3D` columns last, after all the columns above
(only when some frame has 3D).

Other per-person fields can be added with ``frame_record(..., extra={name: values})``: they
appear in the JSON person objects (values must be JSON-ready); the CSV ignores them.
"""

import csv
import io
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from logocap_ros.core.keypoints import KEYPOINT_NAMES, SKELETON_EDGES
from logocap_ros.tools.bag_depth import csv_cells_3d, CSV_COLUMNS_3D
from logocap_ros.tools.fileutil import atomic_write_text

CSV_COLUMNS: List[str] = (
    ['frame', 'stamp_ns', 'name', 'person', 'track_id', 'score',
     'bbox_x_min', 'bbox_y_min', 'bbox_x_max', 'bbox_y_max']
    + [f'{joint}_{field}' for joint in KEYPOINT_NAMES for field in ('x', 'y', 'score')])


def frame_record(index: int, stamp_ns: Optional[int], name: str, result,
                 track_ids: Optional[Sequence[int]] = None,
                 extra: Optional[Dict[str, Sequence]] = None) -> dict:
    """Return the JSON-ready record of one processed frame.

    :param index: frame index in the source.
    :param stamp_ns: frame time in ns, or None.
    :param name: frame or file name.
    :param result: ``PoseResult`` (x, y in original-image pixels).
    :param track_ids: ``(N,)`` track ids, or None (tracking off: every ``track_id`` is -1).
    :param extra: more per-person fields, ``{field: N JSON-ready values}``.
    """
    people = []
    for person, (kps, score, box) in enumerate(zip(result.keypoints, result.scores,
                                                   result.boxes)):
        record = {'person': person,
                  'track_id': -1 if track_ids is None else int(track_ids[person]),
                  'score': float(score), 'bbox': [float(v) for v in box],
                  'keypoints': [[float(x), float(y), float(s)] for x, y, s in kps]}
        record.update((key, values[person]) for key, values in (extra or {}).items())
        people.append(record)
    return {'frame': int(index), 'stamp_ns': None if stamp_ns is None else int(stamp_ns),
            'name': name, 'people': people}


def poses_json(records: List[dict], meta: Dict) -> str:
    """Serialise records and metadata to the JSON layout above."""
    doc = dict(meta)
    doc['keypoint_names'] = list(KEYPOINT_NAMES)
    doc['skeleton'] = [list(edge) for edge in SKELETON_EDGES]
    doc['frames'] = records
    return json.dumps(doc, indent=1) + '\n'


def poses_csv(records: List[dict]) -> str:
    """Serialise records to CSV text (header + one row per person)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    with_3d = any('keypoints_3d' in p for rec in records for p in rec['people'])
    writer.writerow(CSV_COLUMNS + (CSV_COLUMNS_3D if with_3d else []))
    for rec in records:
        stamp = '' if rec['stamp_ns'] is None else rec['stamp_ns']
        for person in rec['people']:
            row = [rec['frame'], stamp, rec['name'], person['person'], person['track_id'],
                   f'{person["score"]:.6g}']
            row += [f'{v:.3f}' for v in person['bbox']]
            for x, y, s in person['keypoints']:
                row += [f'{x:.3f}', f'{y:.3f}', f'{s:.6g}']
            writer.writerow(row + (csv_cells_3d(person) if with_3d else []))
    return buf.getvalue()


def write_poses(folder: Path, records: List[dict], fmt: str, meta: Dict) -> Path:
    """Write ``poses.json`` or ``poses.csv`` into ``folder``; return the file path."""
    if fmt == 'json':
        return atomic_write_text(folder / 'poses.json', poses_json(records, meta))
    if fmt == 'csv':
        return atomic_write_text(folder / 'poses.csv', poses_csv(records))
    raise ValueError(f"format must be 'json' or 'csv', not {fmt!r}")
