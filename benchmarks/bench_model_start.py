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

"""Node start-up from an exported model file vs from weights: import time, configure, memory.

Each run is a fresh ``python`` process doing what the node's configure does
(:func:`logocap_ros.ros.estimator_loader.load_estimator` with ``model:=FILE`` or
``weights:=random``, backend auto, CPU, W32, flip test, input 512, no warm-up); the model-file
runs have torch blocked (``test/no_torch``), as on a torch-free install. Runs are interleaved
(weights, model, weights, model, ...); the ONNX cache of the weights runs is filled by one
untimed run first, so every weights run reuses its export as a restarted node would.
Prints median and max (p95 of 3 runs) of: import s (rclpy node module plus the backend stack
the run uses), configure s, resident memory after configure and its peak (MB).

    python benchmarks/bench_model_start.py [--model w32.onnx] [--runs 3]
"""

import argparse
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile

from bench_common import cpu_model

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import logocap_ros.ros.node  # noqa: F401  (rclpy and the node's own modules)
from logocap_ros.ros.estimator_loader import load_estimator
from logocap_ros.ros.parameters import NodeConfig
if sys.argv[1] == 'model':
    import logocap_ros.backends.model_estimator, onnxruntime  # noqa: F401,E401
else:
    import torch, logocap_ros.backends.factory, logocap_ros.core.model  # noqa: F401,E401
t1 = time.perf_counter()
cfg = NodeConfig(**{sys.argv[1]: sys.argv[2]}, device='cpu').validate()
loaded = load_estimator(cfg)
t2 = time.perf_counter()
status = dict(line.split(':', 1) for line in open('/proc/self/status') if ':' in line)
print(json.dumps({'import_s': t1 - t0, 'configure_s': t2 - t1,
                  'rss_mb': int(status['VmRSS'].split()[0]) / 1024,
                  'peak_mb': int(status['VmHWM'].split()[0]) / 1024,
                  'torch': 'torch' in sys.modules and sys.modules['torch'] is not None,
                  'method': loaded.method}))
"""


def _env(no_torch: bool, cache: str) -> dict:
    env = dict(os.environ, LOGOCAP_CACHE_DIR=cache, OMP_NUM_THREADS='2')
    paths = [str(ROOT)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    if no_torch:
        paths.insert(0, str(ROOT / 'test' / 'no_torch'))
    env['PYTHONPATH'] = os.pathsep.join(paths)
    return env


def _run(kind: str, value: str, cache: str) -> dict:
    done = subprocess.run([sys.executable, '-c', CHILD, kind, value], capture_output=True,
                          text=True, env=_env(kind == 'model', cache), timeout=1200)
    if done.returncode != 0:
        raise SystemExit(f'{kind} run failed:\n{done.stderr[-3000:]}')
    return json.loads(done.stdout.strip().splitlines()[-1])


def _export(tmp: str) -> str:
    out = os.path.join(tmp, 'w32.onnx')
    subprocess.run([sys.executable, '-m', 'logocap_ros.tools.export_onnx_cli', '--weights',
                    'random', '--dynamic', '--no-check', '--out', out], check=True,
                   env=_env(False, tmp), capture_output=True)
    return out


def main() -> None:
    """Run the interleaved start-ups and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model', help='exported W32 model file (default: export one)')
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='logocap_bench_') as tmp:
        model = args.model or _export(tmp)
        _run('weights', 'random', tmp)  # fills the ONNX cache of the weights runs
        rows = {'weights:=random (torch)': [], f'model:={Path(model).name} (no torch)': []}
        for _ in range(args.runs):
            for name, (kind, value) in zip(rows, [('weights', 'random'), ('model', model)]):
                rows[name].append(_run(kind, value, tmp))
    print(f'CPU: {cpu_model()}, {os.cpu_count()} cores; {args.runs} runs each, interleaved')
    print('| start from | import s | configure s | RSS after configure MB | peak RSS MB |'
          ' torch loaded |')
    print('| --- | --- | --- | --- | --- | --- |')
    for name, runs in rows.items():
        cells = []
        for key in ('import_s', 'configure_s', 'rss_mb', 'peak_mb'):
            values = [r[key] for r in runs]
            fmt = '{:.2f}' if key.endswith('_s') else '{:.0f}'
            cells.append(f'{fmt.format(statistics.median(values))} '
                         f'(max {fmt.format(max(values))})')
        print(f"| {name} | {' | '.join(cells)} | {runs[0]['torch']} |")
    for name, runs in rows.items():
        print(f'{name}: {runs[0]["method"]}')


if __name__ == '__main__':
    main()
