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

"""Shared test fixtures: private ROS 2 domains, subprocess environments, GPU skips.

Network safety: every ROS 2 participant started by the tests stays on loopback
(``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``) and uses a domain id that no other test, and no
other pytest run on this machine, holds at the same time (see :class:`DomainIdPool`).
The test process itself gets one such id for the whole session, in ``os.environ`` before any
test runs, so in-process ``rclpy.init()`` calls are isolated too.
"""

import fcntl
import os
from pathlib import Path
import signal
import tempfile
from typing import Dict, Iterator, Optional
import warnings

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Domain ids handed out. Ids above 101 map to UDP ports in Linux's ephemeral port range
#: (ROS 2 "The ROS_DOMAIN_ID" notes), so they are avoided.
DOMAIN_IDS = range(50, 102)


class DomainIdPool:
    """Hands out ROS 2 domain ids that are unique machine-wide while held.

    Uniqueness across concurrent pytest runs comes from an exclusive ``flock`` on one lock file
    per id in the temporary folder; the kernel drops the lock if the process dies.
    """

    def __init__(self, ids: range = DOMAIN_IDS, lock_dir: Optional[str] = None):
        self._ids = ids
        self._lock_dir = Path(lock_dir or tempfile.gettempdir())
        self._held: Dict[int, int] = {}

    def acquire(self) -> int:
        """Lock and return a free domain id.

        :raises RuntimeError: if every id in the range is held.
        """
        start = os.getpid() % len(self._ids)
        for k in range(len(self._ids)):
            domain_id = self._ids[(start + k) % len(self._ids)]
            if domain_id in self._held:
                continue
            path = self._lock_dir / f'logocap_ros_ros_domain_{domain_id}.lock'
            fd = os.open(str(path), os.O_CREAT | os.O_RDWR, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self._held[domain_id] = fd
            return domain_id
        raise RuntimeError(f'all ROS 2 domain ids {self._ids.start}..{self._ids.stop - 1} '
                           'are in use by other test processes')

    def release(self, domain_id: int) -> None:
        """Unlock ``domain_id`` (no-op if it is not held)."""
        fd = self._held.pop(domain_id, None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


_POOL = DomainIdPool()


def pytest_configure(config):
    """Give the test process its own loopback-only ROS 2 domain and a private cache folder."""
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ['ROS_DOMAIN_ID'] = str(_POOL.acquire())
    # ONNX exports, engines and weights made by tests go to a private folder, not ~/.cache
    os.environ.setdefault('LOGOCAP_CACHE_DIR', tempfile.mkdtemp(prefix='logocap_ros_test_cache_'))
    _receive_sigint()


def _dist_version(*names: str) -> str:
    """Return ``name==version`` of the first installed distribution of ``names``, or ``-``."""
    from importlib import metadata
    for name in names:
        try:
            return f'{name}=={metadata.version(name)}'
        except metadata.PackageNotFoundError:
            continue
    return '-'


def pytest_report_header(config):
    """Show the ROS 2 isolation settings and the ROS 2 versions (PyPI wheels) in the header."""
    return [(f'ROS_DOMAIN_ID={os.environ.get("ROS_DOMAIN_ID")} '
             f'ROS_AUTOMATIC_DISCOVERY_RANGE={os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE")}'),
            (f'ROS_DISTRO={os.environ.get("ROS_DISTRO", "-")} rclpy: {_dist_version("ros-rclpy")} '
             f'Fast DDS: {_dist_version("ros-fastdds", "ros-fastrtps")}')]


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` when no CUDA device is usable, saying so in the reason."""
    gpu_items = [item for item in items if item.get_closest_marker('gpu') is not None]
    if not gpu_items or _cuda_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA GPU: torch.cuda.is_available() is False here')
    for item in gpu_items:
        item.add_marker(skip)


def _receive_sigint() -> None:
    """Let the processes the tests start receive SIGINT, as from a terminal.

    A shell starts a background job (``make test &``, a CI runner's script) with SIGINT and
    SIGQUIT ignored; ignored signals are inherited across exec, and ``ros2 launch`` keeps an
    ignored SIGINT ignored, so the tests that interrupt a launch would wait in vain. A Python
    handler here is reset to the default in every child.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def keep_stop_signal_handlers() -> Iterator[None]:
    """Put back SIGINT/SIGTERM handlers a test changed in this process, with a warning.

    Children inherit an ignored signal: one test leaving SIGINT at ``SIG_IGN`` (a CLI's
    ``main()`` run in-process enters its uninterruptible cleanup) made every later
    ``ros2 launch`` deaf to Ctrl-C, and the launch tests that interrupt it fail.
    """
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        if signal.getsignal(signum) is not handler:
            warnings.warn(f'the test left {signal.Signals(signum).name} changed; restored')
            signal.signal(signum, handler)


@pytest.fixture(scope='session')
def repo_root() -> Path:
    """Root of the source checkout (holds package.xml)."""
    return REPO_ROOT


@pytest.fixture
def ros_domain_id() -> Iterator[int]:
    """Hand out a ROS 2 domain id that nobody else uses while the test runs.

    Pass it to subprocesses (see ``ros_env``) or to ``rclpy.init(domain_id=...)``.
    """
    domain_id = _POOL.acquire()
    try:
        yield domain_id
    finally:
        _POOL.release(domain_id)


@pytest.fixture
def ros_env(ros_domain_id: int) -> Dict[str, str]:
    """Return the environment for a subprocess that starts ROS 2 nodes (own domain, loopback).

    A copy of ``os.environ`` with ``ROS_DOMAIN_ID`` = ``ros_domain_id``,
    ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``, unbuffered Python output, and the source tree
    first on ``PYTHONPATH`` (the colcon install space stays there when ``make test`` set it).
    """
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(ros_domain_id)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['PYTHONUNBUFFERED'] = '1'
    paths = [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    if str(REPO_ROOT) not in paths:
        paths.insert(0, str(REPO_ROOT))
    env['PYTHONPATH'] = os.pathsep.join(paths)
    return env
