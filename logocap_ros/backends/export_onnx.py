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


"""Export the whole LOGO-CAP graph to ONNX, with a dynamic or a fixed input size.

The exported graph is :class:`logocap_ros.core.pipeline.LogoCapPipeline` with pruning off:
network, flip fusion, upsampling, centre NMS and top-K, KEM sampling, KAM network, dynamic
convolution and peak blending. Input ``images`` ``[1, 3, H, W]`` float32; outputs ``poses``
``[30, 17, 3]``, ``scores`` ``[30]``, ``centers`` ``[30, 3]`` (input px). Candidate filtering,
back-projection and pose NMS stay in Python (:mod:`logocap_ros.core.postprocessing`).

``input_hw=None`` exports one graph for every input size (H and W are dynamic axes; the same
values as fixed-size exports, test/test_backends_onnx.py): ONNX Runtime uses it, so there is
one export per weights and flip setting. TensorRT engines are built from fixed-size exports.

The command line is ``logocap-export-onnx`` (:mod:`logocap_ros.tools.export_onnx_cli`).
"""

import copy
import hashlib
import inspect
import logging
import os
from pathlib import Path
import time
from typing import Dict, Optional, Sequence, Tuple, Union
import warnings

import numpy as np
import torch
from torch import nn

from .base import INPUT_NAME, OUTPUT_NAMES
from .cache import cache_root, prune_cache, temp_path_beside, touch, weights_sha256
from .model_file import DYNAMIC  # noqa: F401 (``logocap_ros.input_hw`` of any-size exports)
from .onnx_ops import exportable_refinement
from .. import __version__
from ..core.pipeline import LogoCapPipeline

LOG = logging.getLogger('logocap_ros.backends')
DEFAULT_OPSET = 17
#: Intermediate outputs added by ``debug_outputs=True`` (for parity checks).
DEBUG_OUTPUTS = ('heatmaps', 'offsets', 'initial_poses', 'kam_logits')
#: Input size traced for dynamic-size exports (H != W, so no axis mix-up can hide).
DYNAMIC_TRACE_HW = (64, 128)
DYNCONV_FORMS = ('conv', 'shifted')
PathLike = Union[str, os.PathLike]


class _PipelineGraph(nn.Module):
    """The pipeline's outputs as a tuple, optionally followed by intermediates."""

    def __init__(self, pipeline: LogoCapPipeline, extra: Sequence[str] = ()) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.names = tuple(OUTPUT_NAMES) + tuple(extra)

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Run the whole graph on ``[1, 3, H, W]`` float32."""
        out = self.pipeline.stages(images)
        return tuple(out[name] for name in self.names)


def export_pipeline(net: nn.Module, flip_test: bool, network_dtype: str,
                    device: torch.device) -> LogoCapPipeline:
    """Return the unpruned pipeline on a copy of ``net`` as it is exported.

    ``network_dtype='fp16'``: the network and the KAM network in FP16 (statistics of the
    attentive normalisation in FP32, see :class:`logocap_ros.core.model.MixtureAttention`),
    casts around them, the refinement in FP32 (:class:`LogoCapPipeline` ``half``).
    """
    half = network_dtype == 'fp16'
    traced = copy.deepcopy(net).to(device).eval()
    if half:
        traced = traced.half()
    return LogoCapPipeline(traced, flip_test=flip_test, prune=False, half=half).to(device).eval()


def input_hw_for(input_size: int, image_hw: Optional[Tuple[int, int]] = None) -> Tuple[int, int]:
    """Network input ``(H, W)`` for a camera resolution (square when ``image_hw`` is None)."""
    from ..core.preprocessing import letterbox_for
    return letterbox_for(image_hw or (input_size, input_size), input_size).input_hw


def export_onnx(net: nn.Module, path: PathLike, input_hw: Optional[Tuple[int, int]],
                flip_test: bool = True, opset: int = DEFAULT_OPSET, dynconv: str = 'conv',
                debug_outputs: bool = False, network_dtype: str = 'fp32',
                metadata: Optional[Dict[str, str]] = None) -> Path:
    """Export ``net`` inside the full pipeline to ``path`` (written atomically).

    :param net: :class:`logocap_ros.core.model.LogoCapNet` with loaded weights (left
        unchanged; traced on the CPU, or on CUDA for ``network_dtype='fp16'`` when available).
    :param input_hw: ``(H, W)`` network input, multiples of 64; None for a dynamic size
        (any multiple of 64; metadata ``input_hw`` = ``dynamic``).
    :param dynconv: dynamic convolution form, ``'conv'`` or ``'shifted'`` (see
        :mod:`logocap_ros.backends.onnx_ops`).
    :param debug_outputs: also output :data:`DEBUG_OUTPUTS` (parity tests).
    :param network_dtype: ``'fp16'`` stores the network in half precision with casts around
        it (refinement FP32): the input of strongly typed TensorRT FP16 builds.
    :param metadata: extra ``metadata_props`` entries.
    :return: the written path.
    """
    if input_hw is not None:
        h, w = (int(v) for v in input_hw)
        if h % 64 or w % 64 or h <= 0 or w <= 0:
            raise ValueError(f'input_hw must be positive multiples of 64, not {input_hw}')
    if network_dtype not in ('fp32', 'fp16'):
        raise ValueError(f"network_dtype must be 'fp32' or 'fp16', not {network_dtype!r}")
    path = Path(path)
    half = network_dtype == 'fp16'
    device = torch.device('cuda' if half and torch.cuda.is_available() else 'cpu')
    if half and device.type == 'cpu':
        LOG.warning('tracing a half-precision network on the CPU is slow (about a minute at '
                    'small sizes, more at camera sizes); export on a CUDA machine')
    pipeline = export_pipeline(net, flip_test, network_dtype, device)
    graph = _PipelineGraph(pipeline, DEBUG_OUTPUTS if debug_outputs else ())
    trace_hw = DYNAMIC_TRACE_HW if input_hw is None else (h, w)
    dynamic = {'dynamic_axes': {INPUT_NAME: {2: 'height', 3: 'width'}}} \
        if input_hw is None else {}
    tmp = temp_path_beside(path)
    try:
        with torch.no_grad(), exportable_refinement(dynconv), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(graph, (torch.zeros((1, 3) + tuple(trace_hw), device=device),),
                              str(tmp), input_names=[INPUT_NAME],
                              output_names=list(graph.names), opset_version=opset,
                              do_constant_folding=True, **dynamic, **_legacy_exporter_kwargs())
        meta = {'logocap_ros.arch': str(getattr(net, 'arch', '')),
                'logocap_ros.input_hw': DYNAMIC if input_hw is None else f'{h}x{w}',
                'logocap_ros.flip_test': str(bool(flip_test)),
                'logocap_ros.weights_sha256': weights_sha256(net),
                'logocap_ros.opset': str(opset), 'logocap_ros.dynconv': dynconv,
                'logocap_ros.network_dtype': network_dtype,
                'logocap_ros.top_k': str(pipeline.top_k),
                'logocap_ros.version': __version__, 'logocap_ros.torch': torch.__version__}
        meta.update(metadata or {})
        write_metadata(tmp, meta)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def cached_name(arch: str, input_hw: Optional[Tuple[int, int]], flip_test: bool, opset: int,
                dynconv: str, network_dtype: str, digest: str) -> str:
    """File name of a cached export (everything that changes the graph is in it)."""
    size = DYNAMIC if input_hw is None else f'{int(input_hw[0])}x{int(input_hw[1])}'
    return (f'{arch}-{size}-{"flip" if flip_test else "noflip"}-opset{opset}-{dynconv}'
            f'{"-fp16net" if network_dtype == "fp16" else ""}-{digest[:16]}.onnx')


def cached_onnx(net: nn.Module, input_hw: Optional[Tuple[int, int]], flip_test: bool = True,
                opset: int = DEFAULT_OPSET, dynconv: str = 'conv',
                cache_dir: Optional[PathLike] = None,
                weights_digest: Optional[str] = None, network_dtype: str = 'fp32',
                cache_limit_mb: Optional[float] = None) -> Path:
    """Return the cached ONNX export for these settings, exporting it first when missing.

    The file name holds everything that changes the export: architecture, input size (or
    ``dynamic`` for ``input_hw=None``), flip, opset, dynamic-conv form, and a digest of the
    weights hash, this package's version and torch's version. Files go to ``<cache>/onnx``
    (see :func:`logocap_ros.backends.cache.cache_root`); a used file is marked as recently
    used and, after a new export, the least recently used files are deleted while the cache
    is over its size limit (:func:`logocap_ros.backends.cache.prune_cache`).

    :param weights_digest: precomputed :func:`weights_sha256` of ``net`` (saves hashing).
    :param network_dtype: ``'fp32'`` or ``'fp16'`` (see :func:`export_onnx`).
    :param cache_limit_mb: cache size limit (default ``$LOGOCAP_CACHE_LIMIT_MB`` or 4096).
    """
    digest = hashlib.sha256('|'.join([
        weights_digest or weights_sha256(net), __version__, torch.__version__]).encode())
    name = cached_name(getattr(net, 'arch', 'net'), input_hw, flip_test, opset, dynconv,
                       network_dtype, digest.hexdigest())
    path = cache_root(cache_dir) / 'onnx' / name
    if path.exists():
        LOG.info('using cached ONNX export %s', path)
        touch(path)
        return path
    what = 'any input size' if input_hw is None else \
        f'input {int(input_hw[0])}x{int(input_hw[1])} (H x W)'
    LOG.warning('exporting LOGO-CAP to ONNX for %s, flip=%s, network %s: one-time step '
                '(tens of seconds on a CPU), cached at %s', what, flip_test, network_dtype,
                path)
    t0 = time.perf_counter()
    export_onnx(net, path, input_hw, flip_test=flip_test, opset=opset, dynconv=dynconv,
                network_dtype=network_dtype)
    LOG.warning('ONNX export done in %.1f s (%.0f MB)', time.perf_counter() - t0,
                path.stat().st_size / 1e6)
    prune_cache(cache_dir, limit_mb=cache_limit_mb, keep=[path])
    return path


def _legacy_exporter_kwargs() -> Dict[str, object]:
    """Select the TorchScript exporter where torch also has the dynamo one (no onnxscript)."""
    params = inspect.signature(torch.onnx.export).parameters
    return {'dynamo': False} if 'dynamo' in params else {}


def write_metadata(path: PathLike, meta: Dict[str, str]) -> None:
    """Set ``metadata_props`` entries of the ONNX file at ``path`` (rewritten in place)."""
    import onnx
    model = onnx.load(str(path))
    existing = {p.key: p for p in model.metadata_props}
    for key, value in meta.items():
        prop = existing.get(key) or model.metadata_props.add()
        prop.key, prop.value = key, str(value)
    onnx.save(model, str(path))


def read_metadata(path: PathLike) -> Dict[str, str]:
    """Return the ``metadata_props`` of an ONNX file (see :mod:`.model_file`)."""
    from .model_file import read_onnx_metadata
    return read_onnx_metadata(path)


def run_torch(net: nn.Module, images: np.ndarray, flip_test: bool,
              names: Sequence[str]) -> Dict[str, np.ndarray]:
    """Return the outputs of the unpruned PyTorch pipeline on CPU, by name."""
    pipeline = LogoCapPipeline(net, flip_test=flip_test, prune=False).eval()
    with torch.no_grad():
        out = pipeline.stages(torch.from_numpy(images))
    return {n: out[n].cpu().numpy() for n in names}


def run_onnxruntime(path: PathLike, images: np.ndarray) -> Dict[str, np.ndarray]:
    """Return the outputs of the ONNX file on the ONNX Runtime CPU provider, by name."""
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {INPUT_NAME: images})))


def compare_outputs(ref: Dict[str, np.ndarray], got: Dict[str, np.ndarray],
                    joint_tol: float = 0.01) -> Dict[str, float]:
    """Compare two runs of the graph; return max absolute differences and match statistics.

    Candidates are compared where both runs keep them (centre confidence >= 0.01), paired by
    centre position (within 1 px) rather than by index: centre peaks of the upsampled map can
    be exact ties that float rounding resolves differently, which reorders, adds or drops a
    candidate. ``found`` is the fraction of the reference's kept candidates present in
    ``got``; per-candidate outputs (``poses``, ``scores``, ``initial_poses``, ...) are compared
    on the pairs; ``joints_moved`` is the fraction of paired joints more than ``joint_tol`` px
    apart (the refinement takes an argmax, so near-ties may also move a joint). Other outputs
    (``heatmaps``, ``offsets``) are compared whole.
    """
    k = ref['centers'].shape[0] if 'centers' in ref else -1
    pairs = _pair_candidates(ref, got) if k > 0 else None
    diffs: Dict[str, float] = {}
    for name in ref:
        if name not in got:
            continue
        a, b = ref[name].astype(np.float64), got[name].astype(np.float64)
        if pairs is not None and a.ndim and a.shape[0] == k:
            a, b = a[pairs[0]], b[pairs[1]]
        diffs[name] = float(np.abs(a - b).max()) if a.size else 0.0
    if pairs is not None:
        kept = len(_kept(ref))
        diffs['found'] = len(pairs[0]) / kept if kept else 1.0
        if 'poses' in got and len(pairs[0]):
            a, b = ref['poses'][pairs[0], :, :2], got['poses'][pairs[1], :, :2]
            diffs['joints_moved'] = float((np.abs(a - b).max(-1) > joint_tol).mean())
    return diffs


def _pair_candidates(ref: Dict[str, np.ndarray], got: Dict[str, np.ndarray]):
    """Return index arrays (into ref, into got) of kept candidates with the same centre."""
    keep_ref, keep_got = _kept(ref), _kept(got)
    ia, ib = [], []
    for i in keep_ref:
        if not len(keep_got):
            break
        d = np.abs(got['centers'][keep_got, :2] - ref['centers'][i, :2]).max(-1)
        if d.min() <= 1.0:
            ia.append(i)
            ib.append(keep_got[int(d.argmin())])
    return np.asarray(ia, np.int64), np.asarray(ib, np.int64)


def _kept(out: Dict[str, np.ndarray]) -> Optional[np.ndarray]:
    """Return the indices of kept candidates, or None without ``centers``/``scores``."""
    if 'centers' not in out or 'scores' not in out:
        return None
    from ..core.postprocessing import keep_candidates
    return keep_candidates(out['centers'], out['scores'])


def check_export(net: nn.Module, path: PathLike, flip_test: bool,
                 seed: int = 0) -> Dict[str, float]:
    """Run the ONNX file (ORT CPU) and PyTorch (CPU) on one random image; return the diffs.

    A dynamic-size export is checked at 128x192 (not the traced size).
    """
    meta = read_metadata(path)
    text = meta.get('logocap_ros.input_hw', DYNAMIC)
    h, w = (128, 192) if text == DYNAMIC else (int(v) for v in text.split('x'))
    images = np.random.default_rng(seed).standard_normal((1, 3, h, w)).astype(np.float32)
    got = run_onnxruntime(path, images)
    ref = run_torch(net.cpu().eval(), images, flip_test, list(got))
    return compare_outputs(ref, got)
