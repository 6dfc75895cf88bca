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

"""The deployable model file: the facts an exported LOGO-CAP graph carries, read and checked.

``logocap-export-onnx`` writes them as ONNX ``metadata_props`` (keys ``logocap_ros.<name>``);
an engine built from that file (``logocap-build-engine --onnx``) carries the same facts in a
JSON sidecar next to it (``<engine>.model.json``). The runtime takes everything it needs from
here (architecture, flip test, input size rule, precision) and refuses a file whose facts are
missing or inconsistent, with one line naming the fix. No torch: this runs on a Jetson that
only has ONNX Runtime or TensorRT.
"""

from dataclasses import dataclass
import json
import os
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

PathLike = Union[str, os.PathLike]
PREFIX = 'logocap_ros.'
#: ``input_hw`` value of an export that takes any input size (multiples of 64).
DYNAMIC = 'dynamic'
#: Facts every model file must carry (metadata key = PREFIX + name).
REQUIRED = ('arch', 'flip_test', 'input_hw', 'network_dtype', 'opset', 'weights_sha256',
            'version')
#: Name endings of TensorRT engine files given as a model.
ENGINE_SUFFIXES = ('.engine', '.plan', '.trt')
SIDECAR_SUFFIX = '.model.json'
_ARCHS = ('w32', 'w48')
_FIX = 'export it again with logocap-export-onnx'


class ModelFileError(ValueError):
    """A model file is missing, unreadable, or its metadata is missing or inconsistent."""


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about itself.

    :param arch: ``'w32'`` or ``'w48'``.
    :param flip_test: the graph averages with the mirrored image.
    :param input_hw: fixed network input ``(H, W)`` in px, or None for any size.
    :param input_size: short side the runtime resizes to (fixed: ``min(input_hw)``).
    :param network_dtype: ``'fp32'`` or ``'fp16'`` (the network stored in half precision).
    :param opset: ONNX opset of the export.
    :param weights_sha256: digest of the exported weights (state dict).
    :param version: logocap_ros version that exported it.
    :param checkpoint_sha256: sha256 of the source checkpoint file ('' for random weights).
    :param weights: the source weights' name (file name or ``random:<variant>``).
    """

    arch: str
    flip_test: bool
    input_hw: Optional[Tuple[int, int]]
    input_size: int
    network_dtype: str
    opset: int
    weights_sha256: str
    version: str
    checkpoint_sha256: str = ''
    weights: str = ''

    @property
    def dynamic(self) -> bool:
        """True when the file takes any input size (multiples of 64)."""
        return self.input_hw is None


def is_engine(path: PathLike) -> bool:
    """Return True when ``path`` names a TensorRT engine (by its name ending), not ONNX."""
    return str(path).lower().endswith(ENGINE_SUFFIXES)


def sidecar_path(engine: PathLike) -> Path:
    """Return the JSON file holding an engine's model facts: ``<engine>.model.json``."""
    return Path(str(engine) + SIDECAR_SUFFIX)


def parse_info(meta: Dict[str, str], source: str) -> ModelInfo:
    """Check the ``logocap_ros.*`` entries of ``meta`` and return them as :class:`ModelInfo`.

    :param source: the file, for the error message.
    :raises ModelFileError: an entry is missing or has an impossible value.
    """
    missing = [n for n in REQUIRED if PREFIX + n not in meta]
    if missing:
        raise ModelFileError(f'{source} is not a logocap_ros model file: its metadata lacks '
                             f"{', '.join(PREFIX + n for n in missing)}; {_FIX}")

    def bad(name: str, why: str) -> ModelFileError:
        return ModelFileError(f'{source}: metadata {PREFIX}{name}={meta[PREFIX + name]!r} '
                              f'{why}; {_FIX}')

    arch = meta[PREFIX + 'arch']
    if arch not in _ARCHS:
        raise bad('arch', f"is not one of {', '.join(_ARCHS)}")
    flip = meta[PREFIX + 'flip_test']
    if flip not in ('True', 'False'):
        raise bad('flip_test', 'is not True or False')
    input_hw = _parse_hw(meta[PREFIX + 'input_hw'])
    if input_hw is False:
        raise bad('input_hw', f"is not '{DYNAMIC}' or HxW in multiples of 64")
    size_text = meta.get(PREFIX + 'input_size', '')
    default = min(input_hw) if input_hw else {'w32': 512, 'w48': 640}[arch]
    size = int(size_text) if size_text.isdigit() else (default if not size_text else -1)
    if size <= 0 or size % 64 or (input_hw and size != min(input_hw)):
        raise ModelFileError(f'{source}: metadata {PREFIX}input_size={size_text!r} does not '
                             f'fit input_hw={meta[PREFIX + "input_hw"]!r}; {_FIX}')
    dtype = meta[PREFIX + 'network_dtype']
    if dtype not in ('fp32', 'fp16'):
        raise bad('network_dtype', 'is not fp32 or fp16')
    if not meta[PREFIX + 'opset'].isdigit():
        raise bad('opset', 'is not a number')
    return ModelInfo(arch, flip == 'True', input_hw, size, dtype, int(meta[PREFIX + 'opset']),
                     meta[PREFIX + 'weights_sha256'], meta[PREFIX + 'version'],
                     meta.get(PREFIX + 'checkpoint_sha256', ''),
                     meta.get(PREFIX + 'weights', ''))


def _parse_hw(text: str):
    """``'dynamic'`` -> None, ``'512x640'`` -> (512, 640), anything else -> False."""
    if text == DYNAMIC:
        return None
    try:
        h, w = (int(v) for v in text.split('x'))
    except ValueError:
        return False
    return (h, w) if h > 0 and w > 0 and not h % 64 and not w % 64 else False


def info_metadata(info: ModelInfo) -> Dict[str, str]:
    """Return the metadata entries (``logocap_ros.<name>`` -> text) that describe ``info``."""
    hw = DYNAMIC if info.input_hw is None else f'{info.input_hw[0]}x{info.input_hw[1]}'
    return {PREFIX + 'arch': info.arch, PREFIX + 'flip_test': str(bool(info.flip_test)),
            PREFIX + 'input_hw': hw, PREFIX + 'input_size': str(info.input_size),
            PREFIX + 'network_dtype': info.network_dtype, PREFIX + 'opset': str(info.opset),
            PREFIX + 'weights_sha256': info.weights_sha256, PREFIX + 'version': info.version,
            PREFIX + 'checkpoint_sha256': info.checkpoint_sha256,
            PREFIX + 'weights': info.weights}


def read_onnx_info(path: PathLike) -> ModelInfo:
    """Read and check the model facts of an ONNX file (with ``onnx``, else ONNX Runtime).

    Besides the entries themselves, the graph's input shape must agree with ``input_hw``
    (fixed vs dynamic H and W) and, with ``onnx``, the opset with ``opset``.

    :raises ModelFileError: file missing or not ONNX, or metadata missing/inconsistent.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f'model file not found: {path} (export one with '
                             'logocap-export-onnx --out FILE.onnx)')
    meta, shape, opset = _read_onnx(path)
    info = parse_info(meta, str(path))
    fixed = all(isinstance(v, int) and v > 0 for v in shape[2:])
    if info.dynamic == fixed or (fixed and tuple(shape[2:]) != info.input_hw):
        raise ModelFileError(f'{path}: metadata {PREFIX}input_hw='
                             f"{meta[PREFIX + 'input_hw']!r} but the graph input is "
                             f'{list(shape)}; {_FIX}')
    if opset is not None and opset != info.opset:
        raise ModelFileError(f'{path}: metadata {PREFIX}opset={info.opset} but the graph uses '
                             f'opset {opset}; {_FIX}')
    return info


def read_onnx_metadata(path: PathLike) -> Dict[str, str]:
    """Return all ``metadata_props`` of an ONNX file (no checks; weights not kept)."""
    return _read_onnx(Path(path))[0]


def _read_onnx(path: Path):
    """Return ``(metadata dict, input shape list, opset or None)`` of an ONNX file."""
    try:
        import onnx
    except ImportError:
        onnx = None
    try:
        if onnx is not None:
            model = onnx.load(str(path), load_external_data=False)
            dims = model.graph.input[0].type.tensor_type.shape.dim
            shape = [d.dim_value if d.HasField('dim_value') else d.dim_param for d in dims]
            opset = next((o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')),
                         None)
            return {p.key: p.value for p in model.metadata_props}, shape, opset
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(str(path), sess_options=opts,
                                    providers=['CPUExecutionProvider'])
        return dict(sess.get_modelmeta().custom_metadata_map), sess.get_inputs()[0].shape, None
    except ImportError:
        raise
    except Exception as exc:  # a truncated or foreign file: protobuf/ORT errors vary
        raise ModelFileError(f'{path} is not a readable ONNX file ({type(exc).__name__}: '
                             f"{' '.join(str(exc).split())[:200]}); {_FIX}") from None


def write_sidecar(engine: PathLike, info: ModelInfo, extra: Optional[Dict[str, str]] = None
                  ) -> Path:
    """Write the model facts of an engine built from an ONNX file next to it; return the path."""
    data = dict(info_metadata(info), **(extra or {}))
    path = sidecar_path(engine)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + '\n')
    os.replace(tmp, path)
    return path


def read_engine_info(engine: PathLike) -> ModelInfo:
    """Read and check the sidecar of an engine file.

    :raises ModelFileError: engine or sidecar missing, unreadable or inconsistent.
    """
    engine = Path(engine)
    side = sidecar_path(engine)
    fix = (f'build the engine with logocap-build-engine --onnx MODEL.onnx --out {engine}, '
           'which writes it')
    if not engine.is_file():
        raise ModelFileError(f'model file not found: {engine} ({fix})')
    try:
        meta = json.loads(side.read_text())
    except FileNotFoundError:
        raise ModelFileError(f'{engine} has no model sidecar {side.name}; {fix}') from None
    except (OSError, ValueError) as exc:
        raise ModelFileError(f'{side} is unreadable ({exc}); {fix}') from None
    if not isinstance(meta, dict):
        raise ModelFileError(f'{side} is not a JSON object; {fix}')
    info = parse_info({str(k): str(v) for k, v in meta.items()}, str(side))
    if info.input_hw is None:
        raise ModelFileError(f'{side}: an engine has a fixed input size, but input_hw is '
                             f'{DYNAMIC}; {fix}')
    return info


def read_model_info(path: PathLike) -> ModelInfo:
    """:func:`read_engine_info` for engine names (:data:`ENGINE_SUFFIXES`), else ONNX."""
    return read_engine_info(path) if is_engine(path) else read_onnx_info(path)
