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

"""Benchmark the per-frame cost of the interop outputs (vision_msgs detections, REP-155 bodies).

For 1, 5 and 30 tracked people with 3D keypoints (640x480): building ``detections``,
``detections_3d`` and the REP-155 messages, and ``InteropOutputs.update`` (build + publish)
with every topic subscribed and with nobody subscribed (then only ``tracked`` goes out).

Usage (inside ``. scripts/env.sh`` with vision_msgs/hri_msgs on the path; no traffic leaves
the process, ROS on loopback)::

    python benchmarks/bench_interop.py [--repeats 300]
"""

import argparse
import os
from pathlib import Path
import platform
import sys
from typing import Dict, List

import numpy as np
from bench_common import timed  # noqa: I100 (benchmarks/)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'test'))
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'

PEOPLE = (1, 5, 30)


def frame_with(people: int):
    """Return a 640x480 ``poses`` message with ``people`` tracked people, and their ids."""
    import interop_scenario as scenario
    msg, _ = scenario.frame(0)
    msg.people = [scenario.person(i, 20.0 + 15 * i, 30.0 + 5 * i, 0.8) for i in range(people)]
    return msg, frozenset(range(people))


def measure(repeats: int) -> Dict[str, Dict[int, List[float]]]:
    """Time every step for every people count (in a private, loopback-only domain)."""
    import rclpy
    from ros_helpers import private_domain
    with private_domain() as domain_id:
        rclpy.init(domain_id=domain_id)
        return _measure(rclpy.create_node('bench_interop'), repeats)


def _measure(node, repeats: int) -> Dict[str, Dict[int, List[float]]]:
    import rclpy
    from hri_msgs.msg import IdsList, NormalizedRegionOfInterest2D, Skeleton2D
    from logocap_ros.ros import interop, qos
    from logocap_ros.ros.hri_bridge import body_roi, skeleton2d_messages
    from logocap_ros.ros.parameters import NodeConfig
    from logocap_ros.ros.vision_bridge import (pose_array_to_detections,
                                               pose_array_to_detections_3d)
    from vision_msgs.msg import Detection2DArray, Detection3DArray
    cfg = NodeConfig(publish_detections=True, hri_enable=True, hri_body_id_prefix='b_')
    results: Dict[str, Dict[int, List[float]]] = {}
    try:
        for people in PEOPLE:
            msg, live = frame_with(people)
            w, h = msg.image_width, msg.image_height
            steps = {
                'build detections': lambda: pose_array_to_detections(msg),
                'build detections_3d': lambda: pose_array_to_detections_3d(msg),
                'build skeleton2d + roi (all people)': lambda: (
                    skeleton2d_messages(msg.people, w, h, msg.header),
                    [body_roi(p, w, h, msg.header) for p in msg.people]),
            }
            quiet = interop.InteropOutputs(node, cfg, qos.output_qos())
            quiet.update(msg, live)
            steps['update, nobody subscribed'] = lambda: quiet.update(msg, live)
            for name, fn in steps.items():
                results.setdefault(name, {})[people] = timed(fn, repeats)
            quiet.destroy()
            outputs = interop.InteropOutputs(node, cfg, qos.output_qos())
            outputs.update(msg, live)
            subs = [node.create_subscription(t, name, lambda m: None, 5) for t, name in (
                (Detection2DArray, 'detections'), (Detection3DArray, 'detections_3d'),
                (IdsList, '/humans/bodies/tracked'))]
            for i in live:
                subs.append(node.create_subscription(
                    Skeleton2D, outputs.hri.body_topic(i, 'skeleton2d'), lambda m: None, 5))
                subs.append(node.create_subscription(
                    NormalizedRegionOfInterest2D, outputs.hri.body_topic(i, 'roi'),
                    lambda m: None, 5))
            results.setdefault('update, all subscribed (build + publish)', {})[people] = \
                timed(lambda: outputs.update(msg, live), repeats)
            for sub in subs:
                node.destroy_subscription(sub)
            outputs.destroy()
    finally:
        node.destroy_node()
        rclpy.shutdown()
    return results


def machine() -> str:
    """Describe the CPU, core count and Python version."""
    model = 'unknown CPU'
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or model
    return f'{model}, {os.cpu_count()} cores, Python {platform.python_version()}'


def main() -> int:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=300)
    args = parser.parse_args()
    results = measure(args.repeats)
    print(f'machine: {machine()}; {args.repeats} repeats per step; 640x480, times in ms')
    print('| step | ' + ' | '.join(f'{n} people median / p95' for n in PEOPLE) + ' |')
    print('| --- |' + ' --- |' * len(PEOPLE))
    for name, per_count in results.items():
        cells = [f'{np.median(t):.3f} / {np.percentile(t, 95):.3f}'
                 for t in (per_count[n] for n in PEOPLE)]
        print(f'| {name} | ' + ' | '.join(cells) + ' |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
