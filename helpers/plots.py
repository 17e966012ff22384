"""One look for every figure: colour-blind-safe colours, labelled axes, small PNGs.

Plot functions take an Axes and data that a compute function produced; they never
compute an experiment themselves. This module holds the style and the static figures; the
explorers' figures, built once and redrawn in place, are in helpers.panels (on new_figure's
figures, which live outside pyplot so that redrawing one never touches global state).
"""

from __future__ import annotations

import io
import math
import os

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullFormatter
from matplotlib_inline.backend_inline import set_matplotlib_formats

from helpers import stats, validate

__all__ = [
    "OKABE_ITO",
    "COLORS",
    "STYLES",
    "STYLE_ENV",
    "use_style",
    "new_figure",
    "fig_to_png",
    "shade_saturation",
    "plot_density",
    "plot_error_vs_n",
    "plot_unit_weights",
    "plot_spread_history",
    "plot_loss_curves",
    "plot_layer_histograms",
    "plot_glorot_panels",
    "plot_std_by_layer",
    "plot_seed_curves",
    "plot_norm_walk",
    "ZIGZAG_LEVELS",
    "plot_weight_path",
    "plot_curvature_path",
    "plot_contour_path",
    "plot_loss_per_step",
    "plot_weight_paths_faint",
    "plot_flips_by_start",
    "plot_outcomes_by_fix",
    "plot_paired_curves",
    "plot_loss_heatmap",
    "plot_propagation_map",
    "plot_update_ratios",
    "plot_checkup",
    "plot_attention_sweep",
    "plot_residual_streams",
    "plot_coord_check",
    "plot_lr_sweep",
    "plot_spread_vs_depth",
]

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
"""Okabe & Ito's palette, distinguishable with every common colour-vision deficiency."""

COLORS = {
    "measured": OKABE_ITO[0],
    "theory": OKABE_ITO[3],
    "good": OKABE_ITO[2],
    "bad": OKABE_ITO[3],
    "neutral": "#777777",
    "saturated": OKABE_ITO[1],
}
"""Roles used across the series, so 'theory' is the same colour in every notebook."""

_BASE = {
    "axes.prop_cycle": cycler(color=OKABE_ITO),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "figure.constrained_layout.use": True,
    "image.cmap": "viridis",
    "legend.frameon": False,
    "svg.hashsalt": "initlab",
}
STYLES: dict[str, dict] = {
    "default": {**_BASE, "figure.figsize": (8.0, 3.6), "font.size": 10, "lines.linewidth": 1.8},
    # For a projector: the default's inch size, drawn at 135 dpi instead of 80, so every
    # figure (widgets' fixed-size ones too) is ~1.7x larger on screen and fits a 1280-px-wide
    # JupyterLab; fonts of 12-14 pt then measure 22-26 px, lines and markers are thicker.
    "classroom": {
        **_BASE,
        "figure.figsize": (8.0, 3.6),
        "font.size": 13,
        "axes.titlesize": 14,
        "axes.labelsize": 13,
        "legend.fontsize": 12,
        "xtick.labelsize": 12,
        "ytick.labelsize": 12,
        "axes.linewidth": 1.2,
        "grid.linewidth": 1.0,
        "lines.linewidth": 2.5,
        "lines.markersize": 8,
        "figure.dpi": 135,
        "savefig.dpi": 135,
    },
}
"""rcParams per variant; "classroom" has larger fonts and lines for a projector."""


STYLE_ENV = "INITLAB_STYLE"
"""Environment variable that picks the variant when a notebook asks for the default one:
`make lab-classroom` sets it to "classroom", so every figure suits a projector without a
notebook being edited (the reference configuration of tests/tools/reference.py pins "default")."""


def use_style(variant: str = "default") -> None:
    """Apply the series' figure style (and PNG inline output) to matplotlib.

    Call once in each notebook's setup cell; "classroom" for a projector, or leave the call
    as it is and start JupyterLab with INITLAB_STYLE=classroom (`make lab-classroom`).
    Introduced in notebooks/00_start_here.ipynb.
    """
    validate.one_of("variant", variant, STYLES)
    if variant == "default":
        variant = os.environ.get(STYLE_ENV, "") or "default"
        validate.one_of(STYLE_ENV, variant, STYLES)
    mpl.rcParams.update(mpl.rcParamsDefault)
    mpl.rcParams.update(STYLES[variant])
    set_matplotlib_formats("png")  # inline figures as PNG (SVG would differ on every run)


def new_figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] | None = None,
               **subplot_kw) -> tuple[Figure, object]:
    """A Figure outside pyplot (Agg canvas) and its axes, for widgets that redraw in place.

    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    fig = Figure(figsize=figsize or mpl.rcParams["figure.figsize"], layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw)
    return fig, axes


def fig_to_png(fig: Figure, dpi: float | None = None) -> bytes:
    """Encode a figure as PNG bytes (what a widget's Image receives)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or mpl.rcParams["savefig.dpi"])
    return buf.getvalue()


def shade_saturation(ax: Axes, activation: str, lo: float, hi: float) -> list:
    """Shade the x-ranges where tanh (|a| > 2.65) or sigmoid (|a| > 4.6) is saturated.

    The thresholds match helpers.stats.saturated_fraction. Returns the patches.
    Introduced in notebooks/02_sums_of_products.ipynb.
    """


    validate.one_of("activation", activation, ("tanh", "sigmoid"))
    if activation == "tanh":
        edge = math.atanh(stats.SATURATION["tanh"])
    else:
        p = stats.SATURATION["sigmoid"]
        edge = math.log((1 - p) / p)
    spans = [(lo, -edge), (edge, hi)]
    patches = [
        ax.axvspan(a, b, color=COLORS["saturated"], alpha=0.18, lw=0) for a, b in spans if a < b
    ]
    if patches:
        patches[0].set_label(f"{activation} saturated")
    return patches


# --- 01 / 02: distributions and sums --------------------------------------------------------


def plot_density(ax: Axes, samples, bins, *, label: str | None = None, color: str | None = None):
    """Histogram of `samples` as a density (area 1), drawn as one Stairs artist.

    Returns the artist, whose .set_data(values, edges) a widget calls to redraw in place.
    Introduced in notebooks/01_uniform_variance.ipynb.
    """
    values, edges = np.histogram(samples, bins=bins, density=True)
    return ax.stairs(values, edges, fill=True, alpha=0.45, label=label,
                     color=color or COLORS["measured"])


def plot_error_vs_n(ax: Axes, sizes, errors, reference,
                    reference_label: str = r"$\sqrt{0.8/N}$") -> None:
    """Log-log plot of a Monte Carlo error against sample size, with a reference curve.

    Introduced in notebooks/01_uniform_variance.ipynb.
    """
    ax.loglog(sizes, errors, "o-", color=COLORS["measured"], label="measured RMS error")
    ax.loglog(sizes, reference, "--", color=COLORS["theory"], label=reference_label)
    ax.set_xlabel("sample size N")
    ax.set_ylabel("relative error of the sample variance")
    ax.legend()


# --- 04-06: signal propagation, Xavier, He ------------------------------------------------------


def plot_unit_weights(ax: Axes, weight, title: str, vmax: float | None = None):
    """The hidden units' incoming weights as an image: one row per unit, one column per input.

    Identical rows (clone units, constant init) show as vertical stripes. A diverging
    colormap centred at 0. Returns the image. Introduced in
    notebooks/03_constant_and_random_init.ipynb.
    """
    w = np.asarray(weight.detach() if hasattr(weight, "detach") else weight, dtype=float)
    top = vmax if vmax is not None else float(np.abs(w).max()) or 1.0
    image = ax.imshow(w, cmap="RdBu_r", vmin=-top, vmax=top, aspect="auto",
                      interpolation="nearest")
    ax.set_xlabel("input feature")
    ax.set_ylabel("hidden unit")
    ax.set_title(title)
    ax.grid(False)
    return image


def plot_spread_history(ax: Axes, histories: dict, *, floor: float = 1e-9,
                        rounding: float = 2.0**-23) -> None:
    """Relative spread between hidden units per training step, on a log axis (one line per run).

    An exact 0 (clones) is drawn at `floor`, at the bottom of the axis; a dotted line marks one
    float32 rounding step (`rounding`, relative). Introduced in
    notebooks/03_constant_and_random_init.ipynb.
    """
    for i, (label, spread) in enumerate(histories.items()):
        y = np.maximum(np.asarray(spread, dtype=float), floor)
        ax.semilogy(np.arange(len(y)), y, label=label, color=OKABE_ITO[i % len(OKABE_ITO)])
    ax.axhline(rounding, color=COLORS["theory"], ls=":", lw=1.2, label="one float32 rounding step")
    ax.set_ylim(floor / 2, 10.0)
    ax.set_xlabel("training step")
    ax.set_ylabel("spread / max |weight|")
    ax.legend(fontsize=8, loc="lower right")


def plot_loss_curves(ax: Axes, curves: dict, *, chance: float | None = None,
                     window: int = 25, colors: dict | None = None) -> None:
    """Training loss per step for several runs, smoothed by a running mean of `window` steps.

    chance draws the loss of a uniform guess, ln(n_classes), as a dashed line.
    Introduced in notebooks/03_constant_and_random_init.ipynb (reused in 06).
    """
    for i, (label, loss) in enumerate(curves.items()):
        loss = np.asarray(loss, dtype=float)
        k = max(1, min(window, len(loss)))
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        color = (colors or {}).get(label, OKABE_ITO[i % len(OKABE_ITO)])
        ax.plot(np.arange(k, len(loss) + 1), smooth, label=label, color=color)
    if chance is not None:
        ax.axhline(chance, ls="--", color=COLORS["neutral"], label="chance: ln(classes)", zorder=1)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"cross-entropy (mean of {window} steps)")
    ax.legend(fontsize="small")


def plot_layer_histograms(ax: Axes, edges, counts, *, xlabel: str, title: str,
                          cmap: str = "viridis") -> list:
    """One density curve per layer (rows of `counts`, bins `edges`), input side dark, output light.

    The layout of Glorot & Bengio (2010), Figures 6 and 7: how a distribution narrows or
    widens from layer to layer. Returns the Stairs artists.
    Introduced in notebooks/05_xavier_glorot.ipynb.
    """
    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges, dtype=float)
    widths = np.diff(edges)
    colors = mpl.colormaps[cmap](np.linspace(0.0, 0.85, len(counts)))
    artists = []
    for i, row in enumerate(counts):
        total = row.sum()
        density = row / (total * widths) if total > 0 else row
        artists.append(ax.stairs(density, edges, color=colors[i], lw=1.6, label=f"layer {i + 1}"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return artists


def plot_glorot_panels(axes, rec, label: str, grad_lim: float = 1.5) -> None:
    """Glorot & Bengio (2010) Figures 6 and 7 for one probed tanh net: activation histograms
    per layer on axes[0], back-propagated gradient histograms per layer on axes[1].

    `rec` is a helpers.probe.Propagation made with keep_values=True; gradients are binned
    on [-grad_lim, grad_lim] (values outside are left out). Titles carry the measured stds.
    Introduced in notebooks/05_xavier_glorot.ipynb.
    """
    if rec.values is None or rec.grads is None:
        raise ValueError("rec needs the per-layer values: call probe.propagate(..., keep_values=True)")
    edges = np.linspace(-1, 1, 81)
    plot_layer_histograms(
        axes[0], edges, [np.histogram(v, edges)[0] for v in rec.values],
        xlabel="activation tanh(y)",
        title=f"{label}: activation std {rec.forward_std[0]:.2f} → {rec.forward_std[-1]:.2f}",
    )
    g_edges = np.linspace(-grad_lim, grad_lim, 121)
    plot_layer_histograms(
        axes[1], g_edges, [np.histogram(g, g_edges)[0] for g in rec.grads],
        xlabel="back-propagated gradient dL/dh",
        title=f"{label}: gradient std {rec.grad_std[0]:.2f} at layer 1, "
              f"{rec.grad_std[-1]:.2f} at {rec.depth}",
    )


def plot_std_by_layer(ax: Axes, stds: dict, *, ylabel: str, title: str,
                      colors: dict | None = None) -> None:
    """Per-layer std of several runs on a log axis (layer 1 = input side).

    A straight falling line is geometric decay; a flat one is a preserved signal.
    Introduced in notebooks/04_signal_propagation.ipynb (reused in 06).
    """
    for i, (label, values) in enumerate(stds.items()):
        values = np.asarray(values, dtype=float)
        color = (colors or {}).get(label, OKABE_ITO[i % len(OKABE_ITO)])
        ax.semilogy(np.arange(1, len(values) + 1), values, "o-", ms=3, label=label, color=color)
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")

def plot_seed_curves(ax: Axes, runs: dict, *, chance: float | None = None, window: int = 10,
                     colors: dict | None = None) -> None:
    """Loss curves of several seeds per init: every seed faint, the median over seeds bold.

    runs maps a label to a list of loss lists, one per seed, each smoothed by a running mean
    of `window` steps; a run that stopped early (non-finite loss) is drawn as far as it got
    and counts as an infinite loss in the median from there. One seed's curve can mislead;
    the faint bundle shows the spread. chance draws ln(n_classes) dashed.
    Introduced in notebooks/06_he_kaiming.ipynb.
    """
    for i, (label, seeds) in enumerate(runs.items()):
        color = (colors or {}).get(label, OKABE_ITO[i % len(OKABE_ITO)])
        length = max(len(loss) for loss in seeds)
        k = max(1, min(window, length))
        smooth = np.full((len(seeds), length - k + 1), np.nan)
        for j, loss in enumerate(seeds):
            loss = np.asarray(loss, dtype=float)
            if len(loss) >= k:
                smooth[j, :len(loss) - k + 1] = np.convolve(loss, np.ones(k) / k, mode="valid")
        steps = np.arange(k, length + 1)
        for row in smooth:
            ax.plot(steps, row, color=color, alpha=0.3, lw=1)
        median = np.median(np.where(np.isfinite(smooth), smooth, np.inf), axis=0)
        median[~np.isfinite(median)] = np.nan  # most seeds had stopped: no median to draw
        ax.plot(steps, median, color=color, lw=2.4, label=f"{label}: median of {len(seeds)} seeds")
    if chance is not None:
        ax.axhline(chance, ls="--", color=COLORS["neutral"], label="chance: ln(classes)", zorder=1)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"cross-entropy (mean of {window} steps)")
    ax.legend(fontsize="small")


def plot_norm_walk(ax: Axes, walks: dict, *, slope: float = 5.0) -> None:
    """Variance over nets of log|h_l|^2 against depth / width, one line per width.

    walks maps a width to helpers.fan_modes.norm_walk(width, depth) (array [net, layer]).
    Lines that fall on one another say the spread depends on depth / width only; the dashed
    line is slope * depth / width (Hanin & Rolnick 2018: slope 5 for He + ReLU).
    Introduced in notebooks/06_he_kaiming.ipynb.
    """
    top = 0.0
    for i, (width, walk) in enumerate(walks.items()):
        x = np.arange(1, walk.shape[1] + 1) / width
        ax.plot(x, walk.var(axis=0, ddof=1), "o-", ms=3, color=OKABE_ITO[i % len(OKABE_ITO)],
                label=f"width {width}, {walk.shape[0]} nets")
        top = max(top, float(x[-1]))
    grid = np.linspace(0, top, 50)
    ax.plot(grid, slope * grid, "--", color=COLORS["theory"], label=f"{slope:g} · depth / width")
    ax.set_xlabel("depth / width")
    ax.set_ylabel("Var over nets of log |h|²")
    ax.legend(fontsize="small")


# --- 07 / 08: zig-zag -------------------------------------------------------------------------------

ZIGZAG_LEVELS = np.geomspace(1e-3, 30, 12)
"""Contour levels of the 2-D neuron's loss landscape."""


def plot_weight_path(ax: Axes, paths: dict, *, colors: dict | None = None,
                     minimum: float | None = None) -> dict:
    """The weight after each training step, one line per run (the source article's figure).

    minimum draws the loss minimum w* as a dashed line. Returns the lines by label, so a
    widget can .set_data them. Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    lines = {}
    for i, (label, weights) in enumerate(paths.items()):
        color = (colors or {}).get(label, OKABE_ITO[i % len(OKABE_ITO)])
        steps = np.arange(1, len(weights) + 1)
        (lines[label],) = ax.plot(steps, weights, "-", color=color, label=label)
    if minimum is not None:
        ax.axhline(minimum, ls="--", lw=1.2, color=COLORS["neutral"],
                   label=f"minimum of the loss, w* = {minimum:.3f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("weight w after the step")
    ax.legend(fontsize="small")
    return lines


def plot_curvature_path(ax: Axes, lr_curvature, *, label: str = "lr · L''(w) after each step"):
    """lr * L''(w_t) along a run against the stability limit 2 (and the monotone limit 1).

    Above 2 a step overshoots the minimum by more than it started from. Introduced in
    notebooks/07_sigmoid_zigzag.ipynb.
    """
    steps = np.arange(1, len(lr_curvature) + 1)
    ax.plot(steps, lr_curvature, ".-", color=COLORS["measured"], label=label)
    ax.axhline(2.0, ls="--", color=COLORS["bad"], label="2: steps overshoot and grow")
    ax.axhline(1.0, ls=":", color=COLORS["good"], label="1: steps start crossing the minimum")
    ax.set_xlabel("training step")
    ax.set_ylabel("lr · L''(w)")
    ax.legend(fontsize="small", loc="upper left")


def plot_contour_path(ax: Axes, grid, weights, w_star, *, color: str | None = None,
                      label: str | None = None, levels=None) -> tuple:
    """Loss contours of the 2-D neuron and a weight trajectory on them.

    grid is (W1, W2, L) from helpers.zigzag.loss_grid; weights is (T, 2). Returns
    (contour set, path line, start marker) so a widget can update the path in place.
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    w1, w2, loss = grid
    levels = levels if levels is not None else ZIGZAG_LEVELS
    contours = ax.contour(w1, w2, loss, levels=levels, colors=COLORS["neutral"],
                          linewidths=0.7, alpha=0.7)
    (path,) = ax.plot(weights[:, 0], weights[:, 1], ".-", ms=3, lw=0.9,
                      color=color or COLORS["measured"], label=label)
    (start,) = ax.plot(*weights[0], "o", color=COLORS["neutral"], ms=7, label="start")
    ax.plot(*w_star, "*", color=COLORS["theory"], ms=14, label="optimum w*")
    ax.set_xlim(w1.min(), w1.max())
    ax.set_ylim(w2.min(), w2.max())
    ax.set_aspect("equal")
    ax.set_xlabel("weight w₁")
    ax.set_ylabel("weight w₂")
    return contours, path, start


def plot_loss_per_step(ax: Axes, curves: dict, *, threshold: float | None = None,
                       colors: dict | None = None, start: int = 0) -> dict:
    """Loss after each step for several runs, log scale; the threshold of 'steps to converge'.

    start is the step of each curve's first value (0: the start, 1: after the first step).
    Returns the lines by label. Introduced in notebooks/08_fixes.ipynb.
    """
    lines = {}
    for i, (label, loss) in enumerate(curves.items()):
        color = (colors or {}).get(label, OKABE_ITO[i % len(OKABE_ITO)])
        loss = np.asarray(loss, dtype=float)
        (lines[label],) = ax.semilogy(np.arange(start, start + len(loss)), loss, color=color,
                                      label=label)
    if threshold is not None:
        ax.axhline(threshold, ls="--", color=COLORS["neutral"], label=f"threshold {threshold:g}")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (MSE)")
    ax.legend(fontsize="small")
    return lines


def plot_weight_paths_faint(ax: Axes, weights, *, minimum: float | None = None,
                            band: tuple[float, float] | None = None, label: str = "one start"):
    """Many runs' weight after each step as thin lines, weights (steps, runs), with w* and the
    band the runs end in. Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    weights = np.asarray(weights, dtype=float)
    steps = np.arange(1, weights.shape[0] + 1)
    lines = ax.plot(steps, weights, "-", lw=0.6, alpha=0.35, color=COLORS["measured"])
    lines[0].set_label(f"{label} ({weights.shape[1]} in all)")
    if band is not None:
        ax.axhspan(*band, color=COLORS["saturated"], alpha=0.2, label="where every run ends")
    if minimum is not None:
        ax.axhline(minimum, ls="--", lw=1.2, color=COLORS["neutral"], label=f"w* = {minimum:.3f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("weight w after the step")
    ax.legend(fontsize="small")


def plot_flips_by_start(ax: Axes, initial_weights, flips, *, steps: int,
                        highlight: tuple[float, int] | None = None):
    """Direction flips in the first `steps` steps against each run's initial weight;
    highlight = (w0, flips) marks one run with a star. Introduced in
    notebooks/07_sigmoid_zigzag.ipynb.
    """
    ax.plot(initial_weights, flips, "o", ms=4, alpha=0.7, color=COLORS["measured"],
            label="one start")
    if highlight is not None:
        ax.plot(*highlight, "*", ms=14, color=COLORS["theory"], label="the pinned start")
    ax.set_xlabel("initial weight w₀ (nn.Linear's draw from U(−1, 1))")
    ax.set_ylabel(f"direction flips in {steps} steps")
    ax.legend(fontsize="small")


def plot_outcomes_by_fix(ax: Axes, values: dict, *, ylabel: str, lines: dict | None = None,
                         log: bool = True):
    """One column of dots per fix (one dot per start or seed) and its median as a bar;
    lines = {label: y} draws reference levels. Introduced in notebooks/08_fixes.ipynb.
    """
    for i, v in enumerate(values.values()):
        v = np.asarray(v, dtype=float)
        jitter = np.linspace(-0.18, 0.18, len(v))
        color = OKABE_ITO[i % len(OKABE_ITO)]
        ax.plot(i + jitter, v, "o", ms=3.5, alpha=0.55, color=color)
        ax.plot([i - 0.28, i + 0.28], [np.median(v)] * 2, "-", lw=2.5, color=color)
    for j, (label, y) in enumerate((lines or {}).items()):
        ax.axhline(y, ls=("--", ":")[j % 2], lw=1.1, color=COLORS["neutral"], label=label)
    ax.set_xticks(range(len(values)), list(values))
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    if lines:
        ax.legend(fontsize="small")


# --- 09 / 10: training sweeps --------------------------------------------------------------------


def plot_paired_curves(axes, steps, accuracy: dict, *, ylabel: str = "test accuracy"):
    """Two methods trained from the same seeds: accuracy against steps, and their paired gap.

    axes[0]: each method's mean over seeds with a band of +-2 standard errors of that mean;
    axes[1]: the per-seed difference first - second (thin lines), its mean and +-2 SE band,
    with 0 marked. accuracy maps a name to an array [seed, step]; the step axis is log, so
    step 0 is left out. Introduced in notebooks/09_init_in_training.ipynb.
    """
    steps = np.asarray(steps, dtype=float)
    keep = steps > 0
    names = list(accuracy)
    values = {k: np.asarray(v, dtype=float)[:, keep] for k, v in accuracy.items()}
    x = steps[keep]

    def band(ax, v, color, label):
        mean, se = v.mean(0), v.std(0, ddof=1) / np.sqrt(v.shape[0])
        ax.fill_between(x, mean - 2 * se, mean + 2 * se, color=color, alpha=0.25, lw=0)
        ax.plot(x, mean, "o-", color=color, ms=4, label=label)

    for i, name in enumerate(names):
        band(axes[0], values[name], OKABE_ITO[i % len(OKABE_ITO)], f"{name} (mean ± 2 SE)")
    axes[0].set_ylabel(ylabel)
    axes[0].legend(loc="lower right", fontsize=8)
    diff = values[names[0]] - values[names[1]]
    axes[1].plot(x, diff.T, color=COLORS["neutral"], lw=0.6, alpha=0.35)
    band(axes[1], diff, COLORS["measured"], "paired difference (mean ± 2 SE)")
    axes[1].axhline(0, color="black", lw=1)
    axes[1].set_ylabel(f"{names[0]} − {names[1]}")
    axes[1].legend(loc="upper right", fontsize=8)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("SGD steps")


def plot_loss_heatmap(ax: Axes, loss, schemes, depths, *, vmax: float):
    """Heat map of final loss [scheme, depth], each cell labelled; a blow-up (inf/NaN) says so.

    Colours run from 0 (trained) to vmax (e.g. the chance-level loss ln C).
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    values = np.asarray(loss, dtype=float)
    shown = np.where(np.isfinite(values), values, vmax)
    image = ax.imshow(shown, cmap="viridis_r", vmin=0, vmax=vmax, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        text = f"{v:.2f}" if np.isfinite(v) else "blew up"
        ax.text(j, i, text, ha="center", va="center", fontsize=8,
                color="white" if shown[i, j] > 0.55 * vmax else "black")
    ax.set_xticks(range(len(depths)), [str(d) for d in depths])
    ax.set_yticks(range(len(schemes)), list(schemes))
    ax.set_xlabel("depth L (Linear layers)")
    ax.grid(False)
    ax.figure.colorbar(image, ax=ax, label="final training loss")
    return image


def plot_propagation_map(ax: Axes, values, sigma_w2s, depths, *, critical: float,
                         marks: dict[str, float] | None = None, label: str = "",
                         limit: float = 3.0):
    """log10 growth of a signal or gradient over (width * Var(W), depth), with the critical line.

    Diverging colours centred on 0 (no growth): blue fades, red explodes; beyond
    +-limit decades the colour saturates. `marks` draws dotted lines at named sigma_w^2
    values (e.g. torch's tanh gain squared). Introduced in notebooks/09_init_in_training.ipynb.
    """
    v = np.asarray(values, dtype=float).T
    mesh = ax.pcolormesh(sigma_w2s, depths, v, cmap="RdBu_r", shading="nearest",
                         vmin=-limit, vmax=limit)
    ax.set_xscale("log")
    ticks = [t for t in (0.25, 0.5, 1, 2, 4, 8) if min(sigma_w2s) <= t <= max(sigma_w2s)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvline(critical, color="black", lw=2, label=f"critical: width·Var(W) = {critical:g}")
    for (name, x), style in zip((marks or {}).items(), (":", "-."), strict=False):
        ax.axvline(x, color=COLORS["saturated"], lw=2, ls=style, label=name)
    ax.set_xlabel("width · Var(W)  (σ_w²)")
    ax.set_ylabel("depth L")
    ax.grid(False)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8, frameon=True)
    ax.figure.colorbar(mesh, ax=ax, label=label or "log10 growth", extend="both")
    return mesh


def plot_update_ratios(ax: Axes, ratios, *, target: float = -3.0, legend: bool = True):
    """Karpathy's update:data ratio per layer over training steps, with the ~1e-3 guide line.

    Introduced in notebooks/09_init_in_training.ipynb.
    """
    r = np.asarray(ratios, dtype=float)
    colors = mpl.colormaps["viridis"](np.linspace(0, 0.9, r.shape[1]))
    for layer in range(r.shape[1]):
        ax.plot(r[:, layer], color=colors[layer], lw=1.2,
                label=f"layer {layer + 1}" if layer in (0, r.shape[1] - 1) else None)
    guide = "1e-3 (Karpathy's guide)" if target == -3 else f"1e{target:g}"
    ax.axhline(target, color="black", ls="--", lw=1.5, label=guide)
    ax.set_xlabel("training step")
    ax.set_ylabel("log10 std(lr·grad) / std(W)")
    if legend:
        ax.legend(loc="lower right", fontsize=8)


# --- 12: checkup of any model ------------------------------------------------------------------


def plot_checkup(ax: Axes, report, title: str | None = None) -> dict:
    """Per-layer forward std and gradient std of a helpers.checkup.Checkup on a log axis.

    One point per row of report.layers, in forward order, the x ticks named after the
    layers; flagged rows get a tick label in the 'bad' colour and a triangle where checkup
    read them, at their input rms (on the x axis when a flagged row has none), and each weight
    layer's grad:data, std(dLoss/dW) / std(W), is drawn as a dotted line of diamonds.
    A std of 0 or inf/NaN has no place on a log axis and is left out of its curve. The
    title defaults to the problems found. Returns the artists by role: "forward", "grad",
    "flagged", "grad_data" (Line2D; "grad_data" None without a weight layer).
    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    def positive(v):
        return v if v is not None and math.isfinite(v) and v > 0 else math.nan

    rows = report.layers
    xs = list(range(len(rows)))
    flagged = report.flagged
    (fwd,) = ax.semilogy(xs, [positive(r.std) for r in rows], "o-", ms=4,
                         color=COLORS["measured"], label="forward: std of the output")
    (grad,) = ax.semilogy(xs, [positive(r.grad_std) for r in rows], "s--", ms=4,
                          color=OKABE_ITO[4], label="backward: std of dLoss/d(output)")
    rms = [positive(rows[i].input_rms) for i in flagged]
    if flagged and all(math.isfinite(v) for v in rms):  # where checkup read them
        label = (f"flagged: layer {rows[flagged[0]].name}'s input rms {rms[0]:.2g}" if len(flagged) == 1
                 else "flagged: the input rms checkup reads")
        (marks,) = ax.semilogy(flagged, rms, "^", ms=11, ls="none", color=COLORS["bad"], label=label)
    else:  # no flag (an empty line, left out of the legend), or one without an input rms
        (marks,) = ax.plot(flagged, [0.0] * len(flagged), "^", ms=9, clip_on=False, ls="none",
                           color=COLORS["bad"], transform=ax.get_xaxis_transform(),
                           label="flagged (see the findings)" if flagged else "_flagged")
        marks.set_in_layout(False)  # on the axis line; an empty one would upset constrained layout
    ratios = [(i, r.grad_data) for i, r in enumerate(rows) if r.grad_data]
    grad_data = ax.semilogy(*zip(*ratios, strict=True), "kD:", label="grad:data")[0] if ratios else None
    ax.set_xticks(xs, [r.name for r in rows], rotation=60, ha="right", fontsize="small")
    for i in flagged:
        ax.get_xticklabels()[i].set_color(COLORS["bad"])
    ax.set_xlabel("layer (forward order)")
    ax.set_ylabel("std (log scale)")
    found = ", ".join(report.problems) or "no problem found"
    ax.set_title(title if title is not None else f"checkup: {found}")
    ax.legend(fontsize="small")
    return {"forward": fwd, "grad": grad, "flagged": marks, "grad_data": grad_data}


# --- 10 attention and residual streams ------------------------------------------------------


def plot_attention_sweep(axes, sat) -> None:
    """Three panels of an attention.saturation_sweep against d_k (log axes): logit std with
    sqrt(d_k), softmax entropy with ln(n_keys), and the softmax Jacobian's size (median and
    mean over queries), raw logits against scaled ones.

    Introduced in notebooks/10_attention_residual.ipynb.
    """
    ax_std, ax_ent, ax_jac = axes
    d = sat.d_k
    styles = {"raw": (COLORS["bad"], "q·k (unscaled)"), "scaled": (COLORS["measured"], "q·k / √d_k")}
    for name, (color, label) in styles.items():
        ax_std.loglog(d, sat.logit_std[name], "o-", color=color, label=label)
        ax_ent.semilogx(d, sat.entropy[name], "o-", color=color, label=label)
        ax_jac.loglog(d, sat.jacobian_median[name], "o-", color=color, label=f"{label}, median")
        ax_jac.loglog(d, sat.jacobian_mean[name], "s--", ms=4, color=color, lw=1.2,
                      label=f"{label}, mean")
    ax_std.loglog(d, np.sqrt(d), ":", color="black", label="√d_k")
    ax_ent.axhline(np.log(sat.n_keys), color="black", ls=":", label=f"ln {sat.n_keys} (uniform)")
    ax_std.set(xlabel="d_k", ylabel="std of the logits", title="logits grow like √d_k")
    ax_ent.set(xlabel="d_k", ylabel="softmax entropy (nats)", ylim=(0, 1.1 * np.log(sat.n_keys)),
               title="unscaled softmax turns one-hot")
    ax_jac.set(xlabel="d_k", ylabel="‖∂p/∂s‖ (Frobenius)", title="median query: ‖J‖ → 0")
    for ax in axes:
        ax.legend(fontsize=7, loc="best")


def plot_residual_streams(ax: Axes, streams: dict, *, which: str = "forward",
                          theory: dict | None = None) -> None:
    """One line per residual.Stream (label -> Stream): the stream's std ("forward") or its
    gradient's std ("grad") per block on a log axis; `theory` (label -> array) dashed, and a
    legend naming each stream (and "predicted" for the dashed lines).

    Introduced in notebooks/10_attention_residual.ipynb.
    """
    validate.one_of("which", which, ("forward", "grad"))
    predicted = False
    for i, (label, st) in enumerate(streams.items()):
        color = OKABE_ITO[i % len(OKABE_ITO)]
        y = st.forward_std if which == "forward" else st.grad_std
        ax.semilogy(st.blocks, y, "-", color=color, label=label)
        if theory and label in theory and np.isfinite(theory[label]).any():
            ref = y[0] if which == "forward" else y[-1]
            ax.semilogy(st.blocks, ref * np.asarray(theory[label]), "--", color=color, lw=1.2)
            predicted = True
    ax.set_xlabel("block l")
    ax.set_ylabel("std of x_l" if which == "forward" else "std of dL/dx_l")
    handles = ax.get_legend_handles_labels()[0]
    if predicted:  # one legend entry for every dashed line (a handle, not a line on the axes)
        handles.append(Line2D([], [], color="black", ls="--", lw=1.2, label="predicted"))
    ax.legend(handles=handles, fontsize=8)


# --- 11 width and depth at scale: muP coordinate check, lr sweep, Jacobian spectra --------------


def plot_coord_check(axes, cc, *, titles: dict[str, str] | None = None):
    """One panel per parametrisation: each layer's RMS change after a few steps against width
    (log-log), the fitted exponent in the legend. `cc` is a helpers.mup.CoordCheck.

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    markers = ("o", "s", "^", "D", "v")
    for ax, p in zip(axes, cc.change, strict=True):
        for i, name in enumerate(cc.names):
            ax.plot(cc.widths, cc.change[p][i], marker=markers[i % len(markers)], ms=5,
                    color=OKABE_ITO[i % len(OKABE_ITO)],
                    label=f"{name}: slope {cc.slope(p, name) + 0.0:+.2f}".replace("-0.00", "+0.00"))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(cc.widths, [str(n) for n in cc.widths])
        ax.set_xlabel("width n")
        ax.set_ylabel("RMS change per coordinate")
        ax.set_title((titles or {}).get(p, p))
        ax.legend(loc="upper left", fontsize=8)
    lo = min(float(np.nanmin(v)) for v in cc.change.values())
    hi = max(float(np.nanmax(v)) for v in cc.change.values())
    for ax in axes:
        ax.set_ylim(lo / 2, hi * 3)


def plot_lr_sweep(axes, sweep, *, titles: dict[str, str] | None = None):
    """One panel per parametrisation: loss after training against the learning rate, one curve
    per width, the best lr of each width marked. `sweep` is a helpers.mup.LrSweep.

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    colors = mpl.colormaps["viridis"](np.linspace(0, 0.85, len(sweep.widths)))
    for ax, p in zip(axes, sweep.loss, strict=True):
        best = sweep.best_log2_lr(p)
        for j, n in enumerate(sweep.widths):
            loss = np.minimum(sweep.loss[p][j], 10.0)
            ax.plot(sweep.lrs, loss, "o-", ms=3, color=colors[j], label=f"width {n}")
            ax.axvline(2.0 ** best[j], color=colors[j], ls=":", lw=1.5)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("learning rate (log2 axis; dotted: best)")
        ax.set_ylabel("training loss after training")
        ax.set_ylim(0.5, 3.0)
        ax.set_title((titles or {}).get(p, p))
        ax.legend(loc="upper left", fontsize=8)


def plot_spread_vs_depth(ax, depths, table: dict, *, field: str = "decades", cap: float = 12.0):
    """One field of helpers.isometry.Spread ("decades", "lost" or "kept_decades") against depth,
    one line per (activation, weights): dashed with open markers for Gaussian weights, solid for
    orthogonal; for decades, a dotted line at the float64 cap.

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    fields = {"decades": "decades from s_max to s_5%", "lost": "fraction of directions lost",
              "kept_decades": "decades, surviving directions only"}
    validate.one_of("field", field, fields)
    colors = {"tanh": OKABE_ITO[0], "relu": OKABE_ITO[3], "linear": OKABE_ITO[2]}
    markers = {"tanh": "o", "relu": "s", "linear": "^"}
    for (act, weights), spreads in table.items():
        gauss = weights == "gaussian"
        ax.plot(depths, [getattr(s, field) for s in spreads], "--" if gauss else "-",
                color=colors[act], marker=markers[act], ms=6 if gauss else 4, lw=2.2 if gauss else 1.4,
                mfc="white" if gauss else colors[act], label=f"{act}, {weights}")
    if field != "lost":
        ax.axhline(cap, color=COLORS["neutral"], lw=1, ls=":")
        ax.text(depths[0], cap - 0.2, "float64 limit: 12 decades or more", va="top", fontsize=8,
                color=COLORS["neutral"])
        ax.set_ylim(-0.3, cap + 0.8)
    else:
        ax.set_ylim(-0.03, 1.03)
    ax.set_xscale("log")
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.set_xlabel("depth L")
    ax.set_ylabel(fields[field])


