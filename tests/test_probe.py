"""helpers.probe.propagate: the per-layer measurements behind notebooks 04-06.

Protects: closed forms (a linear net with LeCun or orthogonal weights keeps std 1,
ReLU + He keeps it constant, ReLU + Xavier halves the variance per layer), agreement
with a plain torch forward/backward pass through helpers.nets.mlp (activation gradients
and weight gradients), the zero fraction and dead units counted independently, the
overflow and underflow layers, and ValueError (naming the choices) on bad arguments.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import nets, probe


def _direct(depth, width, activation, init, std=None, batch=64, seed=0):
    """The same measurement done by hand: mlp forward, the LOSS, autograd."""
    net = nets.mlp([width] * (depth + 1), activation, init, std=std, final_activation=True,
                   seed=seed)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((batch, width), dtype=np.float32))
    proj = torch.from_numpy(rng.standard_normal((batch, width), dtype=np.float32))
    hs, h = [], x
    for module in net:
        h = module(h)
        if not isinstance(module, torch.nn.Linear):
            h.retain_grad()
            hs.append(h)
    (hs[-1] * proj).sum().backward()
    return [v.detach().numpy() for v in hs], [v.grad.numpy() for v in hs]


@pytest.mark.parametrize("init,std", [("xavier", None), ("fixed", 0.07)])
def test_matches_a_plain_torch_pass(init, std):
    rec = probe.propagate(6, 64, "tanh", init, std=std, batch=64, seed=3, keep_values=True)
    values, grads = _direct(6, 64, "tanh", init, std=std, seed=3)
    for mine, ref in zip(rec.values, values, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(rec.forward_std, [v.std(ddof=1) for v in values], rtol=1e-4)
    np.testing.assert_allclose(rec.grad_std, [g.std(ddof=1) for g in grads], rtol=1e-4)
    assert rec.weight_grad_std is None, "weight gradients only on request"


@pytest.mark.parametrize("activation,init,std,batchnorm", [
    ("tanh", "fixed", 0.07, False), ("relu", "he", None, False),
    ("sigmoid", "pytorch_default", None, False), ("tanh", "xavier", None, True)])
def test_weight_gradients_match_autograd_on_the_weights(activation, init, std, batchnorm):
    """dLoss/dW from torch's own backward pass through real weights (std included)."""
    rec = probe.propagate(5, 48, activation, init, std=std, batch=40, seed=2, batchnorm=batchnorm,
                          weight_grads=True)
    net = nets.mlp([48] * 6, activation, init, std=std, batchnorm=batchnorm,
                   final_activation=True, seed=2)
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.standard_normal((40, 48), dtype=np.float32))
    proj = torch.from_numpy(rng.standard_normal((40, 48), dtype=np.float32))
    (net(x) * proj).sum().backward()
    expected = [m.weight.grad.double().std().item() for m in net if isinstance(m, torch.nn.Linear)]
    np.testing.assert_allclose(rec.weight_grad_std, expected, rtol=1e-4)


def test_weight_gradients_are_nan_past_an_overflow():
    rec = probe.propagate(30, 64, "relu", "fixed", std=10.0, batch=16, weight_grads=True)
    assert rec.overflow_layer is not None and np.isnan(rec.weight_grad_std).all()


def test_end_to_end_ratios():
    rec = probe.propagate(6, 64, "tanh", "fixed", std=0.05, batch=32)
    assert rec.forward_ratio == pytest.approx(rec.forward_std[-1] / rec.forward_std[0])
    assert rec.grad_ratio == pytest.approx(rec.grad_std[0] / rec.grad_std[-1])
    assert rec.forward_ratio < 0.03 and rec.grad_ratio < 0.03, "x0.4 per layer: 0.4^5 = 0.01"


def test_output_side_gradient_is_the_projection():
    rec = probe.propagate(3, 200, "relu", "he", batch=256)
    assert abs(rec.grad_std[-1] - 1) < 0.02, "dLoss/dh_L = P ~ N(0, 1)"


@pytest.mark.parametrize("init", ["lecun", "orthogonal"])
def test_linear_net_keeps_unit_std(init):
    rec = probe.propagate(20, 256, "linear", init, batch=256)
    assert np.all(np.abs(rec.forward_std - 1) < 0.3), rec.forward_std
    assert np.all(np.abs(rec.grad_std - 1) < 0.3), rec.grad_std


def test_orthogonal_preserves_the_norm_exactly():
    rec = probe.propagate(30, 128, "linear", "orthogonal", batch=128)
    np.testing.assert_allclose(rec.forward_std, rec.forward_std[0], rtol=0.01)
    np.testing.assert_allclose(rec.grad_std, rec.grad_std[-1], rtol=0.01)


def test_relu_he_holds_and_xavier_halves_the_variance_per_layer():
    he = probe.propagate(20, 256, "relu", "he")
    assert 0.5 < he.forward_std[-1] / he.forward_std[0] < 2
    assert 0.5 < he.grad_std[0] / he.grad_std[-1] < 2
    xavier = probe.propagate(10, 256, "relu", "xavier")
    per_layer = (xavier.forward_std[-1] / xavier.forward_std[0]) ** (1 / 9)
    assert abs(per_layer - 2**-0.5) < 0.05, "Var halves per layer: std x 1/sqrt(2)"
    assert np.all(np.abs(he.zero_fraction - 0.5) < 0.1), "ReLU zeroes about half of its inputs"


def test_tiny_std_underflows_and_says_where():
    rec = probe.propagate(40, 100, "tanh", "fixed", std=1e-3, batch=32, keep_values=True)
    k = rec.underflow_layer
    assert k is not None and rec.overflow_layer is None
    assert np.all(rec.values[k - 1] == 0) and np.any(rec.values[k - 2] != 0)
    assert rec.forward_std[k - 1] == 0 and rec.hist[k - 1].sum() == 32 * 100
    assert rec.grad_underflow_layer is not None and "underflows to exactly 0 at layer" in \
        probe.diagnose(rec)


def test_huge_std_overflows_and_says_where():
    rec = probe.propagate(40, 100, "relu", "fixed", std=10.0, batch=32)
    k = rec.overflow_layer
    values, _ = _direct(k, 100, "relu", "fixed", std=10.0, batch=32)
    assert not np.isfinite(values[-1]).all() and np.isfinite(values[-2]).all(), "first inf layer"
    assert np.isfinite(rec.forward_std[: k - 1]).all() and np.isnan(rec.forward_std[k - 1:]).all()
    assert np.isnan(rec.grad_std).all() and rec.grad_overflow_layer == 40
    assert f"overflows to inf/NaN at layer {k}; the loss is inf/NaN" in probe.diagnose(rec)


def test_saturated_fraction():
    tanh = probe.propagate(5, 100, "tanh", "fixed", std=1.0, batch=64, keep_values=True)
    expected = [np.mean(np.abs(v) > 0.99) for v in tanh.values]
    np.testing.assert_allclose(tanh.saturated, expected)
    assert tanh.zero_fraction is None and tanh.dead_units is None and tanh.saturated[-1] > 0.7
    sig = probe.propagate(5, 100, "sigmoid", "fixed", std=3.0, batch=64, keep_values=True)
    expected = [np.mean((v < 0.01) | (v > 0.99)) for v in sig.values]
    np.testing.assert_allclose(sig.saturated, expected)
    assert probe.propagate(3, 10, "linear", "lecun").zero_fraction is None


def test_zero_fraction_and_dead_units_are_different_counts():
    """Zero fraction counts values; a dead unit is a column that is 0 for the whole batch."""
    rec = probe.propagate(20, 64, "relu", "he", batch=32, seed=1, keep_values=True)
    zero = [v == 0 for v in rec.values]
    np.testing.assert_allclose(rec.zero_fraction, [z.mean() for z in zero])
    np.testing.assert_allclose(rec.dead_units, [z.all(axis=0).mean() for z in zero])
    assert np.all(np.abs(rec.zero_fraction - 0.5) < 0.2) and rec.dead_units[0] < 0.05, \
        "a healthy ReLU layer zeroes about half its values, and layer 1 has no dead unit"
    assert rec.dead_units[-1] > 0, "deep in a narrow ReLU net some units are off for every input"
    assert "of values exactly 0" in probe.diagnose(rec) and "of units dead" in probe.diagnose(rec)
    leaky = probe.propagate(5, 100, "leaky_relu", "he", param=0.1, batch=64)
    assert leaky.saturated is None and np.all(leaky.zero_fraction == 0), "leaky ReLU: no zeros"
    assert np.all(leaky.dead_units == 0), "leaky ReLU has no dead units"


def test_dead_units_of_a_hand_made_layer():
    """3 inputs x 4 units, counted by hand: 9 of 12 values are 0; units 1 and 3 are 0 for
    every input (dead); unit 4 is 0 for two inputs but alive."""
    h = np.array([[0, 1, 0, 2], [0, 0, 0, 0], [0, 2, 0, 0]], dtype=np.float32)
    zero_fraction, dead_units = probe._zeros([h])
    assert zero_fraction[0] == 9 / 12 and dead_units[0] == 2 / 4


def test_histograms_count_every_finite_value():
    rec = probe.propagate(8, 50, "relu", "xavier", batch=40, bins=30)
    assert rec.hist.shape == (8, 30)
    assert np.all(rec.hist.sum(axis=1) == 40 * 50)
    assert rec.edges[0] == 0 and len(rec.edges) == 31
    custom = probe.propagate(8, 50, "relu", "xavier", batch=40, hist_range=(-1, 1))
    assert custom.edges[0] == -1 and custom.edges[-1] == 1


def test_deterministic_and_depth_is_a_prefix():
    a = probe.propagate(12, 64, "tanh", "he", batch=32, seed=5)
    b = probe.propagate(12, 64, "tanh", "he", batch=32, seed=5)
    np.testing.assert_array_equal(a.forward_std, b.forward_std)
    np.testing.assert_array_equal(a.grad_std, b.grad_std)
    np.testing.assert_array_equal(a.hist, b.hist)
    short = probe.propagate(4, 64, "tanh", "he", batch=32, seed=5)
    np.testing.assert_array_equal(short.forward_std, a.forward_std[:4])
    assert probe.propagate(4, 64, "tanh", "he", batch=32, seed=6).forward_std[0] != short.forward_std[0]


def test_batchnorm_restores_the_flow():
    plain = probe.propagate(10, 100, "tanh", "fixed", std=0.01, batch=64)
    bn = probe.propagate(10, 100, "tanh", "fixed", std=0.01, batch=64, batchnorm=True)
    assert plain.forward_std[-1] < 1e-4 < 0.3 < bn.forward_std[-1]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(activation="gelu"), "activation must be one of"),
        (dict(init="kaiming"), "init must be one of"),
        (dict(depth=0), "depth must be an integer >= 1"),
        (dict(depth=2.5), "depth must be an integer"),
        (dict(width=0), "width must be an integer >= 1"),
        (dict(batch=1), "batch must be an integer >= 2"),
        (dict(init="fixed"), "needs a finite std > 0"),
        (dict(init="fixed", std=0.0), "needs a finite std > 0"),
        (dict(init="fixed", std=-1.0), "needs a finite std > 0"),
        (dict(init="fixed", std=math.nan), "needs a finite std > 0"),
        (dict(std=0.1), "std is only for init 'fixed'"),
        (dict(param=0.1), "takes none"),
        (dict(activation="leaky_relu", param=math.inf), "finite number"),
        (dict(hist_range=(1.0, -1.0)), "hist_range"),
    ],
)
def test_bad_arguments_name_the_choices(kwargs, match):
    args = dict(depth=3, width=8, activation="tanh", init="xavier") | kwargs
    depth, width, act, init = (args.pop(k) for k in ("depth", "width", "activation", "init"))
    with pytest.raises(ValueError, match=match):
        probe.propagate(depth, width, act, init, **args)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    depth=st.integers(1, 40),
    width=st.sampled_from([1, 3, 16, 64]),
    activation=st.sampled_from(nets.ACTIVATIONS),
    init=st.sampled_from(["fixed", "lecun", "xavier", "he", "pytorch_default"]),
    log_std=st.floats(-3, 1.5),
    batchnorm=st.booleans(),
)
def test_any_setting_gives_a_consistent_record(depth, width, activation, init, log_std,
                                               batchnorm):
    std = 10**log_std if init == "fixed" else None
    rec = probe.propagate(depth, width, activation, init, std=std, batch=8, batchnorm=batchnorm)
    assert rec.forward_std.shape == rec.grad_std.shape == (depth,)
    k = rec.overflow_layer
    finite_until = depth if k is None else k - 1
    assert np.isfinite(rec.forward_std[:finite_until]).all()
    assert np.isnan(rec.forward_std[finite_until:]).all()
    if rec.underflow_layer is not None:
        assert rec.forward_std[rec.underflow_layer - 1] == 0
    assert probe.diagnose(rec)


def test_net_cache_evicts_the_least_recently_used_net(monkeypatch):
    """probe keeps at most _MAX_NETS nets (one per width/activation/init/seed...): building one
    more evicts the least recently used, a reused net moves to the back and is not rebuilt, and
    an evicted one comes back identical (rebuilt from its seed)."""
    monkeypatch.setattr(probe, "_NETS", {})
    n = probe._MAX_NETS

    def run(seed, depth=2):
        return probe.propagate(depth, 8, "tanh", "xavier", batch=4, seed=seed)

    def cached_seeds():
        return [key[-1] for key in probe._NETS]

    first = run(0)
    for seed in range(1, n):
        run(seed)
    assert cached_seeds() == list(range(n))
    kept = probe._NETS[next(iter(probe._NETS))]
    run(0, depth=1)  # reuse seed 0 (a shallower prefix of the same net)
    assert cached_seeds() == [*range(1, n), 0], "reusing a net makes it the most recent"
    assert probe._NETS[list(probe._NETS)[-1]] is kept, "reused, not rebuilt"
    run(n)  # one more distinct net: seed 1, now the least recently used, goes
    assert len(probe._NETS) == n and cached_seeds() == [*range(2, n), 0, n]
    run(1)
    assert 1 in cached_seeds() and 2 not in cached_seeds()
    np.testing.assert_array_equal(run(0).forward_std, first.forward_std)


def _notebook_04_loop() -> str:
    """The per-layer loop notebook 04 shows as plain torch (its first line sets std and act)."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "notebooks/04_signal_propagation.ipynb"
    nb = json.loads(path.read_text())
    return next("".join(c["source"]) for c in nb["cells"]
                if c["cell_type"] == "code" and "".join(c["source"]).startswith("std, act = "))


@pytest.mark.parametrize("std_act,activation,init,std", [
    ("0.01, torch.tanh", "tanh", "fixed", 0.01),
    ("1.0, torch.tanh", "tanh", "fixed", 1.0),
    ("math.sqrt(2 / WIDTH), torch.relu", "relu", "he", None),
    ("math.sqrt(1 / WIDTH), torch.relu", "relu", "xavier", None),
])
def test_notebook_04_loop_measures_what_propagate_measures(std_act, activation, init, std):
    """Notebook 04's visible loop and probe.propagate draw the same weights and input, so they agree
    layer by layer up to float32 sums ((h @ W.T) * std against h @ (std W).T): the explorer and the
    tables show what the loop shows."""
    import math

    first, rest = _notebook_04_loop().split("\n", 1)
    assert first.startswith("std, act = 0.01, torch.tanh")
    ns = {"torch": torch, "np": np, "math": math, "SEED": 1, "WIDTH": 300, "DEPTH": 8, "BATCH": 400}
    ns["print"] = lambda *args, **kwargs: None  # the notebook prints; the test compares
    exec(f"std, act = {std_act}\n" + rest, ns)  # noqa: S102 - the notebook's own lines
    rec = probe.propagate(8, 300, activation, init, std=std, batch=400, seed=1)
    np.testing.assert_allclose(ns["stds"], rec.forward_std, rtol=1e-4)


def test_round_up_gives_the_next_multiple_of_the_block():
    # explorers measure and draw up to this depth; one past a block must open the next one
    assert [probe.round_up(n, 5) for n in (1, 4, 5, 6, 10, 11)] == [5, 5, 5, 10, 10, 15]
    assert probe.round_up(np.int64(26), 25) == 50 and probe.round_up(7, 1) == 7
    with pytest.raises(ValueError, match="block must be an integer >= 1"):
        probe.round_up(3, 0)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        probe.round_up(2.5, 5)
