"""The explorers' figures (helpers.panels): what each draw_* puts in its panel is the data given.

Each explorer (helpers.widgets) is wiring only: it computes, then hands the numbers to one of
these. These tests read the artists' data back, not pixels (test_widgets, test_blit and
test_explorer compare an explorer's blitted frames with full drawings). They also hold each
panel to its word on what moves (Panel.moving) and to the one table of blow-up words
(probe.EVENT_WORDS) and the one spectrum decision (isometry.spectrum).
"""

import math

import matplotlib

matplotlib.use("Agg")

import figure_reading as fr  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from helpers import isometry, panels, plots, probe, zigzag  # noqa: E402
from helpers.probe import Propagation  # noqa: E402
from helpers.residual import Stream  # noqa: E402


@pytest.fixture(autouse=True)
def _close_panels():
    """Panels build figures outside pyplot; close whatever pyplot holds too."""
    yield
    plt.close("all")


def _stream(fwd, grad, overflow=None, branch="he") -> Stream:
    fwd, grad = np.asarray(fwd, dtype=float), np.asarray(grad, dtype=float)
    return Stream(depth=len(fwd) - 1, branch_init=branch, layernorm=False, width=8,
                  forward_std=fwd, grad_std=grad, overflow_block=overflow,
                  grad_overflow_block=None)


def _record(**events) -> Propagation:
    """A hand-made 4-layer probe record, with the blow-up layers given (None otherwise)."""
    nan = math.nan
    fields = dict(overflow_layer=None, underflow_layer=None, grad_overflow_layer=None,
                  grad_underflow_layer=None) | events
    return Propagation(depth=4, width=5, activation="relu", init="fixed", std=10.0, param=None,
                       batch=2, batchnorm=False, seed=0,
                       forward_std=np.array([1.0, 10.0, nan, nan]), forward_mean=np.zeros(4),
                       grad_std=np.full(4, nan), hist=np.array([[5, 5], [2, 8], [0, 0], [0, 0]]),
                       edges=np.array([0.0, 1.0, 2.0]), saturated=None,
                       zero_fraction=np.array([0.5, 0.4, nan, nan]),
                       dead_units=np.array([0.0, 0.2, nan, nan]), **fields)


# --- every panel: a Panel whose moving artists are its own ---------------------------------------


def _every_panel():
    inputs = zigzag.make_inputs("sigmoid", seed=0)
    run = zigzag.train_neuron(inputs, lr=0.2, steps=5, seed=0)
    return {
        "uniform": panels.uniform_panel(),
        "preactivation": panels.preactivation_panel(),
        "propagation": panels.propagation_panels(),
        "zigzag": panels.zigzag_panels(zigzag.loss_grid(inputs), run.weights, run.losses, zigzag.W_STAR),
        "fixes": panels.fixes_panels(np.linspace(1, 2, 5), np.linspace(1, 0.1, 5)),
        "criticality": panels.criticality_panel(),
        "residual": panels.residual_panels(),
        "singular values": panels.singular_value_panel(),
    }


def _owner(artist):
    """The figure an artist is drawn in (an Axis through its axes)."""
    return artist.axes.figure if getattr(artist, "axes", None) is not None else artist.figure


def test_every_panel_names_moving_artists_of_its_own_figure_once():
    """Panel.moving is what an Explorer draws over its cached frame: every artist in it belongs
    to this figure (a stray one would be drawn into another figure's pixels) and none is listed
    twice (it would be drawn twice over itself)."""
    for name, panel in _every_panel().items():
        moving = panel.moving()
        assert moving, f"{name}: a panel with nothing moving would never change"
        assert all(_owner(a) is panel.fig for a in moving), name
        assert len({id(a) for a in moving}) == len(moving), name


def test_moving_follows_artists_a_draw_replaces():
    """draw_preactivation makes new shaded spans and draw_zigzag a new contour set: moving()
    is asked again at every drawing and lists the new ones, not the removed ones."""
    panel = panels.preactivation_panel()
    a = np.random.default_rng(0).normal(0, 3.0, 500)
    panels.draw_preactivation(panel.art, a, "tanh", 8.0, "t")
    first = list(panel.art["shaded"])
    panels.draw_preactivation(panel.art, a, "sigmoid", 8.0, "t")
    moving = panel.moving()
    assert all(p in moving for p in panel.art["shaded"]) and not any(p in moving for p in first)
    zz = _every_panel()["zigzag"]
    old = zz.art["contours"]
    panels.draw_zigzag(zz.art, np.zeros((3, 2)), np.ones(3), "p", "l",
                       grid=zigzag.loss_grid(zigzag.make_inputs("sigmoid", centring=1.0, seed=0)))
    assert zz.art["contours"] in zz.moving() and old not in zz.moving()


def test_draw_uniform_histograms_the_draws_against_the_density():
    fig, art, _ = panels.uniform_panel()
    x = np.random.default_rng(0).uniform(-1.0, 3.0, 4000)
    panels.draw_uniform(art, -1.0, 3.0, x, "a title", bins=20)
    values, edges, _ = art["stairs"].get_data()
    want, want_edges = np.histogram(x, bins=20, range=(-1.0, 3.0), density=True)
    assert np.allclose(values, want) and np.allclose(edges, want_edges)
    assert list(art["pdf"].get_ydata()) == [0, 0.25, 0.25, 0], "the density 1/(b - a) = 1/4"
    assert art["ax"].get_xlim() == pytest.approx((-1.4, 3.4)) and art["ax"].get_title() == "a title"
    assert art["note"].get_text() == ""


def test_draw_uniform_without_an_interval_says_so_and_hides_the_data():
    fig, art, _ = panels.uniform_panel()
    panels.draw_uniform(art, 1.0, 0.5, None, "no interval")
    assert not art["stairs"].get_visible() and not art["pdf"].get_visible()
    assert art["note"].get_text() == "need a < b (now a = 1.0, b = 0.5)"
    panels.draw_uniform(art, 0.0, 1.0, np.linspace(0, 1, 50), "back")
    assert art["stairs"].get_visible() and art["note"].get_text() == ""


def test_draw_preactivation_shades_saturation_once_per_redraw():
    fig, art, _ = panels.preactivation_panel()
    a = np.random.default_rng(1).normal(0, 2.0, 5000)
    panels.draw_preactivation(art, a, "tanh", 8.0, "t")
    first = len(art["ax"].patches)
    panels.draw_preactivation(art, a, "tanh", 8.0, "t")
    assert len(art["ax"].patches) == first, "old shading is removed, not stacked"
    values, edges, _ = art["stairs"].get_data()
    want, _ = np.histogram(a, bins=50, range=(-8.0, 8.0), density=True)
    assert np.allclose(values, want) and edges[0] == -8.0 and edges[-1] == 8.0
    assert art["ax"].get_ylim()[1] == pytest.approx(1.2 * want.max())


def test_zigzag_panels_move_the_path_and_cap_the_loss():
    inputs = zigzag.make_inputs("sigmoid", seed=0)
    grid = zigzag.loss_grid(inputs)
    run = zigzag.train_neuron(inputs, lr=0.2, steps=20, seed=0)
    fig, art, _ = panels.zigzag_panels(grid, run.weights, run.losses, zigzag.W_STAR)
    weights = np.column_stack([np.linspace(0, 1, 5), np.linspace(1, 2, 5)])
    losses = np.array([1e5, 10.0, 1.0, 0.1, 0.01])
    old = art["contours"]
    panels.draw_zigzag(art, weights, losses, "path", "loss")
    assert np.allclose(art["path"].get_xdata(), weights[:, 0])
    assert np.allclose(art["path"].get_ydata(), weights[:, 1])
    assert list(art["loss"].get_ydata()) == [1e3, 10.0, 1.0, 0.1, 0.01], "capped at the axis top 1e3"
    assert art["contours"] is old, "no new landscape: the contours stay"
    panels.draw_zigzag(art, weights, losses, "path", "loss", grid=grid)
    assert art["contours"] is not old and art["ax"].get_title() == "path"
    assert art["ax_loss"].get_title() == "loss"


def test_fixes_panels_keep_the_baseline_and_move_the_chosen_run():
    base_w, base_l = np.linspace(1, 2, 10), np.linspace(1, 0.1, 10)
    fig, art, _ = panels.fixes_panels(base_w, base_l)
    panels.draw_fixes(art, np.full(10, 3.0), np.full(10, 0.5), "w", "l")
    assert list(art["weight"].get_xdata()) == list(range(1, 11)) and set(art["weight"].get_ydata()) == {3.0}
    assert set(art["loss"].get_ydata()) == {0.5}
    baseline = [ln for ln in art["ax"].lines if ln is not art["weight"]]
    assert any(np.allclose(ln.get_ydata(), base_w) for ln in baseline), "the unfixed run stays drawn"
    assert art["ax"].get_ylim()[1] >= 3.0, "axes rescaled to the chosen run"


def test_draw_criticality_draws_measured_and_theory_per_layer():
    fig, art, _ = panels.criticality_panel()
    fwd, bwd = np.array([0.1, 0.2, 0.3]), np.array([-0.5, -1.0, -4.0])
    panels.draw_criticality(art, fwd, bwd, fwd * 0, bwd * 0.9, "title")
    assert list(art["fwd"].get_xdata()) == [1, 2, 3] and np.allclose(art["bwd"].get_ydata(), bwd)
    assert np.allclose(art["bwd_theory"].get_ydata(), bwd * 0.9)
    assert art["ax"].get_ylim() == pytest.approx((-4.3, 1.3)), "at least one decade either side of 0"
    assert art["ax"].get_xlim() == (0, 4)


def test_freeze_layout_keeps_the_drawn_layout_and_drops_minor_log_ticks():
    fig, (ax, ax_log) = plots.new_figure(1, 2)
    ax_log.semilogy([1, 2], [1, 100])
    fig.canvas.draw()
    before = ax.get_position().bounds
    panels.freeze_layout(fig)
    assert type(fig.get_layout_engine()).__name__ in ("NoneType", "PlaceHolderLayoutEngine")
    ax.set_title("a much longer title than before " * 3)
    fig.canvas.draw()
    assert ax.get_position().bounds == before, "no re-layout after freezing"
    assert len(ax_log.yaxis.get_minor_locator()()) == 0


# --- 04: the propagation panels ------------------------------------------------------------------


def test_propagation_panels_start_empty_with_a_log_colour_scale():
    """Three panels: the histogram image on LogNorm(1e-4, 1), forward and gradient std on a log
    axis (empty), the % panel from -3 to 103; the blow-up markers hidden."""
    fig, art, _ = panels.propagation_panels()
    ax_h, ax_s, ax_f = art["axes"]
    norm = art["image"].norm
    assert isinstance(norm, LogNorm) and (norm.vmin, norm.vmax) == (1e-4, 1)
    assert ax_s.get_yscale() == "log" and ax_f.get_ylim() == (-3, 103)
    for key in ("fwd", "grad", "zeros", "nans", "frac", "dead"):
        assert len(art[key].get_xdata()) == 0
    assert not any(line.get_visible() for line in art["lines"]) and art["event"].get_text() == ""
    assert fr.legend_texts(ax_s) == ["forward std of h", "gradient std dL/dh", "exactly 0", "inf / NaN"]


def test_propagation_panels_show_an_overflow_where_it_happened():
    """Filled by draw_propagation with a hand-made record that overflows at layer 3: the std
    line stops at layer 2, crosses sit at the top for the NaN stds, every panel is marked at
    layer 3 and the message says so; the image rows past the overflow are missing (NaN)."""
    fig, art, _ = panels.propagation_panels()
    rec = _record(overflow_layer=3, grad_overflow_layer=4)
    assert panels.draw_propagation(art, rec, "relu, std 10") == 3
    np.testing.assert_array_equal(fr.xy(art["fwd"])[1][:2], [1.0, 10.0])
    assert np.isnan(fr.xy(art["fwd"])[1][2:]).all()
    x_nan, y_nan = fr.xy(art["nans"])
    assert sorted(x_nan) == [1, 2, 3, 3, 4, 4] and np.all(y_nan == art["axes"][1].get_ylim()[1])
    np.testing.assert_allclose(fr.xy(art["frac"])[1][:2], [50, 40])
    np.testing.assert_allclose(fr.xy(art["dead"])[1][:2], [0, 20])
    assert all(line.get_visible() and line.get_xdata()[0] == 3 for line in art["lines"])
    assert art["event"].get_text() == "inf/NaN from layer 3"
    share = np.asarray(art["image"].get_array(), dtype=float)  # bins x layers
    np.testing.assert_allclose(share[:, :2], [[0.5, 0.2], [0.5, 0.8]])
    assert np.isnan(share[:, 2:]).all()


# --- 10: the residual panels --------------------------------------------------------------------


def test_residual_panels_start_empty_on_log_axes():
    fig, art, _ = panels.residual_panels()
    ax_f, ax_g = art["axes"]
    assert ax_f.get_yscale() == ax_g.get_yscale() == "log"
    for key in ("fwd", "grad", "fwd_theory", "grad_theory"):
        assert len(art[key].get_xdata()) == 0
    assert not any(line.get_visible() for line in art["lines"])
    assert fr.legend_texts(ax_f) == ["measured", "Var addition (theory)"]
    assert art["title"].get_text() == ""


def test_draw_residual_draws_the_stream_and_its_prediction_in_place():
    """No overflow: measured lines are the Stream's stds, predictions are fwd[0] * theory_fwd and
    grad[-1] * theory_grad, nothing is marked, x limits snap to a RESIDUAL_SPANS value."""
    fig, art, _ = panels.residual_panels()
    st = _stream([1.0, 1.4, 2.0, 2.8], [4.0, 2.8, 2.0, 1.5])
    theory_f, theory_g = [1.0, 2**0.5, 2.0, 2**1.5], [2**1.5, 2.0, 2**0.5, 1.0]
    assert panels.draw_residual(art, st, theory_f, theory_g, "He, depth 3") is None
    np.testing.assert_array_equal(fr.xy(art["fwd"])[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(fr.xy(art["fwd"])[1], st.forward_std)
    np.testing.assert_array_equal(fr.xy(art["grad"])[1], st.grad_std)
    np.testing.assert_allclose(fr.xy(art["fwd_theory"])[1], 1.0 * np.array(theory_f))
    np.testing.assert_allclose(fr.xy(art["grad_theory"])[1], 1.5 * np.array(theory_g))
    assert not art["event"].get_visible() and not any(line.get_visible() for line in art["lines"])
    assert art["axes"][0].get_xlim() == (0, 10) and art["title"].get_text() == "He, depth 3"
    lo, hi = art["axes"][0].get_ylim()
    assert lo <= 1.0 and hi >= 2.8 * 2 and hi in panels.RESIDUAL_TOPS


def test_draw_residual_marks_the_block_where_the_stream_overflows():
    """An overflow at block 2: both panels marked at x = 2, the message names the block, the
    gradient panel says there is none, and a prediction past float32's range is not drawn."""
    fig, art, _ = panels.residual_panels()
    st = _stream([1.0, 1e20, np.nan, np.nan], [np.nan] * 4, overflow=2)
    theory_f = [1.0, 1e20, 1e40, 1e60]
    assert panels.draw_residual(art, st, theory_f, np.ones(4)) == 2
    assert all(line.get_visible() and list(line.get_xdata()) == [2, 2] for line in art["lines"])
    assert art["event"].get_visible() and art["event"].get_text() == "stream overflows to inf\nat block 2"
    assert art["note"].get_visible() and "no gradient" in art["note"].get_text()
    drawn = fr.xy(art["fwd_theory"])[1]
    np.testing.assert_array_equal(drawn[:2], [1.0, 1e20])
    assert np.isnan(drawn[2:]).all(), "1e40 is past float32: left out, as the measurement is"


# --- 11: the singular-value panel -------------------------------------------------------------


def test_singular_value_panel_starts_as_a_log_axis_histogram():
    fig, art, _ = panels.singular_value_panel()
    ax = art["ax"]
    assert ax.get_xscale() == "log" and ax.get_ylim() == (0, 1.05)
    assert 1.0 in fr.vlines(ax), "isometry reference at s = 1"
    assert fr.legend_texts(ax) == ["singular values", "below float64 resolution (lost)", "isometry: s = 1"]
    assert art["note"].get_text() == "" and art["headline"].get_text() == ""


def test_draw_singular_values_puts_each_value_in_its_bar_and_the_lost_ones_apart():
    """4 singular values, one below the float64 floor (isometry.RESOLUTION = 1e-12 x the largest):
    bars hold fractions of all 4 (two 1s in
    the bin from 1, one 0.1 in the bin from 0.1, ten bins a decade), the hatched bar 1/4 just
    below the floor 1e-12, the floor line drawn there; no message."""
    fig, art, _ = panels.singular_value_panel()
    s = np.array([1.0, 1.0, 0.1, 1e-15])
    panels.draw_singular_values(art, isometry.spectrum(s), "orthogonal: 25% lost")
    values, edges, _ = art["kept"].get_data()
    np.testing.assert_allclose(np.diff(np.log10(edges)), 0.1, atol=1e-9)
    assert edges[0] <= 10.0 ** panels.SV_DECADES[0] and edges[-1] >= 10.0 ** panels.SV_DECADES[1]
    assert values.sum() == pytest.approx(0.75)
    assert values[np.searchsorted(edges, 1.0, side="right") - 1] == pytest.approx(0.5)
    assert values[np.searchsorted(edges, 0.1 * (1 + 1e-9), side="right") - 1] == pytest.approx(0.25)
    lost, lost_edges, _ = art["lost"].get_data()
    np.testing.assert_allclose(lost, [0.25])
    np.testing.assert_allclose(lost_edges, [1e-13, 1e-12])
    assert art["lost"].get_visible() and art["floor"].get_visible()
    np.testing.assert_allclose(art["floor"].get_xdata(), [1e-12, 1e-12])
    assert art["headline"].get_text() == "orthogonal: 25% lost" and art["note"].get_text() == ""


def test_draw_singular_values_hides_the_lost_bar_when_nothing_is_lost():
    fig, art, _ = panels.singular_value_panel()
    panels.draw_singular_values(art, isometry.spectrum(np.array([2.0, 1.0, 0.5])), "h")
    values, _, _ = art["kept"].get_data()
    assert values.sum() == pytest.approx(1.0)
    assert not art["lost"].get_visible() and not art["floor"].get_visible()


@pytest.mark.parametrize("s,words", [
    (np.array([1.0, math.inf, 0.5]), "overflowed (inf/NaN)"),
    (np.array([1.0, math.nan]), "overflowed (inf/NaN)"),
    (np.array([]), "overflowed (inf/NaN)"),
    (np.zeros(3), "every singular value is 0"),
])
def test_draw_singular_values_says_why_there_is_no_spectrum(s, words):
    """Non-finite, empty or all-zero s: no exception, the bars hidden, isometry.spectrum's
    message in the plot (the explorer's readout says the same), the x axis back on the default
    decades."""
    fig, art, _ = panels.singular_value_panel()
    spectrum = isometry.spectrum(s)
    panels.draw_singular_values(art, spectrum, "deep tanh")
    assert words in spectrum.message and art["note"].get_text() == spectrum.message
    assert not any(art[k].get_visible() for k in ("kept", "lost", "floor"))
    assert art["ax"].get_xlim() == pytest.approx(tuple(10.0**d for d in panels.SV_DECADES))
    assert art["headline"].get_text() == "deep tanh"


@pytest.mark.parametrize("event, layer", [("overflow_layer", 3), ("underflow_layer", 2),
                                          ("grad_overflow_layer", 4), ("grad_underflow_layer", 2)])
def test_the_marked_layer_is_labelled_in_probes_words(event, layer):
    """The label at the marked layer is the figure's column of probe.EVENT_WORDS (one table for
    the figure, probe.diagnose and probe.headline), for each event alone."""
    fig, art, _ = panels.propagation_panels()
    assert panels.draw_propagation(art, _record(**{event: layer}), "t") == layer
    assert art["event"].get_text() == probe.EVENT_WORDS[event][2].format(layer)
    assert all(line.get_visible() and line.get_xdata()[0] == layer for line in art["lines"])


def test_event_words_say_inf_nan_for_every_overflow_and_name_the_layer():
    """Every wording of an overflow says inf/NaN, except the headline's few words for a
    gradient (a title's every glyph costs redraw time); every wording has a slot for the layer."""
    assert set(probe.EVENT_WORDS) == set(probe.EVENTS)
    for event, words in probe.EVENT_WORDS.items():
        assert len(words) == 3 and all("{}" in w for w in words), event
    assert all("inf/NaN" in w for w in probe.EVENT_WORDS["overflow_layer"])
    diagnose, _, label = probe.EVENT_WORDS["grad_overflow_layer"]
    assert "inf/NaN" in diagnose and "inf/NaN" in label
