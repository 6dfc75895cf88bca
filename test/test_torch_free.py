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

"""The runtime without PyTorch: a model file runs the node and the tools; torch steps say why.

Every check runs in a child process in which ``import torch`` fails (``test/no_torch``).
"""

import json
import subprocess
import sys

from model_helpers import identity_onnx
import no_torch_env
import numpy as np
import pytest

#: What the runtime of a model file imports (the node, the tools, the Python API).
RUNTIME_MODULES = (
    'logocap_ros.core.estimator', 'logocap_ros.core.postprocessing',
    'logocap_ros.backends.factory', 'logocap_ros.backends.model_estimator',
    'logocap_ros.backends.onnxruntime_backend', 'logocap_ros.backends.registry',
    'logocap_ros.backends.tensorrt_backend', 'logocap_ros.backends.tensorrt_cuda_python',
    'logocap_ros.backends.build_engine', 'logocap_ros.backends.engine_cache',
    'logocap_ros.tools.build_engine_cli',
    'logocap_ros.tools.infer', 'logocap_ros.tools.offline', 'logocap_ros.tools.cli_common',
    'logocap_ros.ros.estimator_loader', 'logocap_ros.ros.model_loader', 'logocap_ros.ros.node',
)


def _python(code: str, torch: bool = False) -> subprocess.CompletedProcess:
    env = no_torch_env.env() if not torch else None
    return subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                          text=True, timeout=300, cwd=str(no_torch_env.ROOT))


def test_the_blocker_makes_torch_unimportable():
    done = _python('import importlib.util, sys\n'
                   "assert importlib.util.find_spec('torch') is None\n"
                   'try:\n    import torch\nexcept ImportError:\n    sys.exit(3)\n')
    assert done.returncode == 3, done.stderr


def test_runtime_modules_import_without_torch():
    code = ('import importlib, sys\n'
            f'for name in {RUNTIME_MODULES!r}:\n    importlib.import_module(name)\n'
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx')"
            ' and sys.modules[m] is not None))\n')
    done = _python(code)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == '[]', done.stdout


def test_weights_without_torch_fail_with_one_line_naming_the_fix(tmp_path):
    image = tmp_path / 'blank.png'
    import cv2
    cv2.imwrite(str(image), np.zeros((64, 64, 3), np.uint8))
    done = no_torch_env.tool('logocap-infer', '--weights', 'random', '--out',
                             str(tmp_path / 'r.json'), str(image), torch=False)
    lines = [t for t in done.stderr.splitlines() if t.strip() and 'UNTRAINED' not in t]
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and 'needs PyTorch' in lines[0], lines
    assert "pip install 'logocap_ros[torch]'" in lines[0] and '--model' in lines[0], lines


def test_api_load_network_without_torch_names_the_fix():
    done = _python('from logocap_ros.backends.factory import create_estimator\n'
                   'from logocap_ros.backends.optional_torch import TorchMissing\n'
                   'try:\n    create_estimator("random")\n'
                   'except TorchMissing as exc:\n    print(exc)\n')
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'loading weights needs PyTorch' in done.stdout, done.stdout


@pytest.mark.slow
def test_infer_from_a_model_file_without_torch(tmp_path):
    model = no_torch_env.exported_model('random', flip=False)
    image = tmp_path / 'img.png'
    import cv2
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (96, 128, 3), np.uint8))
    out = tmp_path / 'r.json'
    done = no_torch_env.tool('logocap-infer', '--model', str(model), '--input-size', '64',
                             '--out', str(out), str(image), torch=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'flip test off' in done.stderr and 'w32' in done.stderr, done.stderr
    records = json.loads(out.read_text())
    assert records and all(len(r['keypoints']) == 51 for r in records), records[:1]


@pytest.mark.slow
def test_offline_from_a_model_file_without_torch(tmp_path):
    model = no_torch_env.exported_model('random', flip=False)
    frames = tmp_path / 'frames'
    frames.mkdir()
    import cv2
    for i in range(2):
        cv2.imwrite(str(frames / f'{i:03d}.png'),
                    np.random.default_rng(i).integers(0, 256, (96, 128, 3), np.uint8))
    out = tmp_path / 'out'
    done = no_torch_env.tool('logocap-offline', str(frames), '--model', str(model),
                             '--input-size', '64', '--out', str(out), '--quiet', torch=False)
    assert done.returncode == 0, done.stderr[-3000:]
    written = sorted(p.name for p in out.iterdir())
    assert written, 'logocap-offline wrote nothing'


def test_triton_writer_refuses_a_model_file_without_metadata(tmp_path, capsys):
    pytest.importorskip('onnx', reason='needs onnx (pip install onnx)')
    bare = identity_onnx(tmp_path / 'bare.onnx', (64, 64))
    from logocap_ros.tools import triton_repo
    assert triton_repo.main(['--model', str(bare), '--out', str(tmp_path / 'repo')]) == 1
    assert 'lacks logocap_ros.arch' in capsys.readouterr().err
