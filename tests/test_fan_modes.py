"""helpers.fan_modes (notebook 06): which direction each He mode protects when widths change.

Protects: fan_in keeps the forward std, fan_out the gradient std, the other direction drifts
only by sqrt(width ratio); equal widths make the modes identical; bad input is refused;
norm_walk keeps |h|^2 on average while log|h|^2 spreads like depth * Var(log of one layer's factor).
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


def test_norm_walk_keeps_the_mean_and_spreads_like_5_depth_over_width():
    """He keeps E|h_l|^2 = |x|^2; Var(log|h_l|^2) = l * Var(log R) with R drawn independently.

    R = (2 / n) * sum_i relu(xi_i)^2 with xi ~ N(0, 1) is one layer's factor on |h|^2, drawn
    here with numpy, not through any network: its mean is 1 and its variance 5 / n.
    """
    width, depth = 32, 8
    walk = fan_modes.norm_walk(width, depth, nets=4000, seed=0)
    assert walk.shape == (4000, depth)
    xi = np.random.default_rng(1).standard_normal((200_000, width))
    factor = 2 / width * (np.maximum(xi, 0) ** 2).sum(1)
    assert abs(factor.mean() - 1) < 0.01 and abs(factor.var() * width - 5) < 0.15
    var_log = np.log(factor).var()
    assert walk[:, -1].var() == pytest.approx(depth * var_log, rel=0.1)
    assert walk[:, 3].var() == pytest.approx(4 * var_log, rel=0.12)
    assert np.exp(walk[:, -1]).mean() == pytest.approx(1.0, abs=0.1), "He keeps E|h|^2 on average"


def test_norm_walk_is_seeded_and_checks_its_input():
    a, b = (fan_modes.norm_walk(8, 3, nets=5, seed=3) for _ in range(2))
    assert np.array_equal(a, b) and not np.array_equal(a, fan_modes.norm_walk(8, 3, nets=5, seed=4))
    for kwargs in (dict(width=0, depth=3), dict(width=8, depth=0), dict(width=8, depth=3, nets=1)):
        with pytest.raises(ValueError, match="width >= 1, depth >= 1 and nets >= 2"):
            fan_modes.norm_walk(**kwargs)
