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


"""``logocap-export-onnx``: export the whole LOGO-CAP graph to ONNX and check it.

Weights are a checkpoint file, ``w32``/``w48`` (the cached official checkpoints, see
``logocap-weights``) or ``random``. The export is then run with ONNX Runtime (CPU) and
PyTorch (CPU) on a random image and the differences reported; the exit status is 1 when
they are clearly off, 2 on bad arguments or weights. Progress goes to the log (stderr).
"""

import argparse
import logging
import os
from pathlib import Path
import sys
import time
from typing import Dict, Optional, Sequence, Tuple

from logocap_ros.core.architectures import ARCHS, DEFAULT_ARCH

LOG = logging.getLogger('logocap_ros.tools.export_onnx')


def parse_hw(text: str) -> Tuple[int, int]:
    """Parse ``HEIGHTxWIDTH`` (e.g. ``480x640``) for argparse."""
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected HEIGHTxWIDTH, e.g. 480x640, not {text!r}')
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f'image size must be positive, not {text!r}')
    return h, w


def resolve_network(arch: str, weights: str):
    """Load the network for a ``--weights`` value (file, short name or ``random``).

    :raises ValueError: weights missing, unreadable or not matching ``arch`` (one line).
    """
    from logocap_ros.backends.factory import load_network
    from logocap_ros.backends.weights import parse_random, resolve_weights, WeightsError
    from logocap_ros.core.checkpoint import CheckpointError
    try:
        random = parse_random(weights, arch)  # random, random:w48, random:w32:A, ...
        return load_network(arch, weights if random else str(resolve_weights(weights)))
    except (CheckpointError, FileNotFoundError, WeightsError) as exc:
        raise ValueError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    from logocap_ros.backends.export_onnx import DEBUG_OUTPUTS, DEFAULT_OPSET, DYNCONV_FORMS
    p = argparse.ArgumentParser(
        prog='logocap-export-onnx',
        description='Export the whole LOGO-CAP pipeline to ONNX (one input resolution, or any '
                    'with --dynamic) and check it against PyTorch with ONNX Runtime (CPU).')
    p.add_argument('--arch', choices=ARCHS, default=DEFAULT_ARCH)
    p.add_argument('--weights', required=True,
                   help="checkpoint file, w32/w48 (cached official weights), or 'random' "
                        '(deterministic untrained weights, for tests)')
    p.add_argument('--input-size', type=int, default=None,
                   help='network input short side, multiple of 64 (default 512 w32, 640 w48)')
    p.add_argument('--image-size', type=parse_hw, default=None, metavar='HxW',
                   help='camera image HEIGHTxWIDTH, e.g. 480x640 for a 640x480 camera; the '
                        'network input is what the resize rule gives for it (default: square)')
    p.add_argument('--dynamic', action='store_true',
                   help='any input size (dynamic H and W; ONNX Runtime), not one resolution')
    p.add_argument('--no-flip', action='store_true', help='export without the flip test')
    p.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    p.add_argument('--dynconv', choices=DYNCONV_FORMS, default='conv',
                   help='dynamic convolution form: one grouped Conv with run-time weights '
                        "('conv', fastest in ONNX Runtime) or shift-multiply-add ('shifted', "
                        'Pad/Slice/Mul/Add only: the TensorRT default)')
    p.add_argument('--debug-outputs', action='store_true',
                   help='also output intermediate maps ' + ', '.join(DEBUG_OUTPUTS))
    p.add_argument('--half-network', action='store_true',
                   help='store the network in FP16 (refinement and normalisation statistics '
                        'FP32) for strongly typed TensorRT FP16 engines; traced on CUDA when '
                        'available; not checked')
    p.add_argument('--no-check', action='store_true', help='skip the ONNX Runtime check')
    p.add_argument('--out', required=True, help='output .onnx file')
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``logocap-export-onnx``; returns the exit status."""
    from logocap_ros.backends import export_onnx as ex
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    try:
        from logocap_ros.core.estimator import DEFAULT_INPUT_SIZE
        out_dir = Path(args.out).expanduser().parent
        if not out_dir.is_dir():  # never create folders the user did not ask for
            raise ValueError(f'output folder does not exist: {out_dir}; create it first or '
                             'pass --out in an existing folder')
        net, meta = resolve_network(args.arch, args.weights)
        # the network's arch: --weights random:w48 overrides --arch (640, not w32's 512)
        size = args.input_size or DEFAULT_INPUT_SIZE[getattr(net, 'arch', args.arch)]
        input_hw = None if args.dynamic else ex.input_hw_for(size, args.image_size)
        meta['logocap_ros.input_size'] = str(min(input_hw) if input_hw else size)
    except ValueError as exc:
        print(f'logocap-export-onnx: error: {exc}', file=sys.stderr)
        return 2
    shown = 'any size' if input_hw is None else f'{input_hw[0]}x{input_hw[1]} (H x W)'
    LOG.info('exporting %s flip=%s input %s opset %d dynconv=%s -> %s', args.arch,
             not args.no_flip, shown, args.opset, args.dynconv, args.out)
    t0 = time.perf_counter()
    ex.export_onnx(net, args.out, input_hw, flip_test=not args.no_flip, opset=args.opset,
                   dynconv=args.dynconv, debug_outputs=args.debug_outputs, metadata=meta,
                   network_dtype='fp16' if args.half_network else 'fp32')
    LOG.info('exported in %.1f s (%.1f MB)', time.perf_counter() - t0,
             os.path.getsize(args.out) / 1e6)
    if args.no_check or args.half_network:
        return 0
    return report_check(ex.check_export(net, args.out, not args.no_flip))


def report_check(diffs: Dict[str, float]) -> int:
    """Log the parity check; return 1 (with an error line) when it is clearly off."""
    LOG.info('check vs PyTorch (ONNX Runtime CPU, random image): %s',
             ', '.join(f'{k} {v:.3g}' for k, v in diffs.items()))
    bad = (diffs.get('scores', 0.0) > 1e-3 or diffs.get('found', 1.0) < 0.9
           or diffs.get('joints_moved', 0.0) > 0.05)
    if bad:
        print('logocap-export-onnx: error: the export does not match PyTorch', file=sys.stderr)
        return 1
    LOG.info('check passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
