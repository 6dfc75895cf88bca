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

"""Parity: ``logocap-infer --model`` without torch gives the people of ``--weights`` with torch.

On the held-out images of ``../shared/refcheck`` (deterministic weights variant B, as
``--weights random``/``random:w48``), W32 and W48, flip and no-flip: the same people in the
same order, joints within 0.05 px, scores within 1e-4. Each export is made once per process.
"""

import json

import no_torch_env
import numpy as np
import pytest
import refcheck_data as rc

pytestmark = [pytest.mark.slow, rc.requires_refcheck]


def _infer(tmp_path, tag: str, source: list, torch: bool, flip: bool) -> list:
    out = tmp_path / f'{tag}.json'
    images = [str(rc.REFCHECK / f'input_{name}.png') for name in rc.IMAGES]
    done = no_torch_env.tool('logocap-infer', *source, *([] if flip else ['--no-flip']),
                             '--out', str(out), *images, torch=torch)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize('flip', [True, False], ids=['flip', 'noflip'])
@pytest.mark.parametrize('arch', ['w32', 'w48'])
def test_model_file_without_torch_matches_weights_with_torch(tmp_path, arch, flip):
    weights = 'random' if arch == 'w32' else 'random:w48'
    model = no_torch_env.exported_model(weights, flip=flip)
    ref = _infer(tmp_path, 'weights', ['--weights', weights], True, flip)
    got = _infer(tmp_path, 'model', ['--model', str(model)], False, flip)
    assert ref, 'the reference found nobody: the comparison would prove nothing'
    assert [r['image_id'] for r in got] == [r['image_id'] for r in ref]
    kp_ref = np.array([r['keypoints'] for r in ref]).reshape(len(ref), 17, 3)
    kp_got = np.array([r['keypoints'] for r in got]).reshape(len(got), 17, 3)
    moved = np.abs(kp_got[..., :2] - kp_ref[..., :2]).max()
    assert moved <= 0.05, f'joints moved by up to {moved:.4f} px'
    assert np.abs(kp_got[..., 2] - kp_ref[..., 2]).max() <= 1e-4
    assert np.abs(np.array([r['score'] for r in got]) -
                  np.array([r['score'] for r in ref])).max() <= 1e-4
