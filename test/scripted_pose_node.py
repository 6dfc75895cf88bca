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

"""The real ``logocap_node`` with a scripted estimator that replays a synthetic scene.

Random weights give meaningless people, so the tracking test of the node needs people with
known identities: this launcher runs :func:`logocap_ros.ros.node.main` unchanged except that
the estimator returns the detections of frame ``k`` of a scene of
``test/tracking_eval.py``, where ``k`` is written in the image itself
(``k = pixel[0, 0, 0] + 256 * pixel[0, 0, 1]``). :func:`scene_result` gives the test
process the same results, in the same (shuffled) order.

    python test/scripted_pose_node.py SCENE SEED [--scale=S] --ros-args -p weights:=scripted ...

``--scale=S`` multiplies the scene's pixel coordinates by ``S`` (e.g. 0.25: the 1280x720
scenes in 320x180 images, small enough to send with a depth image per frame).
"""

import sys

from logocap_ros.core.result import PoseResult
import numpy as np


def scene_result(scene, k: int, scale: float = 1.0) -> PoseResult:
    """Return the estimator output for frame ``k``: its detections, shuffled per frame.

    :param scale: factor of the pixel coordinates (and the image size).
    """
    frame = scene.frames[k]
    order = np.random.default_rng(k).permutation(len(frame.person_ids))
    width, height = scene.image_size
    keypoints = frame.keypoints[order].copy()
    keypoints[..., :2] *= scale
    return PoseResult(keypoints, frame.scores[order],
                      (int(round(height * scale)), int(round(width * scale))))


def scene_order(scene, k: int) -> np.ndarray:
    """Return the true person id of each person of :func:`scene_result` for frame ``k``."""
    frame = scene.frames[k]
    return frame.person_ids[np.random.default_rng(k).permutation(len(frame.person_ids))]


def frame_index(image: np.ndarray) -> int:
    """Return the frame number written into a test image."""
    return int(image[0, 0, 0]) + 256 * int(image[0, 0, 1])


def main() -> int:
    """Patch the estimator loader of the node module, then run the node's ``main``."""
    from logocap_ros.ros import node
    from logocap_ros.ros.startup import LoadedEstimator
    from tracking_eval import make_scene
    scene = make_scene(sys.argv[1], int(sys.argv[2]))
    rest = sys.argv[3:]
    scale = 1.0
    if rest and rest[0].startswith('--scale='):
        scale, rest = float(rest[0].partition('=')[2]), rest[1:]

    def estimator(image, color='bgr'):
        return scene_result(scene, frame_index(image), scale)

    node.load_estimator = lambda cfg: LoadedEstimator(
        estimator, f'scripted {scene.name}', False, 'cpu', 'scripted')
    return node.main(sys.argv[:1] + rest)


if __name__ == '__main__':
    sys.exit(main())
