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

"""The node from ``model:=FILE`` over real DDS, in a process in which torch is unimportable."""

import subprocess

from logocap_ros.msg import PersonPoseArray
import no_torch_env
import numpy as np
import pytest
from ros_helpers import (child_env, node_command, private_domain, Proc, resend_until, TestGraph,
                         wait_until)
from sensor_msgs.msg import Image

pytestmark = pytest.mark.ros


def _one_line(params: dict) -> str:
    with private_domain() as domain_id:
        done = subprocess.run(node_command(**params), env=no_torch_env.env(child_env(domain_id)),
                              capture_output=True, text=True, timeout=120)
    lines = [t for t in (done.stdout + done.stderr).splitlines() if t.strip()]
    assert done.returncode == 1, lines
    assert len(lines) == 1 and 'Traceback' not in lines[0], lines
    return lines[0]


def test_weights_without_torch_exit_with_one_line_naming_model():
    line = _one_line({'weights': 'random'})
    assert 'needs PyTorch' in line and 'model:=FILE.onnx' in line, line


def test_missing_model_file_exits_with_one_line(tmp_path):
    line = _one_line({'model': str(tmp_path / 'nope.onnx')})
    assert 'model file not found' in line and 'logocap-export-onnx' in line, line


@pytest.mark.slow
def test_node_from_model_file_without_torch_publishes_poses():
    model = no_torch_env.exported_model('random', flip=False)
    with private_domain() as domain_id:
        graph = TestGraph(domain_id)
        node = Proc(node_command(model=str(model), input_size=64, max_people=5,
                                 pose_threshold=0.0, tracking=False),
                    no_torch_env.env(child_env(domain_id)))
        try:
            assert node.wait_for('active: listening on /image', 180), node.output()
            assert 'onnxruntime' in node.output() and 'input=64 model=any' in node.output(), \
                node.output()
            assert 'model file was exported from random weights: UNTRAINED' in node.output()
            poses = graph.collect(PersonPoseArray, 'poses')
            pub = graph.node.create_publisher(Image, 'image', 10)
            assert wait_until(lambda: pub.get_subscription_count() > 0, 20)
            pixels = np.random.default_rng(3).integers(0, 256, (96, 128, 3), np.uint8)
            msg = Image(height=96, width=128, encoding='bgr8', step=128 * 3,
                        data=pixels.tobytes())
            msg.header.frame_id = 'cam'
            assert resend_until(lambda: pub.publish(msg), lambda: bool(poses), 120), \
                node.output()[-2000:]
            assert poses[0][1].header.frame_id == 'cam'
            assert poses[0][1].image_width == 128 and len(poses[0][1].people) >= 1
        finally:
            graph.close()
            assert node.stop() in (0, -2), node.output()
