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

"""One-Euro filters for joint positions, one filter state per track id.

The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) is a first-order low-pass filter
whose cutoff frequency rises with the speed of the signal: still joints are smoothed strongly
(``min_cutoff``), fast ones follow with little lag (``beta``). Per joint and frame::

    alpha(fc) = 1 / (1 + 1 / (2 pi fc dt))
    dx        = lowpass((x - x_prev_filtered) / dt, alpha(d_cutoff))   # joint velocity
    fc        = min_cutoff + beta * |dx|                               # |.| = Euclidean norm
    x_hat     = lowpass(x, alpha(fc))

The speed ``|dx|`` is the norm over the ``D`` coordinates of a joint, so x and y (and z) of a
joint share one cutoff. Units follow the data: ``beta`` is in 1/px for pixels and 1/m for
metres, so 2D and 3D need their own banks and parameters.

:class:`OneEuroBank` keeps the state of every joint of every track, vectorised over joints::

    bank = OneEuroBank(OneEuroConfig(min_cutoff=1.0, beta=0.02))
    smoothed = bank.smooth(track_id, keypoints_xy, stamp_s)     # (17, 2) -> (17, 2)
    bank.prune(tracker.live_ids)                                # drop removed tracks

An invalid joint (a NaN coordinate, or ``valid`` False) is returned unchanged and its filter
restarts at its next valid sample, so a joint that reappears is not dragged from a stale
position.
"""

from dataclasses import dataclass
import math
from typing import Dict, Iterable, Optional, Sequence

import numpy as np


@dataclass(frozen=True)
class OneEuroConfig:
    """One-Euro filter parameters.

    :param min_cutoff: cutoff frequency [Hz] for a still joint (lower = smoother, more lag).
    :param beta: cutoff increase per unit of speed [1 / (data unit)]: ``fc = min_cutoff +
        beta * speed`` with the speed in data units per second (higher = less lag when moving).
    :param d_cutoff: cutoff frequency [Hz] of the speed estimate.
    """

    min_cutoff: float = 1.0
    beta: float = 0.02
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        """Check the ranges.

        :raises ValueError: when a cutoff is not positive or beta is negative.
        """
        if not (self.min_cutoff > 0 and self.d_cutoff > 0 and self.beta >= 0):
            raise ValueError(f'OneEuroConfig: need min_cutoff > 0, d_cutoff > 0, beta >= 0; '
                             f'got min_cutoff={self.min_cutoff}, beta={self.beta}, '
                             f'd_cutoff={self.d_cutoff}')


def smoothing_factor(cutoff_hz, dt):
    """Return the exponential smoothing factor ``alpha`` of a cutoff [Hz] for a step [s].

    Both arguments may be floats or broadcastable arrays.
    """
    rate = 2.0 * math.pi * np.asarray(cutoff_hz, np.float64) * dt
    return rate / (rate + 1.0)


class OneEuroBank:
    """One-Euro filters of the joints of many tracks (see the module docstring).

    The states of all tracks live in arrays (one row per track), so filtering the people of
    a frame is a handful of numpy operations whatever their number.

    :param config: filter parameters, shared by every track.
    """

    def __init__(self, config: OneEuroConfig = OneEuroConfig()) -> None:
        self.config = config
        self.reset()

    def __len__(self) -> int:
        """Return the number of tracks with a filter state."""
        return len(self._rows)

    def reset(self) -> None:
        """Drop every state."""
        self._rows: Dict[int, int] = {}
        self._x = np.zeros((0, 0, 0))             # (K, J, D) last filtered positions
        self._dx = np.zeros((0, 0, 0))            # (K, J, D) last filtered velocities [unit/s]
        self._started = np.zeros((0, 0), bool)    # (K, J) joint has a previous sample
        self._stamp = np.zeros(0)                 # (K,) last sample time [s]

    def smooth(self, key: int, values: np.ndarray, stamp_s: float,
               valid: Optional[np.ndarray] = None) -> np.ndarray:
        """Filter one sample of one track.

        :param key: track id (one state per key).
        :param values: ``(J, D)`` joint coordinates (``(17, 2)`` pixels or ``(17, 3)``
            metres); NaN marks an unknown joint.
        :param stamp_s: sample time [s]; a stamp not after the previous one of this key
            restarts the key's filters (output = input).
        :param valid: optional ``(J,)`` bool; False joints are passed through and restarted,
            like NaN ones.
        :return: ``(J, D)`` float64 smoothed coordinates (input values where invalid).
        :raises ValueError: on bad shapes, or ``(J, D)`` differing from earlier samples.
        """
        values = np.asarray(values, np.float64)
        if values.ndim != 2:
            raise ValueError(f'values must be (joints, dims), got shape {values.shape}')
        return self.smooth_many([key], values[None], stamp_s,
                                None if valid is None else np.asarray(valid)[None])[0]

    def smooth_many(self, keys: Sequence[int], values: np.ndarray, stamp_s: float,
                    valid: Optional[np.ndarray] = None, skip_key: int = -1) -> np.ndarray:
        """Filter one sample of several tracks taken at the same time.

        :param keys: ``(N,)`` track ids, each at most once; rows whose key is ``skip_key``
            (default -1, a tentative track) are returned unchanged.
        :param values: ``(N, J, D)`` coordinates; NaN marks an unknown joint.
        :param stamp_s: sample time [s] (see :meth:`smooth`).
        :param valid: optional ``(N, J)`` bool; False joints are passed through, restarted.
        :return: ``(N, J, D)`` float64 smoothed coordinates.
        :raises ValueError: on bad shapes, or ``(J, D)`` differing from earlier samples.
        """
        values = np.asarray(values, np.float64)
        keys = [int(k) for k in keys]
        if values.ndim != 3 or len(keys) != len(values):
            raise ValueError(f'values must be (N, joints, dims) with N = {len(keys)} keys, '
                             f'got shape {values.shape}')
        ok = np.isfinite(values).all(axis=-1)
        if valid is not None:
            valid = np.asarray(valid, bool)
            if valid.shape != ok.shape:
                raise ValueError(f'valid must have shape {ok.shape}, got {valid.shape}')
            ok &= valid
        out = values.copy()  # invalid joints and skipped rows: unchanged input
        take = np.array([k != skip_key for k in keys], bool)
        if take.any():
            rows = self._rows_for([k for k in keys if k != skip_key], values.shape[1:])
            smoothed = self._step(rows, values[take], ok[take], float(stamp_s))
            out[take] = np.where(ok[take][..., None], smoothed, values[take])
        return out

    def prune(self, live_ids: Iterable[int]) -> None:
        """Drop the state of every track not in ``live_ids`` (e.g. ``tracker.live_ids``)."""
        live = {int(i) for i in live_ids}
        keep = [(key, row) for key, row in self._rows.items() if key in live]
        rows = np.array([row for _, row in keep], np.int64)
        self._x, self._dx = self._x[rows], self._dx[rows]
        self._started, self._stamp = self._started[rows], self._stamp[rows]
        self._rows = {key: i for i, (key, _) in enumerate(keep)}

    # ------------------------------------------------------------------------ internals
    def _rows_for(self, keys: Sequence[int], shape: tuple) -> np.ndarray:
        """Return the state rows of ``keys``, adding fresh rows for new keys."""
        if self._rows and self._x.shape[1:] != shape:
            raise ValueError(f'this bank filters {self._x.shape[1:]} arrays, got {shape}; '
                             'use one bank per kind of data')
        new = [k for k in keys if k not in self._rows]
        if new:
            if not self._rows:
                self._x = np.zeros((0,) + shape)
                self._dx = np.zeros((0,) + shape)
                self._started = np.zeros((0, shape[0]), bool)
            n, start = len(new), len(self._stamp)
            self._x = np.concatenate([self._x, np.zeros((n,) + shape)])
            self._dx = np.concatenate([self._dx, np.zeros((n,) + shape)])
            self._started = np.concatenate([self._started, np.zeros((n, shape[0]), bool)])
            self._stamp = np.concatenate([self._stamp, np.full(n, -math.inf)])
            self._rows.update((k, start + i) for i, k in enumerate(new))
        return np.array([self._rows[k] for k in keys], np.int64)

    def _step(self, rows: np.ndarray, values: np.ndarray, ok: np.ndarray,
              stamp: float) -> np.ndarray:
        """One filter step of the tracks in ``rows``: ``(M, J, D)`` in, ``(M, J, D)`` out."""
        cfg = self.config
        dt = stamp - self._stamp[rows]                                 # (M,)
        forward = dt > 0                                               # else: restart
        dt_safe = np.where(forward & np.isfinite(dt), dt, 1.0)[:, None]
        run = ok & self._started[rows] & (forward & np.isfinite(dt))[:, None]
        x_prev, dx_prev = self._x[rows], self._dx[rows]
        values = np.where(ok[..., None], values, x_prev)   # no NaN/inf in the arithmetic
        speed = (values - x_prev) / dt_safe[..., None]
        dx_hat = dx_prev + smoothing_factor(cfg.d_cutoff, dt_safe)[..., None] * (speed - dx_prev)
        cutoff = cfg.min_cutoff + cfg.beta * np.linalg.norm(dx_hat, axis=-1)
        alpha = smoothing_factor(cutoff, dt_safe)[..., None]
        out = np.where(run[..., None], x_prev + alpha * (values - x_prev), values)
        self._dx[rows] = np.where(run[..., None], dx_hat, 0.0)
        self._x[rows] = out
        self._started[rows] = ok
        self._stamp[rows] = stamp
        return out
