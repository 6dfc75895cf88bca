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

"""Synthetic depth scenes with known geometry for the 3D-lifting tests.

People are flat COCO-17 skeletons standing on fronto-parallel planes (every joint on a surface
of known depth); their pixels come from projecting the 3D joints through the camera model with
OpenCV (``cv2.projectPoints`` / ``cv2.fisheye.projectPoints``), i.e. the forward direction that
the lifting code inverts.
"""

from typing import Dict, Tuple

from logocap_ros.core.camera_model import CameraModel
import numpy as np

#: A standing person, joints in metres relative to the mid-hip point (x right, y down).
SKELETON_M = np.array([
    [0.00, -0.62], [-0.03, -0.65], [0.03, -0.65], [-0.07, -0.63], [0.07, -0.63],   # head
    [-0.18, -0.45], [0.18, -0.45], [-0.25, -0.20], [0.25, -0.20],                 # sh, elb
    [-0.28, 0.02], [0.28, 0.02], [-0.10, 0.0], [0.10, 0.0],                       # wr, hip
    [-0.11, 0.42], [0.11, 0.42], [-0.12, 0.80], [0.12, 0.80],                     # kn, an
])

CAMERAS: Dict[str, Tuple[list, list]] = {
    # name: (K, D); 640 x 480
    'plumb_bob': ([600.0, 0, 322.5, 0, 605.0, 238.0, 0, 0, 1],
                  [-0.28, 0.09, 0.0012, -0.0015, -0.015]),
    'rational_polynomial': ([505.0, 0, 318.0, 0, 505.0, 242.0, 0, 0, 1],
                            [0.45, -2.4, 0.0008, -0.0004, 1.4, 0.33, -2.2, 1.3]),
    'equidistant': ([285.0, 0, 321.0, 0, 285.5, 239.5, 0, 0, 1],
                    [0.12, -0.04, 0.012, -0.003]),
}


def camera(model: str, width: int = 640, height: int = 480) -> CameraModel:
    """Return one of :data:`CAMERAS` as a :class:`CameraModel`."""
    k, d = CAMERAS[model]
    return CameraModel.from_camera_info(k, d, model, width, height)


def person_3d(centre_x: float, centre_y: float, z: float) -> np.ndarray:
    """Return ``(17, 3)`` joints [m] of a person on the plane ``Z = z`` around a hip centre."""
    xy = SKELETON_M + np.array([centre_x, centre_y])
    return np.column_stack([xy, np.full(17, z)])


def keypoints_for(cam: CameraModel, people_3d: np.ndarray, score: float = 0.9) -> np.ndarray:
    """Project ``(N, 17, 3)`` joints to ``(N, 17, 3)`` keypoints (u, v [px], score)."""
    pix = cam.project(people_3d.reshape(-1, 3)).reshape(-1, 17, 2)
    return np.concatenate([pix, np.full(pix.shape[:2] + (1,), score)], axis=2).astype(np.float32)


def plane(width: int, height: int, z: float) -> np.ndarray:
    """Return a fronto-parallel plane: ``(H, W)`` float32 metres, all ``z``."""
    return np.full((height, width), z, np.float32)


def paint(depth: np.ndarray, centre: Tuple[float, float], half: int, value: float) -> None:
    """Set a square of side ``2 * half + 1`` px around pixel ``centre`` (u, v) to ``value``."""
    u, v = (int(round(c)) for c in centre)
    depth[max(v - half, 0):v + half + 1, max(u - half, 0):u + half + 1] = value
