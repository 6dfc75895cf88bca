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

"""Tracking + smoothing cost per frame, and MOT scores against a box-IoU baseline.

Part 1 times ``PoseTracker.update`` and ``OneEuroBank.smooth_many`` + ``prune`` (what the
node runs per image with ``smoothing:=true``) on synthetic crowds of 1, 10 and 30 walking
people (noise, dropped joints, missed people; 1920x1080, 30 fps), per frame.

Part 2 runs the synthetic scenes of ``test/tracking_eval.py`` with the keypoint
tracker, two ablations of it and the box-IoU baseline and prints identity switches,
fragmentations and IDF1 (``motmetrics``), summed over seeds.

    python benchmarks/bench_tracking.py [--frames 900] [--seeds 3]
"""

import argparse
import copy
import datetime
import os
import platform
import sys
import time
from typing import Dict, List, Optional

from logocap_ros.core.smoothing import OneEuroBank
from logocap_ros.core.tracking import PoseTracker, TrackerConfig
import numpy as np
import scipy
from bench_common import cpu_model as _cpu_model  # noqa: I100 (benchmarks/)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'test'))
from tracking_eval import (crowd_scene, evaluate, IoUTracker, make_scene,  # noqa: E402,I100
                           SCENES)


def time_frames(count: int, frames: int, repeats: int) -> Dict[str, np.ndarray]:
    """Per-frame seconds of tracking, smoothing and both, for crowds of ``count`` people.

    Crowds are 4 s scenes (people stay in view), a fresh tracker per scene, the first 10
    frames of each untimed. Each frame is run ``repeats`` times on copies of the state and
    the fastest run counts, which removes most scheduler noise of a shared machine.
    """
    times: Dict[str, List[float]] = {'tracking': [], 'smoothing': [], 'total': []}
    people: List[int] = []
    seed = 0
    while len(people) < frames:
        scene = crowd_scene(count, seed=1000 * count + seed)
        seed += 1
        tracker, bank = PoseTracker(), OneEuroBank()
        for k, frame in enumerate(scene.frames):
            best = [np.inf, np.inf]
            for _ in range(repeats):
                trial_tracker, trial_bank = copy.deepcopy((tracker, bank))
                spent = _one_frame(trial_tracker, trial_bank, frame)
                best = [min(b, t) for b, t in zip(best, spent)]
            tracker, bank = trial_tracker, trial_bank
            if k >= 10 and len(people) < frames:
                times['tracking'].append(best[0])
                times['smoothing'].append(best[1])
                times['total'].append(best[0] + best[1])
                people.append(len(frame.person_ids))
    out = {name: np.array(v) for name, v in times.items()}
    out['people'] = np.array(people)
    return out


def _one_frame(tracker: PoseTracker, bank: OneEuroBank, frame) -> tuple:
    """Track and smooth one frame; return (tracking seconds, smoothing seconds)."""
    valid = frame.keypoints[..., 2] >= 0.1
    t0 = time.perf_counter()
    ids = tracker.update(frame.keypoints, frame.scores, frame.boxes, frame.stamp_s)
    t1 = time.perf_counter()
    bank.smooth_many(ids, frame.keypoints[..., :2], frame.stamp_s, valid)
    bank.prune(tracker.live_ids)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def timing_table(counts, frames: int, repeats: int) -> str:
    """Markdown table of median / p95 per step in ms."""
    lines = ['| people in scene (mean detected) | tracking [ms] | smoothing [ms] | '
             'tracking + smoothing [ms] |', '| --- | --- | --- | --- |']
    for count in counts:
        t = time_frames(count, frames, repeats)
        cells = ' | '.join(f'{np.median(t[k]) * 1e3:.3f} / {np.percentile(t[k], 95) * 1e3:.3f}'
                           for k in ('tracking', 'smoothing', 'total'))
        lines.append(f'| {count} ({t["people"].mean():.1f}) | {cells} |')
        print(f'{count} people done', file=sys.stderr, flush=True)
    return '\n'.join(lines)


TRACKERS = {
    'keypoint (default)': lambda: PoseTracker(),
    'no OKS (IoU + motion)': lambda: PoseTracker(TrackerConfig(oks_weight=0.0)),
    'no motion (OKS + IoU)': lambda: PoseTracker(TrackerConfig(velocity_gain=0.0)),
    'box IoU baseline': lambda: IoUTracker(),
}


def mot_table(seeds: int) -> str:
    """Markdown table: per scene and tracker, ID switches / fragmentations / mean IDF1."""
    head = '| scene | ' + ' | '.join(TRACKERS) + ' |'
    lines = [head, '|' + ' --- |' * (len(TRACKERS) + 1)]
    for name in SCENES:
        cells = []
        for make in TRACKERS.values():
            sums = {'num_switches': 0.0, 'num_fragmentations': 0.0, 'idf1': 0.0}
            for seed in range(seeds):
                scores = evaluate(make(), make_scene(name, seed), metrics=list(sums))
                for key in sums:
                    sums[key] += scores[key]
            cells.append(f'{sums["num_switches"]:.0f} / {sums["num_fragmentations"]:.0f} / '
                         f'{sums["idf1"] / seeds:.3f}')
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
        print(f'{name} done', file=sys.stderr, flush=True)
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Run both parts and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--frames', type=int, default=900, help='timed frames per crowd')
    parser.add_argument('--repeats', type=int, default=5,
                        help='runs per frame on copies of the state; the fastest counts '
                             '(1 = plain single runs)')
    parser.add_argument('--people', type=int, nargs='+', default=[1, 10, 30])
    parser.add_argument('--seeds', type=int, default=3, help='seeds per MOT scene')
    parser.add_argument('--no-mot', action='store_true', help='timing only')
    args = parser.parse_args(argv)
    print(f'# {datetime.date.today()} | cpu: {_cpu_model()} | cores: {os.cpu_count()} | '
          f'python {platform.python_version()} | numpy {np.__version__} | '
          f'scipy {scipy.__version__}')
    print(f'# per frame over {args.frames} frames (4 s scenes, first 10 frames untimed), '
          f'fastest of {args.repeats} runs per frame; median / p95')
    print(timing_table(args.people, args.frames, args.repeats))
    if not args.no_mot:
        print(f'\n# identity switches / fragmentations / mean IDF1, summed over {args.seeds} '
              'seeds per scene')
        print(mot_table(args.seeds))
    return 0


if __name__ == '__main__':
    sys.exit(main())
