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

"""Benchmark the ROS layer of logocap_node.

1. Node overhead per frame *excluding the model*, for 640x480 and 1280x720: receiving
   (deserialising the Image), conversion to BGR, building ``poses`` and ``markers``, and
   publishing them (plus, separately, the annotated image that is only made on demand).
2. The node's whole frame path without the model (``LogocapNode._process`` with a stub
   estimator: conversion, pose threshold, tracking, smoothing, ``poses``), optionally side by
   side with another checkout's sources, interleaved in fresh processes
   (``--frame-path-vs DIR``: DIR is the ``logocap_ros`` source root of the other checkout).
3. End-to-end latency from the image stamp to the receipt of ``poses`` in another process:
   camera_publisher process -> logocap_node process (real model, random weights) -> this
   process, for each backend that can be created here.

Usage (inside ``. scripts/env.sh``; ROS traffic stays on loopback in a private domain)::

    python benchmarks/bench_node.py [--frames 300] [--e2e-seconds 20] [--markdown out.md]
    python benchmarks/bench_node.py --frame-path-vs /tmp/main-src [--rounds 5]
"""

import argparse
import os
from pathlib import Path
import platform
import subprocess
import sys
import time
from typing import Dict, List

import numpy as np
from bench_common import timed  # noqa: I100 (benchmarks/)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'test'))
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'


#: The node's own per-frame work (the issue's target: conversion, message building and
#: publishing); the annotated image is only made while someone subscribes.
TOTAL_STEPS = ('convert rgb8 to BGR', 'build + publish poses + markers')
#: Plus rclpy's deserialisation of the incoming Image (not our code, but per-frame cost).
RECEIVE_STEP = 'receive (deserialize Image)'


def fake_result(height: int, width: int, people: int = 5):
    """Return a PoseResult with ``people`` plausible skeletons (the model is not timed)."""
    from logocap_ros.core.result import PoseResult
    rng = np.random.default_rng(0)
    kps = np.zeros((people, 17, 3), np.float32)
    kps[:, :, 0] = rng.uniform(0, width, (people, 17))
    kps[:, :, 1] = rng.uniform(0, height, (people, 17))
    kps[:, :, 2] = rng.uniform(0.2, 1.0, (people, 17))
    return PoseResult(kps, kps[:, :, 2].mean(axis=1), (height, width))


def overhead(width: int, height: int, repeats: int) -> Dict[str, List[float]]:
    """Time each per-frame step of the node for one image size."""
    import rclpy
    from rclpy.serialization import deserialize_message, serialize_message
    from logocap_ros.msg import PersonPoseArray
    from logocap_ros.ros import conversions, qos
    from logocap_ros.frames.image_conversion import bgr_to_image_msg, image_to_bgr
    from logocap_ros.frames.draw import draw_poses
    from sensor_msgs.msg import Image
    from visualization_msgs.msg import MarkerArray
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('bench_overhead', context=context)
    pub_poses = node.create_publisher(PersonPoseArray, 'poses', qos.output_qos())
    pub_markers = node.create_publisher(MarkerArray, 'markers', qos.output_qos())
    pixels = np.random.default_rng(1).integers(0, 256, (height, width, 3), np.uint8)
    msg = bgr_to_image_msg(pixels, None, Image)
    msg.header.frame_id = 'camera'
    wire = serialize_message(msg)
    rgb = bgr_to_image_msg(pixels, None, Image)
    rgb.encoding = 'rgb8'
    result = fake_result(height, width)
    style = conversions.MarkerStyle()
    steps = {
        'receive (deserialize Image)': lambda: deserialize_message(wire, Image),
        'convert bgr8 to BGR': lambda: image_to_bgr(msg),
        'convert rgb8 to BGR': lambda: image_to_bgr(rgb),
        'build poses': lambda: conversions.result_to_pose_array(result, msg.header),
        'build markers': lambda: conversions.result_to_markers(result, msg.header, style),
        'build + publish poses + markers': lambda: (
            pub_poses.publish(conversions.result_to_pose_array(result, msg.header)),
            pub_markers.publish(conversions.result_to_markers(result, msg.header, style))),
        'annotated image (on demand)': lambda: bgr_to_image_msg(
            draw_poses(pixels, result, keypoint_threshold=0.1), msg.header, Image),
    }
    times = {name: timed(fn, repeats) for name, fn in steps.items()}
    node.destroy_node()
    rclpy.shutdown(context=context)
    return times


def frame_path(width: int, height: int, repeats: int, smoothing: bool) -> List[float]:
    """Time ``LogocapNode._process`` (everything but the model) on one image size [s]."""
    import rclpy
    try:
        from logocap_ros.frames.image_conversion import bgr_to_image_msg
    except ImportError:  # a checkout from before frames/ (side-by-side runs)
        from logocap_ros.frames.image_conversion import bgr_to_image_msg
    from logocap_ros.ros import node as node_module
    from logocap_ros.ros.estimator_loader import LoadedEstimator
    from sensor_msgs.msg import Image
    result = fake_result(height, width)
    node_module.load_estimator = lambda cfg: LoadedEstimator(
        lambda image, color='bgr': result, 'stub', False, 'cpu', 'stub')
    rclpy.init(args=['--ros-args', '-p', 'weights:=stub', '-p', 'autostart:=false',
                     '-p', f'smoothing:={str(smoothing).lower()}'])
    node = node_module.LogocapNode()
    node.trigger_configure()
    pixels = np.random.default_rng(1).integers(0, 256, (height, width, 3), np.uint8)
    msg = bgr_to_image_msg(pixels, None, Image)
    msg.header.frame_id = 'camera'
    times = []
    for k in range(repeats + 20):
        msg.header.stamp.sec, msg.header.stamp.nanosec = 100 + k // 30, (k % 30) * 33_333_333
        started = time.perf_counter()
        node._process(msg)
        times.append(time.perf_counter() - started)
    node.destroy_node()
    rclpy.shutdown()
    return times[20:]


def frame_path_table(other: str, repeats: int, rounds: int) -> List[str]:
    """Markdown lines: the frame path of this checkout and ``other``, interleaved."""
    import json
    here = str(ROOT)
    runs: Dict[tuple, List[float]] = {}
    for _ in range(rounds):
        for label, src in (('other', other), ('this', here)):
            for smoothing in (False, True):
                env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                    [src] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
                             if p and Path(p).resolve() != ROOT]))
                out = subprocess.run([sys.executable, __file__, '--frame-path-only',
                                      f'640x480:{int(smoothing)}', '--frames', str(repeats)],
                                     capture_output=True, text=True, check=True, env=env,
                                     cwd=src)
                runs.setdefault((label, smoothing), []).extend(
                    json.loads(out.stdout.strip().splitlines()[-1]))
    lines = [f'Machine: {machine()}; date {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}',
             f'({rounds} interleaved rounds x {repeats} frames, 640x480, 5 people, fresh '
             'process each)', '',
             '| checkout | smoothing | median [ms] | p95 [ms] |', '| --- | --- | --- | --- |']
    for (label, smoothing), times in sorted(runs.items()):
        ms = np.array(times) * 1e3
        lines.append(f'| {other if label == "other" else here} | {smoothing} | '
                     f'{np.median(ms):.3f} | {np.percentile(ms, 95):.3f} |')
    return lines


def end_to_end(backend: str, seconds: float, size: str, rate: float, input_size: int) -> dict:
    """Run camera_publisher -> node -> here; return latency statistics in ms."""
    from logocap_ros.msg import PersonPoseArray
    from ros_helpers import (camera_command, child_env, node_command, private_domain, Proc,
                             TestGraph, wait_until)
    with private_domain() as domain_id:
        env = child_env(domain_id)
        env.pop('OMP_NUM_THREADS', None)
        node = Proc(node_command(weights='random', backend=backend, device='cpu',
                                 input_size=input_size, flip_test=False, pose_threshold=0.0),
                    env)
        graph = TestGraph(domain_id, 'bench_e2e')
        try:
            if not node.wait_for('active: listening', 180):
                return {'error': node.output().strip().splitlines()[-1:]}
            poses = graph.collect(PersonPoseArray, 'poses')
            camera = Proc(camera_command(f'synthetic:{size}', '--rate', str(rate), '--count',
                                         str(int(seconds * rate))), env)
            camera.popen.wait(seconds + 60)
            wait_until(lambda: False, 3.0)
        finally:
            graph.close()
            node.stop()
    lat = np.array([(t - (m.header.stamp.sec * 10**9 + m.header.stamp.nanosec)) / 1e6
                    for t, m in poses])
    sent = int(seconds * rate)
    return {'frames_sent': sent, 'poses_received': len(lat),
            'median_ms': float(np.median(lat)) if len(lat) else float('nan'),
            'p90_ms': float(np.percentile(lat, 90)) if len(lat) else float('nan'),
            'max_ms': float(lat.max()) if len(lat) else float('nan')}


def machine() -> str:
    """Describe the CPU (lscpu model name, core count)."""
    try:
        text = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        model = [line.split(':', 1)[1].strip() for line in text.splitlines()
                 if line.startswith('Model name')][0]
    except (OSError, IndexError):
        model = platform.processor() or 'unknown CPU'
    return f'{model}, {os.cpu_count()} cores, Python {platform.python_version()}'


def backends() -> List[str]:
    """Backends that the registry offers (``auto`` excluded)."""
    try:
        from logocap_ros.backends.registry import BACKENDS
        return list(BACKENDS)
    except ImportError:
        return ['torch']


def overhead_in_fresh_process(width: int, height: int, repeats: int) -> Dict[str, List[float]]:
    """Run :func:`overhead` in a new interpreter, as a node sees one image size only.

    (In one process, the heap state left by one size changes the allocation cost of the next:
    deserialising 640x480 after 1280x720 is 10x faster than in a fresh process.)
    """
    import json
    out = subprocess.run([sys.executable, __file__, '--overhead-only', f'{width}x{height}',
                          '--frames', str(repeats)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    """Run both benchmarks and print (and optionally write) a markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=300, help='repeats per step')
    parser.add_argument('--e2e-seconds', type=float, default=20.0)
    parser.add_argument('--e2e-rate', type=float, default=15.0)
    parser.add_argument('--e2e-size', default='640x480')
    parser.add_argument('--input-size', type=int, default=256)
    parser.add_argument('--markdown', help='also write the report to this file')
    parser.add_argument('--overhead-only', help=argparse.SUPPRESS)
    parser.add_argument('--frame-path-only', help=argparse.SUPPRESS)
    parser.add_argument('--frame-path-vs', help='source root of another checkout: compare '
                        'the node frame path with it (only this table)')
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
    if args.frame_path_only:
        import json
        size, smoothing = args.frame_path_only.split(':')
        width, height = (int(v) for v in size.split('x'))
        print(json.dumps(frame_path(width, height, args.frames, smoothing == '1')))
        return 0
    if args.frame_path_vs:
        print('\n'.join(frame_path_table(args.frame_path_vs, args.frames, args.rounds)))
        return 0
    if args.overhead_only:
        import json
        width, height = (int(v) for v in args.overhead_only.split('x'))
        print(json.dumps(overhead(width, height, args.frames)))
        return 0
    report = '\n'.join(overhead_table(args.frames) + e2e_table(args) + transport_table())
    print(report)
    if args.markdown:
        Path(args.markdown).write_text(report + '\n', encoding='utf-8')
    return 0


def overhead_table(frames: int) -> List[str]:
    """Markdown lines of the per-step overhead table."""
    lines = [f'Machine: {machine()}; date {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}',
             '', '| step | 640x480 median / p90 [ms] | 1280x720 median / p90 [ms] |',
             '| --- | --- | --- |']
    per_size = [overhead_in_fresh_process(w, h, frames) for w, h in ((640, 480), (1280, 720))]
    for name in per_size[0]:
        cells = [f'{np.median(t[name]):.3f} / {np.percentile(t[name], 90):.3f}'
                 for t in per_size]
        lines.append(f'| {name} | {cells[0]} | {cells[1]} |')
    totals = [sum(np.median(t[name]) for name in TOTAL_STEPS) for t in per_size]
    lines.append(f'| **node overhead** ({" + ".join(TOTAL_STEPS)}) | '
                 f'**{totals[0]:.2f}** | **{totals[1]:.2f}** |')
    received = [total + np.median(t[RECEIVE_STEP]) for total, t in zip(totals, per_size)]
    lines.append(f'| node overhead + {RECEIVE_STEP} | {received[0]:.2f} | {received[1]:.2f} |')
    return lines


def e2e_table(args: argparse.Namespace) -> List[str]:
    """Markdown lines of the end-to-end latency table (one row per backend)."""
    lines = ['', f'End to end ({args.e2e_size} at {args.e2e_rate} Hz for {args.e2e_seconds} s, '
             f'input_size {args.input_size}, no flip, random weights, CPU):', '',
             '| backend | frames sent | poses received | latency median / p90 / max [ms] |',
             '| --- | --- | --- | --- |']
    for backend in backends():
        r = end_to_end(backend, args.e2e_seconds, args.e2e_size, args.e2e_rate,
                       args.input_size)
        if 'error' in r:
            lines.append(f'| {backend} | - | - | not available: {r["error"]} |')
            continue
        lines.append(f'| {backend} | {r["frames_sent"]} | {r["poses_received"]} | '
                     f'{r["median_ms"]:.0f} / {r["p90_ms"]:.0f} / {r["max_ms"]:.0f} |')
    return lines


def transport_table(frames: int = 60) -> List[str]:
    """Markdown lines: best-effort frames delivered between processes, with/without profile."""
    lines = ['', f'Best-effort bgr8 frames between two processes ({frames} sent at 20 Hz, '
             'camera_publisher -> subscriber):', '',
             '| size | default Fast DDS | config/fastdds_shm.xml on both sides |',
             '| --- | --- | --- |']
    for size in ('640x480', '1280x720'):
        counts = [transport_count(size, profile, frames) for profile in (False, True)]
        lines.append(f'| {size} | {counts[0]} / {frames} | {counts[1]} / {frames} |')
    return lines


def transport_count(size: str, profile: bool, frames: int) -> int:
    """Send ``frames`` best-effort images between two processes; return how many arrived."""
    from ros_helpers import camera_command, child_env, private_domain, Proc
    with private_domain() as domain_id:
        env = child_env(domain_id, profile=profile)
        probe = Proc([sys.executable, str(ROOT / 'test' / 'ros_image_probe.py'),
                      str(frames), '60'], env)
        probe.wait_for('ready', 30)
        Proc(camera_command(f'synthetic:{size}', '--rate', '20', '--count', str(frames),
                            '--wait-for-subscriber'), env).popen.wait(60)
        try:
            probe.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass  # nothing (more) arrives: stop it, it reports on SIGINT
        probe.stop()
        text = probe.output_at_exit
    found = [t.split()[1] for t in text.splitlines() if t.startswith('received')]
    return int(found[0]) if found else 0


if __name__ == '__main__':
    sys.exit(main())
