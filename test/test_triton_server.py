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

"""The ``triton`` backend against the real Triton server (nvidia-pytriton, CPU, loopback).

One server (generated CPU repository, W32 random weights, 64x64, no flip, plus a model with
the wrong inputs/outputs) serves most tests; the kill/restart and GPU-config tests start
their own, and the command-line wrapper is stopped with SIGTERM and SIGINT. Every server
listens on a free 127.0.0.1 port and is stopped at teardown.
"""

import contextlib
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import threading
import time

from logocap_ros.backends.registry import create_backend
from logocap_ros.backends.triton_backend import TritonUnavailable
import numpy as np
import pytest
from triton_helpers import (INPUT_HW, MODEL, single_image_onnx, triton_install_or_skip,
                            tritonclient_or_skip, write_repository, write_wrong_model,
                            WRONG_MODEL)

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def single():
    """Return the single-image export (cached for the session)."""
    tritonclient_or_skip()
    triton_install_or_skip()
    return single_image_onnx()


@pytest.fixture(scope='module')
def repository(single, tmp_path_factory):
    """CPU/GPU repository of the export plus :data:`WRONG_MODEL`."""
    root = write_repository(tmp_path_factory.mktemp('triton_models'), single)
    write_wrong_model(root)
    return root


@pytest.fixture(scope='module')
def server(repository, tmp_path_factory):
    """Start the shared server with the CPU config; stop it at teardown."""
    from logocap_ros.backends.triton_server import LocalTritonServer
    srv = LocalTritonServer(repository, 'cpu', work_dir=tmp_path_factory.mktemp('srv'))
    with srv:
        yield srv
    assert not srv.running


def images(seed: int, count: int = 1) -> np.ndarray:
    """Random network inputs ``(count, 3, 64, 64)``."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((count, 3) + INPUT_HW).astype(np.float32)


def triton(server, **kw):
    """Return an active triton backend on ``server``."""
    return create_backend('triton', None, flip_test=False, server_url=server.url, **kw).activate()


def test_results_equal_local_onnxruntime(server, single):
    from logocap_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
    local = OnnxRuntimeBackend(onnx_path=single, flip_test=False).activate()
    remote = triton(server)
    assert remote.input_shape() == (1, 3) + INPUT_HW
    assert 'python, max batch 8' in remote.describe()
    for seed in range(2):
        feed = {'images': images(seed)}
        ref, got = local.infer(feed), remote.infer(feed)
        for name in ('poses', 'scores', 'centers'):
            assert got[name].shape == ref[name].shape
            np.testing.assert_allclose(got[name], ref[name], rtol=0, atol=1e-5)
    assert remote.last_timings['network'] > 0


def test_estimator_through_triton_equals_local(server, single):
    from logocap_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
    from logocap_ros.core.estimator import EstimatorConfig, PoseEstimator
    config = EstimatorConfig(input_size=64, flip_test=False, backend='triton')
    image = np.random.default_rng(7).integers(0, 256, (80, 80, 3), np.uint8)  # input 64x64
    got = PoseEstimator(triton(server), config)(image)
    ref = PoseEstimator(OnnxRuntimeBackend(onnx_path=single, flip_test=False).activate(),
                        config)(image)
    assert len(got) == len(ref) > 0
    np.testing.assert_allclose(got.keypoints, ref.keypoints, atol=1e-3)


def test_concurrent_clients_are_batched(server):
    from tritonclient.http import InferenceServerClient
    stats = InferenceServerClient(server.url)

    def batch_counts():
        model = stats.get_inference_statistics(MODEL)['model_stats'][0]
        return {b['batch_size']: b['compute_infer']['count'] for b in model['batch_stats']}

    before = batch_counts()
    backend = triton(server, timeout_s=300)  # shared by all threads (a client per thread)
    results, errors = {}, []

    def camera(index):
        try:
            for k in range(2):
                results[(index, k)] = backend.infer({'images': images(100 + index)})
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=camera, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    after = batch_counts()
    new = {b: after.get(b, 0) - before.get(b, 0) for b in after}
    assert sum(b * n for b, n in new.items()) == 8  # every request ran exactly once
    assert max(b for b, n in new.items() if n) > 1, new
    # a batch still gives each camera its own result
    np.testing.assert_array_equal(results[(0, 0)]['poses'], results[(0, 1)]['poses'])
    assert not np.array_equal(results[(0, 0)]['poses'], results[(1, 0)]['poses'])


def test_wrong_model_io_is_a_clear_error(server):
    with pytest.raises(ValueError, match=f"'{WRONG_MODEL}' is not a LOGO-CAP model: "
                                         'expected input images.*it has x FP32'):
        triton(server, model_name=WRONG_MODEL)


def test_missing_model_lists_the_served_ones(server):
    with pytest.raises(TritonUnavailable, match="no ready model 'nope'.*logocap \\(READY\\)"):
        triton(server, model_name='nope')


def test_flip_and_input_size_mismatch(server):
    with pytest.raises(ValueError, match='exported with flip_test=False'):
        create_backend('triton', None, flip_test=True, server_url=server.url).activate()
    backend = triton(server)
    with pytest.raises(ValueError, match='takes input 64x64.*got 64x128.*--image-size'):
        backend.infer({'images': np.zeros((1, 3, 64, 128), np.float32)})
    assert backend.infer({'images': images(0)})['poses'].shape == (30, 17, 3)


def test_unreachable_server_and_timeout(single):
    from logocap_ros.backends.triton_server import free_port
    port = free_port()
    with pytest.raises(TritonUnavailable, match=f'127.0.0.1:{port} is unreachable.*'
                                                'ConnectionRefused'):
        create_backend('triton', None, server_url=f'http://127.0.0.1:{port}/').activate()
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(('127.0.0.1', 0))
        silent.listen(4)
        url = f'127.0.0.1:{silent.getsockname()[1]}'
        with pytest.raises(TritonUnavailable, match='did not answer within 0.5 s'):
            create_backend('triton', None, server_url=url, timeout_s=0.5).activate()


def test_server_killed_mid_run_then_restarted(repository, tmp_path):
    from logocap_ros.backends.triton_server import LocalTritonServer
    srv = LocalTritonServer(repository, 'cpu', work_dir=tmp_path)
    try:
        srv.start()
        backend = triton(srv)
        expected = backend.infer({'images': images(5)})['poses']
        outcome = []

        def in_flight():
            try:
                outcome.append(backend.infer({'images': images(5)}))
            except Exception as exc:  # noqa: BLE001 - the error is what is checked
                outcome.append(exc)

        worker = threading.Thread(target=in_flight)
        worker.start()
        srv.kill()
        worker.join(60)
        with pytest.raises(TritonUnavailable, match='unreachable'):
            backend.infer({'images': images(5)})
        if isinstance(outcome[0], Exception):  # a request cut off by the kill
            assert isinstance(outcome[0], TritonUnavailable), repr(outcome[0])
        srv.start()  # same port
        np.testing.assert_array_equal(backend.infer({'images': images(5)})['poses'], expected)
    finally:
        srv.stop()


def test_gpu_config_is_valid_up_to_the_missing_backend(repository, tmp_path):
    from logocap_ros.backends.triton_server import LocalTritonServer, TritonServerError
    with pytest.raises(TritonServerError) as info:
        LocalTritonServer(repository, None, work_dir=tmp_path / 'gpu').start(30)
    log = (tmp_path / 'gpu' / 'tritonserver.log').read_text()
    assert "unable to find backend library for backend 'onnxruntime'" in str(info.value)
    assert f"failed to load '{MODEL}'" in log and 'failed to read text proto' not in log
    # a config that is not valid text fails earlier, so the check above can fail
    broken = tmp_path / 'broken' / MODEL
    (broken / '1').mkdir(parents=True)
    config = (repository / MODEL / 'config.pbtxt').read_text()
    (broken / 'config.pbtxt').write_text(config.replace('KIND_GPU', 'KIND_GPX'))
    with pytest.raises(TritonServerError, match='failed to read text proto'):
        LocalTritonServer(broken.parent, None, work_dir=tmp_path / 'broken_srv').start(30)


def _descendants(pid: int) -> set:
    """Return the pids of every process below ``pid`` (from /proc)."""
    parents = {}
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT])
def test_command_line_server_stops_cleanly_on_a_signal(tmp_path, sig):
    """The wrapper exits 0, leaves no server or stub process and no temporary folder."""
    from logocap_ros.backends.triton_server import free_port
    triton_install_or_skip()
    write_wrong_model(tmp_path / 'repo')  # a Python-backend model: the server starts a stub
    (tmp_path / 'tmp').mkdir()
    env = dict(os.environ, TMPDIR=str(tmp_path / 'tmp'))
    log = tmp_path / 'wrapper.log'
    with open(log, 'w') as out:
        wrapper = subprocess.Popen(
            [sys.executable, '-m', 'logocap_ros.backends.triton_server', '--repository',
             str(tmp_path / 'repo'), '--http-port', str(free_port())],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    children = set()
    try:
        deadline = time.monotonic() + 120
        while 'ready at' not in log.read_text() and wrapper.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert 'ready at' in log.read_text(), log.read_text()
        children = _descendants(wrapper.pid)
        assert len(children) >= 2, children  # tritonserver and its stub
        wrapper.send_signal(sig)  # to the wrapper alone, as `kill` or a supervisor does
        code = wrapper.wait(60)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in children if _alive(pid)]
    finally:
        for pid in [wrapper.pid, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # whatever a failure left behind
    assert code == 0 and left == [], (code, left, log.read_text())
    assert list((tmp_path / 'tmp').iterdir()) == []
    assert 'Traceback' not in log.read_text(), log.read_text()
