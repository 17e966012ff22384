"""helpers.plots: what each figure function draws, read back from its artists' data.

Protects: every public plot function puts the numbers it was given (or their documented
transform: a density, a variance, a share, a log axis, a clip) into its lines, patches,
images and meshes; labels and titles that state a number state the right one; non-finite
inputs are drawn as the docstring says ("blew up") instead of raising. Pixels are never
compared. The explorers' figures (helpers.panels) are tested in test_panels.py.

Inputs are small and hand-made, shaped like those the notebooks pass (grep notebooks/ for
the call), and every expected value is computed here independently of helpers.plots.
"""

import math
import struct

import matplotlib

matplotlib.use("Agg")

import figure_reading as fr  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import plots  # noqa: E402
from helpers.attention import Saturation  # noqa: E402
from helpers.mup import CoordCheck, LrSweep  # noqa: E402
from helpers.residual import Stream  # noqa: E402


@pytest.fixture
def subplots():
    """plt.subplots under Agg, every figure closed (and rcParams restored) afterwards."""
    made = []

    def make(*args, **kwargs):
        fig, axes = plt.subplots(*args, **kwargs)
        made.append(fig)
        return fig, axes

    with matplotlib.rc_context():
        yield make
    for fig in made:
        plt.close(fig)


@pytest.fixture(autouse=True)
def _close_panels():
    """The *_panels functions build figures outside pyplot; close whatever pyplot holds too."""
    yield
    plt.close("all")


# --- fig_to_png, shade_saturation, 01 / 02 -----------------------------------------------------


def test_fig_to_png_encodes_a_png_of_figsize_times_dpi():
    """fig_to_png gives PNG bytes whose header says figsize x dpi pixels (the dpi argument wins)."""
    fig, ax = plots.new_figure(figsize=(2.0, 1.5))
    ax.plot([0, 1], [0, 1])
    png = plots.fig_to_png(fig, dpi=40)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (80, 60)
    with matplotlib.rc_context({"savefig.dpi": 50}):
        assert struct.unpack(">II", plots.fig_to_png(fig)[16:24]) == (100, 75), "default: savefig.dpi"


@pytest.mark.parametrize("activation,threshold", [("tanh", 0.99), ("sigmoid", 0.01)])
def test_shade_saturation_spans_start_where_the_activation_is_flat(subplots, activation, threshold):
    """tanh: |a| > atanh(0.99) = 2.65; sigmoid: |a| > ln(0.99 / 0.01) = 4.6 (stats.SATURATION)."""
    edge = math.atanh(threshold) if activation == "tanh" else math.log(0.99 / 0.01)
    _, ax = subplots()
    patches = plots.shade_saturation(ax, activation, -150, 150)
    spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in patches)
    np.testing.assert_allclose(spans, [(-150, -edge), (edge, 150)], rtol=1e-12)
    assert ax.get_legend_handles_labels() == ([patches[0]], [f"{activation} saturated"]), \
        "one legend entry, not two"


def test_shade_saturation_leaves_out_a_span_outside_the_range(subplots):
    """A range that never reaches -2.65 gets one patch (the right one), and none if it never
    reaches either edge; a non-saturating activation is a ValueError naming the choices."""
    _, ax = subplots()
    (right,) = plots.shade_saturation(ax, "tanh", -1.0, 10.0)
    assert right.get_x() == pytest.approx(math.atanh(0.99)) and right.get_label() == "tanh saturated"
    assert plots.shade_saturation(ax, "tanh", -2.0, 2.0) == []
    with pytest.raises(ValueError, match="tanh"):
        plots.shade_saturation(ax, "relu", -1, 1)


def test_plot_density_draws_the_histogram_as_a_density(subplots):
    """4 samples, 3 in [0, 0.5) and 1 in [0.5, 1]: heights 3 / (4 * 0.5) = 1.5 and 0.5, area 1."""
    _, ax = subplots()
    stairs = plots.plot_density(ax, np.array([0.0, 0.1, 0.2, 0.9]), bins=[0.0, 0.5, 1.0],
                                label="samples")
    values, edges, _ = stairs.get_data()
    np.testing.assert_allclose(edges, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(values, [1.5, 0.5])
    assert stairs.get_fill() and stairs.get_label() == "samples"
    stairs = plots.plot_density(ax, np.random.default_rng(0).normal(size=1000), bins=20)
    values, edges, _ = stairs.get_data()
    assert float(np.sum(values * np.diff(edges))) == pytest.approx(1.0)


def test_plot_error_vs_n_draws_the_errors_against_n_on_log_axes(subplots):
    """plot_error_vs_n: measured errors and the reference curve against n, log-log, both in the legend."""
    _, ax = subplots()
    sizes = np.array([10, 100, 1000])
    errors, reference = np.array([0.3, 0.09, 0.028]), np.sqrt(0.8 / sizes)
    plots.plot_error_vs_n(ax, sizes, errors, reference, reference_label="theory")
    measured, theory = ax.get_lines()
    np.testing.assert_array_equal(fr.xy(measured)[0], sizes)
    np.testing.assert_array_equal(fr.xy(measured)[1], errors)
    np.testing.assert_array_equal(fr.xy(theory)[0], sizes)
    np.testing.assert_allclose(fr.xy(theory)[1], reference)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert fr.legend_texts(ax) == ["measured RMS error", "theory"]
    assert theory.get_linestyle() == "--"


# --- 03: constant and random init ----------------------------------------------------------------


def test_plot_unit_weights_shows_the_weight_matrix_centred_at_zero(subplots):
    """The image is the weight matrix itself (rows = units), colours symmetric around 0 at max |w|;
    a torch tensor with grad is accepted, a given vmax wins, an all-zero matrix gets limits +-1."""
    _, axes = subplots(1, 3)
    w = torch.tensor([[0.5, -2.0, 1.0], [0.5, -2.0, 1.0]], requires_grad=True)
    image = plots.plot_unit_weights(axes[0], w, "constant: 2 identical units")
    np.testing.assert_array_equal(image.get_array(), w.detach().numpy())
    assert image.get_clim() == (-2.0, 2.0)
    assert axes[0].get_title() == "constant: 2 identical units"
    assert plots.plot_unit_weights(axes[1], np.ones((2, 2)), "t", vmax=5.0).get_clim() == (-5.0, 5.0)
    assert plots.plot_unit_weights(axes[2], np.zeros((3, 4)), "t").get_clim() == (-1.0, 1.0)


def test_plot_spread_history_draws_each_run_and_puts_exact_zeros_at_the_floor(subplots):
    """One line per run (x = step 0, 1, ...), a spread of exactly 0 drawn at `floor` on the log
    axis, and the float32 rounding step as a dotted reference."""
    _, ax = subplots()
    spread = [0.0, 0.0, 1e-7, 1e-3]
    plots.plot_spread_history(ax, {"constant": [0.0] * 4, "nudged": spread}, floor=1e-9)
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(fr.xy(lines["nudged"])[0], [0, 1, 2, 3])
    np.testing.assert_allclose(fr.xy(lines["nudged"])[1], [1e-9, 1e-9, 1e-7, 1e-3])
    np.testing.assert_allclose(fr.xy(lines["constant"])[1], [1e-9] * 4)
    assert 2.0**-23 in fr.hlines(ax)
    assert ax.get_yscale() == "log" and ax.get_ylim() == pytest.approx((0.5e-9, 10.0))
    assert fr.legend_texts(ax) == ["constant", "nudged", "one float32 rounding step"]


# --- 05 / 06: layer histograms, norm walk ------------------------------------------------------


def test_plot_layer_histograms_draws_each_layer_as_a_density(subplots):
    """Row i of counts becomes a Stairs of counts / (total * bin width) labelled "layer i+1"; an
    empty row stays 0 (not NaN); input side dark (viridis 0), output side light."""
    _, ax = subplots()
    edges = np.array([-1.0, 0.0, 0.5, 1.0])
    counts = np.array([[2, 1, 1], [0, 4, 0], [0, 0, 0]])
    artists = plots.plot_layer_histograms(ax, edges, counts, xlabel="activation", title="t")
    assert len(artists) == 3 and fr.legend_texts(ax) == ["layer 1", "layer 2", "layer 3"]
    expected = [[2 / 4, 1 / (4 * 0.5), 1 / (4 * 0.5)], [0, 4 / (4 * 0.5), 0], [0, 0, 0]]
    for stairs, want in zip(artists, expected, strict=True):
        values, got_edges, _ = stairs.get_data()
        np.testing.assert_allclose(values, want)
        np.testing.assert_array_equal(got_edges, edges)
    np.testing.assert_allclose(artists[0].get_edgecolor()[:3], matplotlib.colormaps["viridis"](0.0)[:3])
    assert ax.get_xlabel() == "activation" and ax.get_title() == "t"


def test_plot_norm_walk_draws_the_variance_over_nets_against_depth_over_width(subplots):
    """walks[width] is [net, layer]: x = layer / width, y = the variance over nets (ddof 1), and
    the dashed reference slope * depth / width reaches the largest x."""
    _, ax = subplots()
    walk = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 6.0]])  # column variances (ddof 1): 2, 2, 8
    plots.plot_norm_walk(ax, {4: walk}, slope=5.0)
    measured, reference = ax.get_lines()
    np.testing.assert_allclose(fr.xy(measured)[0], [0.25, 0.5, 0.75])
    np.testing.assert_allclose(fr.xy(measured)[1], [2.0, 2.0, 8.0])
    x, y = fr.xy(reference)
    assert x[0] == 0 and x[-1] == pytest.approx(0.75)
    np.testing.assert_allclose(y, 5.0 * x)
    assert fr.legend_texts(ax) == ["width 4, 2 nets", "5 · depth / width"]


# --- 07 / 08: zig-zag ----------------------------------------------------------------------------


def test_plot_weight_path_draws_the_weight_after_each_step(subplots):
    """Step numbers start at 1 (the weight after step 1), the minimum w* is a line whose label
    states it to 3 decimals, colours are honoured, the lines are returned by label."""
    _, ax = subplots()
    lines = plots.plot_weight_path(ax, {"Sigmoid": [0.2, 1.5, 0.9], "lr 0.3": [0.1, 0.2, 0.3]},
                                   colors={"Sigmoid": "#E69F00"}, minimum=0.91234)
    np.testing.assert_array_equal(fr.xy(lines["Sigmoid"])[0], [1, 2, 3])
    np.testing.assert_array_equal(fr.xy(lines["Sigmoid"])[1], [0.2, 1.5, 0.9])
    assert lines["Sigmoid"].get_color() == "#E69F00"
    assert 0.91234 in fr.hlines(ax)
    assert fr.legend_texts(ax) == ["Sigmoid", "lr 0.3", "minimum of the loss, w* = 0.912"]


def test_plot_curvature_path_draws_lr_curvature_against_the_limits_1_and_2(subplots):
    _, ax = subplots()
    plots.plot_curvature_path(ax, np.array([0.5, 1.5, 2.5]))
    path = ax.get_lines()[0]
    np.testing.assert_array_equal(fr.xy(path)[0], [1, 2, 3])
    np.testing.assert_array_equal(fr.xy(path)[1], [0.5, 1.5, 2.5])
    assert set(fr.hlines(ax)) == {1.0, 2.0}
    assert fr.legend_texts(ax)[1].startswith("2:") and fr.legend_texts(ax)[2].startswith("1:")


def test_plot_contour_path_draws_the_trajectory_on_the_given_contours(subplots):
    """The path is weights[:, 0] against weights[:, 1], the start marker at weights[0], the
    optimum star at w*, the contour levels those asked for, the limits the grid's extent."""
    _, ax = subplots()
    w1, w2 = np.meshgrid(np.linspace(-2, 3, 21), np.linspace(-1, 4, 21))
    loss = (w1 - 1) ** 2 + (w2 - 2) ** 2
    weights = np.array([[-1.5, 3.5], [0.0, 2.5], [0.8, 2.1]])
    levels = [0.1, 1.0, 4.0]
    contours, path, start = plots.plot_contour_path(ax, (w1, w2, loss), weights, (1.0, 2.0),
                                                    label="sigmoid outputs", levels=levels)
    np.testing.assert_array_equal(fr.xy(path)[0], weights[:, 0])
    np.testing.assert_array_equal(fr.xy(path)[1], weights[:, 1])
    np.testing.assert_array_equal(np.ravel(fr.xy(start)), [-1.5, 3.5])
    star = [line for line in ax.get_lines() if line.get_label() == "optimum w*"][0]
    np.testing.assert_array_equal(np.ravel(fr.xy(star)), [1.0, 2.0])
    np.testing.assert_array_equal(contours.levels, levels)
    assert ax.get_xlim() == (-2.0, 3.0) and ax.get_ylim() == (-1.0, 4.0)
    assert path.get_label() == "sigmoid outputs"


@pytest.mark.parametrize("start", [0, 1])
def test_plot_loss_per_step_draws_each_loss_from_its_first_step_on_a_log_axis(subplots, start):
    _, ax = subplots()
    lines = plots.plot_loss_per_step(ax, {"plain": [1.0, 0.1, 0.01], "tanh": [1.0, 1e-3, 1e-6]},
                                     threshold=1e-3, start=start)
    np.testing.assert_array_equal(fr.xy(lines["plain"])[0], [start, start + 1, start + 2])
    np.testing.assert_array_equal(fr.xy(lines["tanh"])[1], [1.0, 1e-3, 1e-6])
    assert ax.get_yscale() == "log"
    assert 1e-3 in fr.hlines(ax) and fr.legend_texts(ax) == ["plain", "tanh", "threshold 0.001"]


def test_plot_weight_paths_faint_draws_one_line_per_run_and_the_end_band(subplots):
    """weights is (steps, runs): one thin line per run, one legend entry counting the runs,
    the band the runs end in as a horizontal span, w* stated to 3 decimals."""
    _, ax = subplots()
    weights = np.array([[0.1, -0.5, 0.9], [1.0, 1.2, 1.1], [1.3, 1.25, 1.28]])
    plots.plot_weight_paths_faint(ax, weights, minimum=1.27351, band=(1.2, 1.35))
    runs = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]
    assert len(runs) == 3
    for k, line in enumerate(runs):
        np.testing.assert_array_equal(fr.xy(line)[0], [1, 2, 3])
        np.testing.assert_array_equal(fr.xy(line)[1], weights[:, k])
    assert 1.27351 in fr.hlines(ax)
    (band,) = ax.patches
    y0, y1 = band.get_y(), band.get_y() + band.get_height()
    assert (y0, y1) == pytest.approx((1.2, 1.35))
    assert fr.legend_texts(ax) == ["one start (3 in all)", "where every run ends", "w* = 1.274"]


def test_plot_flips_by_start_draws_flips_against_the_initial_weight(subplots):
    _, ax = subplots()
    plots.plot_flips_by_start(ax, [-0.8, 0.1, 0.6], [3, 10, 0], steps=100, highlight=(0.1, 10))
    dots, star = ax.get_lines()
    np.testing.assert_array_equal(fr.xy(dots)[0], [-0.8, 0.1, 0.6])
    np.testing.assert_array_equal(fr.xy(dots)[1], [3, 10, 0])
    np.testing.assert_array_equal(np.ravel(fr.xy(star)), [0.1, 10])
    assert ax.get_ylabel() == "direction flips in 100 steps"
    assert fr.legend_texts(ax) == ["one start", "the pinned start"]


@pytest.mark.parametrize("log", [True, False])
def test_plot_outcomes_by_fix_draws_every_value_and_its_median(subplots, log):
    """Fix i's dots sit at x = i (+- a jitter of 0.18) with y = its values; a bar at the median;
    the x ticks name the fixes; reference lines are labelled; log decides the y scale."""
    _, ax = subplots()
    values = {"plain": [0.4, 0.1, 0.2], "BatchNorm": [1e-3, 2e-3, 4e-3, 8e-3]}
    plots.plot_outcomes_by_fix(ax, values, ylabel="final loss", lines={"all ones": 0.25}, log=log)
    lines = ax.get_lines()
    for i, v in enumerate(values.values()):
        dots, median = lines[2 * i], lines[2 * i + 1]
        x, y = fr.xy(dots)
        np.testing.assert_array_equal(y, v)
        assert np.all(np.abs(x - i) <= 0.18 + 1e-12) and x[0] == pytest.approx(i - 0.18)
        np.testing.assert_allclose(fr.xy(median)[0], [i - 0.28, i + 0.28])
        np.testing.assert_allclose(fr.xy(median)[1], [np.median(v)] * 2)
    assert fr.xy(lines[3])[1][0] == pytest.approx(3e-3), "median of 4 values: mean of the middle two"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["plain", "BatchNorm"]
    assert ax.get_yscale() == ("log" if log else "linear")
    assert 0.25 in fr.hlines(ax) and fr.legend_texts(ax) == ["all ones"]


# --- 09: training sweeps -------------------------------------------------------------------------


def test_plot_loss_heatmap_labels_every_cell_and_says_blew_up(subplots):
    """Cells hold the final losses; inf/NaN is coloured as vmax (chance) and labelled "blew up";
    the ticks name schemes (rows) and depths (columns); colours run 0..vmax; a colorbar."""
    fig, ax = subplots()
    loss = np.array([[0.05, 0.5, math.inf], [0.7, math.nan, 0.123]])
    image = plots.plot_loss_heatmap(ax, loss, ("he", "xavier"), (2, 8, 32), vmax=0.69)
    np.testing.assert_allclose(image.get_array(), [[0.05, 0.5, 0.69], [0.7, 0.69, 0.123]])
    assert image.get_clim() == (0, 0.69)
    texts = {(t.get_position()[1], t.get_position()[0]): t for t in ax.texts}
    assert {k: t.get_text() for k, t in texts.items()} == {
        (0, 0): "0.05", (0, 1): "0.50", (0, 2): "blew up",
        (1, 0): "0.70", (1, 1): "blew up", (1, 2): "0.12"}
    assert texts[(0, 2)].get_color() == "white" and texts[(0, 0)].get_color() == "black"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "8", "32"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["he", "xavier"]
    assert len(fig.axes) == 2, "the heat map and its colorbar"


def test_plot_propagation_map_draws_log_growth_over_sigma_w2_and_depth(subplots):
    """values is [sigma_w^2, depth]; the mesh holds its transpose (depth up the y axis), colours
    clipped at +-limit decades, the x axis log with the ticks inside the range, the critical
    line and the marks at their sigma_w^2."""
    fig, ax = subplots()
    sigma_w2s = np.array([0.5, 1.0, 2.0, 4.0])
    depths = np.array([5, 10])
    values = np.array([[-1.0, -2.0], [0.0, 0.1], [1.0, 2.5], [2.0, 5.0]])
    mesh = plots.plot_propagation_map(ax, values, sigma_w2s, depths, critical=1.0,
                                      marks={"He: σ_w² = 2": 2.0}, label="log10 growth, std",
                                      limit=3.0)
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(2, 4), values.T)
    assert mesh.get_clim() == (-3.0, 3.0)
    assert ax.get_xscale() == "log"
    assert list(ax.xaxis.get_major_locator()()) == [0.5, 1, 2, 4]
    assert sorted(fr.vlines(ax)) == [1.0, 2.0]
    assert fr.legend_texts(ax) == ["critical: width·Var(W) = 1", "He: σ_w² = 2"]
    assert fig.axes[1].get_ylabel() == "log10 growth, std"


def test_plot_update_ratios_draws_one_line_per_layer_and_the_karpathy_guide(subplots):
    """ratios is [step, layer] (log10 values): layer k's line is column k against the step; only
    the first and last layer are in the legend; the guide at target."""
    _, ax = subplots()
    ratios = np.array([[-2.0, -3.0, -4.0], [-2.5, -3.1, -3.9]])
    plots.plot_update_ratios(ax, ratios, target=-3.0)
    layers = ax.get_lines()[:3]
    for k, line in enumerate(layers):
        np.testing.assert_array_equal(fr.xy(line)[0], [0, 1])
        np.testing.assert_array_equal(fr.xy(line)[1], ratios[:, k])
    assert -3.0 in fr.hlines(ax)
    assert fr.legend_texts(ax) == ["layer 1", "layer 3", "1e-3 (Karpathy's guide)"]


# --- 10: attention and residual streams -----------------------------------------------------------


def _saturation() -> Saturation:
    d = np.array([4, 16, 64])
    raw = {"raw": np.array([2.0, 4.0, 8.0]), "scaled": np.array([1.0, 1.0, 1.0])}
    return Saturation(d_k=d, n_keys=8, logit_std=raw,
                      entropy={"raw": np.array([1.5, 0.8, 0.2]), "scaled": np.array([1.9, 1.9, 1.9])},
                      jacobian_median={"raw": np.array([0.5, 0.2, 0.01]), "scaled": np.full(3, 0.6)},
                      jacobian_mean={"raw": np.array([0.55, 0.25, 0.05]), "scaled": np.full(3, 0.61)},
                      one_hot={"raw": np.zeros(3), "scaled": np.zeros(3)},
                      top_weight={"raw": np.zeros(3), "scaled": np.zeros(3)})


def test_plot_attention_sweep_draws_each_measurement_against_d_k(subplots):
    """Left: logit std (raw, scaled) and sqrt(d_k), log-log; middle: entropy and ln(n_keys);
    right: the Jacobian's median and mean. x is d_k everywhere."""
    _, axes = subplots(1, 3)
    sat = _saturation()
    plots.plot_attention_sweep(axes, sat)
    ax_std, ax_ent, ax_jac = axes
    raw, scaled, root = ax_std.get_lines()
    for line, want in ((raw, sat.logit_std["raw"]), (scaled, sat.logit_std["scaled"]),
                       (root, np.sqrt([4, 16, 64]))):
        np.testing.assert_array_equal(fr.xy(line)[0], [4, 16, 64])
        np.testing.assert_allclose(fr.xy(line)[1], want)
    assert ax_std.get_xscale() == ax_std.get_yscale() == "log"
    ent = ax_ent.get_lines()
    np.testing.assert_array_equal(fr.xy(ent[0])[1], sat.entropy["raw"])
    np.testing.assert_array_equal(fr.xy(ent[1])[1], sat.entropy["scaled"])
    assert math.log(8) in fr.hlines(ax_ent)
    assert ax_ent.get_xscale() == "log" and ax_ent.get_yscale() == "linear"
    assert ax_ent.get_ylim() == pytest.approx((0, 1.1 * math.log(8)))
    assert "ln 8 (uniform)" in fr.legend_texts(ax_ent)
    jac = {line.get_label(): fr.xy(line)[1] for line in ax_jac.get_lines()}
    np.testing.assert_array_equal(jac["q·k (unscaled), median"], sat.jacobian_median["raw"])
    np.testing.assert_array_equal(jac["q·k / √d_k, mean"], sat.jacobian_mean["scaled"])
    assert len(jac) == 4 and ax_jac.get_yscale() == "log"


def _stream(fwd, grad, overflow=None, branch="he") -> Stream:
    fwd, grad = np.asarray(fwd, dtype=float), np.asarray(grad, dtype=float)
    return Stream(depth=len(fwd) - 1, branch_init=branch, layernorm=False, width=8,
                  forward_std=fwd, grad_std=grad, overflow_block=overflow,
                  grad_overflow_block=None)


@pytest.mark.parametrize("which", ["forward", "grad"])
def test_plot_residual_streams_draws_each_stream_and_its_prediction(subplots, which):
    """Each stream's std (forward) or gradient std (grad) per block, log axis; the prediction
    dashed, scaled by the measured value at the input (forward) or the output (grad); an
    all-NaN prediction (no closed form) draws nothing."""
    _, ax = subplots()
    he = _stream([1.0, 1.5, 2.0], [8.0, 4.0, 2.0])
    ln = _stream([1.0, 1.1, 1.2], [1.0, 1.0, 1.0])
    theory = {"He": np.array([1.0, 2.0, 4.0]), "pre-LN": np.full(3, np.nan)}
    plots.plot_residual_streams(ax, {"He": he, "pre-LN": ln}, which=which, theory=theory)
    lines = ax.get_lines()
    assert len(lines) == 3, "two streams, one prediction"
    measured = he.forward_std if which == "forward" else he.grad_std
    np.testing.assert_array_equal(fr.xy(lines[0])[0], [0, 1, 2])
    np.testing.assert_array_equal(fr.xy(lines[0])[1], measured)
    ref = 1.0 if which == "forward" else 2.0
    np.testing.assert_allclose(fr.xy(lines[1])[1], ref * theory["He"])
    assert lines[1].get_linestyle() == "--" and ax.get_yscale() == "log"
    assert fr.legend_texts(ax) == ["He", "pre-LN", "predicted"], "each stream named, the dashes once"
    with pytest.raises(ValueError, match="forward"):
        plots.plot_residual_streams(ax, {"He": he}, which="backward")


# --- 11: muP coordinate check, lr sweep ----------------------------------------


def test_plot_coord_check_draws_change_against_width_with_the_fitted_slope(subplots):
    """One panel per parametrisation, one line per layer (x = widths, y = change), the log-log
    slope in the legend (+1 and -1/2 by construction, and a fit computed here), base-2 x axis with the widths
    as ticks, shared y limits lo / 2 .. hi * 3."""
    _, axes = subplots(1, 2)
    widths = (64, 128, 256)
    change = {"sp": np.array([[0.01, 0.02, 0.04], [0.1, 0.2, 0.4]]),
              "mup": np.array([[0.04, 0.04 / 2**0.5, 0.02], [0.05, 0.05, 0.05 * 1.1]])}
    cc = CoordCheck(widths, ("hidden 1", "logits"), change)
    plots.plot_coord_check(axes, cc, titles={"sp": "SP"})
    for ax, p in zip(axes, ("sp", "mup"), strict=True):
        for line, row in zip(ax.get_lines(), change[p], strict=True):
            np.testing.assert_array_equal(fr.xy(line)[0], widths)
            np.testing.assert_array_equal(fr.xy(line)[1], row)
        assert ax.get_xscale() == ax.get_yscale() == "log"
        assert ax.xaxis.get_transform().base == 2
        assert [t.get_text() for t in ax.get_xticklabels()] == ["64", "128", "256"]
        assert ax.get_ylim() == pytest.approx((0.005, 1.2))
    assert fr.legend_texts(axes[0]) == ["hidden 1: slope +1.00", "logits: slope +1.00"]
    slope = np.polyfit(np.log(widths), np.log(change["mup"][1]), 1)[0]  # 0.0688
    assert fr.legend_texts(axes[1]) == ["hidden 1: slope -0.50", f"logits: slope {slope:+.2f}"]
    assert axes[0].get_title() == "SP" and axes[1].get_title() == "mup", "untitled: the key"


def test_plot_lr_sweep_draws_loss_against_lr_and_marks_the_parabola_vertex(subplots):
    """One line per width (x = lrs, y = loss with inf clipped to 10), a dotted line at the best
    lr: the vertex of the parabola through the lowest loss and its neighbours in log2(lr),
    computed here with np.polyfit."""
    _, axes = subplots(1, 2)
    lrs = (2.0**-4, 2.0**-3, 2.0**-2, 2.0**-1, 1.0)
    loss = {"sp": np.array([[2.0, 1.0, 1.5, 2.5, math.inf], [3.0, 2.0, 1.0, 2.0, 3.0]]),
            "mup": np.array([[1.0, 1.2, 1.4, 1.6, 1.8], [2.0, 1.1, 1.0, 1.3, 2.0]])}
    sweep = LrSweep((64, 128), lrs, loss)
    plots.plot_lr_sweep(axes, sweep)

    def vertex(row):
        k = int(np.argmin(row))
        if k in (0, len(row) - 1):
            return math.log2(lrs[k])
        a, b, _ = np.polyfit(np.log2(lrs[k - 1:k + 2]), row[k - 1:k + 2], 2)
        return -b / (2 * a)

    for ax, p in zip(axes, ("sp", "mup"), strict=True):
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) == len(lrs)]
        for line, row in zip(curves, loss[p], strict=True):
            np.testing.assert_array_equal(fr.xy(line)[0], lrs)
            np.testing.assert_array_equal(fr.xy(line)[1], np.minimum(row, 10.0))
        np.testing.assert_allclose(sorted(fr.vlines(ax)), sorted(2.0 ** vertex(r) for r in loss[p]))
        assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
        assert ax.get_ylim() == (0.5, 3.0) and fr.legend_texts(ax) == ["width 64", "width 128"]
    assert fr.vlines(axes[0])[0] == pytest.approx(2.0 ** (-3 + 0.5 * 0.5 / 1.5))


def test_plot_update_ratios_labels_the_guide_it_draws():
    """The guide line's label names the target drawn, not always Karpathy's 1e-3."""
    fig, ax = plt.subplots()
    plots.plot_update_ratios(ax, np.full((5, 2), -2.0), target=-2.0)
    guide = next(ln for ln in ax.lines if ln.get_label().startswith("1e"))
    assert guide.get_label() == "1e-2" and list(guide.get_ydata()) == [-2.0, -2.0]
    plt.close(fig)
