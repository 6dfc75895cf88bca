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


"""GPU parity: TensorRT, ONNX Runtime CUDA and PyTorch CUDA against PyTorch on the CPU.

The checks are the functions of benchmarks/gpu_checks.py (which scripts/gpu_checks.sh runs
without pytest, on machines that have no pytest); here each is one test. Every test is marked
``gpu`` (skipped with the reason where no CUDA GPU is visible); a check that needs a missing
package (TensorRT, ONNX Runtime's CUDA provider) is skipped with that reason. Candidates are
paired by centre position, as in the CPU parity tests, never compared by index. Inputs are
small (64x128) and the weights are the deterministic random 'B' set.
"""

import importlib.util
from pathlib import Path

from logocap_ros.backends.factory import load_network
import pytest

pytestmark = pytest.mark.gpu
_SPEC = importlib.util.spec_from_file_location(
    'gpu_checks', Path(__file__).resolve().parent.parent / 'benchmarks' / 'gpu_checks.py')
checks = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(checks)


@pytest.fixture(scope='module')
def net():
    """Return W32 with the random weights 'B'."""
    return load_network('w32', 'random')[0]


@pytest.fixture(scope='module')
def images():
    """Return a normalised random ``(1, 3, 64, 128)`` image."""
    return checks.random_images(checks.PARITY_HW)


@pytest.fixture(scope='module')
def reference(net, images):
    """Return PyTorch CPU outputs (unpruned, flip on)."""
    return checks.cpu_reference(net, images, True)


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
    """Return a private cache root for exports and engines."""
    return tmp_path_factory.mktemp('gpu_cache')


def _run(check, *args):
    """Run a check; skip with its reason when it cannot run here."""
    try:
        return check(*args)
    except checks.Unavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize('precision', ['fp32', 'fp16'])
def test_torch_cuda_matches_cpu(net, images, reference, precision):
    _run(checks.check_torch, net, images, reference, 'cuda', precision)


@pytest.mark.parametrize('precision', ['fp32', 'fp16'])
def test_cuda_graph_equals_eager(net, images, precision):
    _run(checks.check_graph_equals_eager, net, images, 'cuda', precision)


def test_no_host_sync_inside_a_frame(net, images):
    _run(checks.check_no_sync_in_frame, net, images, 'cuda')


def test_device_preprocessing_matches_opencv():
    _run(checks.check_device_preprocessing, 'cuda')


def test_estimator_on_the_gpu_finds_the_cpu_people(net):
    _run(checks.check_estimator, net, 'cuda', 'fp32')


def test_onnxruntime_cuda_matches_cpu(net, images, reference, cache_dir):
    _run(checks.check_onnxruntime_cuda, net, images, reference, cache_dir)


@pytest.mark.parametrize('precision, dynconv', [('fp32', 'shifted'), ('fp16', 'shifted'),
                                                ('fp32', 'conv')])
def test_tensorrt_matches_cpu(net, images, reference, cache_dir, precision, dynconv):
    _run(checks.check_tensorrt, net, images, reference, cache_dir, precision, dynconv)


def test_tensorrt_engine_is_reused_not_rebuilt(net, images, cache_dir):
    _run(checks.check_tensorrt_reuse, net, images, cache_dir)
