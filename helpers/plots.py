"""One look for every figure: colour-blind-safe colours, labelled axes, small PNGs.

Plot functions take an Axes and data that a compute function produced; they never
compute an experiment themselves. Widgets draw into figures made by new_figure,
which live outside pyplot so that redrawing one never touches global state.
"""

from __future__ import annotations

import io

import matplotlib as mpl
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "OKABE_ITO",
    "COLORS",
    "STYLES",
    "use_style",
    "new_figure",
    "fig_to_png",
    "shade_saturation",
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


def use_style(variant: str = "default") -> None:
    """Apply the series' figure style (and PNG inline output) to matplotlib.

    Call once in each notebook's setup cell; "classroom" for a projector.
    Introduced in notebooks/00_start_here.ipynb.
    """
    if variant not in STYLES:
        raise ValueError(f"variant must be one of {tuple(STYLES)}, got {variant!r}")
    mpl.rcParams.update(mpl.rcParamsDefault)
    mpl.rcParams.update(STYLES[variant])
    try:  # inline figures as PNG (SVG would differ on every run)
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # pragma: no cover - outside IPython
        pass


def new_figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] | None = None,
               **subplot_kw) -> tuple[Figure, object]:
    """A Figure outside pyplot (Agg canvas) and its axes, for widgets that redraw in place.

    Introduced in notebooks/01_uniform_variance.ipynb.
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
    import math

    from helpers.stats import SATURATION

    if activation == "tanh":
        edge = math.atanh(SATURATION["tanh"])
    elif activation == "sigmoid":
        p = SATURATION["sigmoid"]
        edge = math.log((1 - p) / p)
    else:
        raise ValueError(f"activation must be one of ('tanh', 'sigmoid'), got {activation!r}")
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
    import numpy as np

    values, edges = np.histogram(samples, bins=bins, density=True)
    return ax.stairs(values, edges, fill=True, alpha=0.45, label=label,
                     color=color or COLORS["measured"])


def plot_error_vs_n(ax: Axes, sizes, errors, reference) -> None:
    """Log-log plot of a Monte Carlo error against sample size, with a reference curve.

    Introduced in notebooks/01_uniform_variance.ipynb.
    """
    ax.loglog(sizes, errors, "o-", color=COLORS["measured"], label="measured RMS error")
    ax.loglog(sizes, reference, "--", color=COLORS["theory"], label=r"$\sqrt{0.8/N}$")
    ax.set_xlabel("sample size N")
    ax.set_ylabel("relative error of the sample variance")
    ax.legend()

# --- 04-06: signal propagation, Xavier, He ------------------------------------------------------


def _decade_label(value: float, _pos: int) -> str:
    """Tick label for a log axis without mathtext: 1e-3, 1, 1e+2."""
    import math

    if value <= 0 or not math.isfinite(value):
        return ""
    exponent = round(math.log10(value))
    return "1" if exponent == 0 else f"1e{exponent:+d}".replace("+", "")


def propagation_panels(figsize: tuple[float, float] = (11.0, 3.9)) -> tuple[Figure, dict]:
    """An empty figure for a probe record (helpers.probe.Propagation) and its artists.

    Left: the activation distribution per layer (heat map, layers x bins, share of the
    layer's values per bin on a log colour scale; grey = no finite value). Middle: forward
    std and gradient std per layer on a log axis; an exact 0 is a triangle at the bottom, an
    inf/NaN a cross at the top. Right: saturated or dead %. draw_propagation fills them in
    place, so a widget never rebuilds the figure. Introduced in notebooks/04_signal_propagation.ipynb.
    """
    import numpy as np
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

    fig, (ax_h, ax_s, ax_f) = new_figure(1, 3, figsize=figsize, width_ratios=[1.2, 1.0, 0.75])
    bad = COLORS["bad"]
    cmap = mpl.colormaps["viridis"].with_extremes(bad="#d9d9d9", under=mpl.colormaps["viridis"](0))
    image = ax_h.imshow(np.full((2, 2), np.nan), origin="lower", aspect="auto", cmap=cmap,
                        norm=LogNorm(1e-4, 1), interpolation="nearest", extent=(0.5, 1.5, 0, 1))
    colorbar = fig.colorbar(image, ax=ax_h, label="share of the layer's values", pad=0.02)
    ax_h.set(xlabel="layer", ylabel="activation h", title="activation distribution")
    ax_h.grid(False)
    (fwd,) = ax_s.semilogy([], [], "o-", ms=3, color=COLORS["measured"], label="forward std of h")
    (grad,) = ax_s.semilogy([], [], "s-", ms=3, color=OKABE_ITO[4], label="gradient std dL/dh")
    (zeros,) = ax_s.plot([], [], "v", ms=8, color=bad, clip_on=False, label="exactly 0")
    (nans,) = ax_s.plot([], [], "x", ms=8, mew=2, color=bad, clip_on=False, label="inf / NaN")
    ax_s.set(xlabel="layer", ylabel="std (log scale)")
    ax_s.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small")
    (frac,) = ax_f.plot([], [], "o-", ms=3, color=COLORS["saturated"])
    ax_f.set(xlabel="layer", ylim=(-3, 103))
    note = ax_f.text(0.5, 0.5, "", transform=ax_f.transAxes, ha="center", va="center",
                     color=COLORS["neutral"])
    lines = [ax.axvline(1, color=bad, ls="--", lw=1.5, visible=False) for ax in (ax_h, ax_s, ax_f)]
    event = ax_s.text(1, 0.96, "", transform=ax_s.get_xaxis_transform(), va="top", color=bad,
                      fontweight="bold", bbox=dict(fc="white", ec=bad, alpha=0.9, pad=2))
    for artist in (zeros, nans, note, event, *lines):  # they move: keep them out of the layout
        artist.set_in_layout(False)
    for ax in (ax_h, ax_s, ax_f):  # few ticks: most of a redraw's time is spent on tick text
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax_h.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax_f.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax_s.yaxis.set_major_locator(LogLocator(numticks=6))
    ax_s.yaxis.set_minor_locator(NullLocator())
    colorbar.minorticks_off()
    # plain "1e-3" labels: matplotlib's default 10^{-3} goes through mathtext, ~1 ms a label
    for axis in (ax_s.yaxis, colorbar.ax.yaxis):
        axis.set_major_formatter(FuncFormatter(_decade_label))
    return fig, dict(fig=fig, axes=(ax_h, ax_s, ax_f), image=image, fwd=fwd, grad=grad,
                     zeros=zeros, nans=nans, frac=frac, note=note, lines=lines, event=event,
                     title=fig.suptitle(""))


def _event(rec) -> tuple[int | None, str]:
    """The layer to mark and what happened there (forward events first)."""
    if rec.overflow_layer is not None:
        return rec.overflow_layer, f"inf/NaN from layer {rec.overflow_layer}"
    if rec.underflow_layer is not None:
        return rec.underflow_layer, f"all 0 from layer {rec.underflow_layer}"
    if rec.grad_overflow_layer is not None:
        return rec.grad_overflow_layer, f"gradient inf/NaN at layer {rec.grad_overflow_layer}"
    if rec.grad_underflow_layer is not None:
        return rec.grad_underflow_layer, f"gradient 0 from layer {rec.grad_underflow_layer} down"
    return None, ""


def draw_propagation(art: dict, rec, title: str = "") -> int | None:
    """Show a probe record in the artists of propagation_panels, in place; returns the marked
    layer (where the signal or its gradient overflows or underflows), or None.

    Introduced in notebooks/04_signal_propagation.ipynb.
    """
    import numpy as np

    ax_h, ax_s, ax_f = art["axes"]
    layers, depth = rec.layers, rec.depth
    with np.errstate(all="ignore"):
        share = rec.hist / rec.hist.sum(axis=1, keepdims=True)  # NaN for an empty row
    share[share == 0] = 1e-9  # below the colour scale, not "missing"
    share[np.isnan(rec.forward_std)] = np.nan
    art["image"].set_data(share.T)
    art["image"].set_extent((0.5, depth + 0.5, rec.edges[0], rec.edges[-1]))
    ax_h.set_ylim(rec.edges[0], rec.edges[-1])
    stds = np.concatenate([rec.forward_std, rec.grad_std])
    for line, values in ((art["fwd"], rec.forward_std), (art["grad"], rec.grad_std)):
        line.set_data(layers, np.where(values > 0, values, np.nan))
    shown = stds[np.isfinite(stds) & (stds > 0)]
    lo, hi = (shown.min() / 4, shown.max() * 4) if shown.size else (1e-3, 1e3)
    lo, hi = 10.0 ** np.floor(np.log10(lo)), 10.0 ** np.ceil(np.log10(hi))  # whole decades:
    ax_s.set_ylim(max(lo, 1e-45), min(max(hi, lo * 10), 1e39))  # limits (and ticks) change rarely
    lo, hi = ax_s.get_ylim()
    x0 = np.concatenate([layers[rec.forward_std == 0], layers[rec.grad_std == 0]])
    xn = np.concatenate([layers[np.isnan(rec.forward_std)], layers[np.isnan(rec.grad_std)]])
    art["zeros"].set_data(x0, np.full(x0.size, lo))
    art["nans"].set_data(xn, np.full(xn.size, hi))
    frac = rec.saturated if rec.saturated is not None else rec.dead
    art["frac"].set_data(*((layers, 100 * frac) if frac is not None else ([], [])))
    art["note"].set_text("" if frac is not None else f"{rec.activation}: nothing saturates or dies")
    kind = {"tanh": "saturated % (|h| > 0.99)", "sigmoid": "saturated % (h ∉ [0.01, 0.99])"}
    ax_f.set_ylabel(kind.get(rec.activation, "dead % (h = 0)"))
    ax_f.set_title("saturated units" if rec.saturated is not None else "dead units")
    layer, text = _event(rec)
    for line in art["lines"]:
        line.set_visible(layer is not None)
        line.set_xdata([layer or 1, layer or 1])
    art["event"].set_text(text)
    art["event"].set_visible(layer is not None)
    art["event"].set_x(layer or 1)
    art["event"].set_ha("right" if (layer or 1) > (depth + 1) / 2 else "left")
    for ax in art["axes"]:
        ax.set_xlim(0.5, depth + 0.5)
    art["title"].set_text(title)
    return layer


def plot_propagation(rec, title: str | None = None, figsize: tuple[float, float] = (11.0, 3.9)):
    """A static figure of one probe record (the explorer's picture); returns the Figure.

    title defaults to helpers.probe.headline(rec). Introduced in
    notebooks/04_signal_propagation.ipynb.
    """
    from helpers.probe import headline

    fig, art = propagation_panels(figsize)
    draw_propagation(art, rec, headline(rec) if title is None else title)
    return fig


def plot_unit_weights(ax: Axes, weight, title: str, vmax: float | None = None):
    """The hidden units' incoming weights as an image: one row per unit, one column per input.

    Identical rows (clone units, constant init) show as vertical stripes. A diverging
    colormap centred at 0. Returns the image. Introduced in
    notebooks/03_constant_and_random_init.ipynb.
    """
    import numpy as np

    w = np.asarray(weight.detach() if hasattr(weight, "detach") else weight, dtype=float)
    top = vmax if vmax is not None else float(np.abs(w).max()) or 1.0
    image = ax.imshow(w, cmap="RdBu_r", vmin=-top, vmax=top, aspect="auto",
                      interpolation="nearest")
    ax.set_xlabel("input feature")
    ax.set_ylabel("hidden unit")
    ax.set_title(title)
    ax.grid(False)
    return image


def plot_loss_curves(ax: Axes, curves: dict, *, chance: float | None = None,
                     window: int = 25, colors: dict | None = None) -> None:
    """Training loss per step for several runs, smoothed by a running mean of `window` steps.

    chance draws the loss of a uniform guess, ln(n_classes), as a dashed line.
    Introduced in notebooks/03_constant_and_random_init.ipynb (reused in 06).
    """
    import numpy as np

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
    import matplotlib as mpl
    import numpy as np

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
    import numpy as np

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
    Introduced in notebooks/05_xavier_glorot.ipynb (reused in 06).
    """
    import numpy as np

    for i, (label, values) in enumerate(stds.items()):
        values = np.asarray(values, dtype=float)
        color = (colors or {}).get(label, OKABE_ITO[i % len(OKABE_ITO)])
        ax.semilogy(np.arange(1, len(values) + 1), values, "o-", ms=3, label=label, color=color)
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")

# --- 07 / 08: zig-zag -------------------------------------------------------------------------------


def plot_weight_path(ax: Axes, paths: dict, *, colors: dict | None = None,
                     minimum: float | None = None) -> dict:
    """The weight after each training step, one line per run (seed 002's figure).

    minimum draws the loss minimum w* as a dashed line. Returns the lines by label, so a
    widget can .set_data them. Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    import numpy as np

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
    import numpy as np

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
    import numpy as np

    w1, w2, loss = grid
    levels = levels if levels is not None else np.geomspace(1e-3, 30, 12)
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
    Returns the lines by label. Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    import numpy as np

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


# --- 09 / 10: training sweeps --------------------------------------------------------------------


def plot_seed_runs(ax: Axes, runs: dict[str, list[float]], *, ylabel: str = "test accuracy"):
    """One column of dots per init (one dot per seed) with its mean ± std as a bar.

    Shows the spread a single run hides. Introduced in notebooks/09_init_in_training.ipynb.
    """
    import numpy as np

    for i, (name, values) in enumerate(runs.items()):
        v = np.asarray(values, dtype=float)
        jitter = np.linspace(-0.15, 0.15, len(v))
        color = OKABE_ITO[i % len(OKABE_ITO)]
        ax.plot(i + jitter, v, "o", color=color, alpha=0.55, ms=5)
        ax.errorbar(i + 0.3, v.mean(), yerr=v.std(ddof=1), fmt="s", color=color, capsize=5,
                    ms=7, label=f"{name}: {v.mean():.3f} ± {v.std(ddof=1):.3f}")
    ax.set_xticks(range(len(runs)), list(runs))
    ax.set_xlim(-0.5, len(runs) - 0.3)
    ax.set_ylabel(ylabel)
    ax.legend(loc="lower right", fontsize=8)


def plot_loss_heatmap(ax: Axes, loss, schemes, depths, *, vmax: float):
    """Heat map of final loss [scheme, depth], each cell labelled; a blow-up (inf/NaN) says so.

    Colours run from 0 (trained) to vmax (e.g. the chance-level loss ln C).
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    import numpy as np

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
    import numpy as np
    from matplotlib.ticker import FixedLocator, NullFormatter

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
    import numpy as np

    r = np.asarray(ratios, dtype=float)
    colors = mpl.colormaps["viridis"](np.linspace(0, 0.9, r.shape[1]))
    for layer in range(r.shape[1]):
        ax.plot(r[:, layer], color=colors[layer], lw=1.2,
                label=f"layer {layer + 1}" if layer in (0, r.shape[1] - 1) else None)
    ax.axhline(target, color="black", ls="--", lw=1.5, label="1e-3 (Karpathy's guide)")
    ax.set_xlabel("training step")
    ax.set_ylabel("log10 std(lr·grad) / std(W)")
    if legend:
        ax.legend(loc="lower right", fontsize=8)
