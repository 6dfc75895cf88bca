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

"""Write a Triton Inference Server model repository for the LOGO-CAP graph.

Layout (one model, two configurations with the same inputs and outputs)::

    <repository>/<model>/config.pbtxt        GPU: platform onnxruntime_onnx on KIND_GPU,
                                             optional TensorRT accelerator, dynamic batching
    <repository>/<model>/configs/cpu.pbtxt   CPU: Python backend (model.py) running ONNX
                                             Runtime, dynamic batching
    <repository>/<model>/<version>/model.onnx   batched graph (triton_onnx.add_batch_dim)
    <repository>/<model>/<version>/model.py     the Python-backend model

A server takes ``config.pbtxt`` by default and ``configs/cpu.pbtxt`` with
``--model-config-name=cpu``. The configs carry the export's ``logocap_ros.*`` metadata as
model parameters (the client checks ``flip_test`` and the input size against them).
"""

from dataclasses import dataclass
import os
from pathlib import Path
import shutil
from typing import Dict, Iterable, List, Mapping, Optional, Union

from .triton_onnx import Dim, graph_io, GraphIO, TensorSpec

PathLike = Union[str, os.PathLike]
CPU_CONFIG_NAME = 'cpu'
TENSORRT_MODES = ('off', 'fp16', 'fp32')
#: ONNX element type -> Triton data type.
_DTYPES = {'FLOAT': 'TYPE_FP32', 'FLOAT16': 'TYPE_FP16', 'INT64': 'TYPE_INT64',
           'INT32': 'TYPE_INT32', 'BOOL': 'TYPE_BOOL'}
_MODEL_PY = Path(__file__).with_name('triton_python_model.py')


@dataclass(frozen=True)
class RepositorySpec:
    """How the model is served.

    :param model_name: the model's name on the server (clients ask for it).
    :param version: the model version folder (a positive integer).
    :param max_batch_size: most images in one execution (>= 1; 1 = no batching).
    :param queue_delay_us: how long the dynamic batcher waits for more requests [us].
    :param gpu_instances: model instances per GPU (GPU config).
    :param cpu_instances: model instances on the CPU (CPU config).
    :param tensorrt: ``'off'``, or ONNX Runtime's TensorRT accelerator in ``'fp16'`` or
        ``'fp32'`` (GPU config).
    :param tensorrt_workspace_gb: TensorRT builder workspace limit [GiB].
    :param cpu_threads: ONNX Runtime intra-op threads in the CPU config (0 = one per core).
    """

    model_name: str = 'logocap'
    version: int = 1
    max_batch_size: int = 8
    queue_delay_us: int = 2000
    gpu_instances: int = 1
    cpu_instances: int = 1
    tensorrt: str = 'off'
    tensorrt_workspace_gb: float = 2.0
    cpu_threads: int = 0

    def validate(self) -> 'RepositorySpec':
        """Raise ValueError naming the bad field; return self when valid."""
        if not self.model_name or not all(c.isalnum() or c in '_-.' for c in self.model_name):
            raise ValueError(f'model name must be letters, digits, _ - . only, not '
                             f'{self.model_name!r}')
        for name in ('version', 'max_batch_size', 'gpu_instances', 'cpu_instances'):
            if int(getattr(self, name)) < 1:
                raise ValueError(f'{name} must be >= 1, not {getattr(self, name)!r}')
        if self.queue_delay_us < 0 or self.cpu_threads < 0:
            raise ValueError('queue_delay_us and cpu_threads must be >= 0')
        if self.tensorrt not in TENSORRT_MODES:
            raise ValueError(f'tensorrt must be one of {TENSORRT_MODES}, not {self.tensorrt!r}')
        return self


@dataclass(frozen=True)
class Repository:
    """Paths of a written repository."""

    root: Path
    model_dir: Path
    onnx: Path
    gpu_config: Path
    cpu_config: Path


def model_config(io: GraphIO, spec: RepositorySpec, kind: str,
                 parameters: Optional[Mapping[str, str]] = None) -> str:
    """Return the ``config.pbtxt`` text for ``kind`` ``'gpu'`` or ``'cpu'``.

    :param io: inputs/outputs of the batched graph (leading batch dimension, left out of
        ``dims`` as Triton wants with ``max_batch_size`` > 0).
    :param parameters: extra model parameters (string values).
    """
    if kind not in ('gpu', 'cpu'):
        raise ValueError(f"kind must be 'gpu' or 'cpu', not {kind!r}")
    params = dict(parameters or {})
    lines = [f'name: "{spec.model_name}"']
    if kind == 'gpu':
        lines.append('platform: "onnxruntime_onnx"')
    else:
        lines.append('backend: "python"')
        params['intra_op_threads'] = str(spec.cpu_threads)
    lines.append(f'max_batch_size: {spec.max_batch_size}')
    lines += _tensor_block('input', io.inputs) + _tensor_block('output', io.outputs)
    count = spec.gpu_instances if kind == 'gpu' else spec.cpu_instances
    lines.append(f'instance_group [ {{ count: {count} kind: KIND_{kind.upper()} }} ]')
    lines.append('dynamic_batching { max_queue_delay_microseconds: '
                 f'{spec.queue_delay_us} }}')
    if kind == 'gpu' and spec.tensorrt != 'off':
        lines += _tensorrt_block(spec)
    lines += [f'parameters {{ key: "{k}" value: {{ string_value: "{_escape(v)}" }} }}'
              for k, v in sorted(params.items())]
    return '\n'.join(lines) + '\n'


def write_repository(batched_onnx: PathLike, root: PathLike, spec: RepositorySpec,
                     parameters: Optional[Mapping[str, str]] = None,
                     move: bool = False) -> Repository:
    """Lay out the repository under ``root`` from a batched ONNX file.

    :param batched_onnx: output of :func:`logocap_ros.backends.triton_onnx.add_batch_dim`.
    :param parameters: model parameters for both configs (e.g. the export's metadata).
    :param move: move ``batched_onnx`` into the repository instead of copying it.
    :raises ValueError: an invalid spec, or a graph without a batch dimension.
    """
    spec.validate()
    io = graph_io(batched_onnx)
    if not io.inputs or not isinstance(io.inputs[0].shape[0], str):
        raise ValueError(f'{batched_onnx} has no batch dimension; wrap it with '
                         'triton_onnx.add_batch_dim first')
    model_dir = Path(root) / spec.model_name
    version_dir = model_dir / str(spec.version)
    (model_dir / 'configs').mkdir(parents=True, exist_ok=True)
    version_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = version_dir / 'model.onnx'
    if Path(batched_onnx).resolve() != onnx_path.resolve():
        (shutil.move if move else shutil.copyfile)(str(batched_onnx), str(onnx_path))
    shutil.copyfile(_MODEL_PY, version_dir / 'model.py')
    gpu = model_dir / 'config.pbtxt'
    cpu = model_dir / 'configs' / f'{CPU_CONFIG_NAME}.pbtxt'
    gpu.write_text(model_config(io, spec, 'gpu', parameters), encoding='utf-8')
    cpu.write_text(model_config(io, spec, 'cpu', parameters), encoding='utf-8')
    return Repository(Path(root), model_dir, onnx_path, gpu, cpu)


def server_commands(root: PathLike, http_port: int = 8000) -> Dict[str, str]:
    """Return command lines that serve the repository at ``root``, by situation."""
    repo = Path(root).resolve()
    return {
        'gpu': f'tritonserver --model-repository={repo} --http-port={http_port}',
        'gpu_docker': (f'docker run --rm --gpus all -p {http_port}:{http_port} '
                       f'-v {repo}:/models nvcr.io/nvidia/tritonserver:<YY.MM>-py3 '
                       f'tritonserver --model-repository=/models --http-port={http_port}'),
        'cpu': (f'tritonserver --model-repository={repo} --model-config-name='
                f'{CPU_CONFIG_NAME} --http-port={http_port}'),
        'cpu_local': (f'python -m logocap_ros.backends.triton_server --repository {repo} '
                      f'--config {CPU_CONFIG_NAME} --http-port {http_port}'),
    }


def _tensor_block(kind: str, specs: Iterable[TensorSpec]) -> List[str]:
    rows = [f'  {{ name: "{s.name}" data_type: {_triton_dtype(s)} '
            f'dims: [ {", ".join(_dim(d) for d in s.shape[1:])} ] }}' for s in specs]
    return [f'{kind} ['] + [row + (',' if i < len(rows) - 1 else '')
                            for i, row in enumerate(rows)] + [']']


def _tensorrt_block(spec: RepositorySpec) -> List[str]:
    workspace = int(spec.tensorrt_workspace_gb * (1 << 30))
    return ['optimization { execution_accelerators { gpu_execution_accelerator : [ {',
            '  name : "tensorrt"',
            f'  parameters {{ key: "precision_mode" value: "{spec.tensorrt.upper()}" }}',
            f'  parameters {{ key: "max_workspace_size_bytes" value: "{workspace}" }}',
            '} ] } }']


def _triton_dtype(spec: TensorSpec) -> str:
    try:
        return _DTYPES[spec.dtype]
    except KeyError:
        raise ValueError(f'tensor {spec.name!r} has type {spec.dtype}, which this writer '
                         'does not map to a Triton type') from None


def _dim(dim: Dim) -> str:
    return str(dim) if isinstance(dim, int) and dim > 0 else '-1'


def _escape(value: str) -> str:
    return str(value).replace('\\', '\\\\').replace('"', '\\"')
