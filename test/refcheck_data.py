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

"""Access to the official-code reference outputs in ``../shared/refcheck`` (team checkouts)."""

import os
from pathlib import Path

import numpy as np
import pytest

REFCHECK = Path(os.environ.get('LOGOCAP_REFCHECK_DIR', '')) if os.environ.get(
    'LOGOCAP_REFCHECK_DIR') else Path(__file__).resolve().parents[2] / 'shared' / 'refcheck'
IMAGES = ('rand480x640', 'rand375x500', 'smooth330x300')

requires_refcheck = pytest.mark.skipif(
    not (REFCHECK / 'refB_rand480x640.npz').is_file(),
    reason=f'official reference data not found at {REFCHECK} (only in the team checkout; '
           f'set LOGOCAP_REFCHECK_DIR to use another copy)')


def load(kind: str, name: str) -> dict:
    """Return the arrays of ``<kind>_<name>.npz`` (kind: prep, refA, refB)."""
    with np.load(REFCHECK / f'{kind}_{name}.npz') as data:
        return dict(data)


def image(name: str) -> np.ndarray:
    """Return the RGB uint8 test image ``name``."""
    return np.load(REFCHECK / f'input_{name}.npy')


def rel_err(actual, expected) -> float:
    """``max |a - e| / max |e|`` in float64."""
    a = np.asarray(actual, np.float64)
    e = np.asarray(expected, np.float64)
    return float(np.abs(a - e).max() / max(np.abs(e).max(), 1e-30))


def unambiguous(top3: np.ndarray, gap: float = 1e-5) -> np.ndarray:
    """``(N, 17)`` bool: the adapted map's top-3 values are separated by more than ``gap``."""
    return np.minimum(top3[..., 0] - top3[..., 1], top3[..., 1] - top3[..., 2]) > gap
