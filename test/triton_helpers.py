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

"""Helpers for the Triton tests: a small export, a model repository, the real server.

Everything is small so that CPU time stays low: W32 with deterministic random weights, input
64x64, no flip. The single-image ONNX export goes to the test session's private cache folder
(``LOGOCAP_CACHE_DIR``, see conftest.py), so every module reuses one export.
"""

from pathlib import Path
import textwrap

import pytest

INPUT_HW = (64, 64)
MODEL = 'logocap'
#: A model with the wrong inputs/outputs, served next to LOGO-CAP (Python backend, identity).
WRONG_MODEL = 'not_logocap'


def single_image_onnx() -> Path:
    """Return the single-image export (W32, random weights, 64x64, no flip), made once.

    Exported as ``logocap-export-onnx --weights random`` does (with its weights metadata),
    into the session's private cache folder.
    """
    from logocap_ros.backends.cache import cache_root
    from logocap_ros.backends.export_onnx import export_onnx
    from logocap_ros.backends.factory import load_network
    path = cache_root() / 'onnx' / 'triton-test-w32-64x64-noflip-random.onnx'
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        net, meta = load_network('w32', 'random')
        export_onnx(net, path, INPUT_HW, flip_test=False, metadata=meta)
    return path


def write_repository(root: Path, single: Path, *extra_args: str) -> Path:
    """Write the model repository with ``logocap-triton-repo --onnx``; return ``root``."""
    from logocap_ros.tools.triton_repo import main
    assert main(['--onnx', str(single), '--out', str(root), '--cpu-threads', '2',
                 '--queue-delay-us', '20000', *extra_args]) == 0
    return root


def write_wrong_model(root: Path) -> None:
    """Add :data:`WRONG_MODEL`: input ``x`` [-1, 4] -> output ``y`` [-1, 4] (identity)."""
    folder = root / WRONG_MODEL
    (folder / '1').mkdir(parents=True, exist_ok=True)
    config = textwrap.dedent(f"""\
        name: "{WRONG_MODEL}"
        backend: "python"
        max_batch_size: 4
        input [ {{ name: "x" data_type: TYPE_FP32 dims: [ 4 ] }} ]
        output [ {{ name: "y" data_type: TYPE_FP32 dims: [ 4 ] }} ]
        instance_group [ {{ count: 1 kind: KIND_CPU }} ]
        """)
    (folder / 'config.pbtxt').write_text(config)
    (folder / 'configs').mkdir(exist_ok=True)
    (folder / 'configs' / 'cpu.pbtxt').write_text(config)
    (folder / '1' / 'model.py').write_text(textwrap.dedent("""\
        import triton_python_backend_utils as pb_utils


        class TritonPythonModel:
            def execute(self, requests):
                return [pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(
                    'y', pb_utils.get_input_tensor_by_name(r, 'x').as_numpy())])
                    for r in requests]
        """))


def triton_install_or_skip():
    """Return the Triton install of the server venv, or skip saying how to get it."""
    from logocap_ros.backends.triton_server import find_install, TritonServerError
    try:
        return find_install()
    except TritonServerError as exc:
        pytest.skip(f'no Triton server here: {exc}')


def tritonclient_or_skip() -> None:
    """Skip when the Triton HTTP client is not installed (requirements/dev.txt has it)."""
    pytest.importorskip('tritonclient.http',
                        reason="needs tritonclient: pip install 'tritonclient[http]'")
