"""helpers.residual and the residual explorer of notebook 10.

Protects: the branch inits are what their names say (stds against the closed forms of
kaiming_normal_, nanoGPT's formula written out here); zero-gated nets are exactly the
identity and only their gates get a gradient at the start; the stream grows as variance
addition predicts for each init; an overflow is reported, not raised; the explorer draws
at its defaults, redraws on every control, agrees with stream_profile, marks an overflow,
reuses its measurements and its frame, and rejects bad input naming the choices.
"""

import math

import numpy as np
import pytest
import torch

from helpers import residual, train, widgets


@pytest.mark.parametrize("branch_init,scale", [("he", 1.0), ("scaled", 1 / math.sqrt(8)),
                                               ("zero", 1.0)])
def test_branch_weight_stds(branch_init, scale):
    n = 256
    net = residual.residual_blocks(8, n, branch_init, seed=0)
    fc1 = torch.cat([b.fc1.weight.detach().flatten() for b in net])
    fc2 = torch.cat([b.fc2.weight.detach().flatten() for b in net])
    assert float(fc1.std()) == pytest.approx(math.sqrt(2 / n), rel=0.02)
    assert float(fc2.std()) == pytest.approx(scale / math.sqrt(n), rel=0.02)
    gates = [b.alpha for b in net]
    assert all(g is None for g in gates) if branch_init != "zero" else all(
        float(g.detach()) == 0.0 for g in gates)


def test_gpt2_residual_std_is_nanogpts():
    for n_layer in (1, 12, 48):
        assert residual.gpt2_residual_std(n_layer) == pytest.approx(0.02 * (2 * n_layer) ** -0.5)
    assert residual.branch_scale("scaled", 24) == pytest.approx(1 / math.sqrt(24))
    assert residual.branch_scale("he", 24) == 1.0


def test_zero_gate_is_the_identity_and_only_gates_learn_first():
    net = residual.residual_blocks(20, 32, "zero", seed=1)
    x = torch.randn(16, 32, generator=torch.Generator().manual_seed(0))
    out = net(x)
    assert torch.equal(out, x), "x + 0 * f(x) is exactly x"
    (out * torch.randn(16, 32)).sum().backward()
    for block in net:
        assert block.alpha.grad.abs() > 0
        assert float(block.fc1.weight.grad.abs().max()) == 0.0
        assert float(block.fc2.weight.grad.abs().max()) == 0.0


def test_predictions_are_variance_addition():
    assert residual.predicted_stream_std("he", False, 4) == pytest.approx(
        [1, 2**0.5, 2, 2**1.5, 4])
    assert residual.predicted_stream_std("he", True, 3) == pytest.approx([1, 2**0.5, 3**0.5, 2])
    assert residual.predicted_stream_std("scaled", False, 10)[-1] ** 2 == pytest.approx(1.1**10)
    assert residual.predicted_grad_std("he", False, 2) == pytest.approx([2, 2**0.5, 1])
    assert np.isnan(residual.predicted_grad_std("he", True, 3)).all()
    assert (residual.predicted_stream_std("zero", False, 5) == 1).all()


def test_stream_grows_as_predicted_for_each_init():
    he = residual.stream_profile(40, "he", seed=0)
    assert 1.75 < he.var_growth_per_block() < 2.25, "He branches double the variance per block"
    assert 1.75 < (he.grad_std[0] / he.grad_std[-1]) ** (2 / 40) < 2.25
    ln = residual.stream_profile(40, "he", layernorm=True, seed=0)
    assert (ln.forward_std[-1] / ln.forward_std[0]) ** 2 == pytest.approx(41, rel=0.25)
    sc = residual.stream_profile(40, "scaled", seed=0)
    assert (sc.forward_std[-1] / sc.forward_std[0]) ** 2 == pytest.approx(1.025**40, rel=0.3)
    zero = residual.stream_profile(40, "zero", seed=0)
    assert (zero.forward_std == zero.forward_std[0]).all()
    assert (zero.grad_std == zero.grad_std[-1]).all()
    assert he.overflow_block is None and he.grad_overflow_block is None


def test_overflow_is_reported_not_raised():
    st = residual.stream_profile(300, "he", width=32, batch=16, seed=0)
    assert st.overflow_block is not None and 200 < st.overflow_block <= 300
    assert np.isnan(st.forward_std[st.overflow_block:]).all()
    assert np.isfinite(st.forward_std[:st.overflow_block]).all()
    assert np.isnan(st.grad_std).all(), "nothing is back-propagated through an overflow"


def test_compare_training_pairs_runs_and_records_blowups():
    data = train.make_blobs(n_samples=200, seed=0)
    runs = residual.compare_training(data, [0, 1], depth=50, steps=3)
    assert runs.seeds == (0, 1) and set(runs.histories) == set(residual.BRANCH_INITS)
    assert runs.blew_up("he") == [True, True], "He branches at depth 50 give an inf loss at once"
    assert runs.blew_up("zero") == [False, False]
    assert all(math.isinf(x) for x in runs.tail_losses("he"))


def test_gpt2_stream_starts_at_the_embeddings_variance():
    v = residual.gpt2_stream_var(2, 128, seed=3)
    assert v.shape == (5,), "embeddings, then after each of the 2 branches of 2 blocks"
    assert v[0] == pytest.approx(2 * 0.02**2, rel=0.05), "token + position embeddings, std 0.02 each"
    assert np.array_equal(v, residual.gpt2_stream_var(2, 128, seed=3)), "seeded"


def test_gpt2_scaling_keeps_the_added_variance_independent_of_depth():
    """Issue 22: in GPT-2's pre-LN stream the 1/sqrt(2 n_layer) makes the total the branches add
    independent of the depth; unscaled, it grows with the depth (about 4x from 4 to 16 blocks)."""
    added = {(n, sc): float(np.ptp(residual.gpt2_stream_var(n, 64, scaled=sc, seq=16, seed=1)[[0, -1]]))
             for n in (4, 16) for sc in (True, False)}
    assert 0.75 < added[16, True] / added[4, True] < 1.33
    assert 3 < added[16, False] / added[4, False] < 6.5
    assert added[4, False] / added[4, True] == pytest.approx(8, rel=0.3), "2 n_layer = 8 times less each"


@pytest.mark.parametrize("call,match", [
    (lambda: residual.residual_blocks(3, 8, "fixup"), r"\('he', 'scaled', 'zero'\)"),
    (lambda: residual.stream_profile(0, "he"), "depth >= 1"),
    (lambda: residual.stream_profile(3, "he", batch=1), "batch"),
    (lambda: residual.gpt2_residual_std(0), "n_layer >= 1"),
    (lambda: residual.gpt2_stream_var(2, 100), "multiple of 64"),
    (lambda: residual.gpt2_stream_var(0, 64), "n_layer must be an integer >= 1"),
    (lambda: residual.compare_training(train.make_blobs(n_samples=40), [0], ("rezero",)),
     "must come from"),
    (lambda: widgets.residual_explorer(branch_init="fixup"), r"\('he', 'scaled', 'zero'\)"),
    (lambda: widgets.residual_explorer(depth=301), r"1\.\.300"),
])
def test_bad_input_names_the_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.fixture(scope="module")
def explorer():
    return widgets.residual_explorer(depth=20, width=32, batch=32)


def test_explorer_defaults_draw_a_static_figure():
    e = widgets.residual_explorer(depth=10, width=16, batch=16)
    bundle = e._repr_mimebundle_()
    assert e.png.startswith(b"\x89PNG") and len(e.png) > 5_000 and "image/png" in bundle
    assert bundle["text/plain"].startswith("Explorer: He branches, depth 10")


def test_explorer_controls_agree_with_stream_profile(explorer):
    e = explorer
    for b in residual.BRANCH_INITS:
        for ln in (False, True):
            e.set(branch_init=b, layernorm=ln)
            st = residual.stream_profile(20, b, ln, width=32, batch=32)
            assert e.state["final_std"] == pytest.approx(st.forward_std[-1] / st.forward_std[0])
            assert e.state["grad_ratio"] == pytest.approx(st.grad_std[0] / st.grad_std[-1])
            assert e.state["branch_init"] == b and e.state["layernorm"] == ln
    e.controls["layernorm"].value = False
    e.controls["branch_init"].value = "he"
    assert e.state["final_std"] > 100 and "×" in e.state["readout"]
    e.controls["branch_init"].value = "zero"
    assert e.state["final_std"] == 1.0 and "stream std ×1 " in e.state["readout"]


def test_explorer_marks_an_overflow(explorer):
    e = explorer
    e.set(branch_init="he", layernorm=False, depth=300)
    k = e.state["overflow_block"]
    assert k is not None and f"overflows to inf at block {k}" in e.state["readout"]
    lines = [line for ax in e.fig.axes for line in ax.get_lines()
             if line.get_linestyle() == "--" and line.get_visible() and line.get_xdata()[0] == k]
    assert len(lines) == 2, "both panels mark the block"
    e.controls["depth"].value = 20
    assert e.state["overflow_block"] is None


def test_explorer_reuses_measurements_and_its_frame(explorer):
    """Speed by construction: a revisited setting is not measured again, and a change that
    keeps the axes' ranges (scaled <-> zero) only blits the lines over the cached frame."""
    e = explorer
    e.set(depth=20, layernorm=False, branch_init="scaled")
    e.controls["branch_init"].value = "zero"
    misses = widgets._cached_stream.cache_info().misses
    before = e.png
    e.controls["branch_init"].value = "scaled"
    assert widgets._cached_stream.cache_info().misses == misses
    assert e.last_draw == "blit", "frame reused: only the dynamic artists were drawn"
    assert e.png != before


def test_stream_ratios_are_end_over_start():
    st = residual.stream_profile(6, "scaled", False, width=16, batch=8, seed=2)
    assert st.forward_ratio == pytest.approx(st.forward_std[-1] / st.forward_std[0])
    assert st.grad_ratio == pytest.approx(st.grad_std[0] / st.grad_std[-1])
    assert st.forward_ratio > 1, "a residual stream only adds: its std grows"


def test_notebook_10s_visible_loop_is_stream_profile():
    """10 shows the stream as a plain loop, x = x + fc2(relu(fc1(x))): what stream_profile measures."""
    net = residual.residual_blocks(12, 32, "he", seed=3)
    x = torch.randn(128, 32, generator=torch.Generator().manual_seed(3 + 7))
    stds = [x.std().item()]
    with torch.no_grad():
        for block in net:
            x = x + block.fc2(torch.relu(block.fc1(x)))
            stds.append(x.std().item())
    want = residual.stream_profile(12, "he", width=32, seed=3).forward_std
    np.testing.assert_allclose(stds, want, rtol=1e-5)
