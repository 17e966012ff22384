"""helpers.fan_modes (notebook 06): which direction each He mode protects when widths change.

Protects: fan_in keeps the forward std, fan_out the gradient std, the other direction drifts
only by sqrt(width ratio); equal widths make the modes identical; bad input is refused.
"""

import math

import numpy as np
import pytest

from helpers import fan_modes

PYRAMID = [int(round(w)) for w in np.geomspace(32, 512, 13)]


def _ends(f):
    return f.forward_std[-1] / f.forward_std[0], f.grad_std[0] / f.grad_std[-1]


def test_each_mode_protects_its_direction():
    fwd_in, back_in = _ends(fan_modes.flow(PYRAMID, "he", "fan_in", repeats=6))
    fwd_out, back_out = _ends(fan_modes.flow(PYRAMID, "he", "fan_out", repeats=6))
    drift = math.sqrt(PYRAMID[-1] / PYRAMID[1])
    assert 0.5 < fwd_in < 2 and 0.5 < back_out < 2
    assert drift / 2.5 < back_in < drift * 2.5 and 1 / (2.5 * drift) < fwd_out < 2.5 / drift


def test_xavier_with_relu_vanishes_both_ways():
    fwd, back = _ends(fan_modes.flow([64] * 21, "xavier", repeats=2))
    assert fwd < 0.707**20 * 4 and back < 0.707**20 * 4


def test_modes_coincide_at_constant_width():
    a, b = (fan_modes.flow([48] * 6, "he", mode, seed=2) for mode in ("fan_in", "fan_out"))
    assert np.array_equal(a.forward_std, b.forward_std) and np.array_equal(a.grad_std, b.grad_std)


def test_seeded_and_shaped():
    a, b = (fan_modes.flow([8, 16, 4], seed=5) for _ in range(2))
    assert np.array_equal(a.forward_std, b.forward_std) and a.forward_std.shape == (2,)
    assert a.grad_std[-1] == pytest.approx(1.0, rel=0.2)  # dLoss/dh_L = P ~ N(0, 1)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(scheme="lecun"), "he"),
        (dict(mode="fan_avg"), "fan_in"),
        (dict(batch=1), "batch >= 2"),
        (dict(repeats=0), "repeats >= 1"),
    ],
)
def test_bad_input_names_the_valid_choices(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fan_modes.flow([8, 8, 8], **kwargs)


def test_bad_widths_are_refused():
    with pytest.raises(ValueError, match="widths"):
        fan_modes.flow([8])
