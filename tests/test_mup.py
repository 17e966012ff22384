"""helpers.mup: the parametrisation tables, the models they build, and the coordinate check.

Protects: the rules equal Tensor Programs V's Table 3 (written out here independently); a forward
multiplier really is equivalent to rescaling the weight and its learning rate (checked by training
both forms); the stacked trainer matches torch's own SGD and Adam step for step; the coordinate
check separates SP from muP on small widths; the parabola vertex of best_log2_lr; bad input raises
ValueError naming the choices.
"""

import math

import numpy as np
import pytest
import torch

from helpers import mup
from helpers.exercises import ex
from helpers.train import make_blobs


@pytest.fixture(scope="module")
def data():
    return make_blobs(600, n_features=16, n_classes=10, separation=0.5, seed=3)


# Tensor Programs V, Table 3, relative to the base width: effective lr factor per layer.
TABLE3 = {
    "adam": lambda m: {"input": 1.0, "hidden": 1 / m, "output": 1 / m},
    "sgd": lambda m: {"input": m, "hidden": 1.0, "output": 1 / m},
}


@pytest.mark.parametrize("optimizer", mup.OPTIMIZERS)
@pytest.mark.parametrize("width", [64, 128, 1000, 4096])
def test_effective_rules_are_table_3(optimizer, width):
    m = width / mup.BASE_WIDTH
    eff = mup.effective_rules("mup", optimizer, width, d_in=16)
    for layer, want in TABLE3[optimizer](m).items():
        assert math.isclose(eff[layer][1], want, rel_tol=1e-12), (layer, eff[layer], want)
    assert eff["input"][0] == pytest.approx(1 / math.sqrt(16))  # tanh: LeCun, as SP
    assert eff["hidden"][0] == pytest.approx(1 / math.sqrt(width))
    assert eff["output"][0] == 0.0, "muP's readout starts at zero"
    sp = mup.effective_rules("sp", optimizer, width, d_in=16)
    assert all(lr == 1.0 for _, lr in sp.values()), "SP: one learning rate"
    assert sp["output"][0] == pytest.approx(1 / math.sqrt(width))


def test_at_the_base_width_mup_is_sp_but_for_the_readout_init():
    for optimizer in mup.OPTIMIZERS:
        sp = mup.layer_rules("sp", optimizer, mup.BASE_WIDTH, d_in=16, activation="relu")
        mp = mup.layer_rules("mup", optimizer, mup.BASE_WIDTH, d_in=16, activation="relu")
        for layer in ("input", "hidden"):
            assert sp[layer] == mp[layer]
        assert mp["output"].multiplier == 1.0 and mp["output"].lr_scale == 1.0
        assert sp["hidden"].init_std == pytest.approx(math.sqrt(2 / mup.BASE_WIDTH)), "He for ReLU"


def test_build_draws_what_the_rules_say_and_pairs_sp_with_mup():
    sp = mup.build("sp", 1024, d_in=16, d_out=10, seed=5)
    mp = mup.build("mup", 1024, d_in=16, d_out=10, seed=5)
    stds = [float(w.detach().std()) for w in sp.weights]
    assert stds == pytest.approx([1 / 4, 1 / 32, 1 / 32], rel=0.03)
    assert torch.equal(sp.weights[0], mp.weights[0]) and torch.equal(sp.weights[1], mp.weights[1])
    assert not mp.weights[2].any(), "muP readout starts at zero"
    assert sp.kinds == ("input", "hidden", "output")
    x = torch.randn(5, 16)
    assert torch.allclose(sp(x), torch.tanh(torch.tanh(x @ sp.weights[0].T) @ sp.weights[1].T)
                          @ sp.weights[2].T)


def test_optimizer_groups_carry_each_layers_lr():
    model = mup.build("mup", 256, d_in=16, d_out=10, optimizer="adam")
    opt = mup.make_optimizer(model, 0.01, "adam")
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.01, 0.01 / 4, 0.01])
    model = mup.build("mup", 256, d_in=16, d_out=10, optimizer="sgd")
    opt = mup.make_optimizer(model, 0.01, "sgd")
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.04, 0.01, 0.04])


def test_a_multiplier_equals_rescaling_the_weight_and_its_sgd_lr(data):
    """SGD on w with forward multiplier a and lr c*eta is SGD on W = a*w at lr a^2*c*eta."""
    torch.manual_seed(0)
    a, c, eta = 0.25, 4.0, 0.05
    w = torch.randn(10, 32) * 0.3
    h = torch.tanh(data.x_train[:64] @ torch.randn(16, 32) * 0.5)
    y = data.y_train[:64]
    w_mult = w.clone().requires_grad_()
    w_plain = (a * w).clone().requires_grad_()
    for _ in range(5):
        for param, scale, lr in ((w_mult, a, c * eta), (w_plain, 1.0, a * a * c * eta)):
            loss = torch.nn.functional.cross_entropy(h @ (scale * param).T, y)
            (grad,) = torch.autograd.grad(loss, param)
            with torch.no_grad():
                param -= lr * grad
    assert torch.allclose(a * w_mult, w_plain, atol=1e-6)


@pytest.mark.parametrize("optimizer", mup.OPTIMIZERS)
def test_stacked_training_matches_torchs_optimizers(data, optimizer):
    models = [mup.build(p, 96, d_in=16, d_out=10, optimizer=optimizer, seed=2)
              for p in mup.PARAMETRISATIONS]
    lrs = [0.02, 0.005]
    stacked = mup.train_stacked(models, lrs, data, steps=6, optimizer=optimizer, seed=9)
    for k, p in enumerate(mup.PARAMETRISATIONS):
        ref = mup.build(p, 96, d_in=16, d_out=10, optimizer=optimizer, seed=2)
        opt = mup.make_optimizer(ref, lrs[k], optimizer)
        gen = torch.Generator().manual_seed(9)
        for _ in range(6):
            idx = torch.randint(0, len(data.y_train), (32,), generator=gen)
            loss = torch.nn.functional.cross_entropy(ref(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        for w, w_ref in zip(stacked, ref.weights, strict=True):
            assert torch.allclose(w[k], w_ref, atol=1e-5), (p, optimizer)


def test_coordinate_check_separates_sp_from_mup(data):
    cc = mup.coord_check(data, (64, 256, 1024), lr=3e-3, steps=4, optimizer="adam", eval_size=32,
                         seed=1)
    assert cc.names == ("hidden 1", "hidden 2", "logits")
    assert cc.slope("sp", "logits") > 0.5 and cc.slope("sp", "hidden 2") > 0.3
    for name in cc.names:
        assert abs(cc.slope("mup", name)) < 0.15, name


def test_coordinate_check_records_pre_activations_and_saturation(data):
    cc = mup.coord_check(data, (64, 256, 1024), lr=3e-3, steps=4, optimizer="adam", eval_size=32,
                         seed=1)
    for p in mup.PARAMETRISATIONS:
        assert np.array_equal(cc.pre_change[p][-1], cc.change[p][-1])  # the logits have no activation
        assert np.isnan(cc.saturated[p][-1]).all() and ((cc.saturated[p][:-1] >= 0)
                                                        & (cc.saturated[p][:-1] <= 1)).all()
    # tanh is 1-Lipschitz, so its output moves no further than its pre-activation
    assert (cc.change["sp"][:-1] <= cc.pre_change["sp"][:-1] + 1e-7).all()
    assert cc.slope("sp", "hidden 2", pre=True) > cc.slope("sp", "hidden 2") + 0.05
    # the pre-activation is computed independently here, for one width, and must agree
    model = mup.build("sp", 64, d_in=data.n_features, d_out=data.n_classes, seed=1)
    x = data.x_test[:8]
    z1 = x @ model.weights[0].T
    z2 = torch.tanh(z1) @ model.weights[1].T
    pre = model.features(x, pre=True)
    assert torch.allclose(pre[0], z1) and torch.allclose(pre[1], z2)
    assert torch.allclose(model.features(x)[1], torch.tanh(z2))


def test_fit_slope_recovers_a_power_law_and_refuses_nonsense():
    widths = np.array([64, 128, 256, 512])
    assert mup.fit_slope(widths, 3 * widths**0.5) == pytest.approx(0.5)
    assert mup.fit_slope(widths, 2 * widths**-1.0) == pytest.approx(-1.0)
    assert math.isnan(mup.fit_slope(widths, [1, 2, np.inf, 4]))
    assert math.isnan(mup.fit_slope(widths, [1, 0, 2, 4]))
    with pytest.raises(ValueError):
        mup.fit_slope(widths, [1, 2])


def test_best_log2_lr_is_the_parabola_vertex():
    lrs = tuple(2.0**k for k in range(-8, 0))
    x = np.log2(lrs)
    loss = {"sp": np.array([(x - -4.3) ** 2 + 1, (x - -7.9) ** 2]),  # vertex inside, near an edge
            "mup": np.array([-x, x])}  # minimum at the last and first grid point
    sweep = mup.LrSweep((64, 128), lrs, loss)
    assert list(sweep.best_log2_lr("sp")) == pytest.approx([-4.3, -8.0])  # the edge stays on the grid
    assert list(sweep.best_log2_lr("mup")) == [-1.0, -8.0]
    assert list(np.log2(sweep.best_lr("sp"))) == [-4.0, -8.0]


def test_lr_sweep_finds_a_finite_best_lr(data):
    sweep = mup.lr_sweep(data, (64, 128), (2.0**-9, 2.0**-7, 2.0**-5), steps=5, eval_size=64)
    for p in mup.PARAMETRISATIONS:
        assert sweep.loss[p].shape == (2, 3) and np.isfinite(sweep.loss[p]).all()
        assert set(sweep.best_lr(p)) <= set(sweep.lrs)


@pytest.mark.parametrize("call,match", [
    (lambda: mup.layer_rules("ntk", "adam", 64, d_in=16), "sp"),
    (lambda: mup.layer_rules("mup", "rmsprop", 64, d_in=16), "adam"),
    (lambda: mup.layer_rules("mup", "adam", 64, d_in=16, activation="gelu"), "tanh"),
    (lambda: mup.layer_rules("mup", "adam", 0, d_in=16), "width"),
    (lambda: mup.make_optimizer(mup.build("sp", 64, d_in=4, d_out=2), 0.1, "lion"), "sgd"),
    (lambda: mup.make_optimizer(mup.build("sp", 64, d_in=4, d_out=2), -1.0), "lr"),
    (lambda: mup.build("sp", 64, d_in=4, d_out=2, hidden_layers=-1), "hidden_layers"),
    (lambda: mup.coord_check(make_blobs(40, seed=0), (64,), lr=0.1), "widths"),
    (lambda: mup.lr_sweep(make_blobs(40, seed=0), (64, 128), (0.0,)), "lrs"),
])
def test_bad_input_names_the_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_coord_check_sgd_solution_shows_the_sgd_run(capsys):
    """Notebook 11's open exercise 2 (its starter and answer: test_exercises, over every open
    exercise): the worked solution runs the coordinate check under SGD and quotes its -0.66."""
    ex.coord_check_sgd.solution()
    out = capsys.readouterr().out
    assert "optimizer='sgd'" in out and "-0.66" in out
