"""The explorers' figures (helpers.plots *_panel / draw_*): what is drawn is the data given.

Each explorer of notebooks 00-02 and 07-09 is wiring only: it computes, then hands the numbers
to one of these. These tests read the artists' data back, not pixels.
"""

import matplotlib
import numpy as np
import pytest

from helpers import plots, zigzag

matplotlib.use("Agg")


def test_draw_uniform_histograms_the_draws_against_the_density():
    fig, art = plots.uniform_panel()
    x = np.random.default_rng(0).uniform(-1.0, 3.0, 4000)
    plots.draw_uniform(art, -1.0, 3.0, x, "a title", bins=20)
    values, edges, _ = art["stairs"].get_data()
    want, want_edges = np.histogram(x, bins=20, range=(-1.0, 3.0), density=True)
    assert np.allclose(values, want) and np.allclose(edges, want_edges)
    assert list(art["pdf"].get_ydata()) == [0, 0.25, 0.25, 0], "the density 1/(b - a) = 1/4"
    assert art["ax"].get_xlim() == pytest.approx((-1.4, 3.4)) and art["ax"].get_title() == "a title"
    assert art["note"].get_text() == ""


def test_draw_uniform_without_an_interval_says_so_and_hides_the_data():
    fig, art = plots.uniform_panel()
    plots.draw_uniform(art, 1.0, 0.5, None, "no interval")
    assert not art["stairs"].get_visible() and not art["pdf"].get_visible()
    assert art["note"].get_text() == "need a < b (now a = 1.0, b = 0.5)"
    plots.draw_uniform(art, 0.0, 1.0, np.linspace(0, 1, 50), "back")
    assert art["stairs"].get_visible() and art["note"].get_text() == ""


def test_draw_preactivation_shades_saturation_once_per_redraw():
    fig, art = plots.preactivation_panel()
    a = np.random.default_rng(1).normal(0, 2.0, 5000)
    plots.draw_preactivation(art, a, "tanh", 8.0, "t")
    first = len(art["ax"].patches)
    plots.draw_preactivation(art, a, "tanh", 8.0, "t")
    assert len(art["ax"].patches) == first, "old shading is removed, not stacked"
    values, edges, _ = art["stairs"].get_data()
    want, _ = np.histogram(a, bins=50, range=(-8.0, 8.0), density=True)
    assert np.allclose(values, want) and edges[0] == -8.0 and edges[-1] == 8.0
    assert art["ax"].get_ylim()[1] == pytest.approx(1.2 * want.max())


def test_zigzag_panels_move_the_path_and_cap_the_loss():
    inputs = zigzag.make_inputs("sigmoid", seed=0)
    grid = zigzag.loss_grid(inputs)
    run = zigzag.train_neuron(inputs, lr=0.2, steps=20, seed=0)
    fig, art = plots.zigzag_panels(grid, run.weights, run.losses, zigzag.W_STAR)
    weights = np.column_stack([np.linspace(0, 1, 5), np.linspace(1, 2, 5)])
    losses = np.array([1e5, 10.0, 1.0, 0.1, 0.01])
    old = art["contours"]
    plots.draw_zigzag(art, weights, losses, "path", "loss")
    assert np.allclose(art["path"].get_xdata(), weights[:, 0])
    assert np.allclose(art["path"].get_ydata(), weights[:, 1])
    assert list(art["loss"].get_ydata()) == [1e3, 10.0, 1.0, 0.1, 0.01], "capped at the axis top 1e3"
    assert art["contours"] is old, "no new landscape: the contours stay"
    plots.draw_zigzag(art, weights, losses, "path", "loss", grid=grid)
    assert art["contours"] is not old and art["ax"].get_title() == "path"
    assert art["ax_loss"].get_title() == "loss"


def test_fixes_panels_keep_the_baseline_and_move_the_chosen_run():
    base_w, base_l = np.linspace(1, 2, 10), np.linspace(1, 0.1, 10)
    fig, art = plots.fixes_panels(base_w, base_l)
    plots.draw_fixes(art, np.full(10, 3.0), np.full(10, 0.5), "w", "l")
    assert list(art["weight"].get_xdata()) == list(range(1, 11)) and set(art["weight"].get_ydata()) == {3.0}
    assert set(art["loss"].get_ydata()) == {0.5}
    baseline = [ln for ln in art["ax"].lines if ln is not art["weight"]]
    assert any(np.allclose(ln.get_ydata(), base_w) for ln in baseline), "the unfixed run stays drawn"
    assert art["ax"].get_ylim()[1] >= 3.0, "axes rescaled to the chosen run"


def test_draw_criticality_draws_measured_and_theory_per_layer():
    fig, art = plots.criticality_panel()
    fwd, bwd = np.array([0.1, 0.2, 0.3]), np.array([-0.5, -1.0, -4.0])
    plots.draw_criticality(art, fwd, bwd, fwd * 0, bwd * 0.9, "title")
    assert list(art["fwd"].get_xdata()) == [1, 2, 3] and np.allclose(art["bwd"].get_ydata(), bwd)
    assert np.allclose(art["bwd_theory"].get_ydata(), bwd * 0.9)
    assert art["ax"].get_ylim() == pytest.approx((-4.3, 1.3)), "at least one decade either side of 0"
    assert art["ax"].get_xlim() == (0, 4)


def test_freeze_layout_keeps_the_drawn_layout_and_drops_minor_log_ticks():
    fig, (ax, ax_log) = plots.new_figure(1, 2)
    ax_log.semilogy([1, 2], [1, 100])
    fig.canvas.draw()
    before = ax.get_position().bounds
    plots.freeze_layout(fig)
    assert type(fig.get_layout_engine()).__name__ in ("NoneType", "PlaceHolderLayoutEngine")
    ax.set_title("a much longer title than before " * 3)
    fig.canvas.draw()
    assert ax.get_position().bounds == before, "no re-layout after freezing"
    assert len(ax_log.yaxis.get_minor_locator()()) == 0
