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

"""Accuracy of bfloat16 against FP32 on the held-out images and weights of ``shared/refcheck``.

For each reference image (RGB ``input_<name>.npy``) and the reference weights (fill rule 'B'),
runs the whole estimator twice, FP32 and bf16, and compares the people found: people paired
by their joints (nearest mean joint distance, under 8 px), share of paired joints within 1 px
and 2 px, people found in FP32 but not bf16 (lost) and the other way (added), pose-score and
joint-score differences.

``--runtime openvino`` uses OpenVINO's bf16 (a CPU with avx512_bf16/amx_bf16 only).
``--runtime emulated`` (any CPU) emulates what that does with PyTorch: every convolution of
the network and of the KAM network takes bf16-rounded inputs and weights and gives
bf16-rounded outputs, products summed in FP32 (as the avx512_bf16/AMX dot products do); the
decoding and the refinement stay FP32, as in the backend. Usage::

    python benchmarks/bf16_accuracy.py --runtime emulated [--flip off] [--refcheck DIR]
"""

import argparse
import copy
from pathlib import Path
import sys
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logocap_ros.backends.factory import estimator_for_network, load_network  # noqa: E402
from logocap_ros.core.estimator import EstimatorConfig  # noqa: E402
import numpy as np  # noqa: E402

IMAGES = ('rand480x640', 'rand375x500', 'smooth330x300')
REFCHECK = Path(__file__).resolve().parents[2] / 'shared' / 'refcheck'
PAIR_PX = 8.0


def bf16_emulated(net):
    """Return a copy of ``net`` whose convolutions round inputs, weights, outputs to bf16."""
    import torch
    low = copy.deepcopy(net)

    def to_bf16(x):
        return x.to(torch.bfloat16).to(torch.float32)

    for module in low.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.weight.data = to_bf16(module.weight.data)
            module.register_forward_pre_hook(lambda _m, args: (to_bf16(args[0]),))
            module.register_forward_hook(lambda _m, _a, out: to_bf16(out))
    return low


def pair_people(ref: np.ndarray, got: np.ndarray) -> List[tuple]:
    """Greedy pairs ``(i, j)`` of people ``(N, 17, 3)`` by mean joint distance (< 8 px)."""
    if not len(ref) or not len(got):
        return []
    dist = np.linalg.norm(ref[:, None, :, :2] - got[None, :, :, :2], axis=-1).mean(-1)
    pairs, used_i, used_j = [], set(), set()
    for flat in np.argsort(dist, axis=None):
        i, j = np.unravel_index(flat, dist.shape)
        if dist[i, j] >= PAIR_PX:
            break
        if i not in used_i and j not in used_j:
            pairs.append((int(i), int(j)))
            used_i.add(i)
            used_j.add(j)
    return pairs


def compare(ref, got) -> Dict[str, float]:
    """Statistics of one image: joints, people found/lost/added, score differences."""
    pairs = pair_people(ref.keypoints, got.keypoints)
    d = np.concatenate([np.linalg.norm(ref.keypoints[i, :, :2] - got.keypoints[j, :, :2],
                                       axis=-1) for i, j in pairs]) if pairs else np.zeros(0)
    joint_scores = [np.abs(ref.keypoints[i, :, 2] - got.keypoints[j, :, 2]).max()
                    for i, j in pairs]
    return {'people': len(ref.keypoints), 'paired': len(pairs),
            'lost': len(ref.keypoints) - len(pairs), 'added': len(got.keypoints) - len(pairs),
            'joints': int(d.size), 'within1': int((d <= 1.0).sum()),
            'within2': int((d <= 2.0).sum()), 'max_px': float(d.max()) if d.size else 0.0,
            'score_diff': max((abs(float(ref.scores[i] - got.scores[j])) for i, j in pairs),
                              default=0.0),
            'joint_score_diff': float(max(joint_scores, default=0.0))}


def estimators(runtime: str, flip: bool):
    """Return the FP32 and bf16 estimators of ``runtime`` on the reference weights 'B'."""
    net, _ = load_network('w32', 'random:B')
    config = {'arch': 'w32', 'flip_test': flip, 'expected_image_hw': None}
    if runtime == 'openvino':
        return (estimator_for_network(net, EstimatorConfig(backend='openvino', **config)),
                estimator_for_network(net, EstimatorConfig(backend='openvino',
                                                           precision='bf16', **config)))
    return (estimator_for_network(net, EstimatorConfig(backend='torch', **config)),
            estimator_for_network(bf16_emulated(net), EstimatorConfig(backend='torch',
                                                                      **config)))


def main(argv: Optional[List[str]] = None) -> int:
    """Print one row per image and the totals (markdown)."""
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--runtime', choices=['emulated', 'openvino'], default='emulated')
    p.add_argument('--flip', choices=['on', 'off'], default='off')
    p.add_argument('--refcheck', type=Path, default=REFCHECK)
    args = p.parse_args(argv)
    fp32, bf16 = estimators(args.runtime, args.flip == 'on')
    print(f'runtime {args.runtime}, flip {args.flip}, weights: refcheck fill rule B')
    print('| image | people fp32 | paired | lost | added | joints <= 1 px | joints <= 2 px '
          '| max px | max pose-score diff | max joint-score diff |')
    print('|' + '---|' * 10)
    total: Dict[str, float] = {}
    for name in IMAGES:
        image = np.load(args.refcheck / f'input_{name}.npy')
        s = compare(fp32(image, color='rgb'), bf16(image, color='rgb'))
        for k, v in s.items():
            total[k] = max(total.get(k, 0), v) if 'diff' in k or k == 'max_px' \
                else total.get(k, 0) + v
        print(_row(name, s))
    print(_row('all', total))
    return 0


def _row(name: str, s: Dict[str, float]) -> str:
    j = max(s['joints'], 1)
    return (f"| {name} | {s['people']} | {s['paired']} | {s['lost']} | {s['added']} | "
            f"{100 * s['within1'] / j:.1f} % | {100 * s['within2'] / j:.1f} % | "
            f"{s['max_px']:.2f} | {s['score_diff']:.2e} | {s['joint_score_diff']:.2e} |")


if __name__ == '__main__':
    sys.exit(main())
