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

"""Per-stage CPU timing of the PyTorch estimator (preprocess, network, refine, postprocess).

Runs a random 640x480 image (deterministic random weights; refinement work is the worst case:
all 30 centre candidates pass the 0.01 confidence mask with these weights) through
``PoseEstimator`` with the torch backend, W32 and W48, flip on and off, and prints median and
p95 per stage. ``--layout both`` adds the NCHW layout (the official code's) side by side.

    python benchmarks/bench_estimator.py --runs 5
"""

import argparse
import datetime
import sys
from typing import Dict, List, Optional

from bench_backends import hardware_info
from logocap_ros.backends.factory import create_estimator
from logocap_ros.core.estimator import EstimatorConfig, PoseEstimator
from logocap_ros.core.preprocessing import letterbox_for
import numpy as np

STAGES = ('preprocess', 'network', 'refine', 'postprocess', 'total')


def measure(est: PoseEstimator, image: np.ndarray, runs: int, warmup: int) -> Dict[str, tuple]:
    """Return ``{stage: (median, p95)}`` in seconds over ``runs`` calls after ``warmup``."""
    for _ in range(warmup):
        est(image)
    samples: Dict[str, List[float]] = {s: [] for s in STAGES}
    for _ in range(runs):
        timings = est(image).timings
        for s in STAGES:
            samples[s].append(timings.get(s, 0.0))
    return {s: (float(np.median(v)), float(np.percentile(v, 95))) for s, v in samples.items()}


def make_estimator(arch: str, flip: bool, nhwc: bool) -> PoseEstimator:
    """Torch-backend estimator with random weights, in NHWC (default) or NCHW layout."""
    est = create_estimator('random', EstimatorConfig(arch=arch, flip_test=flip, backend='torch'))
    if not nhwc:
        est.backend.deactivate()
        est.backend.pipeline.channels_last = False
        est.backend.activate()
    return est


def table(rows: List[dict]) -> str:
    """Markdown table: one row per configuration, median / p95 per stage in seconds."""
    head = '| arch | flip | layout | input | ' + ' | '.join(STAGES) + ' |'
    lines = [head, '|' + ' --- |' * (4 + len(STAGES))]
    for r in rows:
        cells = ' | '.join(f'{r[s][0]:.3f} / {r[s][1]:.3f}' for s in STAGES)
        lines.append(f'| {r["arch"]} | {r["flip"]} | {r["layout"]} | {r["input"]} | {cells} |')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--arch', nargs='+', default=['w32', 'w48'], choices=['w32', 'w48'])
    p.add_argument('--flip', nargs='+', default=['on', 'off'], choices=['on', 'off'])
    p.add_argument('--layout', default='nhwc', choices=['nhwc', 'nchw', 'both'])
    p.add_argument('--runs', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    args = p.parse_args(argv)
    image = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    layouts = ['nhwc', 'nchw'] if args.layout == 'both' else [args.layout]
    rows = []
    for arch in args.arch:
        for flip in args.flip:
            for layout in layouts:
                est = make_estimator(arch, flip == 'on', layout == 'nhwc')
                res = measure(est, image, args.runs, args.warmup)
                h, w = letterbox_for(image.shape[:2], est.config.resolved_input_size).input_hw
                rows.append({'arch': arch, 'flip': flip, 'layout': layout,
                             'input': f'{h}x{w}', **res})
                print(f'{arch} flip {flip} {layout}: total median {res["total"][0]:.3f} s',
                      file=sys.stderr, flush=True)
    info = hardware_info('cpu')
    print(f'# {datetime.date.today()} | ' + ' | '.join(f'{k}: {v}' for k, v in info.items()))
    print(f'# 640x480 image, {args.runs} runs after {args.warmup} warm-up, seconds '
          '(median / p95)')
    print(table(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
