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


"""``logocap-build-engine``: build (or reuse) the cached TensorRT engine of a LOGO-CAP export.

``--onnx FILE`` builds from a fixed-size export; ``--weights`` (file, ``w32``/``w48`` or
``random``) exports into the ONNX cache first (network in FP16 for FP16 engines, ``shifted``
dynamic convolution unless ``--dynconv conv``). Prints ``engine: PATH`` on success; one
``logocap-build-engine: error: ...`` line and exit status 2 on failure (also when TensorRT is
missing: the line says what to install). Progress goes to the log (stderr).
"""

import argparse
import logging
from pathlib import Path
import sys
from typing import Optional, Sequence

from logocap_ros.core.architectures import ARCHS, DEFAULT_ARCH
from logocap_ros.tools.export_onnx_cli import parse_hw, resolve_network


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='logocap-build-engine',
        description='Build (or reuse) the cached TensorRT engine of a LOGO-CAP ONNX export.')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--onnx', help='fixed-size ONNX file from logocap-export-onnx')
    src.add_argument('--weights', help="checkpoint, w32/w48 short name, or 'random'; exported "
                                       'to the ONNX cache first')
    p.add_argument('--arch', choices=ARCHS, default=DEFAULT_ARCH)
    p.add_argument('--input-size', type=int, default=None,
                   help='network input short side (default 512 w32, 640 w48)')
    p.add_argument('--image-size', type=parse_hw, default=None, metavar='HxW',
                   help='camera image HEIGHTxWIDTH (e.g. 480x640); default: square input')
    p.add_argument('--no-flip', action='store_true', help='engine without the flip test')
    p.add_argument('--dynconv', choices=['shifted', 'conv'], default='shifted',
                   help="dynamic convolution of the export: 'shifted' (Pad/Slice/Mul/Add, "
                        "default) or 'conv' (grouped Conv with run-time weights)")
    p.add_argument('--fp32', action='store_true', help='FP32 engine (default: FP16)')
    p.add_argument('--workspace-gb', type=float, default=None,
                   help='builder workspace limit in GiB (lower it on small Jetsons)')
    p.add_argument('--cache-dir', default=None,
                   help='cache root (default: $LOGOCAP_CACHE_DIR, else '
                        '$XDG_CACHE_HOME/logocap_ros, else ~/.cache/logocap_ros)')
    p.add_argument('--force', action='store_true', help='rebuild even if a valid engine exists')
    p.add_argument('--device', type=int, default=0, help='CUDA device index')
    p.add_argument('--out', default=None,
                   help='also copy the engine here, with its model sidecar '
                        '(<out>.model.json: the facts of the ONNX file), for model:=<out>')
    return p


def _onnx_from_args(args: argparse.Namespace) -> Path:
    """Return the ONNX file named by ``--onnx``, or the cached export for ``--weights``."""
    if args.onnx:
        from logocap_ros.backends.model_file import read_onnx_info
        path = Path(args.onnx)
        info = read_onnx_info(path)  # refuses a file without consistent model metadata
        if info.dynamic:
            raise ValueError(f'{path} takes any input size; an engine needs a fixed one: '
                             'export with logocap-export-onnx --image-size HxW')
        return path
    from logocap_ros.backends.export_onnx import cached_onnx, input_hw_for
    from logocap_ros.core.estimator import DEFAULT_INPUT_SIZE
    size = args.input_size or DEFAULT_INPUT_SIZE[args.arch]
    net, _ = resolve_network(args.arch, args.weights)
    return cached_onnx(net, input_hw_for(size, args.image_size), not args.no_flip,
                       dynconv=args.dynconv, cache_dir=args.cache_dir,
                       network_dtype='fp32' if args.fp32 else 'fp16')


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``logocap-build-engine``; returns the exit status."""
    from logocap_ros.backends.base import BackendUnavailable
    from logocap_ros.backends.build_engine import EngineBuildError, ensure_engine, \
        import_tensorrt
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    try:
        import_tensorrt()
        onnx_path = _onnx_from_args(args)
        path = ensure_engine(onnx_path, 'fp32' if args.fp32 else 'fp16', args.cache_dir,
                             force=args.force, workspace_gb=args.workspace_gb,
                             device_index=args.device)
    except (BackendUnavailable, EngineBuildError, FileNotFoundError, ValueError,
            RuntimeError, OSError) as exc:
        print(f'logocap-build-engine: error: {" ".join(str(exc).split())}', file=sys.stderr)
        return 2
    if args.out:
        path = _copy_with_sidecar(Path(path), onnx_path, Path(args.out),
                                  'fp32' if args.fp32 else 'fp16')
    print(f'engine: {path}')
    return 0


def _copy_with_sidecar(engine: Path, onnx_path: Path, out: Path, precision: str) -> Path:
    """Copy ``engine`` to ``out`` and write its model sidecar (facts of ``onnx_path``)."""
    import shutil
    from logocap_ros.backends.model_file import read_onnx_info, write_sidecar
    info = read_onnx_info(onnx_path)
    tmp = out.with_name(out.name + '.tmp')
    shutil.copyfile(engine, tmp)
    tmp.replace(out)
    write_sidecar(out, info, {'logocap_ros.engine_precision': precision,
                              'logocap_ros.source_onnx': onnx_path.name})
    return out


if __name__ == '__main__':
    sys.exit(main())
