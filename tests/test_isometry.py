"""helpers.isometry and the isometry explorer of notebook 11.

Protects: the composed Jacobian equals torch.autograd's, at every depth of one pass; orthogonal
weights are orthogonal and Gaussian ones have Var = 1/width; closed forms (a linear orthogonal net
has every singular value sigma_w^L; a ReLU Jacobian's rank is at most its last layer's active
units; critical Gaussian weights keep the mean squared singular value at 1 on average); the spread
statistic on hand-made spectra; a mirrored (looks-linear) ReLU net is an exact isometry, computes
the product of its Q's, and stops being one when a twin's sign is broken; the orderings the
notebook teaches; the explorer driven through its controls (readout = an independent computation,
overflow = a message, not a crash, blitted frame = full redraw); bad input raises ValueError
naming the choices.
"""

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import isometry, plots, widgets
from helpers.exercises import ex


@pytest.mark.parametrize("activation", isometry.ACTIVATIONS)
@pytest.mark.parametrize("weights", isometry.WEIGHTS)
def test_jacobian_equals_autograd_at_every_depth(activation, weights):
    stack = isometry.weight_stack(weights, 24, 6, seed=1)
    x = isometry.input_vector(24, 0.7, seed=1)
    jacs = isometry.jacobian(stack, activation, x, 1.2, depths=(1, 3, 6))
    for d, jac in jacs.items():
        ref = torch.autograd.functional.jacobian(isometry.network(stack[:d], activation, 1.2), x)
        assert torch.allclose(jac, ref, atol=1e-12), (activation, weights, d)


def test_weight_stacks_are_orthogonal_or_have_variance_one_over_width():
    q = isometry.weight_stack("orthogonal", 64, 5, seed=0)
    eye = torch.eye(64, dtype=torch.float64)
    assert all(torch.allclose(w @ w.T, eye, atol=1e-12) for w in q)
    g = isometry.weight_stack("gaussian", 64, 50, seed=0)
    assert g.dtype == torch.float64 and g.shape == (50, 64, 64)
    assert float(g.var()) * 64 == pytest.approx(1.0, rel=0.01)
    assert not torch.equal(q[0], q[1]), "each layer gets its own matrix"


@pytest.mark.parametrize("scale,depth", [(1.0, 50), (1.3, 10), (0.7, 20)])
def test_linear_orthogonal_net_is_an_exact_scaled_isometry(scale, depth):
    s = isometry.singular_values("linear", "orthogonal", (depth,), width=32, weight_scale=scale)[depth]
    assert np.allclose(s, scale**depth, rtol=1e-10)
    assert isometry.spread(s).decades < 1e-9 and isometry.spread(s).lost == 0


def test_relu_jacobian_rank_is_at_most_the_active_units():
    stack = isometry.weight_stack("orthogonal", 64, 4, seed=3)
    x = isometry.input_vector(64, 1.0, seed=3)
    h = x
    for w in stack:
        pre = math.sqrt(2) * (w @ h)
        h = torch.relu(pre)
    active = int((pre > 0).sum())
    s = isometry.singular_values("relu", "orthogonal", (4,), width=64, weight_scale=math.sqrt(2),
                                 input_std=1.0, seed=3)[4]
    assert int((s > s.max() * isometry.RESOLUTION).sum()) <= active
    assert isometry.spread(s).lost >= 1 - active / 64


def test_relu_and_linear_jacobians_do_not_depend_on_the_input_scale():
    """Positively homogeneous activations: phi(c h) = c phi(h), so D_l (and J) ignore the scale."""
    for act in ("relu", "linear"):
        a, b = (isometry.singular_values(act, "gaussian", (7,), width=32, input_std=std, seed=2)[7]
                for std in (0.05, 2.0))
        assert np.allclose(a, b, rtol=1e-9, atol=1e-14 * a.max())


def test_critical_gaussian_weights_keep_the_mean_square_singular_value_at_one():
    means = [np.mean(isometry.singular_values("linear", "gaussian", (3,), width=64, seed=k)[3] ** 2)
             for k in range(20)]
    assert np.mean(means) == pytest.approx(1.0, abs=0.05)


def test_spread_on_hand_made_spectra():
    flat = isometry.spread(np.full(100, 0.5))
    assert flat.decades == 0 and flat.lost == 0 and flat.median == 0.5 and not flat.at_floor
    wide = isometry.spread(np.logspace(0, -4, 101))  # s_max 1, 5th percentile 10^-3.8
    assert wide.decades == pytest.approx(3.8) and wide.kept_decades == pytest.approx(3.8)
    half = isometry.spread(np.r_[np.ones(50), np.zeros(50)])
    assert half.lost == 0.5 and half.at_floor and half.decades == pytest.approx(12.0)
    assert half.kept_decades == 0
    assert not isometry.spread(np.array([1.0, np.nan])).finite
    assert not isometry.spread(np.array([])).finite
    assert isometry.spread(np.zeros(4)).lost == 1.0


def test_spectrum_splits_at_the_float64_floor_and_says_why_there_is_none():
    """isometry.spectrum is the one decision the explorer's figure and readout share: kept above
    RESOLUTION x the largest, lost at or below it, and a named problem (overflow, all zero)
    with its NO_SPECTRUM words instead of a split."""
    sp = isometry.spectrum(np.array([2.0, 1.0, 2e-12, 1e-15]))
    assert sp.top == 2.0 and sp.floor == pytest.approx(2.0 * isometry.RESOLUTION) and sp.size == 4
    np.testing.assert_array_equal(sp.kept, [2.0, 1.0])
    np.testing.assert_array_equal(sp.lost, [2e-12, 1e-15])
    assert sp.problem is None and sp.message == ""
    for s, problem in ((np.array([1.0, np.inf]), "overflow"), (np.array([]), "overflow"),
                       (np.zeros(3), "zero")):
        sp = isometry.spectrum(s)
        assert sp.problem == problem and sp.message == isometry.NO_SPECTRUM[problem]
        assert sp.kept.size == sp.lost.size == 0
    assert isometry.spread(np.zeros(3)).lost == 1.0 and not isometry.spread(np.array([np.nan])).finite


def test_the_orderings_notebook_11_teaches():
    depths = (1, 10, 30)
    table = isometry.spread_table(depths, width=64, seed=4)
    dec = {k: [s.decades for s in v] for k, v in table.items()}
    assert max(dec["tanh", "orthogonal"]) < 0.3
    assert dec["tanh", "gaussian"][0] < dec["tanh", "gaussian"][1] < 12.0 <= dec["tanh", "gaussian"][2] + 1e-9
    assert all(s.lost > 0.3 for w in isometry.WEIGHTS for s in table["relu", w])


def test_looks_linear_net_is_an_exact_isometry_and_equals_autograd():
    stack = isometry.looks_linear_stack(16, 12, seed=5)
    assert [tuple(w.shape) for w in (stack[0], stack[1], stack[-1])] == [(32, 16), (32, 32), (16, 32)]
    assert len(stack) == 13
    x = isometry.input_vector(16, 1.0, seed=5)
    jac = isometry.looks_linear_jacobian(stack, x)
    ref = torch.autograd.functional.jacobian(lambda v: stack[-1] @ isometry.network(stack[:-1], "relu")(v), x)
    assert torch.allclose(jac, ref, atol=1e-12)
    assert np.allclose(torch.linalg.svdvals(jac).numpy(), 1.0, atol=1e-12)


def test_looks_linear_net_computes_the_product_of_its_orthogonal_blocks():
    """relu(u) - relu(-u) = u: the net is the linear map Q_R Q_L ... Q_1, independently rebuilt here."""
    width, depth = 8, 5
    q = isometry.weight_stack("orthogonal", width, depth + 1, seed=2)
    product = torch.eye(width, dtype=torch.float64)
    for w in q:
        product = w @ product
    stack = isometry.looks_linear_stack(width, depth, seed=2)
    x = isometry.input_vector(width, 1.0, seed=2)
    assert torch.allclose(stack[-1] @ isometry.network(stack[:-1], "relu")(x), product @ x, atol=1e-12)
    assert torch.allclose(isometry.looks_linear_jacobian(stack, x), product, atol=1e-12)
    assert float(stack[1].var()) * 2 * width == pytest.approx(2.0, rel=0.01), "He's Var = 2 / fan_in"


def test_looks_linear_isometry_needs_the_mirror():
    """Flip one hidden layer's lower-right block: the twins no longer cancel, the isometry is gone."""
    stack = isometry.looks_linear_stack(16, 6, seed=1)
    w = stack[3].clone()
    w[16:, 16:] *= -1
    broken = stack[:3] + [w] + stack[4:]
    s = torch.linalg.svdvals(isometry.looks_linear_jacobian(broken, isometry.input_vector(16, 1.0, 1)))
    assert float(s.max() / s.min()) > 1.5


def test_looks_linear_bad_input():
    with pytest.raises(ValueError, match="depth"):
        isometry.looks_linear_stack(8, 0)
    with pytest.raises(ValueError, match="width"):
        isometry.looks_linear_jacobian(isometry.looks_linear_stack(8, 2), isometry.input_vector(6))


@pytest.mark.parametrize("call,match", [
    (lambda: isometry.weight_stack("uniform", 8, 2), "orthogonal"),
    (lambda: isometry.singular_values("gelu", "gaussian", (2,)), "tanh"),
    (lambda: isometry.weight_stack("gaussian", 8, 0), "depth"),
    (lambda: isometry.input_vector(8, -1.0), "input_std"),
    (lambda: isometry.network(isometry.weight_stack("gaussian", 8, 2), "relu", float("nan")), "weight_scale"),
    (lambda: isometry.jacobian(isometry.weight_stack("gaussian", 8, 2), "relu",
                               isometry.input_vector(8), depths=(3,)), "depths"),
    (lambda: widgets.isometry_explorer(weights="uniform"), "orthogonal"),
    (lambda: widgets.isometry_explorer(activation="sigmoid"), "tanh"),
    (lambda: widgets.isometry_explorer(depth=0), "depth"),
    (lambda: widgets.isometry_explorer(weight_scale=5.0), "weight_scale"),
    (lambda: plots.plot_spread_vs_depth(None, (1,), {}, field="std"), "decades"),
])
def test_bad_input_names_the_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- the explorer -------------------------------------------------------------------------------


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)


@pytest.fixture(scope="module")
def explorer():
    return widgets.isometry_explorer(depth=20, width=64)


def test_defaults_draw_the_static_figure_and_a_text_fallback():
    e = widgets.isometry_explorer()
    bundle = e._repr_mimebundle_()
    assert "image/png" in bundle and _pixels(e.png).std() > 10
    assert bundle["text/plain"].startswith("Explorer: tanh, orthogonal, σ_w = 1.00, depth 50")
    assert e.state["decades"] < 0.3 and e.state["lost"] == 0


def test_every_control_redraws_and_the_readout_is_the_spread(explorer):
    e = explorer
    for name, value in [("depth", 30), ("weights", "gaussian"), ("input_std", 1.0),
                        ("activation", "relu"), ("weight_scale", 1.41), ("activation", "linear")]:
        before = e.png
        e.controls[name].value = value
        assert e.png != before and e.state[name] == value, name
    s = isometry.singular_values("linear", "gaussian", (30,), width=64, weight_scale=1.41,
                                 input_std=1.0, seed=0)[30]
    want = isometry.spread(s)
    assert e.state["decades"] == pytest.approx(want.decades) and e.state["lost"] == pytest.approx(want.lost)
    assert f"{want.lost:.0%} of directions lost" in e.state["readout"]


def test_relu_shows_lost_directions_and_orthogonal_tanh_does_not(explorer):
    e = explorer
    e.set(depth=10, weights="orthogonal", activation="relu", weight_scale=1.41, input_std=0.1)
    assert e.state["lost"] > 0.3 and e.state["at_floor"] and "at least" in e.state["readout"]
    e.controls["activation"].value = "tanh"
    e.controls["weight_scale"].value = 1.0
    assert e.state["lost"] == 0 and e.state["decades"] < 0.3


def test_overflow_and_empty_spectra_are_messages_not_crashes(monkeypatch):
    e = widgets.isometry_explorer(depth=5, width=32)
    monkeypatch.setattr(isometry, "svd_or_nan", lambda jac: np.full(32, np.nan))
    e.controls["depth"].value = 6
    assert "overflowed" in e.state["message"] and "overflowed" in e.state["readout"]
    assert _pixels(e.png).std() > 10
    monkeypatch.setattr(isometry, "svd_or_nan", lambda jac: np.zeros(32))
    e.controls["depth"].value = 7
    assert "every singular value is 0" in e.state["message"]
    monkeypatch.undo()
    e.controls["depth"].value = 8
    assert e.state["message"] == "" and e.state["decades"] < 1


def test_blitted_frames_equal_a_full_redraw():
    fast, full = widgets.isometry_explorer(width=64), widgets.isometry_explorer(width=64)
    for setting in [{"depth": 51}, {"weights": "gaussian"}, {"activation": "relu", "depth": 12},
                    {"weight_scale": 1.2}]:
        for e in (fast, full):
            e.set(**setting)
        a, b = _pixels(fast.png), _pixels(full.full_png())
        assert a.shape == b.shape and (a != b).sum() == 0, f"blit differs from a full draw at {setting}"


def test_open_exercise_has_a_worked_solution_and_reports_the_starter(capsys):
    """Notebook 11's open exercise 3: an untouched starter is "not attempted"; .solution() shows the run."""
    assert ex.chaotic_isometry.result(...).status == "not attempted"
    assert ex.chaotic_isometry.result("the spread grows").status == "answered"
    ex.chaotic_isometry.solution()
    assert "weight_scale=sw" in capsys.readouterr().out
