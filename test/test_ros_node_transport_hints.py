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

"""``input_transport:=compressed`` follows an ``image:=`` remap, and its hint fits the transport.

As ``image_transport`` users expect, ``-r image:=/cam/image_raw`` makes the compressed node
listen on ``/cam/image_raw/compressed``; a raw publisher on ``/cam/image_raw`` gets the advice
to switch the transport, not to remap.
"""

import cv2
from logocap_ros.msg import PersonPoseArray
import numpy as np
import pytest
from ros_helpers import (child_env, node_command, private_domain, Proc, resend_until, TestGraph,
                         wait_until)
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_compressed_input_follows_the_image_remap_and_hints_at_the_transport():
    command = node_command(weights='random', input_size=64, flip_test=False, max_people=3,
                           backend='torch', input_transport='compressed', no_image_warn_s=1.0,
                           pose_threshold=0.0)
    with private_domain() as domain_id:
        g = TestGraph(domain_id)
        node = Proc(command + ['-r', 'image:=/cam/image_raw'], child_env(domain_id))
        try:
            assert node.wait_for('active: listening on /cam/image_raw/compressed', 120), \
                node.output()
            g.node.create_publisher(Image, '/cam/image_raw', 1)  # raw only, never sends
            assert node.wait_for('raw sensor_msgs/Image publishers are on /cam/image_raw', 40), \
                node.output()
            line = next(t for t in node.output().splitlines() if 'raw sensor_msgs/Image' in t)
            assert 'input_transport:=raw' in line and 'remap' not in line, line
            poses = g.collect(PersonPoseArray, 'poses')
            pub = g.node.create_publisher(CompressedImage, '/cam/image_raw/compressed', 10)
            assert wait_until(lambda: pub.get_subscription_count() == 1, 20)
            jpeg = cv2.imencode('.jpg', np.full((48, 64, 3), 128, np.uint8))[1].tobytes()
            frame = CompressedImage(header=Header(frame_id='cam'), format='jpeg', data=jpeg)
            # the publisher sees the node's reader before the reader knows the publisher: a
            # frame sent in between is dropped, so send again until one gets through
            assert resend_until(lambda: pub.publish(frame), lambda: poses, 60), \
                node.output()[-2000:]
        finally:
            g.close()
            node.stop()
