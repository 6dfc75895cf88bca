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

"""``ros2 launch ... input_transport:=compressed`` with a compressed source, then Ctrl-C twice.

The player publishes JPEG frames on ``<camera_topic>/compressed``; the node must listen there
and publish poses for them. Then SIGINT goes to the whole process group twice (Ctrl-C pressed
twice in a terminal: every process gets each signal, and ``ros2 launch`` forwards one more),
the sequence that used to crash the node (``terminate called without an active exception``,
-6) and the player (-2): every process must end with code 0 and print no traceback and no
``Failed to publish``.
"""

import time

from launch_helpers import LaunchedSystem, require_ros2_cli, SMALL_ARGS, SMALL_PARAMS, \
    write_params
from logocap_ros.msg import PersonPoseArray
import pytest
from ros_helpers import private_domain, TestGraph, wait_until

require_ros2_cli()

pytestmark = [pytest.mark.ros, pytest.mark.slow]

CAMERA = '/cam/image_raw'
TIMEOUT = 120.0  # s; node start-up on a loaded 2-core machine


@pytest.fixture(scope='module')
def system(tmp_path_factory):
    """Launch node + JPEG player (busy: 20 Hz) and a test graph in a private domain."""
    params = write_params(tmp_path_factory.mktemp('launch') / 'params.yaml', SMALL_PARAMS)
    with private_domain() as domain_id:
        launched = LaunchedSystem(domain_id, play='synthetic:128x96', play_rate=20,
                                  input_transport='compressed', camera_topic=CAMERA,
                                  frame_id='jpeg_cam', params_file=params, **SMALL_ARGS)
        graph = TestGraph(domain_id)
        try:
            graph.launched = launched
            graph.poses = graph.collect(PersonPoseArray, 'poses')
            assert launched.wait_for('active: listening on', TIMEOUT), launched.output()
            yield graph
        finally:
            graph.close()
            launched.close()


def test_compressed_input_from_a_compressed_source(system):
    assert wait_until(lambda: len(system.poses) >= 3, TIMEOUT), system.launched.output()
    out = system.launched.output()
    assert f'active: listening on {CAMERA}/compressed' in out, out
    subs = system.node.get_subscriptions_info_by_topic(f'{CAMERA}/compressed')
    assert [(i.node_name, i.topic_type) for i in subs] == [
        ('logocap_node', 'sensor_msgs/msg/CompressedImage')]
    assert system.node.count_subscribers(CAMERA) == 0  # nobody takes the raw frames
    msgs = [m for _, m in system.poses]
    assert {(m.header.frame_id, m.image_width, m.image_height) for m in msgs} == {
        ('jpeg_cam', 128, 96)}


def test_double_ctrl_c_ends_every_process_cleanly(system):
    launched = system.launched
    count = len(system.poses)
    assert wait_until(lambda: len(system.poses) > count, TIMEOUT)  # the worker is busy
    launched.interrupt(group=True)
    time.sleep(0.3)  # the second Ctrl-C arrives while the processes clean up
    launched.interrupt(group=True)
    assert launched.finish(60) == 0, launched.output()
    assert launched.exit_codes() == {'logocap_node-1': 0, 'camera_publisher-2': 0}, \
        launched.output()
    assert launched.forbidden_lines() == [], launched.output()
