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


"""ONNX Runtime (CPU): one dynamic-size export against one fixed-size export per resolution.

For W32 with flip (random weights), exports the graph once with dynamic H/W and once per
input size, and reports per mode: export seconds and MB, session creation, first run and
median/p95 of ``session.run`` per input size (the two sessions run alternately), plus the
largest output difference between the two modes.
Usage: ``python benchmarks/bench_onnx_shapes.py --runs 5``.
"""

import argparse
from pathlib import Path
import sys
import tempfile
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_backends import hardware_info  # noqa: E402
from logocap_ros.backends import export_onnx as ex  # noqa: E402
from logocap_ros.backends.factory import load_network  # noqa: E402
import numpy as np  # noqa: E402


def session(path):
    """Return an ONNX Runtime CPU session with the backend's options."""
    import onnxruntime as ort
    from logocap_ros.backends.onnxruntime_backend import physical_cores
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = physical_cores()
    return ort.InferenceSession(str(path), sess_options=opts,
                                providers=['CPUExecutionProvider'])


def timed(fn):
    """Return (result, seconds) of ``fn()``."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv=None) -> int:
    """Run the comparison and print a markdown table."""
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--sizes', nargs='+', default=['512x704', '512x960'],
                   help='network input sizes HxW')
    p.add_argument('--runs', type=int, default=5)
    p.add_argument('--no-flip', action='store_true')
    args = p.parse_args(argv)
    print('\n'.join(f'{k}: {v}' for k, v in hardware_info('cpu').items()))
    net, _ = load_network('w32', 'random')
    flip = not args.no_flip
    sizes = [tuple(int(v) for v in s.split('x')) for s in args.sizes]
    tmp = Path(tempfile.mkdtemp(prefix='bench_onnx_shapes_'))
    rows, outputs = [], {}
    dynamic_path = tmp / 'dynamic.onnx'
    _, dynamic_export_s = timed(lambda: ex.export_onnx(net, dynamic_path, None, flip_test=flip))
    for hw in sizes:
        fixed_path = tmp / f'{hw[0]}x{hw[1]}.onnx'
        _, fixed_export_s = timed(lambda: ex.export_onnx(net, fixed_path, hw, flip_test=flip))
        x = np.random.default_rng(0).standard_normal((1, 3) + hw).astype(np.float32)
        modes = {'dynamic': [dynamic_path, dynamic_export_s if hw == sizes[0] else 0.0],
                 'fixed': [fixed_path, fixed_export_s]}
        for mode, entry in modes.items():
            sess, open_s = timed(lambda: session(entry[0]))
            outputs[(mode, hw)], first_s = timed(lambda: sess.run(None, {'images': x}))
            entry += [sess, open_s, first_s, []]
        for _ in range(args.runs):      # alternate, so machine load hits both alike
            for entry in modes.values():
                entry[5].append(timed(lambda: entry[2].run(None, {'images': x}))[1])
        for mode, (path, export_s, _, open_s, first_s, times) in modes.items():
            rows.append((mode, hw, export_s, path.stat().st_size / 1e6, open_s, first_s,
                         np.median(times) * 1e3, np.percentile(times, 95) * 1e3))
    print(f'\nW32, flip {"on" if flip else "off"}, {args.runs} runs\n')
    print('| export | input HxW | export s | MB | session s | first run s | median ms | '
          'p95 ms |')
    print('|---|---|---|---|---|---|---|---|')
    for mode, hw, es, mb, os_, fs, med, p95 in rows:
        print(f'| {mode} | {hw[0]}x{hw[1]} | {es:.1f} | {mb:.0f} | {os_:.1f} | {fs:.2f} | '
              f'{med:.0f} | {p95:.0f} |')
    for hw in sizes:
        pairs = zip(outputs[('dynamic', hw)], outputs[('fixed', hw)])
        diff = max(float(np.abs(a - b).max()) for a, b in pairs)
        print(f'max |dynamic - fixed| at {hw[0]}x{hw[1]}: {diff:.3g}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
