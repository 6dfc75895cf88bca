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

"""A started :class:`PoseEstimator` from an exported model file (ONNX or TensorRT engine).

No torch: the whole LOGO-CAP graph is in the file and the settings come from its metadata
(:mod:`logocap_ros.backends.model_file`); only the run-time choices (device, backend, people
limit, warm-up size, and the short side for a file that takes any size) are given here.
"""

import importlib.util
import os
from typing import Optional, Tuple, Union

from .model_file import is_engine, ModelFileError, ModelInfo, read_model_info
from ..core.estimator import EstimatorConfig, PoseEstimator

PathLike = Union[str, os.PathLike]


def cuda_usable() -> bool:
    """Return True when ONNX Runtime has its CUDA provider or TensorRT is installed (no torch)."""
    try:
        if importlib.util.find_spec('tensorrt') is not None:
            return True
        if importlib.util.find_spec('onnxruntime') is None:
            return False
    except (ImportError, ValueError):
        return False
    import onnxruntime
    return 'CUDAExecutionProvider' in onnxruntime.get_available_providers()


def model_backend(path: PathLike, backend: str) -> str:
    """Return the backend that runs ``path``: ``tensorrt`` for engines, else ``onnxruntime``.

    :raises ModelFileError: ``backend`` cannot run a model file (``torch``), or an engine
        with another backend.
    """
    wanted = 'tensorrt' if is_engine(path) else 'onnxruntime'
    if backend in ('auto', wanted) or (backend == 'tensorrt' and wanted == 'onnxruntime'):
        return wanted if backend == 'auto' else backend
    raise ModelFileError(f'backend {backend!r} cannot run the model file {path}; use '
                         f'backend auto or {wanted}, or weights instead of a model file for '
                         'backend torch')


def model_config(info: ModelInfo, input_size: Optional[int] = None, **settings
                 ) -> EstimatorConfig:
    """Return the :class:`EstimatorConfig` of a model file: arch, flip test, input size from it.

    :param input_size: short side for a dynamic file (None: the file's); a fixed file takes
        only its own (another one raises :class:`ModelFileError`).
    :param settings: other :class:`EstimatorConfig` fields (device, backend, max_people, ...).
    """
    if input_size and info.input_hw is not None and input_size != info.input_size:
        raise ModelFileError(f'the model file takes input {info.input_hw[0]}x'
                             f'{info.input_hw[1]} (short side {info.input_size}), not input '
                             f'size {input_size}; leave the input size unset or export '
                             'another size (logocap-export-onnx --input-size/--dynamic)')
    return EstimatorConfig(arch=info.arch, input_size=input_size or info.input_size,
                           flip_test=info.flip_test, **settings).validate()


def create_estimator_from_model(path: PathLike, input_size: Optional[int] = None,
                                device: str = 'cpu', backend: str = 'auto', **settings
                                ) -> Tuple[PoseEstimator, ModelInfo]:
    """Open ``path`` (``.onnx``, or an engine with its sidecar), start its backend.

    :param settings: other :class:`EstimatorConfig` fields (``max_people``,
        ``pose_threshold``, ``expected_image_hw``, ``precision``).
    :return: the started estimator and the file's facts.
    :raises ModelFileError: missing file, bad metadata, settings the file cannot meet.
    :raises logocap_ros.backends.base.BackendUnavailable: the backend cannot start here.
    """
    from .factory import prepared_input_hw
    from .registry import open_backend
    info = read_model_info(path)
    name = model_backend(path, backend)
    config = model_config(info, input_size, device=device, backend=name, **settings)
    files = {'engine_path': str(path)} if is_engine(path) else {'onnx_path': str(path)}
    handle = open_backend(name, None, device=device, precision=config.precision,
                          flip_test=info.flip_test, prepare_hw=prepared_input_hw(config),
                          **files)
    return PoseEstimator(handle, config), info
