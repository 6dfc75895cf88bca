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

"""Helpers for the multi-process ROS tests: private domains, child processes, a test graph.

Network safety: every process gets ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` and a domain
id locked machine-wide with the same lock files as ``conftest.DomainIdPool``. Importing this
module also points the test process's Fast DDS profile variable (the one this ROS 2 reads,
``logocap_ros.ros.fastdds_profile``) at the shipped shared-memory profile (pytest imports it
at collection, before any participant exists).
"""

import contextlib
import fcntl
import importlib.util
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, Iterator, List, Optional

from logocap_ros.ros.fastdds_profile import variables_to_set_and_unset

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / 'config' / 'fastdds_shm.xml'
PROFILE_VAR, OTHER_PROFILE_VAR = variables_to_set_and_unset()
os.environ.setdefault(PROFILE_VAR, str(PROFILE))


@contextlib.contextmanager
def private_domain(ids: range = range(50, 102)) -> Iterator[int]:
    """Hold a domain id no other test process on this machine holds (flock per id)."""
    lock_dir = Path(tempfile.gettempdir())
    start = (os.getpid() * 7 + int(time.monotonic() * 1000)) % len(ids)
    for k in range(len(ids)):
        domain_id = ids[(start + k) % len(ids)]
        fd = os.open(str(lock_dir / f'logocap_ros_ros_domain_{domain_id}.lock'),
                     os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            yield domain_id
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    raise RuntimeError('no free ROS domain id')


def child_env(domain_id: int, profile: bool = True) -> Dict[str, str]:
    """Environment for a child ROS process: private domain, loopback only, source tree first."""
    env = dict(os.environ)
    env.update(ROS_DOMAIN_ID=str(domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST',
               PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    env.pop(PROFILE_VAR, None)
    env.pop(OTHER_PROFILE_VAR, None)  # with both set, Fast DDS 3 loads the profile twice
    if profile:
        env[PROFILE_VAR] = str(PROFILE)
    paths = [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + [p for p in paths if p != str(ROOT)])
    return env


class Proc:
    """A child process whose combined output goes to a temporary file."""

    def __init__(self, args: List[str], env: Dict[str, str]) -> None:
        self._log = tempfile.NamedTemporaryFile('w+', prefix='logocap_test_', suffix='.log')
        self.output_at_exit = ''
        self.popen = subprocess.Popen(args, env=env, stdout=self._log,
                                      stderr=subprocess.STDOUT, cwd=str(ROOT))

    def output(self) -> str:
        """Return everything the process printed so far (or until :meth:`stop`)."""
        if self._log.closed:
            return self.output_at_exit
        with open(self._log.name, encoding='utf-8', errors='replace') as handle:
            return handle.read()

    def wait_for(self, text: str, timeout: float) -> bool:
        """Wait until ``text`` appears in the output; False on timeout or exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            if self.popen.poll() is not None:
                return text in self.output()
            time.sleep(0.1)
        return False

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGINT, then SIGKILL after ``timeout``; keep the output in ``output_at_exit``."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        if not self._log.closed:
            self.output_at_exit = self.output()
            self._log.close()
        return self.popen.returncode


def model_params(params: Dict[str, object]) -> Dict[str, object]:
    """Return node parameters for this venv: ``weights: random`` needs torch.

    Without torch (the Jazzy venv), ``weights='random'`` becomes ``model=$LOGOCAP_TEST_MODEL``
    (the random weights exported to ONNX by ``make test-jazzy``) and ``backend='torch'``
    becomes ``onnxruntime``.
    """
    if params.get('weights') != 'random' or importlib.util.find_spec('torch') is not None:
        return dict(params)
    from logocap_ros.ros.parameters import PARAMETERS
    if 'model' not in PARAMETERS:
        import pytest
        pytest.skip('needs torch (weights:=random; pip install torch, as requirements/dev.txt): '
                    'this node has no `model` parameter to run from an exported model instead',
                    allow_module_level=True)
    model = os.environ.get('LOGOCAP_TEST_MODEL', '')
    if not model:
        import pytest
        pytest.skip('torch is not installed and LOGOCAP_TEST_MODEL names no exported model: '
                    'install torch (requirements/dev.txt) or run `make test-jazzy`, which '
                    'exports one', allow_module_level=True)
    out = {name: value for name, value in params.items() if name != 'weights'}
    out['model'] = model
    if out.get('backend') == 'torch':
        out['backend'] = 'onnxruntime'
    return out


def model_load_line() -> str:
    """Return the log line the node writes once per model load with ``weights='random'``.

    From weights, ``backend 'auto' chose ...`` (the registry's choice); from the exported model
    of :func:`model_params` (no torch), ONNX Runtime's ``onnxruntime session for ... ready``.
    """
    if importlib.util.find_spec('torch') is not None:
        return "backend 'auto' chose"
    return 'onnxruntime session for'


def node_command(**params: object) -> List[str]:
    """Command line starting the real node module with ``-p name:=value`` overrides.

    ``weights='random'`` runs from an exported model where torch is missing (:func:`model_params`).
    """
    args = [sys.executable, '-m', 'logocap_ros.ros.node', '--ros-args']
    for name, value in model_params(params).items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        args += ['-p', f'{name}:={text}']
    return args


def camera_command(source: str, *extra: str) -> List[str]:
    """Command line starting the camera stand-in."""
    return [sys.executable, '-m', 'logocap_ros.ros.camera_publisher', source, *extra]


class TestGraph:
    """An rclpy context, node and background executor in the test process."""

    __test__ = False

    def __init__(self, domain_id: int, name: str = 'test_graph') -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node(name, context=self.context)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        with contextlib.suppress(Exception):
            self._executor.spin()

    def collect(self, msg_type: type, topic: str, qos: object = 10) -> List[tuple]:
        """Subscribe; return the live list of ``(receive_time_ns, msg)``."""
        got: List[tuple] = []
        clock = self.node.get_clock()
        self.node.create_subscription(
            msg_type, topic, lambda m: got.append((clock.now().nanoseconds, m)), qos)
        return got

    def call(self, client: object, request: object, timeout: float = 10.0) -> object:
        """Call a service and wait for the response."""
        assert client.wait_for_service(timeout_sec=timeout), 'service not available'
        future = client.call_async(request)
        deadline = time.monotonic() + timeout
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert future.done(), 'service call timed out'
        return future.result()

    def close(self) -> None:
        """Shut everything down."""
        import rclpy
        self._executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self._thread.join(5)


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` s passed; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def resend_until(publish: Callable[[], None], done: Callable[[], bool], timeout: float,
                 period_s: float = 2.0) -> bool:
    """Call ``publish()`` every ``period_s`` until ``done()`` or ``timeout`` s; return ``done()``.

    Image subscriptions are best effort: a frame sent while discovery is still settling, or
    while a loaded machine lets the reader's queue overflow, can be lost. The node keeps only
    the newest frame, so sending the same frame again is harmless.
    """
    last = [float('-inf')]

    def predicate() -> bool:
        if done():
            return True
        if time.monotonic() - last[0] >= period_s:
            last[0] = time.monotonic()
            publish()
        return False
    return wait_until(predicate, timeout)


@contextlib.contextmanager
def running_nodes(commands: List[List[str]], ready: str = 'active: listening on /image',
                  timeout: float = 120.0, before: Optional[Callable[['TestGraph'], None]] = None,
                  check_exit: bool = True) -> Iterator['TestGraph']:
    """Start node processes and a test graph in a private domain; yield the graph.

    The graph is made first (``before(graph)`` can subscribe to what must not be missed, e.g.
    ``/rosout``), then each process, which must print ``ready`` within ``timeout`` s. The
    graph gets ``proc`` (the first process), ``procs`` and ``domain_id``. On exit the graph
    closes and every process stops (with ``check_exit``: exit status 0 or SIGINT).
    """
    with private_domain() as domain_id:
        graph = TestGraph(domain_id)
        if before is not None:
            before(graph)
        env = child_env(domain_id)
        procs = [Proc(command, env) for command in commands]
        try:
            for proc in procs:
                assert proc.wait_for(ready, timeout), proc.output()
            graph.proc, graph.procs, graph.domain_id = procs[0], procs, domain_id
            yield graph
        finally:
            graph.close()
            for proc in procs:
                code = proc.stop()
                assert not check_exit or code in (0, -2), proc.output()


def image_msg(sec: int, width: int = 320, height: int = 240, frame_id: str = 'test_cam',
              nanosec: int = 0, seed: Optional[int] = None) -> object:
    """Return a bgr8 ``sensor_msgs/Image`` of random pixels (from ``seed``, default ``sec``)."""
    import numpy as np
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header
    pixels = np.random.default_rng(sec if seed is None else seed).integers(
        0, 256, (height, width, 3), np.uint8)
    return Image(header=Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id),
                 height=height, width=width, encoding='bgr8', step=width * 3,
                 data=pixels.tobytes())
