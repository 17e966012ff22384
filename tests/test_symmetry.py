"""helpers.symmetry: the clone measurement of notebook 03 and the claim it makes.

Protects: unit_spread / unit_groups / distinct_units against brute force; constant init keeps
every hidden unit a clone through training (in float64, up to rounding), random init does not;
a one-ulp nudge is exactly one ulp and training amplifies it; clones need both layers constant
(the answer key of ex.distinct_after_training); output_start separates the output layer's scale from
the hidden layer's; notebook 03's plain-torch loop trains exactly what symmetry_run trains.
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
    """In float64 a clone net stays one unit; float32 may split by rounding on some kernels (notebook 03)."""
    r = symmetry.symmetry_run(DATA, "constant", c, width=8, activation=activation, steps=200,
                              dtype=torch.float64)
    assert r.spread_before == 0.0 and r.relative_spread_after < 1e-8 and r.groups == [8]
    assert r.hidden_weight.dtype == torch.float64 and len(r.spread_history) == 201


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 4)),
              elements=st.sampled_from([-1.0, 0.0, 0.5, 2.0])))
def test_unit_groups_exact_equal_counting_rows(w):
    counts = {}
    for row in w.tolist():
        counts[tuple(row)] = counts.get(tuple(row), 0) + 1
    assert symmetry.unit_groups(torch.from_numpy(w)) == sorted(counts.values(), reverse=True)


def test_unit_groups_tolerance_is_relative_to_the_largest_weight():
    w = torch.full((5, 3), 2.0)
    w[1, 0] += 2.0 * 1e-6  # a rounding-size difference: relative 1e-6
    w[4, 2] = -2.0  # a real difference
    assert symmetry.unit_groups(w) == [3, 1, 1]
    assert symmetry.unit_groups(w, rtol=1e-5) == [4, 1] and symmetry.distinct_units(w, rtol=1e-5) == 2
    assert symmetry.relative_spread(w) == pytest.approx(4.0 / 2.0)
    assert symmetry.relative_spread(torch.zeros(3, 2)) == 0.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nudge_moves_one_weight_by_exactly_one_ulp(dtype):
    model = symmetry.constant_(nets.mlp([4, 6, 2], "tanh", "xavier"), 0.5).to(dtype)
    symmetry.nudge_(model, 1)
    w = model[0].weight.detach()
    expected = np.nextafter(np.array(0.5, dtype=np.float32 if dtype == torch.float32 else np.float64), 1.0)
    assert float(w[0, 0]) == float(expected) and (w != 0.5).sum() == 1
    assert symmetry.unit_groups(w) == [5, 1]


def test_training_amplifies_a_nudge():
    """The symmetric state is unstable: a one-ulp difference grows by orders of magnitude."""
    r = symmetry.symmetry_run(DATA, "constant", 0.5, width=8, steps=200, lr=0.1, momentum=0.9,
                              batch_size=64, nudge_ulps=1)
    assert r.first_split == 0 and r.spread_history[0] < 1e-6
    assert r.relative_spread_after > 1e3 * r.spread_history[0]
    assert len(r.groups) >= 2


@pytest.mark.parametrize("start,value", [("normal", 0.1), ("uniform", 0.3), ("uniform_0_1", 0.0)])
def test_random_init_breaks_it(start, value):
    r = symmetry.symmetry_run(DATA, start, value, width=8, steps=50)
    assert r.spread_after > 0 and r.distinct_after == 8
    assert len(r.history.loss) == 50 and r.hidden_weight.shape == (8, 5)


def test_zero_init_gives_every_input_the_same_answer():
    """c = 0: only the output bias learns, so the net predicts one class for the whole test set."""
    zero = symmetry.symmetry_run(DATA, "constant", 0.0, width=8, steps=200, dtype=torch.float64)
    assert zero.test_answers == 1
    assert symmetry.symmetry_run(DATA, "normal", 0.3, width=8, steps=200).test_answers == DATA.n_classes


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
        (lambda: symmetry.symmetry_run(DATA, "constant", dtype=torch.float16), "float64"),
        (lambda: symmetry.nudge_(nets.mlp([2, 2]), 0), ">= 1"),
        (lambda: symmetry.unit_groups(torch.ones(2, 2), rtol=-1.0), ">= 0"),
        (lambda: symmetry.unit_groups(torch.ones(2)), "2-D"),
    ],
)
def test_bad_input_names_the_valid_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_closest_units_equals_brute_force_and_rejects_one_row():
    w = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0], [10.0, 0.0]])
    assert symmetry.closest_units(w) == pytest.approx(1.0)
    assert symmetry.closest_units(torch.full((4, 3), 0.5)) == 0.0
    with pytest.raises(ValueError, match=">= 2 rows"):
        symmetry.closest_units(torch.ones(1, 3))


def test_output_start_changes_only_the_output_layer():
    """output_start draws the output layer apart, so the hidden layer's effect can be told from the
    output layer's (notebook 03's sigma sweep): the hidden start and saturation stay the same, the
    logits' scale and the loss at the start follow the output layer."""
    both = symmetry.symmetry_run(DATA, "normal", 10.0, width=8, steps=1)
    small_out = symmetry.symmetry_run(DATA, "normal", 10.0, width=8, steps=1, output_start="normal",
                                      output_value=0.1)
    assert small_out.saturated == both.saturated and small_out.closest_before == both.closest_before
    assert small_out.logit_std < 0.05 * both.logit_std
    assert abs(small_out.initial_loss - math.log(DATA.n_classes)) < 0.5 < both.initial_loss - math.log(3)


@pytest.mark.parametrize("hidden,output,distinct", [
    ("constant", "constant", 1), ("constant", "zero", 1), ("zero", "zero", 1),
    ("constant", "random", 8), ("zero", "random", 8), ("random", "zero", 8)])
def test_clones_need_both_layers_constant(hidden, output, distinct):
    """The answer key of ex.distinct_after_training, measured: equal incoming AND outgoing weights."""
    start = {"constant": ("constant", 0.5), "zero": ("constant", 0.0), "random": ("normal", 0.1)}
    r = symmetry.symmetry_run(DATA, *start[hidden], width=8, steps=200, dtype=torch.float64,
                              output_start=start[output][0], output_value=start[output][1])
    assert len(r.groups) == distinct


def test_notebook_03_torch_loop_equals_symmetry_run():
    """Notebook 03 shows the clone experiment as plain torch; it must train what symmetry_run trains."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "notebooks/03_constant_and_random_init.ipynb"
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    cell = next(src for src in sources if "torch.nn.init.constant_(layer.weight, 0.5)" in src)
    ns = {"torch": torch, "train": train, "SEED": 3, "WIDTH": 8, "STEPS": 60}
    ns["print"] = lambda *args, **kwargs: None  # the notebook prints; the test compares
    exec(cell, ns)  # noqa: S102 - the notebook's own lines
    r = symmetry.symmetry_run(ns["DATA"], "constant", 0.5, width=8, steps=60, dtype=torch.float64, seed=3)
    assert torch.equal(ns["W"], r.hidden_weight) and ns["history"].loss == r.history.loss


@pytest.mark.parametrize("call,match", [
    (lambda: symmetry.symmetry_run(DATA, "normal", 0.1, output_start="ones"), "output_start"),
    (lambda: symmetry.symmetry_run(DATA, "normal", 0.1, output_start="normal", output_value=0.0), "std > 0"),
])
def test_output_start_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
