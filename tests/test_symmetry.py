"""helpers.symmetry: the clone measurement of notebook 03 and the claim it makes.

Protects: unit_spread / distinct_units against brute force; constant init keeps every
hidden unit a clone through training (spread exactly 0), random init does not.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from helpers import nets, symmetry, train

DATA = train.make_blobs(n_samples=400, n_features=5, n_classes=3, seed=1)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 5)),
              elements=st.floats(-100, 100, width=32)))
def test_unit_spread_and_distinct_units_equal_brute_force(w):
    t = torch.from_numpy(w)
    pairs = [np.abs(a - b).max() for a in w for b in w]
    assert symmetry.unit_spread(t) == pytest.approx(float(max(pairs)), abs=1e-6)
    assert symmetry.distinct_units(t) == len({tuple(row) for row in w.tolist()})


def test_clones_have_zero_spread():
    w = torch.full((7, 3), 0.25)
    assert symmetry.unit_spread(w) == 0.0 and symmetry.distinct_units(w) == 1
    w[3, 1] = 0.5
    assert symmetry.unit_spread(w) == 0.25 and symmetry.distinct_units(w) == 2


def test_constant_sets_weights_and_zeroes_biases():
    model = symmetry.constant_(nets.mlp([4, 6, 2], "tanh", "xavier"), 0.3)
    for layer in (model[0], model[2]):
        assert torch.all(layer.weight == 0.3) and torch.all(layer.bias == 0)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("c", [0.0, 0.5, -0.3])
def test_constant_init_never_breaks_the_symmetry(activation, c):
    r = symmetry.symmetry_run(DATA, "constant", c, width=8, activation=activation, steps=200)
    assert r.spread_before == 0.0 and r.spread_after == 0.0 and r.distinct_after == 1


@pytest.mark.parametrize("start,value", [("normal", 0.1), ("uniform", 0.3), ("uniform_0_1", 0.0)])
def test_random_init_breaks_it(start, value):
    r = symmetry.symmetry_run(DATA, start, value, width=8, steps=50)
    assert r.spread_after > 0 and r.distinct_after == 8
    assert len(r.history.loss) == 50 and r.hidden_weight.shape == (8, 5)


def test_run_is_seeded():
    a, b = (symmetry.symmetry_run(DATA, "normal", 0.5, width=8, steps=30, seed=3) for _ in range(2))
    assert a.history.loss == b.history.loss and torch.equal(a.hidden_weight, b.hidden_weight)


def test_saturation_is_measured_for_tanh_only():
    big = symmetry.symmetry_run(DATA, "normal", 10.0, width=8, steps=1)
    assert big.saturated > 0.8
    assert math.isnan(symmetry.symmetry_run(DATA, "normal", 1.0, width=8, steps=1,
                                            activation="relu").saturated)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: symmetry.symmetry_run(DATA, "zeros"), "constant"),
        (lambda: symmetry.symmetry_run(DATA, "normal", 0.0), "std > 0"),
        (lambda: symmetry.unit_spread(torch.ones(3)), "2-D"),
        (lambda: symmetry.distinct_units(torch.ones(2, 2, 2)), "2-D"),
        (lambda: symmetry.constant_(nets.mlp([2, 2]), math.nan), "finite"),
    ],
)
def test_bad_input_names_the_valid_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call()
