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

"""Test helper process: count best-effort images on ``image``.

Usage: ``ros_image_probe.py EXPECTED MAX_SECONDS``. Prints ``ready`` once subscribed, then
``received N WxH BYTES`` (how many full-size frames arrived, and the first frame's size) after
EXPECTED frames, after 2 s without a frame once frames came, after MAX_SECONDS, or on SIGINT.
"""

import sys
import time

from logocap_ros.ros.qos import image_qos
import rclpy
from rclpy.executors import ExternalShutdownException
from sensor_msgs.msg import Image


def main() -> int:
    """Subscribe, count, report."""
    expected, seconds = int(sys.argv[1]), float(sys.argv[2])
    rclpy.init()
    node = rclpy.create_node('image_probe')
    got = []
    node.create_subscription(Image, 'image',
                             lambda m: got.append((m.width, m.height, len(m.data))),
                             image_qos('best_effort'))
    print('ready', flush=True)
    deadline = time.monotonic() + seconds
    last_count, last_change = 0, time.monotonic()
    try:
        while time.monotonic() < deadline and len(got) < expected:
            rclpy.spin_once(node, timeout_sec=0.05)
            if len(got) != last_count:
                last_count, last_change = len(got), time.monotonic()
            elif got and time.monotonic() - last_change > 2.0:
                break
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # SIGINT: report what arrived so far
    full = [g for g in got if g[2] == g[0] * g[1] * 3]
    size = f'{got[0][0]}x{got[0][1]} {got[0][2]}' if got else '0x0 0'
    print(f'received {len(full)} {size}', flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
