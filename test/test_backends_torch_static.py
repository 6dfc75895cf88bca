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


"""The PyTorch CUDA path's pieces, checked on the CPU (they are device-agnostic).

:class:`logocap_ros.backends.torch_cuda.StaticRunner` (static shapes, packed outputs, no
device-to-host reads in a frame) and :mod:`logocap_ros.backends.gpu_preprocess` (the resize
and normalisation as torch code) run on the CPU here; on a GPU the same code is captured as a
CUDA graph (checked by benchmarks/gpu_checks.py and test_backends_gpu.py). The CPU path of
the torch backend itself must stay the pruned eager pipeline of the parity work.
"""

import contextlib

from logocap_ros.backends import gpu_preprocess
from logocap_ros.backends.factory import load_network
from logocap_ros.backends.torch_backend import TorchBackend
from logocap_ros.backends.torch_cuda import CudaFlags, pack, PACKED_SIZE, StaticRunner, \
    unpack
from logocap_ros.core import postprocessing, preprocessing
from logocap_ros.core.pipeline import LogoCapPipeline
import numpy as np
import pytest
import torch

HW = (64, 128)


@pytest.fixture(scope='module')
def net():
    """W32 with the random weights 'B'."""
    return load_network('w32', 'random')[0]


@pytest.fixture(scope='module')
def camera_image():
    """Return a random ``(90, 170, 3)`` uint8 BGR image (input 64x128 at input_size 64)."""
    return np.random.default_rng(4).integers(0, 256, (90, 170, 3), dtype=np.uint8)


@pytest.fixture(scope='module')
def runner(net):
    """Return a static runner on the CPU (flip on)."""
    return StaticRunner(net, torch.device('cpu'), 'fp32', flip_test=True)


def test_pack_and_unpack_round_trip():
    poses, scores, centers = torch.randn(30, 17, 3), torch.randn(30), torch.randn(30, 3)
    flat = pack(poses, scores, centers)
    assert flat.shape == (PACKED_SIZE,)
    out = unpack(flat.numpy())
    np.testing.assert_array_equal(out['poses'], poses.numpy())
    np.testing.assert_array_equal(out['scores'], scores.numpy())
    np.testing.assert_array_equal(out['centers'], centers.numpy())
    assert not np.shares_memory(out['poses'], flat.numpy()), 'the host buffer is reused'


def test_static_path_gives_the_people_of_the_pruned_path(net, runner, camera_image):
    box = preprocessing.letterbox_for(camera_image.shape[:2], 64)
    x = preprocessing.normalise(preprocessing.warp_to_input(
        preprocessing.to_rgb(camera_image, 'bgr'), box))
    static = runner.run_tensor(x)
    with torch.inference_mode():
        pruned = LogoCapPipeline(net, flip_test=True, prune=True)(torch.from_numpy(x))
    kps_a, sc_a = postprocessing.finalize(static['poses'], static['scores'],
                                          static['centers'], box)
    kps_b, sc_b = postprocessing.finalize(*(t.numpy() for t in pruned), box)
    assert len(sc_b) >= 3, 'the test image should give several people'
    np.testing.assert_allclose(sc_a, sc_b, atol=1e-6)
    np.testing.assert_allclose(kps_a, kps_b, atol=1e-4)


def test_runner_keeps_the_callers_network(net, runner):
    assert runner.pipeline.net is not net
    assert next(net.parameters()).dtype == torch.float32
    assert runner.pipeline.prune is False


class _NoSync:
    """Make every Python-level read of tensor values raise (what syncs a GPU stream)."""

    NAMES = ('item', 'tolist', 'numpy', '__bool__', '__int__', '__float__', '__index__')

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    @contextlib.contextmanager
    def active(self):
        with self.monkeypatch.context() as patch:
            for name in self.NAMES:
                patch.setattr(torch.Tensor, name, self._refuse(name))
            yield

    @staticmethod
    def _refuse(name):
        def refuse(self, *args, **kwargs):
            raise AssertionError(f'Tensor.{name} called inside a frame: a device sync')
        return refuse


def test_static_frame_reads_nothing_back_to_the_host(runner, monkeypatch):
    images = torch.randn((1, 3) + HW)
    slot = runner.prepare(HW)
    guard = _NoSync(monkeypatch)
    with guard.active(), torch.inference_mode():
        packed = runner._frame(images)
        runner._execute(slot)
    assert packed.shape == (PACKED_SIZE,)


def test_the_sync_guard_catches_the_pruned_path(net, monkeypatch):
    """Control: the CPU's pruned path does read a count back (``kept_count``)."""
    pipeline = LogoCapPipeline(net, flip_test=False, prune=True)
    with _NoSync(monkeypatch).active(), torch.inference_mode():
        with pytest.raises(AssertionError, match='device sync'):
            pipeline(torch.randn((1, 3) + HW))


def test_static_decode_traces_as_one_graph(runner):
    """Dynamo traces the static refinement without graph breaks (torch.compile-able)."""
    dense = runner.pipeline.dense(torch.randn((1, 3) + HW))

    def decode(heatmaps, offsets, embedding):
        out = runner.pipeline.decode({'heatmaps_raw': heatmaps, 'offsets_raw': offsets,
                                      'embedding': embedding}, HW)
        return pack(out['poses'], out['scores'], out['centers'])
    torch._dynamo.reset()
    compiled = torch.compile(decode, fullgraph=True, backend='eager', dynamic=False)
    with torch.no_grad():
        args = (dense['heatmaps_raw'], dense['offsets_raw'], dense['embedding'])
        torch.testing.assert_close(compiled(*args), decode(*args))


@pytest.mark.parametrize('hw', [(480, 640), (375, 500), (330, 300), (97, 211)])
@pytest.mark.parametrize('color', ['bgr', 'rgb'])
def test_device_preprocessing_equals_opencv(hw, color):
    import cv2
    image = np.random.default_rng(sum(hw)).integers(0, 256, hw + (3,), dtype=np.uint8)
    box = preprocessing.letterbox_for(hw, 512 if min(hw) > 300 else 128)
    want = preprocessing.normalise(preprocessing.warp_to_input(
        preprocessing.to_rgb(image, color), box))
    mean, std = gpu_preprocess.normalisation_constants()
    got = gpu_preprocess.warp_normalise(torch.from_numpy(image), gpu_preprocess.warp_plan(box),
                                        color, mean, std).numpy()
    assert got.shape == want.shape
    assert np.array_equal(got, want), (
        f'differs from cv2.warpAffine of OpenCV {cv2.__version__} in '
        f'{(got != want).mean():.2%} of the values (max {np.abs(got - want).max():.3g})')


def test_runner_on_raw_images_equals_preprocessed_input(runner, camera_image):
    box = preprocessing.letterbox_for(camera_image.shape[:2], 64)
    x = preprocessing.normalise(preprocessing.warp_to_input(
        preprocessing.to_rgb(camera_image, 'bgr'), box))
    from_image = runner.run_image(camera_image, 'bgr', box)
    from_tensor = runner.run_tensor(x)
    for name in ('poses', 'scores', 'centers'):
        np.testing.assert_array_equal(from_image[name], from_tensor[name])
    assert set(runner.last_timings) == {'preprocess_device', 'network'}


def test_cpu_backend_is_the_pruned_nhwc_eager_path(net):
    backend = TorchBackend(net, device='cpu')
    assert backend.pipeline.prune and backend.pipeline.channels_last
    assert not backend.preprocesses_images and backend.runner is None
    with backend:
        out = backend.infer({'images': np.zeros((1, 3) + HW, np.float32)})
    assert set(backend.last_timings) == {'network', 'refine'}
    assert len(out['scores']) <= 30


def test_cuda_flags_are_set_and_restored():
    back = torch.backends
    before = (back.cudnn.benchmark, back.cudnn.allow_tf32, back.cuda.matmul.allow_tf32)
    flags = CudaFlags('fp32')
    try:
        assert back.cudnn.benchmark is True
        assert back.cudnn.allow_tf32 is False and back.cuda.matmul.allow_tf32 is False
    finally:
        flags.restore()
    assert (back.cudnn.benchmark, back.cudnn.allow_tf32, back.cuda.matmul.allow_tf32) == before


def test_half_precision_needs_cuda(net):
    with pytest.raises(ValueError, match='fp16 needs a CUDA device'):
        TorchBackend(net, device='cpu', precision='fp16')
