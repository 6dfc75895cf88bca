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

"""Per-frame cost of 3D lifting (``lift_keypoints``) with 30 people, 640x480 and 1280x720.

Depth: a wall at 2-4 m with 5 % holes and 1 cm noise, as ``16UC1`` (uint16 mm, as drivers send
it; converted only where sampled) and ``32FC1`` (float32 m); keypoints: 30 people, 17 joints
each, spread over the image, scores 0..1. Camera: plumb_bob and equidistant distortion. Also
times the depth message view (``depth_from_buffer``) and, when the package's messages are
built, the node's extra work with 3D: filling ``keypoints_3d`` and the 3D markers.

    python benchmarks/bench_depth.py --runs 300
"""

import argparse
import datetime
import os
import platform
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

import cv2
from logocap_ros.core.camera_model import CameraModel
from logocap_ros.core.depth import depth_from_buffer, lift_keypoints, LiftConfig, VALID
from logocap_ros.core.smoothing import OneEuroBank, OneEuroConfig
import numpy as np

SIZES = ((640, 480), (1280, 720))
PEOPLE = 30
CAMERAS = {
    'plumb_bob': ([-0.28, 0.09, 0.0012, -0.0015, -0.015], 0.9),
    'equidistant': ([0.12, -0.04, 0.012, -0.003], 0.45),
}


def scene(width: int, height: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Return (depth metres ``(H, W)`` float32 with holes as 0, keypoints ``(30, 17, 3)``)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(2.0, 4.0, width, dtype=np.float32)[None, :]
    depth = ramp + rng.normal(0, 0.01, (height, width)).astype(np.float32)
    depth[rng.random((height, width)) < 0.05] = 0.0
    centres = rng.uniform((0.05 * width, 0.1 * height), (0.95 * width, 0.9 * height),
                          (PEOPLE, 1, 2))
    spread = rng.normal(0, 0.04 * height, (PEOPLE, 17, 2))
    scores = rng.uniform(0, 1, (PEOPLE, 17, 1))
    kps = np.concatenate([centres + spread, scores], axis=2).astype(np.float32)
    return depth, kps


def camera(model: str, width: int, height: int) -> CameraModel:
    """Return a camera with strong distortion of the given model."""
    d, focal = CAMERAS[model]
    f = focal * width
    k = [f, 0, width / 2, 0, f, height / 2, 0, 0, 1]
    return CameraModel.from_camera_info(k, d, model, width, height)


def timed(fn: Callable[[], object], runs: int, warmup: int = 20) -> Tuple[float, float]:
    """Return (median, p95) of ``fn`` in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return 1e3 * float(np.median(samples)), 1e3 * float(np.percentile(samples, 95))


def measure(runs: int) -> List[Dict[str, object]]:
    """Time every step for both sizes; return rows ``{step, size, median, p95}``."""
    rows = []
    for width, height in SIZES:
        depth_m, kps = scene(width, height)
        mm = np.rint(depth_m * 1000).astype(np.uint16)
        size = f'{width}x{height}'
        raw = mm.tobytes()
        rows.append({'step': 'view 16UC1 message data (depth_from_buffer)', 'size': size,
                     **_t(lambda: depth_from_buffer(raw, height, width, 2 * width, '16UC1'),
                          runs)})
        for model in CAMERAS:
            cam = camera(model, width, height)
            for name, depth in (('16UC1', mm), ('32FC1', depth_m)):
                rows.append({'step': f'lift_keypoints, {name}, {model}', 'size': size,
                             **_t(lambda: lift_keypoints(kps, depth, cam, LiftConfig()),
                                  runs)})
        points, status = lift_keypoints(kps, mm, camera('plumb_bob', width, height))
        rows.append({'step': '3D One-Euro smoothing + prune (node, smoothing:=true)',
                     'size': size, **_t(smoother_3d(points, status), runs)})
        rows.extend(_ros_rows(kps, mm, camera('plumb_bob', width, height), size, runs))
    return rows


def smoother_3d(points: np.ndarray, status: np.ndarray) -> Callable[[], object]:
    """Return one node step of 3D smoothing: the VALID joints of 30 tracks, 30 fps stamps."""
    bank = OneEuroBank(OneEuroConfig(beta=5.0))
    ids, valid, frame = np.arange(len(points)), status == VALID, [0]

    def step() -> object:
        frame[0] += 1
        out = bank.smooth_many(ids, points, frame[0] / 30.0, valid)
        bank.prune(ids)
        return out
    return step


def _t(fn: Callable[[], object], runs: int) -> Dict[str, float]:
    median, p95 = timed(fn, runs)
    return {'median': median, 'p95': p95}


def _ros_rows(kps: np.ndarray, depth: np.ndarray, cam: CameraModel, size: str,
              runs: int) -> List[Dict[str, object]]:
    try:
        from logocap_ros.core.result import PoseResult
        from logocap_ros.ros.conversions import result_to_pose_array
        from logocap_ros.ros.markers_3d import skeleton_markers_3d
        from std_msgs.msg import Header
    except ImportError as exc:
        print(f'(skipping message steps: {exc})', file=sys.stderr)
        return []
    points, status = lift_keypoints(kps, depth, cam)
    result = PoseResult(kps, kps[:, :, 2].mean(axis=1), depth.shape)
    header = Header(frame_id='camera')
    return [
        {'step': 'poses message, 2D only', 'size': size,
         **_t(lambda: result_to_pose_array(result, header), runs)},
        {'step': 'poses message with keypoints_3d', 'size': size,
         **_t(lambda: result_to_pose_array(result, header, points_3d=points,
                                           status_3d=status, depth_header=header), runs)},
        {'step': '3D skeleton markers', 'size': size,
         **_t(lambda: skeleton_markers_3d(points, status, header), runs)},
    ]


def table(rows: List[Dict[str, object]]) -> str:
    """Markdown table: one line per step, median / p95 per image size."""
    steps = list(dict.fromkeys(r['step'] for r in rows))
    sizes = [f'{w}x{h}' for w, h in SIZES]
    lines = ['| step | ' + ' | '.join(f'{s} median / p95 [ms]' for s in sizes) + ' |',
             '|' + ' --- |' * (1 + len(sizes))]
    for step in steps:
        cells = []
        for size in sizes:
            row = next(r for r in rows if r['step'] == step and r['size'] == size)
            cells.append(f'{row["median"]:.3f} / {row["p95"]:.3f}')
        lines.append(f'| {step} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def hardware() -> str:
    """Return a one-line description of the machine and libraries."""
    cpu = 'unknown'
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as handle:
            cpu = next((line.split(':', 1)[1].strip() for line in handle
                        if line.startswith('model name')), cpu)
    except OSError:
        pass
    return (f'cpu: {cpu} | cores: {os.cpu_count()} | python {platform.python_version()} | '
            f'numpy {np.__version__} | opencv {cv2.__version__}')


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=300, help='timed calls per step (300)')
    args = parser.parse_args(argv)
    rows = measure(args.runs)
    print(f'# {datetime.date.today()} | {hardware()}')
    print(f'# {PEOPLE} people x 17 joints, {args.runs} runs after 20 warm-up, window 5 px')
    print(table(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
