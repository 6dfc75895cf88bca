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


"""Export the whole LOGO-CAP graph to ONNX, with static shapes per input resolution.

The exported graph is :class:`logocap_ros.core.pipeline.LogoCapPipeline` with pruning off:
network, flip fusion, upsampling, centre NMS and top-K, KEM sampling, KAM network, dynamic
convolution and peak blending. Input ``images`` ``[1, 3, H, W]`` float32; outputs ``poses``
``[30, 17, 3]``, ``scores`` ``[30]``, ``centers`` ``[30, 3]`` (input px). Candidate filtering,
back-projection and pose NMS stay in Python (:mod:`logocap_ros.core.postprocessing`).

Command line: ``logocap-export-onnx --arch w32 --weights CKPT --input-size 512
--image-size 480x640 --out model.onnx`` (checks the export against PyTorch afterwards).
"""

import argparse
import copy
import inspect
import logging
import os
from pathlib import Path
import sys
import time
from typing import Dict, Optional, Sequence, Tuple, Union
import warnings

import numpy as np
import torch
from torch import nn

from .base import INPUT_NAME, OUTPUT_NAMES
from .cache import temp_path_beside, weights_sha256
from .onnx_ops import exportable_refinement
from .. import __version__
from ..core.pipeline import LogoCapPipeline

LOG = logging.getLogger('logocap_ros.backends')
DEFAULT_OPSET = 17
#: Intermediate outputs added by ``debug_outputs=True`` (for parity checks).
DEBUG_OUTPUTS = ('heatmaps', 'offsets', 'initial_poses', 'kam_logits')
PathLike = Union[str, os.PathLike]


class _PipelineGraph(nn.Module):
    """The pipeline's outputs as a tuple, optionally followed by intermediates.

    :param half_network: the network (``pipeline.net``, already ``.half()``) runs in FP16 and
        its outputs are cast to FP32 before the refinement, which stays FP32.
    """

    def __init__(self, pipeline: LogoCapPipeline, extra: Sequence[str] = (),
                 half_network: bool = False) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.names = tuple(OUTPUT_NAMES) + tuple(extra)
        self.half_network = half_network

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Run the whole graph on ``[1, 3, H, W]`` float32."""
        if self.half_network:
            dense = self.pipeline.dense(images.half())
            out = self.pipeline.decode({k: v.float() for k, v in dense.items()},
                                       images.shape[-2:])
        else:
            out = self.pipeline.stages(images)
        return tuple(out[name] for name in self.names)


class _HalfInside(nn.Module):
    """Run a half-precision module on float32 input and return float32."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Cast in, run, cast out."""
        return self.inner(x.half()).float()


def input_hw_for(input_size: int, image_hw: Optional[Tuple[int, int]] = None) -> Tuple[int, int]:
    """Network input ``(H, W)`` for a camera resolution (square when ``image_hw`` is None)."""
    from ..core.preprocessing import letterbox_for
    return letterbox_for(image_hw or (input_size, input_size), input_size).input_hw


def export_onnx(net: nn.Module, path: PathLike, input_hw: Tuple[int, int],
                flip_test: bool = True, opset: int = DEFAULT_OPSET, dynconv: str = 'conv',
                debug_outputs: bool = False, network_dtype: str = 'fp32',
                metadata: Optional[Dict[str, str]] = None) -> Path:
    """Export ``net`` inside the full pipeline to ``path`` (written atomically).

    :param net: :class:`logocap_ros.core.model.LogoCapNet` with loaded weights (left
        unchanged; traced on the CPU, or on CUDA for ``network_dtype='fp16'`` when available).
    :param input_hw: ``(H, W)`` network input, multiples of 64.
    :param dynconv: dynamic convolution form, ``'conv'`` or ``'shifted'`` (see
        :mod:`logocap_ros.backends.onnx_ops`).
    :param debug_outputs: also output :data:`DEBUG_OUTPUTS` (parity tests).
    :param network_dtype: ``'fp16'`` stores the network in half precision with casts around
        it (refinement FP32): the input of strongly typed TensorRT FP16 builds.
    :param metadata: extra ``metadata_props`` entries.
    :return: the written path.
    """
    h, w = (int(v) for v in input_hw)
    if h % 64 or w % 64 or h <= 0 or w <= 0:
        raise ValueError(f'input_hw must be positive multiples of 64, not {input_hw}')
    if network_dtype not in ('fp32', 'fp16'):
        raise ValueError(f"network_dtype must be 'fp32' or 'fp16', not {network_dtype!r}")
    path = Path(path)
    half = network_dtype == 'fp16'
    device = torch.device('cuda' if half and torch.cuda.is_available() else 'cpu')
    if half and device.type == 'cpu':
        LOG.warning('tracing a half-precision network on the CPU is slow (minutes); '
                    'export on a CUDA machine')
    traced = copy.deepcopy(net).to(device).eval()
    if half:
        traced = traced.half()
        traced.joints_mlp = _HalfInside(traced.joints_mlp)
    pipeline = LogoCapPipeline(traced, flip_test=flip_test, prune=False).eval()
    graph = _PipelineGraph(pipeline, DEBUG_OUTPUTS if debug_outputs else (), half)
    tmp = temp_path_beside(path)
    try:
        with torch.no_grad(), exportable_refinement(dynconv), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(graph, (torch.zeros(1, 3, h, w, device=device),), str(tmp),
                              input_names=[INPUT_NAME], output_names=list(graph.names),
                              opset_version=opset, do_constant_folding=True,
                              **_legacy_exporter_kwargs())
        meta = {'logocap_ros.arch': str(getattr(net, 'arch', '')),
                'logocap_ros.input_hw': f'{h}x{w}', 'logocap_ros.flip_test': str(bool(flip_test)),
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


def cached_onnx(net: nn.Module, input_hw: Tuple[int, int], flip_test: bool = True,
                opset: int = DEFAULT_OPSET, dynconv: str = 'conv',
                cache_dir: Optional[PathLike] = None,
                weights_digest: Optional[str] = None, network_dtype: str = 'fp32') -> Path:
    """Return the cached ONNX export for these settings, exporting it first when missing.

    The file name holds everything that changes the export: architecture, input size, flip,
    opset, dynamic-conv form, and a digest of the weights hash, this package's version and
    torch's version. Files go to ``<cache>/onnx`` (see :func:`logocap_ros.backends.cache.
    cache_root`).

    :param weights_digest: precomputed :func:`weights_sha256` of ``net`` (saves hashing).
    :param network_dtype: ``'fp32'`` or ``'fp16'`` (see :func:`export_onnx`).
    """
    import hashlib
    from .cache import cache_root
    h, w = (int(v) for v in input_hw)
    digest = hashlib.sha256('|'.join([
        weights_digest or weights_sha256(net), __version__, torch.__version__]).encode())
    name = (f'{getattr(net, "arch", "net")}-{h}x{w}-{"flip" if flip_test else "noflip"}-'
            f'opset{opset}-{dynconv}{"-fp16net" if network_dtype == "fp16" else ""}-'
            f'{digest.hexdigest()[:16]}.onnx')
    path = cache_root(cache_dir) / 'onnx' / name
    if path.exists():
        LOG.info('using cached ONNX export %s', path)
        return path
    LOG.warning('exporting LOGO-CAP to ONNX for input %dx%d (H x W), flip=%s: one-time step '
                'for this resolution (tens of seconds on a CPU), cached at %s',
                h, w, flip_test, path)
    t0 = time.perf_counter()
    export_onnx(net, path, (h, w), flip_test=flip_test, opset=opset, dynconv=dynconv,
                network_dtype=network_dtype)
    LOG.warning('ONNX export done in %.1f s', time.perf_counter() - t0)
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
    """Return the ``metadata_props`` of an ONNX file (weights are not loaded)."""
    import onnx
    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


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
    """Run the ONNX file (ORT CPU) and PyTorch (CPU) on one random image; return the diffs."""
    meta = read_metadata(path)
    h, w = (int(v) for v in meta['logocap_ros.input_hw'].split('x'))
    images = np.random.default_rng(seed).standard_normal((1, 3, h, w)).astype(np.float32)
    got = run_onnxruntime(path, images)
    ref = run_torch(net.cpu().eval(), images, flip_test, list(got))
    return compare_outputs(ref, got)


def _parse_hw(text: str) -> Tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected HEIGHTxWIDTH, e.g. 480x640, not {text!r}')
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f'image size must be positive, not {text!r}')
    return h, w


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='logocap-export-onnx',
        description='Export the whole LOGO-CAP pipeline to ONNX for one input resolution and '
                    'check it against PyTorch with ONNX Runtime (CPU).')
    p.add_argument('--arch', choices=['w32', 'w48'], default='w32')
    p.add_argument('--weights', required=True,
                   help="checkpoint file, w32/w48 (cached official weights), or 'random' "
                        '(deterministic untrained weights, for tests)')
    p.add_argument('--input-size', type=int, default=None,
                   help='network input short side, multiple of 64 (default 512 w32, 640 w48)')
    p.add_argument('--image-size', type=_parse_hw, default=None, metavar='HxW',
                   help='camera image HEIGHTxWIDTH, e.g. 480x640 for a 640x480 camera; the '
                        'network input is what the resize rule gives for it (default: square)')
    p.add_argument('--no-flip', action='store_true', help='export without the flip test')
    p.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    p.add_argument('--dynconv', choices=['conv', 'shifted'], default='conv',
                   help='dynamic convolution form: one grouped Conv with run-time weights '
                        "('conv') or shift-multiply-add ('shifted', no run-time Conv weights)")
    p.add_argument('--debug-outputs', action='store_true',
                   help='also output intermediate maps ' + ', '.join(DEBUG_OUTPUTS))
    p.add_argument('--half-network', action='store_true',
                   help='store the network in FP16 (refinement stays FP32) for strongly typed '
                        'TensorRT FP16 engines; traced on CUDA when available; not checked')
    p.add_argument('--no-check', action='store_true', help='skip the ONNX Runtime check')
    p.add_argument('--out', required=True, help='output .onnx file')
    return p


def load_net(arch: str, weights: str) -> Tuple[nn.Module, Dict[str, str]]:
    """Build the network with ``weights`` (file, short name, or ``'random'``).

    :return: the network and metadata describing the weights source.
    :raises ValueError: unreadable or mismatching checkpoint.
    """
    from ..core.checkpoint import (CheckpointError, filled_state_dict, load_into,
                                   load_state_dict)
    from ..core.model import LogoCapNet
    net = LogoCapNet(arch)
    if weights == 'random':
        net.load_state_dict(filled_state_dict(net, 'B'))
        return net.eval(), {'logocap_ros.weights': 'random:B'}
    from .cache import file_sha256
    from ..core.estimator import _resolve_weights
    path = Path(str(_resolve_weights(weights)))
    try:
        load_into(net, load_state_dict(path), source=str(path))
    except CheckpointError as exc:
        raise ValueError(str(exc)) from None
    return net.eval(), {'logocap_ros.weights': path.name,
                        'logocap_ros.checkpoint_sha256': file_sha256(path)}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``logocap-export-onnx``; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    try:
        size = args.input_size or {'w32': 512, 'w48': 640}[args.arch]
        input_hw = input_hw_for(size, args.image_size)
        net, meta = load_net(args.arch, args.weights)
    except (ValueError, FileNotFoundError) as exc:
        print(f'logocap-export-onnx: error: {exc}', file=sys.stderr)
        return 2
    print(f'exporting {args.arch} flip={not args.no_flip} input {input_hw[0]}x{input_hw[1]} '
          f'(H x W) opset {args.opset} dynconv={args.dynconv} -> {args.out}', flush=True)
    t0 = time.perf_counter()
    export_onnx(net, args.out, input_hw, flip_test=not args.no_flip, opset=args.opset,
                dynconv=args.dynconv, debug_outputs=args.debug_outputs, metadata=meta,
                network_dtype='fp16' if args.half_network else 'fp32')
    print(f'exported in {time.perf_counter() - t0:.1f} s '
          f'({os.path.getsize(args.out) / 1e6:.1f} MB)', flush=True)
    if args.no_check or args.half_network:
        return 0
    return _report_check(check_export(net, args.out, not args.no_flip))


def _report_check(diffs: Dict[str, float]) -> int:
    """Print the parity check; non-zero when it is clearly off."""
    print('check vs PyTorch (ONNX Runtime CPU, random image): ' + ', '.join(
        f'{k} {v:.3g}' for k, v in diffs.items()))
    bad = (diffs.get('scores', 0.0) > 1e-3 or diffs.get('found', 1.0) < 0.9
           or diffs.get('joints_moved', 0.0) > 0.05)
    if bad:
        print('logocap-export-onnx: error: the export does not match PyTorch', file=sys.stderr)
        return 1
    print('check passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
