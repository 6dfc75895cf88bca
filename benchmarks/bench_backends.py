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


"""Benchmark every available backend and precision on LOGO-CAP's whole graph.

For each architecture (W32, W48), camera resolution (640x480, 1280x720) and flip setting, runs
``backend.infer`` (network + refinement; preprocessing and the numpy post-processing excluded)
on a fixed random image, the backends of one setting started together and their runs
interleaved (A, B, C, A, B, C, ...: a shared machine's load changes hit them alike), and
reports median / p95 latency, throughput, peak GPU memory (CUDA)
and the first-frame time (which includes the ONNX export / TensorRT engine build when these
are not cached yet; the engine build time is also read from the engine's sidecar). PyTorch
eager FP32 on the same device is the baseline of the ``speed-up`` column (ONNX Runtime FP32
when PyTorch is not among the backends).

Usage::

    python benchmarks/bench_backends.py --device cpu --runs 3
    python benchmarks/bench_backends.py --archs w32 --images 640x480 --flip off \
        --backends onnxruntime openvino --runs 7     # OpenVINO fp32 and bf16 vs ONNX Runtime
    python benchmarks/bench_backends.py --device cuda --runs 50 --json out/bench.json

Weights default to the deterministic random set ('random'); timings do not depend on the values
except through denormal numbers, so pass a real checkpoint (``--weights w32``) where available.
"""

import argparse
import json
import os
from pathlib import Path
import platform
import sys
import time
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logocap_ros.backends.base import BackendUnavailable  # noqa: E402
from logocap_ros.backends.export_onnx import input_hw_for  # noqa: E402
from logocap_ros.backends.registry import create_backend  # noqa: E402
from logocap_ros.tools.export_onnx_cli import resolve_network  # noqa: E402
import numpy as np  # noqa: E402
from bench_common import cpu_model as _cpu_model  # noqa: E402, I100 (benchmarks/)

DEFAULT_SIZE = {'w32': 512, 'w48': 640}
IMAGES = {'640x480': (480, 640), '1280x720': (720, 1280)}


def hardware_info(device: str) -> Dict[str, str]:
    """Describe CPU, GPU and library versions."""
    import torch
    from logocap_ros.backends.cpu_features import BF16_FLAGS, cpu_flags
    flags = cpu_flags()
    info = {'cpu': _cpu_model(), 'cpu_cores': str(os.cpu_count()),
            'cpu_flags': ' '.join(sorted(f for f in flags if f.startswith(('avx', 'amx', 'fma'))))
            or 'unknown',
            'cpu_bf16': ', '.join(f for f in BF16_FLAGS if f in flags) or 'none',
            'load_average': ' '.join(f'{v:.2f}' for v in os.getloadavg()),
            'python': platform.python_version(), 'torch': torch.__version__}
    for mod in ('onnxruntime', 'openvino', 'tensorrt'):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = 'not installed'
    if device.startswith('cuda') and torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        info['gpu'] = f'{torch.cuda.get_device_name()} (sm {major}.{minor})'
        info['cuda'] = str(torch.version.cuda)
    return info


def combos(device: str, backends: Optional[List[str]]) -> List[tuple]:
    """(backend, precision) pairs to run on ``device``."""
    if device == 'cpu':
        pairs = [('torch', 'fp32'), ('onnxruntime', 'fp32'), ('openvino', 'fp32'),
                 ('openvino', 'bf16')]
    else:
        pairs = [('torch', 'fp32'), ('torch', 'fp16'), ('onnxruntime', 'fp32'),
                 ('onnxruntime', 'fp16'), ('tensorrt', 'fp32'), ('tensorrt', 'fp16')]
    return [p for p in pairs if not backends or p[0] in backends]


def _timed(backend, images: np.ndarray) -> float:
    t0 = time.perf_counter()
    backend.infer({'images': images})
    return time.perf_counter() - t0


def stats(times: List[float]) -> Dict[str, float]:
    """Median / p95 in ms and the throughput of the timed runs (seconds)."""
    arr = np.array(times)
    return {'median_ms': float(np.median(arr) * 1e3),
            'p95_ms': float(np.percentile(arr, 95) * 1e3), 'fps': float(1.0 / arr.mean()),
            'runs': len(times)}


def start_one(net, hw, flip, backend_name, precision, images, args):
    """Start one backend and run its first frame: ``(row fields, backend or None)``."""
    import torch
    row: Dict[str, object] = {'backend': backend_name, 'precision': precision}
    cuda = args.device.startswith('cuda')
    try:
        backend = create_backend(backend_name, net, device=args.device, precision=precision,
                                 flip_test=flip, cache_dir=args.cache_dir)
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            free_before = torch.cuda.mem_get_info()[0]
        backend.activate()
        row['first_frame_s'] = _timed(backend, images)
        for _ in range(args.warmup):
            _timed(backend, images)
        row['describe'] = backend.describe()
        if cuda:
            used = free_before - torch.cuda.mem_get_info()[0]
            row['gpu_mem_mib'] = round(max(used, torch.cuda.max_memory_allocated()) / 2**20)
        row['engine_build_s'] = _build_seconds(backend)
        return row, backend
    except (BackendUnavailable, ValueError, RuntimeError) as exc:
        row['error'] = str(exc).splitlines()[0][:160]
        return row, None


def run_setting(net, arch, image_name, flip, pairs, args) -> List[Dict[str, object]]:
    """Start every backend of one setting, then time them interleaved; one row each."""
    hw = input_hw_for(args.input_size or DEFAULT_SIZE[arch], IMAGES[image_name])
    images = np.random.default_rng(0).standard_normal((1, 3) + hw).astype(np.float32)
    base = {'arch': arch, 'image': image_name, 'input': f'{hw[1]}x{hw[0]}', 'flip': flip}
    started = [start_one(net, hw, flip, name, prec, images, args) for name, prec in pairs]
    times: List[List[float]] = [[] for _ in started]
    for _ in range(args.runs):
        for i, (_, backend) in enumerate(started):
            if backend is not None:
                times[i].append(_timed(backend, images))
    rows = []
    for (row, backend), t in zip(started, times):
        if backend is not None:
            row.update(stats(t))
            backend.deactivate()
        rows.append(dict(base, **row))
    return rows


def _build_seconds(backend) -> Optional[float]:
    """Engine build time recorded in the sidecar of the engine used (TensorRT only)."""
    engines = getattr(backend, '_engines', None)
    if not engines:
        return None
    from logocap_ros.backends.engine_cache import read_sidecar
    record = read_sidecar(next(iter(engines.values())).path) or {}
    return record.get('build_seconds')


def add_speedups(rows: List[Dict[str, object]]) -> None:
    """Set ``speedup`` = baseline median / row median within each configuration.

    The baseline is PyTorch eager FP32 where it ran, else ONNX Runtime FP32.
    """
    base: Dict[tuple, float] = {}
    for ref in ('onnxruntime', 'torch'):
        base.update({(r['arch'], r['image'], r['flip']): r['median_ms'] for r in rows
                     if r['backend'] == ref and r['precision'] == 'fp32' and 'median_ms' in r})
    for r in rows:
        ref = base.get((r['arch'], r['image'], r['flip']))
        if ref and 'median_ms' in r:
            r['speedup'] = ref / r['median_ms']


def table(rows: List[Dict[str, object]]) -> str:
    """Markdown table of the rows."""
    head = ('| arch | camera | input WxH | flip | backend | prec | median ms | p95 ms | fps '
            '| speed-up | GPU MiB | first frame s | engine build s |')
    lines = [head, '|' + '---|' * 13]
    for r in rows:
        if 'error' in r:
            lines.append(f"| {r['arch']} | {r['image']} | {r['input']} | "
                         f"{'on' if r['flip'] else 'off'} | "
                         f"{r['backend']} | {r['precision']} | n/a: {r['error']} |||||||")
            continue
        lines.append(
            f"| {r['arch']} | {r['image']} | {r['input']} | {'on' if r['flip'] else 'off'} | "
            f"{r['backend']} | {r['precision']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['fps']:.2f} | {r.get('speedup', 0):.2f}x | {r.get('gpu_mem_mib', '-')} | "
            f"{r['first_frame_s']:.1f} | {r.get('engine_build_s') or '-'} |")
    return '\n'.join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda[:N]'")
    p.add_argument('--archs', nargs='+', default=['w32', 'w48'], choices=['w32', 'w48'])
    p.add_argument('--images', nargs='+', default=list(IMAGES), choices=list(IMAGES))
    p.add_argument('--flip', nargs='+', default=['on', 'off'], choices=['on', 'off'])
    p.add_argument('--backends', nargs='+', default=None,
                   choices=['torch', 'onnxruntime', 'openvino', 'tensorrt'])
    p.add_argument('--weights', default='random', help="'random', w32/w48 or a checkpoint "
                                                       '(with one --archs value)')
    p.add_argument('--input-size', type=int, default=None)
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--cache-dir', default=None, help='export/engine cache root')
    p.add_argument('--json', default=None, help='also write the rows and hardware as JSON')
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark grid and print the table."""
    import torch
    args = _parser().parse_args(argv)
    torch.set_flush_denormal(True)
    info = hardware_info(args.device)
    print('\n'.join(f'{k}: {v}' for k, v in info.items()), flush=True)
    rows = []
    for arch in args.archs:
        net, _ = resolve_network(arch, args.weights)
        for image_name in args.images:
            for flip in (f == 'on' for f in args.flip):
                for row in run_setting(net, arch, image_name, flip,
                                       combos(args.device, args.backends), args):
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    add_speedups(rows)
    print(f'load average after the runs: {" ".join(f"{v:.2f}" for v in os.getloadavg())}')
    print(table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({'hardware': info, 'rows': rows}, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
