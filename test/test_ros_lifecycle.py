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

"""Lifecycle of the real node process driven over its services (``autostart:=false``).

Also: model parameters change while unconfigured (and only then), counters survive
deactivate/activate, deactivate keeps the model (activate does not load it again),
diagnostics report the state while inactive and "warming up" during a configure-time
warm-up, and deactivate clears the RViz markers.
"""

import time

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from logocap_ros.msg import PersonPoseArray
import numpy as np
import pytest
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from ros_helpers import (child_env, model_load_line, node_command, private_domain, Proc,
                         resend_until, TestGraph, wait_until)
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def frame(sec: int) -> Image:
    """Return a small bgr8 image stamped ``sec``."""
    data = np.random.default_rng(sec).integers(0, 256, (96, 128, 3), np.uint8).tobytes()
    return Image(header=Header(stamp=Time(sec=sec), frame_id='lc'), height=96, width=128,
                 encoding='bgr8', step=384, data=data)


def test_configure_activate_deactivate_reactivate():
    with private_domain() as domain_id:
        node = Proc(node_command(weights='random', input_size=64, flip_test=False,
                                 max_people=3, autostart=False, pose_threshold=0.0),
                    child_env(domain_id))
        g = TestGraph(domain_id)
        try:
            _run_lifecycle(g, node)
        finally:
            g.close()
            node.stop()


def _run_lifecycle(g: TestGraph, node: Proc) -> None:
    get_state = g.node.create_client(GetState, '/logocap_node/get_state')
    change = g.node.create_client(ChangeState, '/logocap_node/change_state')
    params = g.node.create_client(SetParameters, '/logocap_node/set_parameters')
    poses = g.collect(PersonPoseArray, 'poses')
    diag = g.collect(DiagnosticArray, '/diagnostics')
    markers = g.collect(MarkerArray, 'markers')
    pub = g.node.create_publisher(Image, 'image', 10)

    def set_param(name: str, value: object):
        request = SetParameters.Request(parameters=[Parameter(name, value=value)
                                                    .to_parameter_msg()])
        return g.call(params, request).results[0]

    def status() -> dict:
        if not diag:
            return {}
        status = diag[-1][1].status[0]
        return {'message': status.message, **{kv.key: kv.value for kv in status.values}}

    def state() -> int:
        return g.call(get_state, GetState.Request(), 60).current_state.id

    def transition(tid: int) -> bool:
        request = ChangeState.Request(transition=Transition(id=tid))
        return g.call(change, request, 120).success

    def processed(sec: int, timeout: float) -> bool:
        return resend_until(lambda: pub.publish(frame(sec)),
                            lambda: any(m.header.stamp.sec == sec for _, m in poses), timeout)

    assert state() == State.PRIMARY_STATE_UNCONFIGURED
    assert transition(Transition.TRANSITION_CONFIGURE)
    assert state() == State.PRIMARY_STATE_INACTIVE
    assert g.node.count_publishers('poses') == 1 and g.node.count_subscribers('image') == 0
    refused = set_param('input_size', 128)  # model parameters: only while unconfigured
    assert not refused.successful and 'unconfigured' in refused.reason, refused.reason
    assert wait_until(lambda: status().get('lifecycle_state') == 'inactive', 10), status()
    assert transition(Transition.TRANSITION_ACTIVATE)
    assert wait_until(lambda: pub.get_subscription_count() == 1, 20)
    assert processed(1, 60), node.output()[-1500:]
    sent = [0]  # frames every 10 ms while the model runs: some are dropped

    def dropped() -> bool:  # (re)publishing: a best-effort burst can be lost under load
        pub.publish(frame(100 + sent[0] % 20))
        sent[0] += 1
        return int(status().get('frames_dropped', 0)) > 0
    assert wait_until(dropped, 30, step=0.01), (len(diag), status(), node.output()[-3000:])
    assert transition(Transition.TRANSITION_DEACTIVATE)
    assert wait_until(lambda: [m for _, m in markers if len(m.markers) == 1
                               and m.markers[0].action == Marker.DELETEALL], 10)
    assert wait_until(lambda: pub.get_subscription_count() == 0, 20)
    assert wait_until(lambda: status().get('lifecycle_state') == 'inactive', 10), status()
    assert 'inactive' in status()['message']
    inactive = diag[-1][1].status[0]  # the kept model still describes itself
    assert inactive.hardware_id.endswith('/cpu'), inactive.hardware_id
    assert status()['backend'] and 'logocap-hrnet-w32' in status()['model'], status()
    counters = {k: int(status()[k]) for k in ('frames_received', 'frames_dropped')}
    assert not processed(2, 2.0)
    loads = node.output().count(model_load_line())
    assert loads == 1, node.output()[-3000:]
    assert transition(Transition.TRANSITION_ACTIVATE)  # keeps the model: no second load
    assert wait_until(lambda: pub.get_subscription_count() == 1, 20)
    assert processed(3, 60), node.output()[-1500:]
    assert node.output().count(model_load_line()) == loads, node.output()[-3000:]
    assert wait_until(lambda: status().get('lifecycle_state') == 'active', 10)
    for key, before in counters.items():  # one rule: counters count since the node started
        assert int(status()[key]) >= before, (key, before, status())
    assert transition(Transition.TRANSITION_DEACTIVATE)
    assert transition(Transition.TRANSITION_CLEANUP)
    assert state() == State.PRIMARY_STATE_UNCONFIGURED
    time.sleep(0.5)
    assert g.node.count_publishers('poses') == 0
    assert sorted({m.header.stamp.sec for _, m in poses} - set(range(100, 120))) == [1, 3]
    # unconfigured: model parameters may change; they apply at the next configure
    assert set_param('input_size', 128).successful
    assert set_param('warmup_image_size', '128x96').successful
    assert not set_param('backend', 'tf').successful
    diag.clear()
    assert transition(Transition.TRANSITION_CONFIGURE)
    assert 'input=128' in node.output() and 'warm-up done' in node.output(), node.output()
    assert any('warming up' in m.status[0].message for _, m in diag), [
        m.status[0].message for _, m in diag]
    # shutdown: the node finalizes, answers the request, and its process ends with status 0
    assert transition(Transition.TRANSITION_INACTIVE_SHUTDOWN)
    assert wait_until(lambda: node.popen.poll() is not None, 20), 'process still alive'
    assert node.popen.returncode == 0, node.output()
