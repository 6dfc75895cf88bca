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

"""Run a child process in which ``import torch`` fails, and export model files for it.

:func:`env` puts ``test/no_torch`` (its ``sitecustomize`` blocks torch) first on
``PYTHONPATH``; :func:`exported_model` exports a model file once per test process (tens of
seconds on a CPU) and hands the same path to every test that asks for it.
"""

import atexit
import functools
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, Optional

ROOT = Path(__file__).resolve().parents[1]
BLOCKER = Path(__file__).resolve().parent / 'no_torch'
_EXPORTS = Path(tempfile.mkdtemp(prefix='logocap_models_'))
atexit.register(shutil.rmtree, _EXPORTS, True)


def env(base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Copy of ``base`` (default ``os.environ``) in which ``import torch`` fails."""
    out = dict(os.environ if base is None else base)
    paths = [p for p in out.get('PYTHONPATH', '').split(os.pathsep) if p]
    out['PYTHONPATH'] = os.pathsep.join([str(BLOCKER), str(ROOT)] + paths)
    return out


def tool(name: str, *args: str, torch: bool = True, timeout: float = 900,
         base_env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run console script ``name`` (``logocap-infer``...) as ``python -m``; torch optional."""
    module = {'logocap-infer': 'logocap_ros.tools.infer',
              'logocap-offline': 'logocap_ros.tools.offline',
              'logocap-export-onnx': 'logocap_ros.tools.export_onnx_cli',
              'logocap-build-engine': 'logocap_ros.tools.build_engine_cli'}[name]
    run_env = dict(os.environ if base_env is None else base_env)
    if not torch:
        run_env = env(run_env)
    else:
        paths = [p for p in run_env.get('PYTHONPATH', '').split(os.pathsep) if p]
        run_env['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + paths)
    return subprocess.run([sys.executable, '-m', module, *args], env=run_env, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=timeout)


@functools.lru_cache(maxsize=None)
def exported_model(weights: str = 'random', flip: bool = True, dynamic: bool = True,
                   image_size: str = '') -> Path:
    """Export ``weights`` with ``logocap-export-onnx`` once per process; return the file."""
    name = f"{weights.replace(':', '-')}-{'flip' if flip else 'noflip'}-" \
           f"{'dyn' if dynamic else image_size or 'sq'}.onnx"
    out = _EXPORTS / name
    args = ['--weights', weights, '--out', str(out), '--no-check']
    args += ['--dynamic'] if dynamic else (['--image-size', image_size] if image_size else [])
    args += [] if flip else ['--no-flip']
    done = tool('logocap-export-onnx', *args)
    assert done.returncode == 0, done.stderr[-3000:]
    return out
