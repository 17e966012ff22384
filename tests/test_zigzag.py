"""helpers.zigzag and the 07/08 explorers.

Protects: the source article's one-weight run is the article's experiment (initial weight =
torch's default init under torch.manual_seed; the curriculum's 8 flips), the batched runs from
many starts agree with it, the hand-derived curvature equals autograd's, the 1-D oscillation
appears exactly above lr = 2 / L''(w*) from every start, the listing's momentum optimiser keeps
no sawtooth and spirals in at sqrt(beta) a step, positive inputs give same-sign gradients on
every step, the hand-written momentum step equals torch.optim.SGD, and bad input is refused.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import widgets, zigzag

SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def minimum():
    return zigzag.article002_minimum()


@pytest.mark.parametrize("seed", [0, 1, 7, 123])
def test_initial_weight_is_torch_default_init_under_manual_seed(seed):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(1, 1, bias=False)
    assert zigzag.article002_initial_weight(seed) == layer.weight.item()
    assert -1.0 <= zigzag.article002_initial_weight(seed) <= 1.0  # U(-1/sqrt(1), 1/sqrt(1))


def _plain_sgd_weights(model, x, y, lr, steps=100) -> list[float]:
    """The article's loop written out in plain torch (SGD on the mean squared error), independent
    of helpers.zigzag: the first layer's weight after each step."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    weights = []
    for _ in range(steps):
        opt.zero_grad()
        (model(x) - y).pow(2).mean().backward()
        opt.step()
        weights.append(model[0].weight.item())
    return weights


def test_article002_matches_the_article_loop_written_out():
    """The article's own loop (global seed, nn.Sequential, SGD lr 1) gives the same weights."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 1, bias=False), torch.nn.Sigmoid())
    x = torch.tensor([[10.0], [2.0], [11.0], [21.0]])
    y = torch.tensor([[0.9], [0.2], [0.92], [0.987]])
    history = _plain_sgd_weights(model, x, y, lr=1)
    run = zigzag.run_article002()
    np.testing.assert_allclose(run.weights, history, rtol=1e-6)


def test_article002_quick_run_numbers():
    run = zigzag.run_article002()
    assert run.weights[0] > 2.3 and run.weights.min() < 0.2  # slides from ~2.4 to ~0.15
    assert run.flips == 8
    assert len(run.weights) == len(run.losses) == 100


def test_fixes_in_article002_setup_as_the_curriculum_measured():
    base, bn = zigzag.run_article002(), zigzag.run_article002("batchnorm")
    mom, tanh = zigzag.run_article002("momentum"), zigzag.run_article002("tanh")
    assert bn.final_loss < base.final_loss / 5
    assert mom.weights[-1] > 20 and mom.final_loss > 0.15  # overshoots into saturation
    assert tanh.final_loss > 0.15 and tanh.momentum == 0.0
    assert zigzag.run_article002(["momentum", "batchnorm"]).fix == ("batchnorm", "momentum")


@pytest.mark.parametrize("fix,lr", [(None, 0.5), ("batchnorm", 0.5), ("momentum", 0.5), ("tanh", 0.02)])
def test_batched_runs_equal_single_runs_up_to_rounding(fix, lr):
    """Away from the chaotic sawtooth the batch follows run_article002 closely: lr 0.5 is below
    the sigmoid's 2 / L''(w*) = 0.69, and tanh gets 0.02, below its own 2 / L''(w*) = 0.25 (at
    lr 0.5 tanh bounces chaotically and rounding differences grow, as 08 explains)."""
    seeds = [0, 3, 5, 12]
    batch = zigzag.run_article002_many(seeds, fix, lr=lr, steps=60)
    for k, seed in enumerate(seeds):
        single = zigzag.run_article002(fix, lr=lr, steps=60, seed=seed)
        assert batch.initial_weights[k] == single.initial_weight
        np.testing.assert_allclose(batch.weights[:, k], single.weights, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(batch.losses[:, k], single.losses, rtol=1e-4, atol=1e-6)


def test_batched_runs_take_one_lr_per_start():
    mixed = zigzag.run_article002_from([0.3, 0.3], lr=[0.3, 1.0], steps=40)
    for k, lr in enumerate((0.3, 1.0)):
        alone = zigzag.run_article002_from([0.3], lr=lr, steps=40)
        np.testing.assert_array_equal(mixed.weights[:, k], alone.weights[:, 0])
    assert mixed.subset(mixed.lrs == 1.0).weights.shape == (40, 1)
    np.testing.assert_array_equal(mixed.first(10).weights, mixed.weights[:10])


def test_every_start_in_U_minus1_1_ends_bouncing_in_the_same_band():
    """The claim 07 asserts for 50 seeds, over a grid that covers U(-1, 1) edge to edge."""
    runs = zigzag.run_article002_from(np.linspace(-1, 1, 201), steps=300)
    tail = runs.weights[-50:]
    assert tail.min() > 0.11 and tail.max() < 0.31
    assert runs.late_swing().min() > 0.1 and runs.flips(last=20).min() >= 10


def test_period_doubling_above_the_curvature_limit():
    """1 value below 2/L'', then a 2-cycle, a 4-cycle and no repeat at lr 1; the cycles are
    checked against the same map written out in float64."""
    lrs = [0.5, 0.75, 0.9, 1.0]
    runs = zigzag.run_article002_from([0.2] * 4, lr=lrs, steps=400)
    distinct = runs.distinct_late().tolist()
    assert distinct[:3] == [1, 2, 4] and distinct[3] > 10
    x, y = np.array(zigzag.ARTICLE002_X), np.array(zigzag.ARTICLE002_Y)
    for lr, expected in zip(lrs[:3], distinct[:3], strict=True):
        w, tail = 0.2, []
        for t in range(400):
            s = 1 / (1 + np.exp(-w * x))
            w -= lr * np.mean(2 * (s - y) * s * (1 - s) * x)
            if t >= 360:
                tail.append(round(w, 4))
        assert len(set(tail)) == expected


def test_tanh_curvature_and_minimum():
    x, y = np.array(zigzag.ARTICLE002_X), np.array(zigzag.ARTICLE002_Y)
    assert math.isclose(zigzag.curvature_autograd(0.0, "tanh"), 2 * np.mean(x**2), rel_tol=1e-12)
    w, loss, curv = zigzag.article002_minimum("tanh")
    grid = np.linspace(w - 0.02, w + 0.02, 401)
    assert curv > 0 and loss <= zigzag.article002_loss(grid, "tanh").min() + 1e-12
    assert math.isclose(loss, float(np.mean((np.tanh(w * x) - y) ** 2)), rel_tol=1e-9)
    assert loss < zigzag.article002_minimum()[1] / 10


def test_momentum_at_lr_1_fails_inside_its_local_stability_limit(minimum):
    """08's point: lr L''(w*) < 2(1 + beta), yet the run leaves the valley from most starts."""
    assert 1.0 * minimum[2] < 2 * (1 + zigzag.MOMENTUM)
    runs = zigzag.run_article002_many(range(40), "momentum")
    plateau = float(np.mean((1 - np.array(zigzag.ARTICLE002_Y)) ** 2))
    assert np.sum(np.abs(runs.final_losses - plateau) < 0.01) >= 35


def test_listing_momentum_keeps_no_sawtooth_and_spirals_in_at_sqrt_beta(minimum):
    """07's folded claim (issue 22): the listing as printed (momentum 0.9, lr 1) may still flip at
    step 100 from a start that lands near w*, but no start keeps a sawtooth by step 300, and the
    runs that settle shrink their swing by sqrt(beta) a step, the linearised heavy ball's modulus."""
    w_star, _, curv = minimum
    runs = zigzag.run_article002_from(np.linspace(-1, 1, 401), "momentum", steps=300)
    assert runs.flips(last=20).max() <= 5
    settled = np.abs(runs.final_weights - w_star) < 1e-4
    assert settled.sum() >= 1 and (runs.first(100).flips(last=20)[settled] >= 10).all()
    err = np.abs(runs.weights[:, settled] - w_star)
    shrink = (err[80:100].max(0) / err[40:60].max(0)) ** (1 / 40)
    np.testing.assert_allclose(shrink, math.sqrt(zigzag.MOMENTUM), atol=0.04)
    roots = np.roots([1, -(1 + zigzag.MOMENTUM - curv), zigzag.MOMENTUM])
    np.testing.assert_allclose(np.abs(roots), math.sqrt(zigzag.MOMENTUM), rtol=1e-9)


@pytest.mark.parametrize("w", [-1.0, 0.0, 0.163, 0.5, 1.0, 2.4])
def test_curvature_closed_form_equals_autograd(w):
    assert math.isclose(float(zigzag.curvature_closed_form(w)), zigzag.curvature_autograd(w),
                        rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.floats(-3, 3))
def test_curvature_closed_form_equals_autograd_anywhere(w):
    assert math.isclose(float(zigzag.curvature_closed_form(w)), zigzag.curvature_autograd(w),
                        rel_tol=1e-7, abs_tol=1e-10)


def test_minimum_is_a_minimum(minimum):
    w_star, loss, curv = minimum
    assert curv > 0 and abs(w_star - 0.1627) < 1e-3
    grid = np.linspace(w_star - 0.05, w_star + 0.05, 101)
    assert loss <= zigzag.article002_loss(grid).min() + 1e-12


@SLOW
@given(st.floats(0.1, 0.9))
def test_below_the_curvature_limit_the_run_converges(minimum, fraction):
    w_star, _, curv = minimum
    lr = fraction * zigzag.critical_lr(curv)
    run = zigzag.run_article002(lr=lr, steps=300)
    assert abs(run.weights[-1] - w_star) < 1e-3 and run.late_swing() < 1e-4


@SLOW
@given(st.floats(1.1, 1.45))
def test_above_the_curvature_limit_it_keeps_oscillating(minimum, factor):
    lr = factor * zigzag.critical_lr(minimum[2])
    assert zigzag.run_article002(lr=lr, steps=300).late_swing() > 1e-2


def test_critical_lr_and_bad_curvature():
    assert zigzag.critical_lr(4.0) == 0.5
    with pytest.raises(ValueError, match="curvature must be > 0"):
        zigzag.critical_lr(-1.0)


def test_direction_flips():
    assert zigzag.direction_flips(np.arange(10.0)) == 0
    assert zigzag.direction_flips(np.array([0, 1, 0, 1, 0.0])) == 3
    assert zigzag.direction_flips(np.array([0, 1, 1 + 1e-9, 1, 1.0])) == 0  # rounding is no move
    assert zigzag.direction_flips(np.array([[0, 0], [1, 1], [0, 0.5]])) == 1  # 2-D: dot < 0
    assert zigzag.direction_flips(np.array([[0, 0], [1, 1], [0, 2.0]])) == 0  # a right angle


@SLOW
@given(st.floats(0.2, 2.0), st.floats(0.02, 0.5), st.floats(0.0, 0.9), st.integers(0, 50))
def test_positive_inputs_always_give_same_sign_gradients(spread, lr, momentum, seed):
    inputs = zigzag.make_inputs("sigmoid", spread=spread, seed=seed)
    assert inputs.x.min() > 0
    run = zigzag.train_neuron(inputs, lr=lr, momentum=momentum, steps=200, seed=seed)
    assert run.same_sign == 1.0


def test_centred_inputs_share_a_sign_about_half_the_time_and_converge_faster():
    positive = zigzag.train_neuron(zigzag.make_inputs("sigmoid"))
    centred_inputs = zigzag.make_inputs("sigmoid", centring=1.0)
    centred = zigzag.train_neuron(centred_inputs)
    assert abs(centred_inputs.x.mean()) < 1e-12
    assert math.isclose((centred_inputs.x**2).mean(), (zigzag.make_inputs().x ** 2).mean())
    assert 0.35 < centred.same_sign < 0.7
    assert centred.steps_to_threshold < positive.steps_to_threshold / 3


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_hand_written_sgd_equals_torch_optim_sgd(momentum):
    inputs = zigzag.make_inputs("sigmoid", n=16)
    run = zigzag.train_neuron(inputs, lr=0.3, momentum=momentum, steps=40, seed=3)
    rng = np.random.default_rng(3)
    order = np.concatenate([rng.permutation(16) for _ in range(3)])[:40]
    w = torch.tensor(zigzag.W0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.3, momentum=momentum)
    x, y = torch.from_numpy(inputs.x), torch.from_numpy(inputs.y)
    for t, i in enumerate(order):
        opt.zero_grad()
        ((w @ x[i] - y[i]) ** 2).backward()
        opt.step()
        np.testing.assert_allclose(run.weights[t + 1], w.detach().numpy(), rtol=1e-10)


def test_loss_via_hessian_equals_the_mse():
    inputs = zigzag.make_inputs("tanh", seed=2)
    w = np.array([0.3, -2.0])
    assert math.isclose(float(inputs.loss(w)), float(np.mean((inputs.x @ w - inputs.y) ** 2)))


def test_batchnorm_inputs_are_standardised():
    x = zigzag.make_inputs(batchnorm=True).x
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(x.var(0), 1, atol=1e-3)


def test_divergence_is_reported_not_raised():
    run = zigzag.train_neuron(zigzag.make_inputs(), lr=3.0, steps=400)
    assert run.diverged_at is not None and run.final_loss == math.inf
    assert run.steps_to_threshold is None


def test_momentum_wins_on_an_ill_conditioned_problem_at_its_best_lr():
    inputs = zigzag.make_inputs("sigmoid", spread=0.3)
    lrs = np.geomspace(0.02, 2, 15).tolist()
    plain = zigzag.best_run(inputs, lrs, steps=2000)
    heavy = zigzag.best_run(inputs, lrs, momentum=0.9, steps=2000)
    assert inputs.condition_number > 50
    assert heavy.steps_to_threshold < plain.steps_to_threshold / 2


def test_run_neuron_maps_the_fixes():
    assert zigzag.run_neuron().same_sign == 1.0
    assert zigzag.run_neuron("tanh").same_sign < 0.7
    assert zigzag.run_neuron("momentum").momentum == zigzag.MOMENTUM


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: zigzag.run_article002("dropout"), r"fix must be None, one of \('batchnorm'"),
        (lambda: zigzag.run_article002(["tanh", "adam"]), "fix must be None"),
        (lambda: zigzag.run_article002(steps=0), "steps must be an integer >= 1"),
        (lambda: zigzag.run_article002(lr=0.0), "lr must be a finite number > 0"),
        (lambda: zigzag.run_article002(lr=-1.0), "lr must be a finite number > 0"),
        (lambda: zigzag.run_article002("momentum", momentum=1.0), r"momentum must be .* in \[0, 1\)"),
        (lambda: zigzag.make_inputs("relu"), r"activation must be one of \('sigmoid', 'tanh'\)"),
        (lambda: zigzag.make_inputs(centring=2.0), r"centring must be in \[0, 1\]"),
        (lambda: zigzag.train_neuron(zigzag.make_inputs(), lr=float("nan")), "lr must be"),
        (lambda: zigzag.run_neuron("sgd"), "fix must be None"),
        (lambda: zigzag.article002_loss(1.0, "relu"), "activation must be one of"),
        (lambda: zigzag.curvature_autograd(1.0, "relu"), "activation must be one of"),
        (lambda: zigzag.run_article002_from([]), "starts must list at least one"),
        (lambda: zigzag.run_article002_from([0.1, 0.2], lr=[0.5, -1.0]), "lr must be a finite number > 0"),
        (lambda: zigzag.run_article002_many([0], "dropout"), "fix must be None"),
        (lambda: widgets.zigzag_explorer(lr=5.0), r"lr must be a finite number in \[0.01, 2\]"),
        (lambda: widgets.fixes_explorer(momentum=1.0), r"momentum must be a finite number in \[0, 0.95\]"),
    ],
)
def test_bad_input_names_the_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- the 07/08 explorers ----------------------------------------------------------------------


def test_zigzag_explorer_draws_at_defaults_and_reacts():
    e = widgets.zigzag_explorer()
    assert e.png.startswith(b"\x89PNG") and "same-sign gradients 100%" in e.state["readout"]
    assert e._repr_mimebundle_()["text/plain"].startswith("Explorer: lr 0.200")
    before = e.png
    e.controls["centring"].value = 1.0
    assert e.png != before and "same-sign gradients 100%" not in e.state["readout"]
    e.controls["lr"].value = 1.9
    e.controls["momentum"].value = 0.9
    assert "diverged at step" in e.state["readout"]


def test_fixes_explorer_reproduces_the_seed_and_its_fixes():
    e = widgets.fixes_explorer()
    assert "no fix, lr 1.000: 8 direction flips" in e.state["readout"]
    e.controls["momentum"].value = 0.9
    assert "momentum" in e.state["readout"] and "final loss 0.164" in e.state["readout"]
    e.controls["momentum"].value = 0.0
    e.controls["batchnorm"].value = True
    assert "final loss 0.003" in e.state["readout"]


def test_batchnorm_makes_the_loss_blind_to_weight_scale_and_adds_a_bias():
    normed = [zigzag.article002_loss_at(w, "batchnorm") for w in (0.1, 1.0, 10.0)]
    plain = [zigzag.article002_loss_at(w) for w in (0.1, 1.0, 10.0)]
    assert np.ptp(normed) < 2e-3 < 0.1 < np.ptp(plain)
    _, _, best_affine = zigzag.article002_best_affine_loss()
    assert best_affine < zigzag.article002_minimum()[1] / 100
    assert zigzag.run_article002("batchnorm").final_loss > best_affine  # cannot beat the affine fit


# --- the worked solutions of 07/08's open exercises (helpers.exercises) ----------------------------


def test_half_centred_inputs_lie_between_the_two_ends():
    """07 exercise 2: centring 0.5 makes some inputs negative; share, shape and steps fall between."""
    runs = {c: (zigzag.make_inputs("sigmoid", centring=c), zigzag.train_neuron(
        zigzag.make_inputs("sigmoid", centring=c), lr=0.2, steps=400)) for c in (0.0, 0.5, 1.0)}
    (_, r0), (half, r5), (_, r1) = runs[0.0], runs[0.5], runs[1.0]
    assert half.x.min() < 0
    assert r1.same_sign < r5.same_sign < r0.same_sign == 1.0
    assert runs[1.0][0].condition_number < half.condition_number < runs[0.0][0].condition_number
    assert r1.steps_to_threshold < r5.steps_to_threshold < r0.steps_to_threshold


def test_two_starts_a_millionth_apart_meet_at_lr_075_and_part_at_lr_1():
    """07 exercise 3: the two-value bounce attracts both runs; at lr 1 the gap grows to the band."""
    gaps = {}
    for lr in (0.75, 1.0):
        runs = zigzag.run_article002_from([0.2, 0.2 + 1e-6], lr=lr, steps=300)
        gaps[lr] = np.abs(runs.weights[:, 0] - runs.weights[:, 1])
    assert gaps[0.75][49:].max() == 0.0
    assert gaps[1.0][[49, 99, 299]].min() > 0.01


def test_batchnorm_and_tanh_learn_through_gamma_and_beta():
    """08 exercise 3: after the first step flips the weight's sign, gamma and beta do the learning."""
    model = zigzag.article002_model(["batchnorm", "tanh"], seed=0)
    x = torch.tensor(zigzag.ARTICLE002_X).unsqueeze(1)
    y = torch.tensor(zigzag.ARTICLE002_Y).unsqueeze(1)
    weights = _plain_sgd_weights(model, x, y, lr=1.0)
    assert weights[0] > 0 > zigzag.article002_initial_weight(0)
    assert np.ptp(weights) < 1e-3 and abs(model[1].bias.item()) > 1.0
    assert float((model(x) - y).pow(2).mean().detach()) < zigzag.article002_minimum()[1] / 100
