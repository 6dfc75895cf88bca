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

"""Depth frames for the camera stand-in: a synthetic scene or depth files (no ROS).

``synthetic`` is a scene registered to ``camera_publisher``'s ``synthetic:WxH`` colour frames:

* a wall at :data:`WALL_M` metres filling the image (people in a colour video appear on it);
* a box at :data:`BOX_M` metres exactly where the synthetic colour frame draws its moving white
  bar (joints behind it are OCCLUDED);
* a band of missing depth (0) along the left edge, :data:`HOLE_FRACTION` of the width, like
  the invalid band of stereo depth cameras (joints there get NO_DEPTH).

Files: a 16-bit PNG/TIFF holds millimetres (0 = no data), a ``.npy`` float array metres
(NaN/0 = no data); a folder plays its files in name order.
"""

import itertools
from pathlib import Path
from typing import Iterator, List, Tuple

import cv2
import numpy as np

WALL_M = 2.5
BOX_M = 1.5
HOLE_FRACTION = 0.05
DEPTH_SUFFIXES = ('.png', '.tif', '.tiff', '.npy')


def synthetic_depth(width: int, height: int, index: int) -> np.ndarray:
    """Return frame ``index`` of the synthetic scene: ``(height, width)`` float32 metres, 0 = none.

    The bar follows ``camera_publisher``'s synthetic colour frame ``index`` (same position).
    """
    depth = np.full((height, width), WALL_M, np.float32)
    x = (index * 7) % max(width - 20, 1)
    depth[height // 3:2 * height // 3, x:x + 20] = BOX_M
    depth[:, :int(round(width * HOLE_FRACTION))] = 0.0
    return depth


def iter_depth(source: str, width: int, height: int, loop: bool = True) -> Iterator[np.ndarray]:
    """Yield float32 depth frames in metres (0 = no data) from ``synthetic`` or files.

    :param source: ``synthetic``, a depth file, or a folder of depth files.
    :param width: image width of the synthetic scene [px].
    :param height: image height of the synthetic scene [px].
    :param loop: restart the files at the end.
    :raises ValueError: missing or unreadable files (says what was expected).
    """
    if source == 'synthetic':
        return (synthetic_depth(width, height, k) for k in itertools.count())
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in DEPTH_SUFFIXES)
        if not files:
            raise ValueError(f'no depth files ({", ".join(DEPTH_SUFFIXES)}) in folder {path}')
    elif path.is_file():
        files = [path]
    else:
        raise ValueError(f'depth source not found: {path} (expected synthetic, a 16-bit PNG/TIFF '
                         'in millimetres, a .npy in metres, or a folder of them)')
    return (read_depth(p) for p in (itertools.cycle(files) if loop else files))


def read_depth(path: Path) -> np.ndarray:
    """Read one depth file as float32 metres (0 = no data).

    :raises ValueError: unreadable file, or a PNG/TIFF that is not 16-bit single channel.
    """
    if path.suffix.lower() == '.npy':
        data = np.load(path)
        if data.ndim != 2 or not np.issubdtype(data.dtype, np.floating):
            raise ValueError(f'{path}: expected a 2D float array in metres, got '
                             f'{data.dtype} {data.shape}')
        return np.nan_to_num(data.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None or data.ndim != 2 or data.dtype != np.uint16:
        raise ValueError(f'{path}: expected a single-channel 16-bit image in millimetres'
                         + ('' if data is None else f', got {data.dtype} {data.shape}'))
    return data.astype(np.float32) * np.float32(0.001)


def encode_depth(depth_m: np.ndarray, encoding: str) -> Tuple[bytes, int]:
    """Encode metres as ``16UC1`` (millimetres) or ``32FC1`` (metres); return (data, step).

    Values of 0 stay 0 (no data); 16UC1 clips to 65.535 m.
    """
    if encoding == '16UC1':
        pixels = np.clip(np.rint(depth_m * 1000.0), 0, 65535).astype('<u2')
    elif encoding == '32FC1':
        pixels = depth_m.astype('<f4')
    else:
        raise ValueError(f"depth encoding must be 16UC1 or 32FC1, not '{encoding}'")
    return pixels.tobytes(), int(pixels.shape[1] * pixels.itemsize)


def default_intrinsics(width: int, height: int) -> List[float]:
    """Return a row-major pinhole ``K`` for a ``width`` x ``height`` image (about 64 deg wide)."""
    f = 0.8 * width
    return [f, 0.0, (width - 1) / 2.0, 0.0, f, (height - 1) / 2.0, 0.0, 0.0, 1.0]
