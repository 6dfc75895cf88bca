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

"""Helpers for tests that run the real ``ros2 launch`` and ``ros2`` commands.

Those come from the ROS 2 sources that ``make build`` builds into build/ros2_extra when
``ROS2_EXTRA_SRC`` (default ``../shared/ros2_src``) exists; ``scripts/env.sh`` puts them on
PATH. :func:`require_ros2_cli` skips a test module, naming that folder, when the sources are
absent, and fails it when they are there but the commands are not on PATH.

Network safety: every process runs in a private domain on loopback (``ros_helpers``); the CLI
uses a ``ros2`` daemon of that private domain, stopped at the end (:func:`ros2_daemon`).
"""

import contextlib
import importlib.util
import os
from pathlib import Path
import re
import shutil
import signal
import subprocess
import tempfile
from typing import Dict, Iterator, List

import pytest
from ros_helpers import child_env, model_params, ROOT, wait_until

#: Small, CPU-friendly node settings for launched systems (a params file, as users pass one).
SMALL_PARAMS = {'input_size': 64, 'flip_test': False, 'max_people': 3, 'pose_threshold': 0.0,
                'no_image_warn_s': 0.0}
#: Launch arguments that keep the node cheap (deterministic random weights, PyTorch on CPU; an
#: exported model with ONNX Runtime where torch is missing: ros_helpers.model_params).
SMALL_ARGS = model_params({'weights': 'random', 'backend': 'torch', 'device': 'cpu'})
#: Lines that must never appear in the output of a clean run.
FORBIDDEN = ('Traceback', 'Failed to publish', 'process has died', 'XMLPARSER',
             'deprecated', 'terminate called')


def ros2_extra_src() -> Path:
    """Return the folder of the ROS 2 sources ``make build`` builds (ROS2_EXTRA_SRC)."""
    return Path(os.environ.get('ROS2_EXTRA_SRC') or ROOT.parent / 'shared' / 'ros2_src')


def require_ros2_cli() -> str:
    """Return the ``ros2`` executable; skip or fail the calling module without it."""
    exe = shutil.which('ros2')
    if exe and importlib.util.find_spec('launch_ros') is not None:
        return exe
    src = ros2_extra_src()
    if not any(src.glob('*/package.xml')):
        pytest.skip(f'needs ros2 launch and the ros2 CLI, built by `make build` from {src} '
                    '(ROS2_EXTRA_SRC), which holds no ROS 2 sources here: `make ros2-sources` '
                    'fetches and builds them', allow_module_level=True)
    pytest.fail(f'ros2 launch / the ros2 CLI are not on PATH although {src} exists: run '
                '`make build && source scripts/env.sh`', pytrace=False)


def write_params(path: Path, values: Dict[str, object]) -> Path:
    """Write a ``/**`` ros__parameters YAML file for the node; return its path."""
    lines = ['/**:', '  ros__parameters:']
    for name, value in values.items():
        text = str(value).lower() if isinstance(value, bool) else repr(value)
        lines.append(f'    {name}: {text}')
    path.write_text('\n'.join(lines) + '\n')
    return path


class LaunchedSystem:
    """``ros2 launch logocap_ros pose.launch.py ...`` in its own process group.

    The combined output goes to a temporary file (:meth:`output`).
    """

    def __init__(self, domain_id: int, **arguments: object) -> None:
        self.domain_id = domain_id
        args = ['ros2', 'launch', 'logocap_ros', 'pose.launch.py']
        args += [f'{name}:={value}' for name, value in arguments.items()]
        env = child_env(domain_id, profile=False)
        for name in ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE'):
            env.pop(name, None)  # as in a user's shell: the launch file sets the profile
        self._log = tempfile.NamedTemporaryFile('w+', prefix='logocap_launch_', suffix='.log')
        self._output_at_close = ''
        self.popen = subprocess.Popen(args, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      cwd=str(ROOT), start_new_session=True)

    def output(self) -> str:
        """Return everything printed so far (after :meth:`close`: everything printed)."""
        if self._log.closed:
            return self._output_at_close
        with open(self._log.name, encoding='utf-8', errors='replace') as handle:
            return handle.read() + getattr(self, '_output_extra', '')

    def wait_for(self, text: str, timeout: float) -> bool:
        """Wait until ``text`` appears in the output; False on timeout or exit."""
        return wait_until(lambda: text in self.output() or self.popen.poll() is not None,
                          timeout) and text in self.output()

    def interrupt(self, group: bool = False) -> None:
        """Send SIGINT to ``ros2 launch`` (``group``: to every process, as Ctrl-C does)."""
        if group:
            os.killpg(self.popen.pid, signal.SIGINT)
        else:
            self.popen.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 60.0) -> int:
        """Wait for ``ros2 launch`` to exit (SIGKILL to the group after ``timeout``).

        On a timeout, what every process of the group was doing (state and signal masks from
        ``/proc``) is added to :meth:`output`, so that a hang can be told from a lost signal.
        """
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self._output_extra = self._group_report()
            self.kill()
            return self.popen.wait(10)

    def _group_report(self) -> str:
        lines = [f'-- still running after the timeout (group {self.popen.pid}):']
        for status in Path('/proc').glob('[0-9]*/status'):
            with contextlib.suppress(OSError):
                fields = dict(line.split(':', 1) for line in status.read_text().splitlines()
                              if ':' in line)
                pgid = os.getpgid(int(status.parent.name))
                if pgid == self.popen.pid:
                    cmd = (status.parent / 'cmdline').read_bytes().replace(b'\0', b' ')
                    lines.append(' '.join(f'{k}={fields.get(k, "?").strip()}' for k in (
                        'Pid', 'State', 'Threads', 'SigBlk', 'SigIgn', 'SigCgt', 'SigPnd',
                        'ShdPnd')) + f' {cmd[:160].decode(errors="replace")}')
        return '\n'.join(lines) + '\n'

    def kill(self) -> None:
        """SIGKILL every process left in the group (teardown)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop whatever still runs and remove the log file."""
        if self.popen.poll() is None:
            self.interrupt(group=True)
            self.finish(30)
        if not self._log.closed:
            self._output_at_close = self.output()
            self._log.close()

    def exit_codes(self) -> Dict[str, int]:
        """Return the exit code per launched process (``logocap_node-1``: 0, ...) from the log."""
        codes = {}
        for line in self.output().splitlines():
            clean = re.search(r'\[INFO\] \[([\w.-]+)\]: process has finished cleanly', line)
            died = re.search(r'\[([\w.-]+)\]: process has died \[pid \d+, exit code (-?\d+)',
                             line)
            if clean:
                codes[clean.group(1)] = 0
            elif died:
                codes[died.group(1)] = int(died.group(2))
        return codes

    def forbidden_lines(self) -> List[str]:
        """Return the output lines that a clean run never prints (see :data:`FORBIDDEN`)."""
        return [line for line in self.output().splitlines()
                if any(word in line for word in FORBIDDEN)]


def ros2(domain_id: int, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run one ``ros2`` command in the domain; return it with stdout and stderr as text."""
    return subprocess.run(['ros2', *args], env=child_env(domain_id), capture_output=True,
                          text=True, timeout=timeout, cwd=str(ROOT))


@contextlib.contextmanager
def ros2_daemon(domain_id: int) -> Iterator[None]:
    """Run the ``ros2`` daemon of ``domain_id`` (it caches the graph: fast CLI calls); stop it."""
    started = ros2(domain_id, 'daemon', 'start')
    assert started.returncode == 0, started
    try:
        yield
    finally:
        stopped = ros2(domain_id, 'daemon', 'stop')
        assert stopped.returncode == 0, stopped
