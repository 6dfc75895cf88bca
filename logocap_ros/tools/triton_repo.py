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

"""``logocap-triton-repo``: a Triton model repository for one architecture, size and flip.

Exports the LOGO-CAP graph (or takes an existing single-image export with ``--onnx``), gives
it a batch dimension, writes the GPU and CPU configurations and prints the server command
lines. Example::

    logocap-triton-repo --arch w32 --weights w32 --image-size 480x640 --out ~/triton_models
"""

import argparse
from pathlib import Path
import sys
import time
from typing import Dict, List, Optional

from logocap_ros.core.architectures import ARCHS, DEFAULT_ARCH
from logocap_ros.tools.cli_common import run_reporting_errors
from logocap_ros.tools.export_onnx_cli import parse_hw, resolve_network

PROG = 'logocap-triton-repo'


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description='Write a Triton Inference Server model repository for '
                               'LOGO-CAP (GPU and CPU configurations) and print how to serve it.')
    src = p.add_argument_group('model (export) - or --onnx')
    src.add_argument('--arch', choices=ARCHS, default=DEFAULT_ARCH)
    src.add_argument('--weights', default=None,
                     help="checkpoint file, w32/w48 (cached official weights) or 'random' "
                          '(untrained, tests); not needed with --onnx')
    src.add_argument('--input-size', type=int, default=None,
                     help='network input short side, multiple of 64 (default 512 w32, 640 w48)')
    src.add_argument('--image-size', type=parse_hw, default=None, metavar='HxW',
                     help='camera image HEIGHTxWIDTH (480x640 for a 640x480 camera); default '
                          'square')
    src.add_argument('--no-flip', action='store_true', help='export without the flip test')
    src.add_argument('--onnx', '--model', default=None,
                     help='use this single-image export (logocap-export-onnx) instead')
    srv = p.add_argument_group('serving')
    srv.add_argument('--out', required=True, help='model repository folder (created)')
    srv.add_argument('--model-name', default='logocap', help='model name (default logocap)')
    srv.add_argument('--version', type=int, default=1, help='model version folder')
    srv.add_argument('--max-batch-size', type=int, default=8,
                     help='most requests run together by the dynamic batcher (default 8)')
    srv.add_argument('--queue-delay-us', type=int, default=2000,
                     help='how long the batcher waits for more requests [us] (default 2000)')
    srv.add_argument('--gpu-instances', type=int, default=1, help='model instances per GPU')
    srv.add_argument('--cpu-instances', type=int, default=1, help='model instances (CPU)')
    srv.add_argument('--cpu-threads', type=int, default=0,
                     help='ONNX Runtime threads per CPU instance (0: one per core)')
    srv.add_argument('--tensorrt', choices=['off', 'fp16', 'fp32'], default='off',
                     help="GPU config: ONNX Runtime's TensorRT accelerator (default off)")
    srv.add_argument('--http-port', type=int, default=8000, help='port in the printed commands')
    return p


def _metadata_parameters(meta: Dict[str, str]) -> Dict[str, str]:
    """Model parameters from the export's ``logocap_ros.*`` metadata."""
    return {k: v for k, v in meta.items() if k.startswith('logocap_ros.')}


def _export(args: argparse.Namespace, path: Path) -> None:
    """Export the single-image graph of ``--arch/--weights`` to ``path``."""
    from logocap_ros.backends.export_onnx import export_onnx, input_hw_for
    if not args.weights:
        raise ValueError('pass --weights (checkpoint, w32/w48 or random) or --onnx FILE')
    from logocap_ros.core.estimator import DEFAULT_INPUT_SIZE
    size = args.input_size or DEFAULT_INPUT_SIZE[args.arch]
    input_hw = input_hw_for(size, args.image_size)
    net, meta = resolve_network(args.arch, args.weights)
    print(f'exporting {args.arch} flip={not args.no_flip} input {input_hw[0]}x{input_hw[1]} '
          '(H x W) ...', flush=True)
    t0 = time.perf_counter()
    export_onnx(net, path, input_hw, flip_test=not args.no_flip, metadata=meta)
    print(f'exported in {time.perf_counter() - t0:.1f} s', flush=True)


def _run(args: argparse.Namespace) -> int:
    from logocap_ros.backends.export_onnx import read_metadata
    from logocap_ros.backends.triton_onnx import add_batch_dim
    from logocap_ros.backends.triton_repository import (RepositorySpec, server_commands,
                                                        write_repository)
    spec = RepositorySpec(args.model_name, args.version, args.max_batch_size,
                          args.queue_delay_us, args.gpu_instances, args.cpu_instances,
                          args.tensorrt, cpu_threads=args.cpu_threads).validate()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    single = Path(args.onnx) if args.onnx else out / f'.{spec.model_name}-single.onnx'
    batched = out / f'.{spec.model_name}-batched.onnx'
    try:
        if not args.onnx:
            _export(args, single)
        else:
            from logocap_ros.backends.model_file import read_onnx_info
            read_onnx_info(single)  # refuses a file without consistent model metadata
        params = _metadata_parameters(read_metadata(single))
        add_batch_dim(single, batched)
        params['logocap_ros.batched'] = 'scan'
        repo = write_repository(batched, out, spec, params, move=True)
    finally:
        for tmp in ([batched] if args.onnx else [batched, single]):
            if tmp.exists():
                tmp.unlink()
    _print_summary(repo, params, server_commands(out, args.http_port))
    return 0


def _print_summary(repo, params: Dict[str, str], commands: Dict[str, str]) -> None:
    lines: List[str] = [
        f'wrote {repo.model_dir} (input {params.get("logocap_ros.input_hw", "?")} H x W, '
        f'flip_test={params.get("logocap_ros.flip_test", "?")}, '
        f'arch {params.get("logocap_ros.arch", "?")})',
        f'  GPU config: {repo.gpu_config}', f'  CPU config: {repo.cpu_config}',
        'serve it with one of:',
        f'  GPU, Triton installed:      {commands["gpu"]}',
        f'  GPU, Triton container:      {commands["gpu_docker"]}',
        f'  CPU, Triton installed:      {commands["cpu"]}',
        '                              (its Python needs numpy and onnxruntime)',
        f'  CPU, nvidia-pytriton venv:  {commands["cpu_local"]}',
        f'then: logocap_node with backend:=triton triton_model:={repo.model_dir.name}',
    ]
    print('\n'.join(lines))


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``logocap-triton-repo``; returns the exit status."""
    args = _parser().parse_args(argv)
    return run_reporting_errors(PROG, lambda: _run(args),
                                (ValueError, FileNotFoundError, OSError), 'the repository '
                                'may be incomplete; run again')


if __name__ == '__main__':
    sys.exit(main())
