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

"""Orderly exit on SIGINT/SIGTERM: the signal state machine, the worker, and real processes.

The process test does without ``ros2 launch``: the node (compressed input) and the camera
stand-in (``--compressed jpeg``) are started directly and each gets SIGINT three times in
quick succession, as Ctrl-C in a terminal plus ``ros2 launch``'s forwarding deliver it.
"""

import os
import signal
import threading
import time

from logocap_ros.msg import PersonPoseArray
from logocap_ros.ros.latest_frame import FrameWorker
from logocap_ros.ros.shutdown import ExitRequest, spin_until_exit
import pytest
from ros_helpers import (camera_command, child_env, node_command, private_domain, Proc,
                         TestGraph, wait_until)

pytestmark = pytest.mark.ros


@pytest.fixture
def restore_signals():
    """Put back the SIGINT/SIGTERM handlers of the test process after the test."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _signal_self(signum: int = signal.SIGINT) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # the handler runs in the main thread at the next bytecode


def test_exit_request_phases(restore_signals):
    request = ExitRequest().install()
    with pytest.raises(KeyboardInterrupt):  # starting: abort the start-up
        _signal_self()
    assert request.requested
    request = ExitRequest().install()
    request.running()
    _signal_self(signal.SIGTERM)  # running: only a request
    _signal_self()
    assert request.requested and request.phase == 'running'
    request.stopping()
    _signal_self()  # stopping: ignored at the OS level, also while the interpreter exits
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    request.restore()
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN


class _FakeContext:
    def __init__(self) -> None:
        self.up = True

    def ok(self) -> bool:
        return self.up


class _FakeExecutor:
    def __init__(self, on_spin) -> None:
        self.context = _FakeContext()
        self.spins = 0
        self._on_spin = on_spin

    def spin_once(self, timeout_sec: float) -> None:
        self.spins += 1
        self._on_spin(self)


def test_spin_until_exit_stops_on_signal_done_or_shutdown(restore_signals):
    request = ExitRequest().install()
    executor = _FakeExecutor(lambda e: _signal_self() if e.spins == 3 else None)
    spin_until_exit(executor, request)
    assert executor.spins == 3 and request.requested
    request = ExitRequest().install()
    executor = _FakeExecutor(lambda e: None)
    spin_until_exit(executor, request, done=lambda: executor.spins >= 5)
    assert executor.spins == 5
    executor = _FakeExecutor(lambda e: setattr(e.context, 'up', e.spins < 2))
    spin_until_exit(executor, request)
    assert executor.spins == 2 and not request.requested


def test_worker_stop_finishes_the_frame_before_a_second_ctrl_c_propagates(restore_signals):
    started, finished = threading.Event(), []
    worker = None

    def on_sigint(signum, frame):
        raise KeyboardInterrupt

    def process(item):
        started.set()
        wait_until(lambda: worker.slot.closed, 5)  # the main thread has entered stop()
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C while stop() waits
        time.sleep(0.5)
        finished.append(item)

    worker = FrameWorker(process, on_error=lambda exc: None)
    worker.start()
    worker.slot.put('frame')
    assert wait_until(started.is_set, 5)
    signal.signal(signal.SIGINT, on_sigint)
    with pytest.raises(KeyboardInterrupt):
        worker.stop()
    assert finished == ['frame'] and not worker.running


def test_node_and_camera_survive_repeated_sigint_with_exit_code_0():
    with private_domain() as domain_id:
        graph = TestGraph(domain_id)
        node = Proc(node_command(weights='random', backend='torch', input_size=64,
                                 flip_test=False, pose_threshold=0.0,
                                 input_transport='compressed'), child_env(domain_id))
        camera = Proc(camera_command('synthetic:128x96', '--rate', '20', '--compressed',
                                     'jpeg', '--frame-id', 'zcam'), child_env(domain_id))
        try:
            poses = graph.collect(PersonPoseArray, 'poses')
            assert wait_until(lambda: len(poses) >= 2, 120), node.output() + camera.output()
            assert {m.header.frame_id for _, m in poses} == {'zcam'}
            for _ in range(3):  # Ctrl-C in a terminal, launch's forwarding, Ctrl-C again
                for proc in (node, camera):
                    proc.popen.send_signal(signal.SIGINT)
                time.sleep(0.1)
            codes = [proc.popen.wait(30) for proc in (node, camera)]
        finally:
            graph.close()
            node.stop()
            camera.stop()
    output = node.output() + camera.output()
    assert codes == [0, 0], output
    for word in ('Traceback', 'Failed to publish', 'terminate called', 'skipping image'):
        assert word not in output, output
