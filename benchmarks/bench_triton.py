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

"""Many cameras, one Triton server vs one local ONNX Runtime backend per camera (CPU).

For 1, 2, 4 and 8 concurrent cameras (threads), each camera sends ``--frames`` pre-processed
frames (``backend.infer``: the whole graph; pre-processing and the numpy post-processing are
the same in both set-ups and excluded) back to back:

- ``local``: every camera has its own ONNX Runtime CPU session (what N nodes with
  ``backend:=onnxruntime`` do), all on this machine's cores;
- ``triton``: every camera calls one ``tritonserver`` (nvidia-pytriton, CPU config: Python
  backend + ONNX Runtime, dynamic batching) on 127.0.0.1 through the ``triton`` backend.

Reports requests per second over all cameras, latency per frame (median, p95), for Triton
the batch sizes the server ran, its compute time per execution and the client's mean
latency minus the server's mean request time (HTTP transfer of the tensor and client work),
and the 1-minute load average after each row (the machine
may be shared). The local and Triton rows of a camera count run back to back, so both see
about the same load. Bounded: ``--frames`` per camera and at most ``--max-seconds`` per row;
loopback only. Needs ``make triton-venv``.

Usage::

    python benchmarks/bench_triton.py                     # W32, 640x480 camera, no flip
    python benchmarks/bench_triton.py --cameras 1 2 --frames 2 --input-size 256
"""

import argparse
import json
import os
from pathlib import Path
import platform
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logocap_ros.backends.export_onnx import export_onnx, input_hw_for  # noqa: E402
from logocap_ros.backends.factory import load_network  # noqa: E402
import numpy as np  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--arch', choices=['w32', 'w48'], default='w32')
    p.add_argument('--image-size', default='480x640', help='camera HxW (default 480x640)')
    p.add_argument('--input-size', type=int, default=512, help='network input short side')
    p.add_argument('--flip', action='store_true', help='with the flip test (default off)')
    p.add_argument('--cameras', type=int, nargs='+', default=[1, 2, 4, 8])
    p.add_argument('--frames', type=int, default=3, help='timed frames per camera')
    p.add_argument('--max-seconds', type=float, default=180.0, help='time limit per row')
    p.add_argument('--max-batch-size', type=int, default=8)
    p.add_argument('--queue-delay-us', type=int, default=2000)
    p.add_argument('--json', default=None, help='also write the rows to this file')
    return p


def run_cameras(infer_for: Callable[[int], Callable[[], None]], cameras: int, frames: int,
                max_seconds: float) -> Dict[str, float]:
    """Run ``cameras`` threads, each doing one warm-up and ``frames`` timed calls.

    :param infer_for: camera index -> a callable doing one inference of that camera.
    :return: requests, wall seconds, requests/s, latency median/p95 [ms], errors.
    """
    calls = [infer_for(i) for i in range(cameras)]
    latencies: List[float] = []
    every: List[float] = []  # warm-ups included (to compare with the server's statistics)
    errors: List[str] = []
    lock = threading.Lock()
    start = threading.Barrier(cameras + 1)
    deadline = [0.0]

    def camera(call: Callable[[], None]) -> None:
        t0 = time.perf_counter()
        try:
            call()  # warm-up (session/connection), not in the row's latencies
            every.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - reported in the row
            errors.append(repr(exc))
        start.wait()
        for _ in range(frames):
            if time.monotonic() > deadline[0]:
                break
            t0 = time.perf_counter()
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - reported in the row
                errors.append(repr(exc))
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)
                every.append(latencies[-1])

    threads = [threading.Thread(target=camera, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + 1e9
    start.wait()
    t0 = time.perf_counter()
    deadline[0] = time.monotonic() + max_seconds
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = np.asarray(latencies) * 1e3
    return {'requests': len(latencies), 'wall_s': wall,
            'requests_per_s': len(latencies) / wall if wall else 0.0,
            'median_ms': float(np.median(lat)) if lat.size else float('nan'),
            'p95_ms': float(np.percentile(lat, 95)) if lat.size else float('nan'),
            'errors': len(errors), 'first_error': errors[0] if errors else '',
            'mean_all_ms': float(np.mean(every)) * 1e3 if every else float('nan')}


def local_row(single: Path, frame: np.ndarray, n: int, args: argparse.Namespace) -> Dict:
    """``n`` cameras, each with its own ONNX Runtime session."""
    from logocap_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
    sessions = [OnnxRuntimeBackend(onnx_path=single, flip_test=args.flip).activate()
                for _ in range(n)]
    row = run_cameras(lambda i: (lambda: sessions[i].infer({'images': frame})), n,
                      args.frames, args.max_seconds)
    return {'backend': 'local onnxruntime', 'cameras': n, **row, 'batches': ''}


def triton_row(backend, stats, frame: np.ndarray, n: int, args: argparse.Namespace) -> Dict:
    """``n`` cameras sharing one server through one ``triton`` backend."""
    before, served = _batches(stats), _served(stats)
    row = run_cameras(lambda i: (lambda: backend.infer({'images': frame})), n, args.frames,
                      args.max_seconds)
    after = _batches(stats)
    ran = {b: after[b][0] - before.get(b, (0, 0))[0] for b in sorted(after)
           if after[b][0] - before.get(b, (0, 0))[0]}
    busy_ns = sum(after[b][1] - before.get(b, (0, 0))[1] for b in after)
    count, success_ns = (a - b for a, b in zip(_served(stats), served))
    return {'backend': 'triton (CPU, 1 instance)', 'cameras': n, **row,
            'batches': ', '.join(f'{b}x{c}' for b, c in ran.items()),
            'server_ms_per_execution': busy_ns / 1e6 / max(1, sum(ran.values())),
            'overhead_ms': row['mean_all_ms'] - success_ns / 1e6 / max(1, count)}


def _served(client) -> Tuple[int, int]:
    """Return (requests, ns from arrival to response) so far, from the server statistics."""
    success = client.get_inference_statistics('logocap')['model_stats'][0][
        'inference_stats']['success']
    return int(success['count']), int(success['ns'])


def all_rows(single: Path, frame: np.ndarray, args: argparse.Namespace,
             work: Path) -> List[Dict]:
    """Local and Triton rows per camera count, interleaved (same machine load for both)."""
    from logocap_ros.backends.triton_backend import TritonBackend
    from logocap_ros.backends.triton_server import LocalTritonServer
    from logocap_ros.tools.triton_repo import main as write_repo
    from tritonclient.http import InferenceServerClient
    repo = work / 'repository'
    assert write_repo(['--onnx', str(single), '--out', str(repo), '--max-batch-size',
                       str(args.max_batch_size), '--queue-delay-us',
                       str(args.queue_delay_us)]) == 0
    rows = []
    with LocalTritonServer(repo, 'cpu', work_dir=work / 'server') as server:
        stats = InferenceServerClient(server.url)
        backend = TritonBackend(flip_test=args.flip, server_url=server.url,
                                timeout_s=600.0).activate()
        for n in args.cameras:
            for row in (local_row(single, frame, n, args),
                        triton_row(backend, stats, frame, n, args)):
                rows.append(dict(row, load=os.getloadavg()[0]))
                print(_line(rows[-1]), flush=True)
    return rows


def _batches(client) -> Dict[int, Tuple[int, int]]:
    """Return batch size -> (executions, compute ns) so far, from the server statistics."""
    model = client.get_inference_statistics('logocap')['model_stats'][0]
    return {b['batch_size']: (b['compute_infer']['count'], b['compute_infer']['ns'])
            for b in model['batch_stats']}


def _line(row: Dict) -> str:
    err = f' ({row["errors"]} errors: {row["first_error"][:80]})' if row['errors'] else ''
    return (f'| {row["cameras"]} | {row["backend"]} | {row["requests"]} | '
            f'{row["requests_per_s"]:.2f} | {row["median_ms"]:.0f} | {row["p95_ms"]:.0f} | '
            f'{row["batches"] or "-"}{err} | {_ms(row.get("server_ms_per_execution"))} | '
            f'{_ms(row.get("overhead_ms"))} | {row["load"]:.1f} |')


def _ms(value) -> str:
    return '-' if value is None else f'{value:.0f}'


def _hardware() -> str:
    import onnxruntime
    cpu = 'unknown CPU'
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as handle:
            cpu = next(line.split(':', 1)[1].strip() for line in handle
                       if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return (f'{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, '
            f'onnxruntime {onnxruntime.__version__} (client and server), Triton 2.51 '
            '(nvidia-pytriton 0.7.0, CPU)')


def main(argv=None) -> int:
    """Run the benchmark and print a markdown table."""
    args = _parser().parse_args(argv)
    image_hw = tuple(int(v) for v in args.image_size.lower().split('x'))
    input_hw = input_hw_for(args.input_size, image_hw)
    print(f'# {_hardware()}')
    print(f'# {args.arch}, camera {image_hw[1]}x{image_hw[0]}, input {input_hw[1]}x'
          f'{input_hw[0]} (WxH), flip {"on" if args.flip else "off"}, random weights, '
          f'{args.frames} frames per camera after one warm-up, max batch '
          f'{args.max_batch_size}, queue delay {args.queue_delay_us} us', flush=True)
    frame = np.random.default_rng(0).standard_normal((1, 3) + input_hw).astype(np.float32)
    with tempfile.TemporaryDirectory(prefix='bench_triton_') as tmp:
        work = Path(tmp)
        single = work / 'single.onnx'
        net, meta = load_network(args.arch, 'random')
        export_onnx(net, single, input_hw, flip_test=args.flip, metadata=meta)
        print('| cameras | backend | frames | requests/s (all cameras) | latency median ms | '
              'p95 ms | server batches (size x count, incl. warm-up) | server ms per '
              'execution | client - server ms per request | load after |\n'
              '|---|---|---|---|---|---|---|---|---|---|', flush=True)
        rows = all_rows(single, frame, args, work)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
