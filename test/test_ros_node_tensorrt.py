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

"""The node with ``backend:=tensorrt`` on fakes (no GPU, no TensorRT): engine builds and files.

In process (rclpy context of its own, private domain): CUDA, the TensorRT runtime, the ONNX
export and the engine build are faked; the backend's engine lookup, background build,
the node's frame worker and its counters are the real ones. The fake build of a size met
after configure is slow (it waits for the test), so a build in the frame thread would stall
the worker and show here.
"""

import threading
import time

from fake_tensorrt import FakeTrtRuntime
from logocap_ros.backends import build_engine, engine_cache, export_onnx, tensorrt_backend
from model_helpers import identity_onnx
import numpy as np
import pytest

pytestmark = pytest.mark.ros
ENV = {'trt_version': '10.3.0', 'gpu_name': 'Fake GPU', 'compute_capability': '8.7'}


class _Device:
    def __init__(self, device):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Builds:
    """The fake engine builder: the first build is quick, later ones wait for ``release``."""

    def __init__(self):
        self.threads, self.release = [], threading.Event()

    def __call__(self, onnx_path, precision, workspace_gb, timing_cache, **options):
        self.threads.append(threading.current_thread().name)
        if len(self.threads) > 1:
            assert self.release.wait(60), 'the test never released the slow build'
        return b'PLAN ' + onnx_path.name.encode(), {'io': []}


@pytest.fixture
def fake_gpu(tmp_path, monkeypatch):
    """Fake CUDA, TensorRT, export and build; return (builds, loaded engine paths)."""
    pytest.importorskip('onnx')
    import torch

    def cached_onnx(net, hw, flip_test, **kw):
        path = tmp_path / f'w32-{hw[0]}x{hw[1]}.onnx'
        if not path.exists():
            identity_onnx(path, hw, {'logocap_ros.input_hw': f'{hw[0]}x{hw[1]}'})
        return path

    loads = []

    def load(self, path):
        loads.append(path)
        hw = tuple(int(v) for v in path.name.split('-')[2].split('x'))  # w32-HxW-HxW-fp16
        self._engines[hw] = path
        return path

    def infer(self, images):  # the real engine lookup; no CUDA execution
        self._engine_for((int(images.shape[2]), int(images.shape[3])))
        return {'poses': np.zeros((0, 17, 3), np.float32), 'scores': np.zeros(0, np.float32),
                'centers': np.zeros((0, 3), np.float32)}

    def infer_image(self, image, color, box):  # device preprocessing: not on fakes
        return infer(self, np.zeros((1, 3) + tuple(box.input_hw), np.float32))

    builds = _Builds()
    monkeypatch.setenv('LOGOCAP_CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'Stream', lambda device=None: object())
    monkeypatch.setattr(torch.cuda, 'device', _Device)
    monkeypatch.setattr(torch.cuda, 'empty_cache', lambda: None)
    monkeypatch.setattr(tensorrt_backend, 'import_tensorrt', lambda: FakeTrtRuntime)
    monkeypatch.setattr(build_engine, 'import_tensorrt', lambda: FakeTrtRuntime)
    monkeypatch.setattr(engine_cache, 'current_environment', lambda index=0: dict(ENV))
    monkeypatch.setattr(build_engine, 'build_serialized_engine', builds)
    monkeypatch.setattr(export_onnx, 'cached_onnx', cached_onnx)
    monkeypatch.setattr(tensorrt_backend.TensorRTBackend, '_load', load)
    monkeypatch.setattr(tensorrt_backend.TensorRTBackend, '_infer', infer)
    monkeypatch.setattr(tensorrt_backend.TensorRTBackend, 'infer_image', infer_image)
    yield builds, loads
    builds.release.set()


@pytest.fixture
def make_node(ros_domain_id):
    import rclpy
    from rclpy.parameter import Parameter
    from logocap_ros.ros.node import LogocapNode
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    nodes = []

    def make(**params):
        params = dict(weights='random', backend='tensorrt', device='cuda', precision='fp16',
                      input_size=64, flip_test=False, **params)
        node = LogocapNode(context=context, parameter_overrides=[
            Parameter(k, value=v) for k, v in params.items()])
        nodes.append(node)
        return node
    yield make
    for node in nodes:
        node.trigger_deactivate()
        node.destroy_node()
    rclpy.shutdown(context=context)


def _image(h: int, w: int, sec: int = 1):
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header
    return Image(header=Header(stamp=Time(sec=sec), frame_id='cam'), height=h, width=w,
                 encoding='bgr8', step=3 * w, data=np.zeros((h, w, 3), np.uint8).tobytes())


def _wait(predicate, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_other_camera_size_never_builds_in_the_frame_thread(fake_gpu, make_node):
    from rclpy.lifecycle import TransitionCallbackReturn
    builds, _ = fake_gpu
    node = make_node(warmup_image_size='640x480')
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.startup_error
    assert builds.threads == [threading.current_thread().name]   # at configure: 640x480
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    node._on_image(_image(240, 960, 1))     # as the subscription does
    assert _wait(lambda: node.stats.dropped_because['building_engine'] == 1)
    assert len(builds.threads) == 2 and builds.threads[1].startswith('logocap_trt_build_')
    assert node.stats.busy_seconds() is None, 'the worker must not wait for the build'
    assert node._busy.progress().startswith('building TensorRT engine for input ')
    node._on_image(_image(240, 960, 2))     # still building: dropped at once, no 2nd build
    assert _wait(lambda: node.stats.dropped_because['building_engine'] == 2, 10.0)
    node._on_image(_image(480, 640, 3))      # the configured size runs meanwhile
    assert _wait(lambda: node.stats.processed == 1, 10.0)
    builds.release.set()
    assert _wait(lambda: len(node._loaded.estimator.backend._engines) == 2)
    node._on_image(_image(240, 960, 4))
    assert _wait(lambda: node.stats.processed == 2, 10.0)
    assert len(builds.threads) == 2 and 'logocap_worker' not in builds.threads
    assert node.stats.snapshot()['frames_dropped.building_engine'] == 2


def test_prebuilt_engine_parameter_is_used_as_is(fake_gpu, make_node, tmp_path):
    from rclpy.lifecycle import TransitionCallbackReturn
    builds, loads = fake_gpu
    engine = tmp_path / 'w32-64x128-64x128-fp16.engine'     # name read by the fake loader
    engine.write_bytes(b'PLAN')
    node = make_node(warmup_image_size='128x64', engine_path=str(engine), workspace_gb=1.5)
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.startup_error
    assert loads == [engine] and builds.threads == []
    assert node._loaded.estimator.backend.workspace_gb == 1.5


def test_warm_up_of_another_size_than_the_engine_waits_for_its_build(
        fake_gpu, make_node, tmp_path):
    """At configure the warm-up waits for a background build instead of failing."""
    from rclpy.lifecycle import TransitionCallbackReturn
    builds, loads = fake_gpu
    builds.threads.append('(first build done elsewhere)')   # every build now waits
    engine = tmp_path / 'w32-64x128-64x128-fp16.engine'
    engine.write_bytes(b'PLAN')
    node = make_node(warmup_image_size='256x64', engine_path=str(engine))
    threading.Timer(1.0, builds.release.set).start()
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.startup_error
    assert [p.name for p in loads] == [engine.name, 'w32-64x256-64x256-fp16.engine']
    assert builds.threads[1].startswith('logocap_trt_build_64x256')
