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

"""Run the ``tritonserver`` binary of the ``nvidia-pytriton`` wheel (CPU, Python backend).

The wheel ships Triton's server with only the Python backend. It needs ``numpy<2``, so it
lives in its own venv (``.venv-triton``, made by ``make triton-venv`` from
requirements/triton.txt, with onnxruntime for the CPU model); this module only starts the
binary from there and never imports pytriton. What the server needs that the wheel does not
set up:

- the Python backend's stub for the venv's Python version, in a backend directory (made here
  from links into the wheel);
- the venv's ``bin`` first on ``PATH`` (the stub runs Python in isolated mode, so
  ``PYTHONPATH`` is ignored and the venv is found through ``PATH``);
- the venv interpreter's ``LIBDIR`` first on ``LD_LIBRARY_PATH`` (otherwise the stub can load
  another Python's ``libpython`` of the same version).

Command line (foreground; Ctrl-C, SIGTERM or SIGHUP stop it, and it exits 0 after the server,
its Python-backend stubs and its temporary folder are gone)::

    python -m logocap_ros.backends.triton_server --repository REPO --config cpu --http-port 8000
"""

import argparse
from dataclasses import dataclass
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Sequence, Union
import urllib.error
import urllib.request

PathLike = Union[str, os.PathLike]
VENV_ENV = 'LOGOCAP_TRITON_VENV'
#: Signals that stop the command-line server.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Seconds the stubs get to exit after the server before they are killed.
STUB_GRACE_S = 2.0
_SOURCE_ROOT = Path(__file__).resolve().parents[2]
_PROBE = ('import importlib.util, json, sys, sysconfig; '
          "s = importlib.util.find_spec('pytriton'); "
          'print(json.dumps({"pkg": s and list(s.submodule_search_locations)[0], '
          '"ver": "%d.%d" % sys.version_info[:2], '
          '"libdir": sysconfig.get_config_var("LIBDIR")}))')


class TritonServerError(RuntimeError):
    """The local server cannot be found, started, or did not become ready."""


@dataclass(frozen=True)
class TritonInstall:
    """The pieces of the ``nvidia-pytriton`` wheel in a venv that the server needs."""

    venv: Path
    server: Path
    backend_files: List[Path]
    stub: Path
    libdir: str


def default_venv() -> Path:
    """Return ``$LOGOCAP_TRITON_VENV``, else ``.venv-triton`` at the source root."""
    return Path(os.environ.get(VENV_ENV) or _SOURCE_ROOT / '.venv-triton')


def find_install(venv: Optional[PathLike] = None) -> TritonInstall:
    """Locate the server, the Python backend and its stub in ``venv`` (default above).

    :raises TritonServerError: no such venv, no pytriton in it, or no stub for its Python.
    """
    venv = Path(venv) if venv else default_venv()
    python = venv / 'bin' / 'python'
    if not python.exists():
        raise TritonServerError(f'no Triton venv at {venv}: run `make triton-venv` (or set '
                                f'{VENV_ENV} to a venv with requirements/triton.txt)')
    probe = subprocess.run([str(python), '-I', '-c', _PROBE], capture_output=True, text=True,
                           timeout=60, check=False)
    info = json.loads(probe.stdout or '{}') if probe.returncode == 0 else {}
    if not info.get('pkg'):
        raise TritonServerError(f'{venv} has no nvidia-pytriton: {venv}/bin/pip install '
                                '--no-deps -r requirements/triton.txt')
    root = Path(info['pkg']) / 'tritonserver'
    stub = root / 'python_backend_stubs' / info['ver'] / 'triton_python_backend_stub'
    if not stub.exists():
        raise TritonServerError(f'nvidia-pytriton has no Python-backend stub for Python '
                                f'{info["ver"]} (venv {venv}); make the venv with Python '
                                '3.8-3.13')
    backend = root / 'backends' / 'python'
    return TritonInstall(venv, root / 'bin' / 'tritonserver',
                         [backend / 'libtriton_python.so',
                          backend / 'triton_python_backend_utils.py'],
                         stub, str(info.get('libdir') or ''))


def free_port(host: str = '127.0.0.1') -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalTritonServer:
    """One ``tritonserver`` process serving a model repository (a context manager).

    :param repository: the model repository (``logocap-triton-repo``).
    :param config_name: ``--model-config-name`` (``'cpu'`` for the Python-backend config;
        None = ``config.pbtxt``).
    :param host: address to listen on (default loopback only).
    :param http_port: HTTP port (0 = a free one).
    :param venv: the Triton venv (default :func:`default_venv`).
    :param work_dir: where the backend directory and the log go (default: a new temp dir,
        removed by :meth:`close`).
    """

    def __init__(self, repository: PathLike, config_name: Optional[str] = 'cpu',
                 host: str = '127.0.0.1', http_port: int = 0,
                 venv: Optional[PathLike] = None, work_dir: Optional[PathLike] = None) -> None:
        self.install = find_install(venv)
        self.repository = Path(repository).resolve()
        self.config_name = config_name
        self.host = host
        self.http_port = int(http_port) or free_port(host)
        self._own_work_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix='logocap_triton_'))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.work_dir / 'tritonserver.log'
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        """``host:port`` of the HTTP endpoint."""
        return f'{self.host}:{self.http_port}'

    def command(self) -> List[str]:
        """Return the server's command line."""
        cmd = [str(self.install.server), f'--model-repository={self.repository}',
               f'--backend-directory={self._backend_dir()}',
               f'--http-address={self.host}', f'--http-port={self.http_port}',
               '--allow-grpc=false', '--allow-metrics=false', '--exit-timeout-secs=3']
        if self.config_name:
            cmd.append(f'--model-config-name={self.config_name}')
        return cmd

    def environment(self) -> dict:
        """Return the server's environment: the venv first on PATH, its libpython first."""
        env = dict(os.environ)
        env['PATH'] = f'{self.install.venv / "bin"}{os.pathsep}{env.get("PATH", "")}'
        libs = [self.install.libdir] if self.install.libdir else []
        env['LD_LIBRARY_PATH'] = os.pathsep.join(libs + [env.get('LD_LIBRARY_PATH', '')])
        for name in ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV'):
            env.pop(name, None)
        return env

    def start(self, timeout_s: float = 60.0) -> 'LocalTritonServer':
        """Start the server and wait until it is ready.

        :raises TritonServerError: it exited or was not ready within ``timeout_s`` (the
            message holds the end of its log).
        """
        if self.running:
            return self
        with open(self.log_path, 'ab') as log:
            self.process = subprocess.Popen(self.command(), env=self.environment(),
                                            stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s: float) -> None:
        """Poll ``/v2/health/ready`` until it answers 200; see :meth:`start`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise TritonServerError(f'tritonserver exited ({code}): {self.log_tail()}')
            if self.ready():
                return
            time.sleep(0.2)
        self.stop()
        raise TritonServerError(f'tritonserver not ready after {timeout_s:.0f} s: '
                                f'{self.log_tail()}')

    def ready(self) -> bool:
        """Return True when the server answers ready."""
        try:
            with urllib.request.urlopen(f'http://{self.url}/v2/health/ready', timeout=1.0) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    @property
    def running(self) -> bool:
        """Return True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout_s``) and its stubs; idempotent.

        The Python-backend stubs ignore SIGTERM: whatever is left of the server's process
        group :data:`STUB_GRACE_S` after the server exited is killed.
        """
        if self.running:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._sweep_group()

    def close(self) -> None:
        """Stop the server and remove the work directory when this object made it."""
        self.stop()
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def kill(self) -> None:
        """Kill the server and its Python-backend stubs at once (SIGKILL to the group)."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        self.process.wait(10)

    def log_tail(self, lines: int = 8) -> str:
        """Return the last error lines of the server log (or its last lines), joined."""
        try:
            text = self.log_path.read_text(encoding='utf-8', errors='replace').splitlines()
        except OSError:
            return '(no log)'
        errors = [t for t in text if t.startswith('E') or 'error' in t.lower()]
        return ' | '.join((errors or text)[-lines:]).strip()

    def __enter__(self) -> 'LocalTritonServer':
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _signal(self, sig: int) -> bool:
        """Send ``sig`` to the server's process group; False when the group is empty."""
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def _sweep_group(self) -> None:
        """Wait up to :data:`STUB_GRACE_S` for the group to empty, then SIGKILL the rest."""
        if self.process is None:
            return
        deadline = time.monotonic() + STUB_GRACE_S
        while self._signal(0):
            if time.monotonic() > deadline:
                self._signal(signal.SIGKILL)
                return
            time.sleep(0.05)

    def _backend_dir(self) -> Path:
        """Make a backend directory whose ``python/`` links the wheel's files and stub."""
        folder = self.work_dir / 'backends' / 'python'
        folder.mkdir(parents=True, exist_ok=True)
        for target in self.install.backend_files + [self.install.stub]:
            link = folder / target.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target)
        return folder.parent


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='python -m logocap_ros.backends.triton_server',
        description="Serve a model repository with the nvidia-pytriton wheel's tritonserver "
                    '(CPU, Python backend) until Ctrl-C.')
    p.add_argument('--repository', required=True, help='model repository (logocap-triton-repo)')
    p.add_argument('--config', default='cpu',
                   help="model config name ('cpu'; '' = config.pbtxt, the GPU config)")
    p.add_argument('--host', default='127.0.0.1',
                   help='address to listen on (0.0.0.0: all interfaces, for other machines)')
    p.add_argument('--http-port', type=int, default=8000)
    p.add_argument('--venv', default=None, help=f'Triton venv (default ${VENV_ENV} or '
                   '.venv-triton in the source tree)')
    return p


class _Stopped(Exception):
    """A stop signal (:data:`STOP_SIGNALS`) arrived."""


def _raise_stopped(signum: int, frame: object) -> None:
    _ignore_stop_signals()  # the cleanup runs once, uninterrupted
    raise _Stopped(signum)


def _ignore_stop_signals() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the server in the foreground until a stop signal; return the exit status.

    0 after a stop signal (the server, its stubs and its temporary folder are gone), 1 when the
    server exited by itself with an error, 2 when it could not start.
    """
    args = _parser().parse_args(argv)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stopped)
    server: Optional[LocalTritonServer] = None
    try:
        server = LocalTritonServer(args.repository, args.config or None, args.host,
                                   args.http_port, args.venv)
        server.start(timeout_s=120.0)
        print(f'tritonserver ready at http://{server.url} (log: {server.log_path}, removed '
              'on exit); Ctrl-C stops', flush=True)
        while server.running:
            time.sleep(0.5)
    except _Stopped:
        return 0
    except (TritonServerError, OSError) as exc:
        print(f'triton_server: error: {exc}', file=sys.stderr)
        return 2
    finally:
        _ignore_stop_signals()
        if server is not None:
            server.close()
    code = server.process.returncode
    print(f'triton_server: tritonserver exited with code {code}', file=sys.stderr)
    return 0 if code in (0, -signal.SIGTERM) else 1


if __name__ == '__main__':
    sys.exit(main())
