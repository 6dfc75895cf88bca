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

"""One-Euro filter bank: pass-through of constants, noise reduction, lag, NaN, pruning."""

import math

from logocap_ros.core.smoothing import OneEuroBank, OneEuroConfig, smoothing_factor
import numpy as np
import pytest

FPS = 30.0


def run(bank: OneEuroBank, samples: np.ndarray, key: int = 7) -> np.ndarray:
    """Smooth ``samples`` ``(T, J, D)`` at 30 fps; return ``(T, J, D)``."""
    return np.array([bank.smooth(key, s, k / FPS) for k, s in enumerate(samples)])


@pytest.mark.parametrize('dims', [2, 3])
def test_constant_signal_passes_unchanged(dims):
    values = np.random.default_rng(0).uniform(-5, 500, (17, dims))
    out = run(OneEuroBank(), np.repeat(values[None], 20, axis=0))
    np.testing.assert_array_equal(out, np.repeat(values[None], 20, axis=0))


def test_noise_variance_reduced_on_a_still_joint():
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 640, (17, 2))
    noisy = truth + rng.normal(0.0, 3.0, (300, 17, 2))
    out = run(OneEuroBank(OneEuroConfig(min_cutoff=1.0, beta=0.02)), noisy)
    raw_var = np.var(noisy[30:] - truth)
    smooth_var = np.var(out[30:] - truth)
    assert smooth_var < 0.25 * raw_var, (smooth_var, raw_var)


def test_beta_reduces_lag_on_a_moving_joint():
    t = np.arange(60) / FPS
    ramp = np.zeros((60, 17, 2))
    ramp[..., 0] = (300.0 * t)[:, None]                 # 300 px/s to the right
    lag = {}
    for beta in (0.0, 0.05):
        out = run(OneEuroBank(OneEuroConfig(min_cutoff=1.0, beta=beta)), ramp)
        lag[beta] = float(np.abs(out[-1] - ramp[-1]).max())
    assert lag[0.05] < 0.5 * lag[0.0], lag
    assert lag[0.0] > 10.0                              # strong smoothing lags at 1 Hz


def test_smoothing_factor_matches_the_one_euro_formula():
    tau = 1.0 / (2 * math.pi * 2.0)
    assert smoothing_factor(2.0, 0.1) == pytest.approx(1.0 / (1.0 + tau / 0.1))


def test_nan_joint_passes_through_and_restarts():
    bank = OneEuroBank()
    base = np.full((17, 2), 100.0)
    for k in range(5):
        bank.smooth(1, base + 10 * k, k / FPS)
    hole = base + 50
    hole[3] = np.nan
    out = bank.smooth(1, hole, 5 / FPS)
    assert np.isnan(out[3]).all() and np.isfinite(np.delete(out, 3, axis=0)).all()
    assert (out[4] < hole[4]).all()                      # other joints still smoothed (lag)
    back = base + 60
    out = bank.smooth(1, back, 6 / FPS)
    np.testing.assert_array_equal(out[3], back[3])      # restarted: first sample as is
    assert (out[4] < back[4]).all()


def test_invalid_mask_passes_raw_values():
    bank = OneEuroBank()
    valid = np.ones(17, bool)
    valid[0] = False
    for k in range(4):
        out = bank.smooth(2, np.full((17, 2), 10.0 * k), k / FPS, valid=valid)
    assert out[0].tolist() == [30.0, 30.0] and (out[1:] < 30.0).all()
    with pytest.raises(ValueError, match='valid must have shape'):
        bank.smooth(2, np.zeros((17, 2)), 1.0, valid=np.ones(3, bool))


def test_tracks_are_independent_and_skip_key_is_untouched():
    bank = OneEuroBank()
    values = np.stack([np.full((17, 2), 0.0), np.full((17, 2), 500.0), np.full((17, 2), 9.0)])
    bank.smooth_many([4, 5, -1], values, 0.0)
    moved = values + 100.0
    out = bank.smooth_many([4, 5, -1], moved, 1 / FPS)
    assert (out[0] < 100.0).all() and (out[1] < 600.0).all() and (out[0] > 0.0).all()
    np.testing.assert_array_equal(out[2], moved[2])
    assert len(bank) == 2


def test_backwards_stamp_restarts_the_track():
    bank = OneEuroBank()
    bank.smooth(1, np.zeros((17, 2)), 1.0)
    out = bank.smooth(1, np.full((17, 2), 50.0), 0.5)
    np.testing.assert_array_equal(out, np.full((17, 2), 50.0))


def test_prune_drops_removed_tracks():
    bank = OneEuroBank()
    for key in (1, 2, 3):
        bank.smooth(key, np.full((17, 3), float(key)), 0.0)
    bank.prune({2, 9})
    assert len(bank) == 1
    out = bank.smooth(2, np.full((17, 3), 12.0), 1 / FPS)
    assert (out < 12.0).all()                           # track 2 kept its state
    out = bank.smooth(1, np.full((17, 3), 12.0), 1 / FPS)
    np.testing.assert_array_equal(out, np.full((17, 3), 12.0))  # track 1 starts fresh
    bank.reset()
    assert len(bank) == 0


def test_shape_errors_and_config_validation():
    bank = OneEuroBank()
    bank.smooth(1, np.zeros((17, 2)), 0.0)
    with pytest.raises(ValueError, match='one bank per kind of data'):
        bank.smooth(2, np.zeros((17, 3)), 0.0)
    with pytest.raises(ValueError, match=r'\(joints, dims\)'):
        bank.smooth(1, np.zeros(17), 0.0)
    with pytest.raises(ValueError, match='min_cutoff > 0'):
        OneEuroConfig(min_cutoff=0.0)
