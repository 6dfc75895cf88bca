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

"""Every GPU check and the GPU benchmark, without pytest: one summary table, one folder.

Needs only Python, PyTorch (CUDA), numpy, OpenCV, onnx and onnxruntime; TensorRT and ONNX
Runtime's CUDA provider are used when present and reported as ``unavailable`` otherwise.
test/test_backends_gpu.py runs the same check functions under pytest.

Usage (scripts/gpu_checks.sh wraps it)::

    python benchmarks/gpu_checks.py --out DIR [--mode quick|full] [--require tensorrt]

Writes ``DIR/summary.md`` (checks + benchmark table: backend, precision, input, flip,
median/p95 ms, speed-up vs PyTorch eager FP32, parity vs the CPU in px), ``DIR/results.json``
and ``DIR/gpu_checks.log`` (everything logged). Exit status: 0 all checks passed; 1 a check
failed; 3 a check that was asked for could not run (no CUDA GPU; ``--require``d package
missing; time budget exhausted).

``--device cpu`` is a smoke run of this script's own machinery on a machine without a GPU
(static path, preprocessing, the table), at a tiny size; it is not a GPU check.
"""

import argparse
import json
import logging
import os
from pathlib import Path
import platform
import sys
import time
import traceback
from typing import Callable, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logocap_ros.backends import export_onnx as ex  # noqa: E402
from logocap_ros.backends.factory import load_network  # noqa: E402
from logocap_ros.backends.registry import create_backend, open_backend  # noqa: E402
from logocap_ros.core import preprocessing  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

LOG = logging.getLogger('logocap_ros.gpu_checks')
PARITY_HW = (64, 128)
TARGET_CAMERA = (480, 640)
PASS, FAIL, UNAVAILABLE, NOT_RUN = 'pass', 'FAIL', 'unavailable', 'NOT RUN'
#: TensorRT builder_optimization_level of every engine built here (TensorRT's default is 3):
#: level 1 builds several times faster, so the TensorRT rows fit the run's time budget; the
#: speeds are then a lower bound of a level-3 engine's (docs/backends.md, "GPU checks").
CHECK_OPT_LEVEL = 1
#: OpenCV from which cv2.resize (INTER_LINEAR, uint8) matches the float GPU resize closely.
EXACT_RESIZE_OPENCV = (4, 11)
#: Gap of the adapted map's top-3 values below which a joint counts as a near-tie.
TIE_GAP = 1e-5
#: Difference [grey levels] of a normalised input value that counts as float rounding (an FMA
#: on the GPU changes the last bit of (x - mean) / std), not as a different pixel.
ROUNDING_LEVELS = 0.01


class Unavailable(Exception):
    """A check cannot run here (package or provider missing); the message says which."""


# ----------------------------------------------------------------------------- helpers
def has_tensorrt() -> bool:
    """Whether ``tensorrt`` imports."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return False
    return True


def need_tensorrt() -> None:
    """Raise :class:`Unavailable` without TensorRT."""
    if not has_tensorrt():
        raise Unavailable('tensorrt is not installed (docs/backends.md, "Installing TensorRT")')


def need_ort_cuda() -> None:
    """Raise :class:`Unavailable` without ONNX Runtime's CUDA provider."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise Unavailable('onnxruntime is not installed') from None
    if 'CUDAExecutionProvider' not in ort.get_available_providers():
        raise Unavailable('onnxruntime has no CUDA provider (pip install onnxruntime-gpu)')


def random_images(hw: Tuple[int, int], seed: int = 11) -> np.ndarray:
    """Return a normalised random ``(1, 3, H, W)`` float32 input."""
    return np.random.default_rng(seed).standard_normal((1, 3) + tuple(hw)).astype(np.float32)


def cpu_reference(net, images: np.ndarray, flip: bool) -> Dict[str, np.ndarray]:
    """Return PyTorch CPU outputs of the unpruned graph (the parity reference).

    Besides ``poses``/``scores``/``centers`` it holds ``clear`` (``[K, 17]`` bool): the joints
    whose adapted map has no near-tie among its three highest cells. The refinement blends the
    two best cells (0.75/0.25), so a tie resolved in another order (another summation order on
    a GPU, another ``topk``) moves such a joint by up to 0.5 px; the parity tests exclude
    these joints the same way (``test/refcheck_data.unambiguous``).
    """
    ref = ex.run_torch(net, images, flip, ['poses', 'scores', 'centers', 'adapted'])
    adapted = ref.pop('adapted')
    top3 = -np.sort(-adapted.reshape(adapted.shape[:2] + (-1,)), axis=-1)[..., :3]
    ref['clear'] = np.minimum(top3[..., 0] - top3[..., 1], top3[..., 1] - top3[..., 2]) > TIE_GAP
    return ref


def parity(ref: Dict[str, np.ndarray], out: Dict[str, np.ndarray],
           joint_tol: float) -> Dict[str, float]:
    """Pair candidates by centre (as the CPU parity tests do) and measure the differences.

    :return: ``found`` (fraction of the reference's kept people present in ``out``),
        ``close`` (fraction of their joints within ``joint_tol`` px, near-tie joints left out
        where ``ref`` has ``clear``), ``ties`` (the fraction left out), ``p50_px``/``max_px``
        (distances of all paired joints), ``scores`` (max score difference), ``finite``.
    """
    diffs = ex.compare_outputs(ref, out, joint_tol)
    pairs = ex._pair_candidates(ref, out)
    close, ties = 1.0 - diffs.get('joints_moved', 1.0), 0.0
    if len(pairs[0]):
        d = np.abs(ref['poses'][pairs[0], :, :2] - out['poses'][pairs[1], :, :2]).max(-1)
        p50, pmax = float(np.median(d)), float(d.max())
        if 'clear' in ref:  # near-tie joints may move by a blend step: not compared
            clear = ref['clear'][pairs[0]]
            ties = 1.0 - float(clear.mean())
            close = float((d[clear] <= joint_tol).mean()) if clear.any() else 1.0
    else:
        p50 = pmax = float('nan')
    return {'found': diffs.get('found', 0.0), 'close': close, 'ties': ties,
            'p50_px': p50, 'max_px': pmax, 'scores': diffs.get('scores', float('nan')),
            'finite': bool(np.isfinite(out['poses']).all())}


def assert_parity(p: Dict[str, float], min_found: float, min_close: float,
                  max_score: Optional[float] = None) -> str:
    """Assert the parity numbers; return them as one line."""
    line = (f"found {p['found']:.0%}, joints close {p['close']:.1%} (near-ties left out: "
            f"{p.get('ties', 0.0):.1%}), p50 {p['p50_px']:.3g} px, max {p['max_px']:.3g} px, "
            f"scores {p['scores']:.2g}")
    assert p['finite'], 'non-finite poses: ' + line
    assert p['found'] >= min_found and p['close'] >= min_close, line
    if max_score is not None:
        assert p['scores'] <= max_score, line
    return line


# ------------------------------------------------------------------- checks (also pytest)
def check_torch(net, images, reference, device: str, precision: str) -> str:
    """Check the torch backend on ``device`` against the CPU reference (fp16: 4 px)."""
    with create_backend('torch', net, device=device, precision=precision) as backend:
        out = backend.infer({'images': images})
    if precision == 'fp32':
        return assert_parity(parity(reference, out, 0.01), 0.9, 0.95, 1e-3)
    return assert_parity(parity(reference, out, 4.0), 0.8, 0.9)


def check_graph_equals_eager(net, images, device: str, precision: str) -> str:
    """Check that a replayed CUDA graph gives the eager static path's outputs."""
    from logocap_ros.backends.torch_cuda import StaticRunner
    dev = torch.device(device)
    eager = StaticRunner(net, dev, precision, cuda_graph=False)
    graph = StaticRunner(net, dev, precision, cuda_graph=True)
    try:
        a, b = eager.run_tensor(images), graph.run_tensor(images)
        slot = graph.prepare(images.shape[2:])
        if dev.type == 'cuda':
            assert slot.graph is not None, 'no CUDA graph was captured (see the log)'
        diff = max(float(np.abs(a[k] - b[k]).max()) for k in a)
        assert diff <= 1e-4, f'graph vs eager differ by {diff:.3g}'
    finally:
        graph.close()      # reverse order: each restores the cuDNN/TF32 flags it found
        eager.close()
    return f'max difference {diff:.3g}'


def check_no_sync_in_frame(net, images, device: str) -> str:
    """Check that the static frame never synchronises with the host."""
    from logocap_ros.backends.torch_cuda import StaticRunner
    dev = torch.device(device)
    runner = StaticRunner(net, dev, 'fp32', cuda_graph=False)
    try:
        slot = runner.prepare(images.shape[2:])
        slot.images.copy_(torch.from_numpy(images))
        if dev.type != 'cuda':
            raise Unavailable('sync detection needs CUDA (the CPU test patches Tensor instead)')
        torch.cuda.synchronize(dev)
        torch.cuda.set_sync_debug_mode('error')
        try:
            runner._execute(slot)
        finally:
            torch.cuda.set_sync_debug_mode('default')
        torch.cuda.synchronize(dev)
    finally:
        runner.close()
    return 'no synchronising call (torch.cuda sync debug mode "error")'


def check_device_preprocessing(device: str) -> str:
    """Check resize + normalise on the device against OpenCV (640x480 camera)."""
    import cv2
    from logocap_ros.backends import gpu_preprocess as gp
    image = np.random.default_rng(1).integers(0, 256, TARGET_CAMERA + (3,), dtype=np.uint8)
    box = preprocessing.letterbox_for(image.shape[:2], 512)
    want = preprocessing.normalise(preprocessing.warp_to_input(
        preprocessing.to_rgb(image, 'bgr'), box))
    mean, std = gp.normalisation_constants(device)
    got = gp.warp_normalise(torch.from_numpy(image).to(device), gp.warp_plan(box).to(device),
                            'bgr', mean, std).cpu().numpy()
    grey = np.abs(got - want) * 255 * float(preprocessing.STD_RGB.max())
    levels, share = float(grey.max()), float((grey > ROUNDING_LEVELS).mean())
    assert levels <= 8.5 and share <= 0.05, \
        f'{share:.2%} of values differ by > {ROUNDING_LEVELS}, up to {levels:.3g} grey levels'
    if share == 0:
        rounding = float((got != want).mean())
        return (f'bit-exact with OpenCV {cv2.__version__}' if rounding == 0 else
                f'same pixels as OpenCV {cv2.__version__}; {rounding:.1%} of the normalised '
                f'values differ in float rounding (<= {levels:.2g} grey levels)')
    return (f'{share:.2%} of values differ by <= {levels:.3g} grey levels from OpenCV '
            f'{cv2.__version__} (older OpenCV resizes in fixed point)')


def check_estimator(net, device: str, precision: str, backend: str = 'torch') -> str:
    """Check that the whole estimator (device preprocessing too) finds the CPU's people.

    A person counts as found when the median distance of its joints to a GPU person's is
    within the tolerance: near-tie joints (see :func:`cpu_reference`) may move by a blend step.
    """
    if backend == 'tensorrt':
        need_tensorrt()
    from logocap_ros.backends.factory import estimator_for_network
    from logocap_ros.core.estimator import EstimatorConfig
    image = np.random.default_rng(2).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    cfg = {'input_size': 128, 'expected_image_hw': image.shape[:2]}
    cpu = estimator_for_network(net, EstimatorConfig(backend='torch', **cfg))
    options = {'optimization_level': CHECK_OPT_LEVEL} if backend == 'tensorrt' else {}
    gpu = estimator_for_network(net, EstimatorConfig(backend=backend, device=device,
                                                     precision=precision, **cfg), **options)
    try:
        want, got = cpu(image), gpu(image)
        assert gpu.backend.preprocesses_images or device == 'cpu'
    finally:
        gpu.close()
        cpu.close()
    import cv2
    tol, note = estimator_tolerance(precision, cv2.__version__)
    matched, worst = 0, 0.0
    for kps in want.keypoints:
        if not len(got.keypoints):
            break
        d = np.abs(got.keypoints[:, :, :2] - kps[None, :, :2]).max(axis=2)   # [N, 17]
        best = int(np.argmin(np.median(d, axis=1)))
        if np.median(d[best]) <= tol:
            matched, worst = matched + 1, max(worst, float(d[best].max()))
    assert len(want) >= 3, 'the test image should give several people'
    assert matched >= 0.8 * len(want), f'{matched} of {len(want)} people found{note}'
    return (f'{matched}/{len(want)} people with a median joint within {tol} px (max joint '
            f'{worst:.3g} px){note}')


def estimator_tolerance(precision: str, opencv_version: str) -> Tuple[float, str]:
    """Return the keypoint tolerance [px] of :func:`check_estimator` and a note.

    The CPU reference resizes with OpenCV; before 4.11 its uint8 bilinear resize works in
    fixed point and differs from the GPU's float resize by up to one grey level, so the
    0.01 px FP32 tolerance needs OpenCV >= 4.11 (JetPack ships older ones): below it the
    check uses 1 px and says why.
    """
    if precision != 'fp32':
        return 4.0, ''
    parts = tuple(int(v) for v in opencv_version.split('.')[:2] if v.isdigit())
    if parts >= EXACT_RESIZE_OPENCV:
        return 0.01, ''
    return 1.0, (f' (OpenCV {opencv_version} < 4.11 resizes in fixed point: 1 px instead of '
                 '0.01 px; pip install "opencv-python-headless>=4.11" for the tight check)')


def check_onnxruntime_cuda(net, images, reference, cache_dir) -> str:
    """Check ONNX Runtime's CUDA provider against the CPU reference."""
    need_ort_cuda()
    with create_backend('onnxruntime', net, device='cuda', cache_dir=str(cache_dir)) as b:
        out = b.infer({'images': images})
    return assert_parity(parity(reference, out, 0.01), 0.9, 0.95, 1e-3)


def check_tensorrt(net, images, reference, cache_dir, precision: str,
                   dynconv: str = 'shifted') -> str:
    """Check a TensorRT engine (built at activation) against the CPU reference."""
    need_tensorrt()
    hw = tuple(images.shape[2:])
    with open_backend('tensorrt', net, device='cuda', precision=precision, dynconv=dynconv,
                      cache_dir=str(cache_dir), prepare_hw=[hw],
                      optimization_level=CHECK_OPT_LEVEL) as backend:
        assert backend.input_shape() == (1, 3) + hw
        out = backend.infer({'images': images})
    if precision == 'fp32':
        return assert_parity(parity(reference, out, 0.01), 0.9, 0.95, 1e-3)
    return assert_parity(parity(reference, out, 4.0), 0.8, 0.9)


def check_tensorrt_reuse(net, images, cache_dir) -> str:
    """Check that a second start finds the cached engine and builds nothing."""
    need_tensorrt()
    from logocap_ros.backends import build_engine
    hw = tuple(images.shape[2:])
    open_backend('tensorrt', net, device='cuda', cache_dir=str(cache_dir),
                 prepare_hw=[hw], optimization_level=CHECK_OPT_LEVEL).deactivate()
    real = build_engine.build_serialized_engine

    def no_build(*_a, **_k):
        raise AssertionError('rebuilt although a valid engine is cached')
    build_engine.build_serialized_engine = no_build
    try:
        open_backend('tensorrt', net, device='cuda', cache_dir=str(cache_dir),
                     prepare_hw=[hw], optimization_level=CHECK_OPT_LEVEL).deactivate()
    finally:
        build_engine.build_serialized_engine = real
    return 'cached engine reused'


# --------------------------------------------------------------------------- benchmark
def _row(backend, precision, flip, label, options, camera, size) -> dict:
    return {'backend': backend, 'precision': precision, 'flip': flip, 'label': label,
            'options': options, 'camera': camera, 'size': size}


def bench_rows(mode: str, device: str) -> List[dict]:
    """Return the configurations of the benchmark table for ``mode``."""
    if device == 'cpu':
        return [_row('torch', 'fp32', True, 'torch eager', {}, (60, 120), 64)]
    torch_rows = [('torch eager', 'fp32', {'cuda_graph': False}),
                  ('torch graph', 'fp32', {}), ('torch eager', 'fp16', {'cuda_graph': False}),
                  ('torch graph', 'fp16', {})]
    if mode == 'full':
        torch_rows.append(('torch compiled', 'fp16', {'compile_graph': True}))
    rows = []
    cameras = [TARGET_CAMERA] + ([(720, 1280)] if mode == 'full' else [])
    for camera in cameras:
        for flip in (True, False):
            if flip or mode == 'full':  # TensorRT first: its builds are the long part
                rows += tensorrt_rows(flip, camera, 512)
            for label, prec, opts in torch_rows:
                rows.append(_row('torch', prec, flip, label, opts, camera, 512))
            if flip or mode == 'full':
                rows.append(_row('onnxruntime', 'fp32', flip, 'onnxruntime cuda', {}, camera,
                                 512))
    return rows


def tensorrt_rows(flip: bool, camera, size: int) -> List[dict]:
    """Return the TensorRT rows: FP32, FP16 (default dynamic convolution), FP16 (the other).

    Both forms are timed (``shifted``: Pad/Slice/Mul/Add; ``conv``: grouped convolution with
    run-time weights); the default (:data:`DEFAULT_DYNCONV`) follows the faster FP16 one.
    """
    from logocap_ros.backends.tensorrt_backend import DEFAULT_DYNCONV
    other = 'conv' if DEFAULT_DYNCONV == 'shifted' else 'shifted'
    opts = {'optimization_level': CHECK_OPT_LEVEL}
    return [_row('tensorrt', 'fp32', flip, f'tensorrt {DEFAULT_DYNCONV}',
                 dict(opts, dynconv=DEFAULT_DYNCONV), camera, size),
            _row('tensorrt', 'fp16', flip, f'tensorrt {DEFAULT_DYNCONV}',
                 dict(opts, dynconv=DEFAULT_DYNCONV), camera, size),
            _row('tensorrt', 'fp16', flip, f'tensorrt {other}', dict(opts, dynconv=other),
                 camera, size)]


def run_row(net, row: dict, device: str, runs: int, warmup: int, cache_dir,
            references: Dict[tuple, Dict[str, np.ndarray]]) -> dict:
    """Time one configuration and measure its parity against the CPU; fill ``row``."""
    hw = preprocessing.letterbox_for(row['camera'], row['size']).input_hw
    row['input'] = f'{hw[1]}x{hw[0]}'
    images = random_images(hw, seed=0)
    if row['backend'] == 'tensorrt':
        need_tensorrt()
    if row['backend'] == 'onnxruntime' and device != 'cpu':
        need_ort_cuda()
    key = (hw, row['flip'])
    if key not in references:
        references[key] = cpu_reference(net, images, row['flip'])
    t0 = time.perf_counter()
    backend = open_backend(row['backend'], net, device=device, precision=row['precision'],
                           flip_test=row['flip'], cache_dir=str(cache_dir), prepare_hw=[hw],
                           **row['options'])
    row['start_s'] = time.perf_counter() - t0
    try:
        for _ in range(warmup):
            out = backend.infer({'images': images})
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            out = backend.infer({'images': images})
            times.append(time.perf_counter() - t)
        row['describe'] = backend.describe()
    finally:
        backend.deactivate()
    row['median_ms'] = float(np.median(times) * 1e3)
    row['p95_ms'] = float(np.percentile(times, 95) * 1e3)
    row['parity'] = parity(references[key], out, 0.01)
    return row


def add_speedups(rows: List[dict]) -> None:
    """``speedup`` = torch eager FP32 median / row median, per input and flip."""
    base = {(r['input'], r['flip']): r['median_ms'] for r in rows if 'median_ms' in r
            and r['label'] == 'torch eager' and r['precision'] == 'fp32'}
    for r in rows:
        ref = base.get((r.get('input'), r['flip']))
        if ref and 'median_ms' in r:
            r['speedup'] = ref / r['median_ms']


def bench_table(rows: List[dict]) -> str:
    """Markdown table of the benchmark rows."""
    lines = ['| backend | precision | input WxH | flip | median ms | p95 ms | speed-up vs '
             'eager fp32 | parity vs CPU px (p50 / max, found) | start s |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        head = f"| {r['label']} | {r['precision']} | {r.get('input', '?')} | " \
               f"{'on' if r['flip'] else 'off'} |"
        if 'median_ms' not in r:
            lines.append(f"{head} {r.get('status', 'n/a')}: {r.get('error', '')} |||||")
            continue
        p = r['parity']
        lines.append(f"{head} {r['median_ms']:.2f} | {r['p95_ms']:.2f} | "
                     f"{r.get('speedup', float('nan')):.2f}x | {p['p50_px']:.3g} / "
                     f"{p['max_px']:.3g}, {p['found']:.0%} | {r['start_s']:.1f} |")
    return '\n'.join(lines)


# -------------------------------------------------------------------------------- driver
class Runner:
    """Runs named checks within a time budget and records their outcome."""

    def __init__(self, budget_s: float, required: List[str]) -> None:
        self.deadline = time.monotonic() + budget_s
        self.required = required
        self.results: List[dict] = []

    def run(self, name: str, needs: str, fn: Callable[[], str]) -> None:
        """Run ``fn``; record pass / FAIL / unavailable / NOT RUN with its detail."""
        t0 = time.perf_counter()
        if time.monotonic() > self.deadline:
            status, detail = NOT_RUN, 'time budget exhausted'
        else:
            try:
                status, detail = PASS, fn()
            except Unavailable as exc:
                status, detail = UNAVAILABLE, str(exc)
            except Exception as exc:   # noqa: BLE001  (a check failing in any way is a FAIL)
                status, detail = FAIL, ' '.join(f'{type(exc).__name__}: {exc}'.split())[:500]
                LOG.error('%s failed:\n%s', name, traceback.format_exc())
        if status == UNAVAILABLE and needs in self.required:
            status = NOT_RUN
        self.results.append({'check': name, 'needs': needs, 'status': status,
                             'detail': detail, 'seconds': round(time.perf_counter() - t0, 1)})
        LOG.info('[%s] %s (%.1f s): %s', status, name, time.perf_counter() - t0, detail)

    def exit_code(self) -> int:
        """Return 1 on a failed check, 3 when a required check could not run, else 0."""
        statuses = {r['status'] for r in self.results}
        if FAIL in statuses:
            return 1
        return 3 if NOT_RUN in statuses else 0

    def table(self) -> str:
        """Markdown table of the checks."""
        lines = ['| check | status | s | detail |', '|---|---|---|---|']
        lines += [f"| {r['check']} | {r['status']} | {r['seconds']} | {r['detail']} |"
                  for r in self.results]
        return '\n'.join(lines)


def environment(device: str) -> Dict[str, str]:
    """Describe the machine and the library versions."""
    info = {'python': platform.python_version(), 'torch': torch.__version__,
            'cuda_available': str(torch.cuda.is_available()), 'cpu_cores': str(os.cpu_count())}
    for name in ('numpy', 'cv2', 'onnx', 'onnxruntime', 'tensorrt'):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = 'not installed'
    if device.startswith('cuda') and torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        info['gpu'] = f'{torch.cuda.get_device_name()} (sm {major}.{minor})'
        info['cuda'] = str(torch.version.cuda)
        info['cudnn'] = str(torch.backends.cudnn.version())
    return info


def all_checks(runner: Runner, net, device: str, cache_dir: Path) -> None:
    """Run the parity checks (small input) through ``runner``."""
    images = random_images(PARITY_HW)
    ref = cpu_reference(net, images, True)
    cuda = device != 'cpu'
    if cuda:  # TensorRT first: its engine builds are what may exhaust the budget
        tensorrt_checks(runner, net, images, ref, cache_dir)
        runner.run('torch cuda fp32 vs cpu', 'torch',
                   lambda: check_torch(net, images, ref, device, 'fp32'))
        runner.run('torch cuda fp16 vs cpu', 'torch',
                   lambda: check_torch(net, images, ref, device, 'fp16'))
    runner.run('cuda graph = eager (fp32)', 'torch',
               lambda: check_graph_equals_eager(net, images, device, 'fp32'))
    if cuda:
        runner.run('cuda graph = eager (fp16)', 'torch',
                   lambda: check_graph_equals_eager(net, images, device, 'fp16'))
        runner.run('no host sync in a frame', 'torch',
                   lambda: check_no_sync_in_frame(net, images, device))
    runner.run('device preprocessing = OpenCV', 'torch',
               lambda: check_device_preprocessing(device))
    runner.run('estimator on device vs cpu', 'torch',
               lambda: check_estimator(net, device, 'fp32'))
    if not cuda:
        return
    runner.run('onnxruntime cuda vs cpu', 'onnxruntime',
               lambda: check_onnxruntime_cuda(net, images, ref, cache_dir))


def tensorrt_checks(runner: 'Runner', net, images, ref, cache_dir: Path) -> None:
    """Run the TensorRT parity checks (both dynamic-convolution forms) and engine reuse."""
    for prec in ('fp32', 'fp16'):
        runner.run(f'tensorrt {prec} (shifted) vs cpu', 'tensorrt',
                   lambda p=prec: check_tensorrt(net, images, ref, cache_dir, p))
    runner.run('tensorrt fp32 (conv form) vs cpu', 'tensorrt',
               lambda: check_tensorrt(net, images, ref, cache_dir, 'fp32', 'conv'))
    runner.run('tensorrt engine reused', 'tensorrt',
               lambda: check_tensorrt_reuse(net, images, cache_dir))
    runner.run('estimator on tensorrt (device preprocessing) vs cpu', 'tensorrt',
               lambda: check_estimator(net, 'cuda', 'fp32', 'tensorrt'))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', default=os.environ.get('OUT', 'out/gpu_checks'))
    p.add_argument('--mode', choices=['quick', 'full'], default='quick')
    p.add_argument('--device', default='cuda', help="'cuda[:N]' or 'cpu' (smoke run)")
    p.add_argument('--require', nargs='*', default=['torch'],
                   choices=['torch', 'onnxruntime', 'tensorrt'],
                   help='checks that must run (missing packages then fail the run)')
    p.add_argument('--checks-only', action='store_true',
                   help='run the parity checks, not the benchmark table')
    p.add_argument('--runs', type=int, default=50)
    p.add_argument('--warmup', type=int, default=10)
    p.add_argument('--budget-s', type=float, default=420.0,
                   help='start no new check after this many seconds (then exit 3)')
    p.add_argument('--cache-dir', default=None, help='export/engine cache root')
    return p


def write_summary(out: Path, args, env: Dict[str, str], runner: Runner, rows: List[dict],
                  seconds: float, final: bool) -> str:
    """Write ``summary.md`` and ``results.json`` (also while running: a kill leaves them)."""
    add_speedups(rows)
    code = runner.exit_code() if final else None
    state = f'exit status {code}' if final else 'RUNNING (incomplete)'
    text = '\n'.join([
        f'# GPU checks ({args.mode}, {args.device}) - {state}, {seconds:.0f} s', '',
        ', '.join(f'{k} {v}' for k, v in env.items()), '', '## Checks', '', runner.table(), '',
        '## Benchmark (W32, random weights, backend.infer on a preprocessed input)', '',
        bench_table([r for r in rows if 'status' in r]), ''])
    (out / 'summary.md').write_text(text)
    (out / 'results.json').write_text(json.dumps(
        {'environment': env, 'checks': runner.results, 'benchmark': rows,
         'exit_status': code, 'seconds': seconds}, indent=1, default=str))
    return text


def main(argv: Optional[List[str]] = None) -> int:
    """Run the checks and the benchmark; write the summary; return the exit status."""
    args = _parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s %(message)s',
                        handlers=[logging.FileHandler(out / 'gpu_checks.log', mode='w'),
                                  logging.StreamHandler(sys.stderr)])
    env = environment(args.device)
    LOG.info('environment: %s', env)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        line = ('gpu_checks: error: no CUDA GPU (torch.cuda.is_available() is False, torch '
                f'{torch.__version__}); the GPU checks cannot run here')
        (out / 'summary.md').write_text(line + '\n')
        print(line, file=sys.stderr)
        return 3
    cache_dir = Path(args.cache_dir or os.environ.get('LOGOCAP_CACHE_DIR')
                     or out / 'cache')
    torch.manual_seed(0)
    net, _ = load_network('w32', 'random')
    runner = Runner(args.budget_s, args.require)
    rows: List[dict] = [] if args.checks_only else bench_rows(args.mode, args.device)
    t0 = time.perf_counter()
    progress = runner.run

    def run_and_save(name, needs, fn):
        progress(name, needs, fn)
        write_summary(out, args, env, runner, rows, time.perf_counter() - t0, False)
    runner.run = run_and_save
    all_checks(runner, net, args.device, cache_dir)
    refs: Dict[tuple, Dict[str, np.ndarray]] = {}
    runs, warmup = (2, 1) if args.device == 'cpu' else (args.runs, args.warmup)
    for row in rows:
        name = f"bench {row['label']} {row['precision']} flip {'on' if row['flip'] else 'off'}"

        def bench(row=row):
            run_row(net, row, args.device, runs, warmup, cache_dir, refs)
            return f"{row['median_ms']:.2f} ms median"
        progress(name, row['backend'], bench)
        row['status'] = runner.results[-1]['status']
        row['error'] = runner.results[-1]['detail'] if row['status'] != PASS else ''
        write_summary(out, args, env, runner, rows, time.perf_counter() - t0, False)
    text = write_summary(out, args, env, runner, rows, time.perf_counter() - t0, True)
    print(text)
    return runner.exit_code()


if __name__ == '__main__':
    sys.exit(main())
