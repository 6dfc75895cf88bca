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

"""Test process: publishes the frames of ``interop_scenario`` through the node's interop outputs.

Usage: ``python test/interop_driver.py HRI_PREFIX BODY_ID_PREFIX [--ros-args ...]``. Receiving
``k`` on ``step`` (``std_msgs/UInt32``) publishes frame ``k`` on ``poses`` and then through
:class:`logocap_ros.ros.interop.InteropOutputs` (detections and REP-155 bodies), as the node
does. Prints ``driver ready: <body id prefix>`` once its publishers exist.
"""

import sys

from interop_scenario import frame
from logocap_ros.msg import PersonPoseArray
from logocap_ros.ros import interop, qos
from logocap_ros.ros.parameters import NodeConfig
import rclpy
from rclpy.executors import ExternalShutdownException
from std_msgs.msg import UInt32


def main() -> int:
    """Run the driver until SIGINT."""
    rclpy.init(args=sys.argv)
    prefix, id_prefix = rclpy.utilities.remove_ros_args(sys.argv)[1:3]
    node = rclpy.create_node('interop_driver')
    cfg = NodeConfig(publish_detections=True, hri_enable=True, hri_prefix=prefix,
                     hri_body_id_prefix=id_prefix).validate(
        ['hri_prefix', 'hri_body_id_prefix'])
    interop.require_packages(cfg)
    outputs = interop.InteropOutputs(node, cfg, qos.output_qos())
    poses_pub = node.create_publisher(PersonPoseArray, 'poses', qos.output_qos())

    def on_step(msg: UInt32) -> None:
        poses, live_ids = frame(msg.data)
        poses_pub.publish(poses)
        outputs.update(poses, live_ids)

    node.create_subscription(UInt32, 'step', on_step, 10)
    print(f'driver ready: {outputs.hri.body_id_prefix}', flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
