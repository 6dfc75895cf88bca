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


"""Command-line pieces shared by the tools: model options and building the estimator."""

import argparse
import sys
from typing import Callable, Optional, Tuple, Type

from logocap_ros.backends.registry import BACKEND_NAMES
from logocap_ros.core.architectures import ARCHS, DEFAULT_ARCH


def add_model_args(parser: argparse.ArgumentParser, weights_required: bool = True) -> None:
    """Add ``--arch --weights|--model --input-size --no-flip --device --backend --precision``."""
    group = parser.add_argument_group('model')
    group.add_argument('--arch', choices=ARCHS, default=DEFAULT_ARCH,
                       help='HRNet width of the checkpoint (default: w32)')
    source = group.add_mutually_exclusive_group(required=weights_required)
    source.add_argument('--weights',
                        help='checkpoint file, or w32/w48 for the cached official weights '
                             '(see: logocap-weights download), or random/random:w48 for '
                             'untrained demo weights (needs PyTorch)')
    source.add_argument('--model', metavar='FILE',
                        help='exported model file (.onnx from logocap-export-onnx, or a '
                             'TensorRT engine from logocap-build-engine --onnx): arch, flip '
                             'test and input size come from it; no PyTorch needed')
    group.add_argument('--input-size', type=int, default=None,
                       help='network input short side, a multiple of 64; 0 or omitted: the '
                            "model's default (512 for w32, 640 for w48, as in the paper), as "
                            "the node's input_size:=0")
    group.add_argument('--no-flip', action='store_true',
                       help='disable the flip test (about 2x faster, less accurate)')
    group.add_argument('--device', default='cpu', help="torch device, e.g. 'cpu', 'cuda:0'")
    group.add_argument('--backend', default='auto',
                       choices=BACKEND_NAMES,
                       help='inference backend (default: auto)')
    group.add_argument('--precision', default='fp32', choices=['fp32', 'fp16', 'bf16'],
                       help='fp32 (default), fp16 (GPU) or bf16 (--backend openvino on a CPU '
                            'with avx512_bf16/amx_bf16)')


def build_estimator(args: argparse.Namespace) -> Callable:
    """Create the ``PoseEstimator`` for parsed model options (weights resolved first).

    :raises FileNotFoundError: weights missing (the message gives the download command).
    :raises ValueError: the checkpoint cannot be loaded or does not match ``--arch``.
    """
    if getattr(args, 'model', None):
        return estimator_from_model(args)
    from logocap_ros.backends.factory import create_estimator
    from logocap_ros.backends.optional_torch import require_torch
    require_torch(f'--weights {args.weights}')
    from logocap_ros.core.checkpoint import CheckpointError
    from logocap_ros.core.estimator import EstimatorConfig
    from logocap_ros.backends.weights import resolve_weights
    arch, random = random_weights_arch(args.weights, args.arch)
    check_device(args.device)
    config = EstimatorConfig(arch=arch, input_size=args.input_size or None,
                             flip_test=not args.no_flip, device=args.device,
                             backend=args.backend,
                             precision=getattr(args, 'precision', 'fp32'))
    if random:
        print(f'--weights {args.weights}: UNTRAINED demo weights, the poses are meaningless',
              file=sys.stderr)
        return create_estimator(args.weights, config)
    weights = resolve_weights(args.weights)
    try:
        return create_estimator(str(weights), config)
    except CheckpointError as exc:
        hint = f' Pass --arch {exc.suggested_arch}.' if exc.suggested_arch else ''
        raise ValueError(f'{exc}{hint}') from None


def estimator_from_model(args: argparse.Namespace) -> Callable:
    """Create the ``PoseEstimator`` for ``--model FILE`` (no torch); log what the file says.

    :raises ValueError: missing file, bad metadata, or ``--no-flip`` for a flip-test file.
    """
    from logocap_ros.backends.model_estimator import create_estimator_from_model
    from logocap_ros.backends.model_file import read_model_info
    info = read_model_info(args.model)
    if args.no_flip and info.flip_test:
        raise ValueError(f'--no-flip: {args.model} was exported with the flip test; export '
                         'one with logocap-export-onnx --no-flip')
    shown = 'any size' if info.dynamic else f'{info.input_hw[0]}x{info.input_hw[1]}'
    print(f'--model {args.model}: {info.arch}, flip test {"on" if info.flip_test else "off"}, '
          f'input {shown}, network {info.network_dtype}', file=sys.stderr)
    estimator, _ = create_estimator_from_model(args.model, input_size=args.input_size,
                                               device=args.device, backend=args.backend)
    return estimator


def check_device(device: str) -> None:
    """Refuse ``--device cuda[:N]`` where PyTorch sees no GPU, in the tools' own syntax.

    :raises ValueError: naming ``--device cpu`` as the fix.
    """
    if not str(device).startswith('cuda'):
        return
    import torch
    if not torch.cuda.is_available():
        raise ValueError(f'--device {device}: PyTorch sees no CUDA GPU here; use --device cpu, '
                         'or install a CUDA build of PyTorch')


def random_weights_arch(weights: Optional[str], arch: str) -> Tuple[str, bool]:
    """Return ``(arch, True)`` for ``random``/``random:w48`` (untrained demo weights).

    The same spelling as the node's ``weights`` parameter; anything else, or no ``--weights``
    (``--model``), gives ``(arch, False)``.

    :raises ValueError: ``random:<arch>`` with an unknown architecture.
    """
    from logocap_ros.backends.weights import parse_random
    random = None if weights is None else parse_random(weights, arch)
    return (arch, False) if random is None else (random.arch, True)


def untrained_source(args: argparse.Namespace) -> bool:
    """Return True when ``--weights random[:X]`` or a ``--model`` exported from them is used."""
    if getattr(args, 'model', None):
        from logocap_ros.backends.model_file import read_model_info
        return read_model_info(args.model).weights.startswith('random')
    return random_weights_arch(args.weights, args.arch)[1]


def run_reporting_errors(prog: str, body: Callable[[], int],
                         errors: Tuple[Type[BaseException], ...], interrupted: str) -> int:
    """Run a CLI's ``body``, turning expected failures into one ``prog: error: ...`` line.

    :param errors: exception types reported as one line with exit status 1.
    :param interrupted: what Ctrl-C left behind (printed with exit status 130).
    :return: ``body()``'s exit status, 1 on a reported error, 130 on Ctrl-C.
    """
    try:
        return body()
    except errors as exc:
        print(f'{prog}: error: {exc}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f'{prog}: interrupted; {interrupted}', file=sys.stderr)
        return 130
