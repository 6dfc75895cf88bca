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
from typing import Callable, Tuple, Type


def add_model_args(parser: argparse.ArgumentParser, weights_required: bool = True) -> None:
    """Add ``--arch --weights --input-size --no-flip --device --backend`` to ``parser``."""
    group = parser.add_argument_group('model')
    group.add_argument('--arch', choices=['w32', 'w48'], default='w32',
                       help='HRNet width of the checkpoint (default: w32)')
    group.add_argument('--weights', required=weights_required,
                       help='checkpoint file, or w32/w48 for the cached official weights '
                            '(see: logocap-weights download), or random/random:w48 for '
                            'untrained demo weights')
    group.add_argument('--input-size', type=int, default=None,
                       help='network input short side, a multiple of 64 (default: 512 for '
                            'w32, 640 for w48, as in the paper)')
    group.add_argument('--no-flip', action='store_true',
                       help='disable the flip test (about 2x faster, less accurate)')
    group.add_argument('--device', default='cpu', help="torch device, e.g. 'cpu', 'cuda:0'")
    group.add_argument('--backend', default='auto',
                       choices=['auto', 'torch', 'onnxruntime', 'tensorrt'],
                       help='inference backend (default: auto)')


def build_estimator(args: argparse.Namespace) -> Callable:
    """Create the ``PoseEstimator`` for parsed model options (weights resolved first).

    :raises FileNotFoundError: weights missing (the message gives the download command).
    :raises ValueError: the checkpoint cannot be loaded or does not match ``--arch``.
    """
    from logocap_ros.backends.factory import create_estimator
    from logocap_ros.core.checkpoint import CheckpointError
    from logocap_ros.core.estimator import EstimatorConfig
    from logocap_ros.tools.weights import resolve_weights
    arch, random = random_weights_arch(args.weights, args.arch)
    config = EstimatorConfig(arch=arch, input_size=args.input_size,
                             flip_test=not args.no_flip, device=args.device,
                             backend=args.backend)
    if random:
        print(f'--weights {args.weights}: UNTRAINED demo weights, the poses are meaningless',
              file=sys.stderr)
        return create_estimator('random', config)
    weights = resolve_weights(args.weights)
    try:
        return create_estimator(str(weights), config)
    except CheckpointError as exc:
        hint = f' Pass --arch {exc.suggested_arch}.' if exc.suggested_arch else ''
        raise ValueError(f'{exc}{hint}') from None


def random_weights_arch(weights: str, arch: str) -> Tuple[str, bool]:
    """Return ``(arch, True)`` for ``random``/``random:w48`` (untrained demo weights).

    The same spelling as the node's ``weights`` parameter; anything else gives
    ``(arch, False)``.

    :raises ValueError: ``random:<arch>`` with an unknown architecture.
    """
    text = str(weights).strip()
    if text != 'random' and not text.startswith('random:'):
        return arch, False
    variant = text.partition(':')[2] or arch
    if variant not in ('w32', 'w48'):
        raise ValueError(f"--weights {text}: unknown architecture '{variant}'; use random, "
                         'random:w32 or random:w48')
    return variant, True


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
