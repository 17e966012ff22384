"""One look for every figure: colour-blind-safe colours, labelled axes, small PNGs.

Plot functions take an Axes and data that a compute function produced; they never
compute an experiment themselves. Widgets draw into figures made by new_figure,
which live outside pyplot so that redrawing one never touches global state.
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
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator
from matplotlib_inline.backend_inline import set_matplotlib_formats

from helpers import validate
from helpers.stats import SATURATION

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
        edge = math.atanh(SATURATION["tanh"])
    else:
        p = SATURATION["sigmoid"]
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

def uniform_panel(figsize: tuple[float, float] = (7.0, 3.2)) -> tuple[Figure, dict]:
    """An empty figure for draws of U(a, b) against its density, and its artists.

    draw_uniform fills it in place (the Monte Carlo explorer of notebook 00 and 01).
    Introduced in notebooks/00_start_here.ipynb.
    """
    fig, ax = new_figure(figsize=figsize)
    stairs = ax.stairs([0.0], [0.0, 1.0], fill=True, alpha=0.45, color=COLORS["measured"],
                       label="samples (density)")
    (pdf,) = ax.plot([], [], color=COLORS["theory"], lw=2.5, label="U(a, b) density 1/(b - a)")
    note = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center", fontsize=12)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend(loc="upper right")
    return fig, {"ax": ax, "stairs": stairs, "pdf": pdf, "note": note}


def draw_uniform(art: dict, a: float, b: float, x, title: str, *, bins: int = 40) -> None:
    """Histogram of the draws x of U(a, b) (density) and the density 1/(b - a), in place.

    x None (no interval: a >= b) hides both and says so in the plot.
    Introduced in notebooks/00_start_here.ipynb.
    """
    ax, stairs, pdf, note = art["ax"], art["stairs"], art["pdf"], art["note"]
    if x is None:
        stairs.set_visible(False)
        pdf.set_visible(False)
        note.set_text(f"need a < b (now a = {a:.1f}, b = {b:.1f})")
        ax.set_title(title)
        return
    values, edges = np.histogram(x, bins=bins, range=(a, b), density=True)
    stairs.set_data(values, edges)
    pdf.set_data([a, a, b, b], [0, 1 / (b - a), 1 / (b - a), 0])
    for artist in (stairs, pdf):
        artist.set_visible(True)
    note.set_text("")
    pad = 0.1 * (b - a)
    ax.set_xlim(a - pad, b + pad)
    ax.set_ylim(0, 1.35 * max(values.max(), 1 / (b - a)))
    ax.set_title(title)


def preactivation_panel(figsize: tuple[float, float] = (7.0, 3.2)) -> tuple[Figure, dict]:
    """An empty figure for a histogram of pre-activations a = sum w x, and its artists.

    draw_preactivation fills it in place (the explorer of notebook 02).
    Introduced in notebooks/02_sums_of_products.ipynb.
    """
    fig, ax = new_figure(figsize=figsize)
    stairs = ax.stairs([0.0], [0.0, 1.0], fill=True, alpha=0.5, color=COLORS["measured"],
                       label="pre-activation a")
    ax.set_xlabel("pre-activation a = Σ w·x")
    ax.set_ylabel("density")
    return fig, {"ax": ax, "stairs": stairs, "shaded": []}


def draw_preactivation(art: dict, a, activation: str, half: float, title: str, *,
                       bins: int = 50) -> None:
    """Histogram of the pre-activations a on [-half, half] with `activation`'s saturated
    regions shaded (shade_saturation), in place. Introduced in notebooks/02_sums_of_products.ipynb.
    """
    ax, stairs, shaded = art["ax"], art["stairs"], art["shaded"]
    values, edges = np.histogram(a, bins=bins, range=(-half, half), density=True)
    stairs.set_data(values, edges)
    for patch in shaded:
        patch.remove()
    shaded[:] = shade_saturation(ax, activation, -half, half)
    ax.set_xlim(-half, half)
    ax.set_ylim(0, 1.2 * values.max())
    ax.legend(loc="upper right")
    ax.set_title(title)


# --- 04-06: signal propagation, Xavier, He ------------------------------------------------------


def _decade_label(value: float, _pos: int) -> str:
    """Tick label for a log axis without mathtext: 1e-3, 1, 1e+2."""
    if value <= 0 or not math.isfinite(value):
        return ""
    exponent = round(math.log10(value))
    return "1" if exponent == 0 else f"1e{exponent:+d}".replace("+", "")


def propagation_panels(figsize: tuple[float, float] = (11.0, 3.9)) -> tuple[Figure, dict]:
    """An empty figure for a probe record (helpers.probe.Propagation) and its artists.

    Left: the activation distribution per layer (heat map, layers x bins, share of the
    layer's values per bin on a log colour scale; grey = no finite value). Middle: forward
    std and gradient std per layer on a log axis; an exact 0 is a triangle at the bottom, an
    inf/NaN a cross at the top. Right: saturated % (tanh, sigmoid), or for ReLU the zero
    fraction (% of values exactly 0) and the dead units (% of units that are 0 for every
    input of the batch). draw_propagation fills them in place, so a widget never rebuilds
    the figure. Introduced in notebooks/04_signal_propagation.ipynb.
    """
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
    # the label as a plain text, not the y-axis's own: an explorer redraws that axis (ticks
    # move with the data) and a rotated label is a third of its cost
    ax_s.set(xlabel="layer")
    ax_s.text(-0.26, 0.5, "std (log scale)", rotation=90, ha="center", va="center",
              transform=ax_s.transAxes)
    ax_s.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small")
    (frac,) = ax_f.plot([], [], "o-", ms=3, color=COLORS["saturated"], label="values = 0")
    (dead,) = ax_f.plot([], [], "s-", ms=3, color=OKABE_ITO[7], label="dead units")
    ax_f.set(xlabel="layer", ylim=(-3, 103))
    zero_legend = ax_f.legend(loc="upper left", fontsize="small")  # shown for ReLU only
    note = ax_f.text(0.5, 0.5, "", transform=ax_f.transAxes, ha="center", va="center",
                     color=COLORS["neutral"])
    lines = [ax.axvline(1, color=bad, ls="--", lw=1.5, visible=False) for ax in (ax_h, ax_s, ax_f)]
    event = ax_s.text(1, 0.96, "", transform=ax_s.get_xaxis_transform(), va="top", color=bad,
                      fontweight="bold", bbox=dict(fc="white", ec=bad, alpha=0.9, pad=2))
    for artist in (zeros, nans, note, event, zero_legend, *lines):  # they move: not in the layout
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
                     zeros=zeros, nans=nans, frac=frac, dead=dead, zero_legend=zero_legend,
                     note=note, lines=lines, event=event,
                     title=fig.suptitle(""))


_EVENT_LABELS = {"overflow_layer": "inf/NaN from layer {}", "underflow_layer": "all 0 from layer {}",
                 "grad_overflow_layer": "gradient inf/NaN at layer {}",
                 "grad_underflow_layer": "gradient 0 from layer {} down"}


def _event(rec) -> tuple[int | None, str]:
    """The layer to mark and what happened there, in the probe's order (first_event)."""
    event = rec.first_event
    if event is None:
        return None, ""
    name, layer = event
    return layer, _EVENT_LABELS[name].format(layer)


def propagation_span(depth: int) -> int:
    """The layers the x axes of propagation_panels show: the depth up to 10, beyond that the
    depth rounded up to a multiple of 10. A depth slider then moves the data over a frame
    that changes at most every ten layers, and the frame (tick text) is most of a redraw.
    Introduced in notebooks/04_signal_propagation.ipynb.
    """
    return depth if depth <= 10 else -(-depth // 10) * 10


def draw_propagation(art: dict, rec, title: str = "") -> int | None:
    """Show a probe record in the artists of propagation_panels, in place; returns the marked
    layer (where the signal or its gradient overflows or underflows), or None.

    Introduced in notebooks/04_signal_propagation.ipynb.
    """
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
    lo, hi = 10.0 ** np.floor(np.log10(lo)), 10.0 ** np.ceil(np.log10(hi))  # whole decades
    lo, hi = max(lo, 1e-45), min(max(hi, lo * 10), 1e39)
    now_lo, now_hi = ax_s.get_ylim()
    # The frame (ticks, labels) is most of a redraw's time: keep the limits while they still
    # show every value with at most 2 decades to spare on either side; else re-centre with 1.
    if not (now_lo <= lo and hi <= now_hi and now_lo * 100 >= lo and now_hi <= hi * 100):
        ax_s.set_ylim(max(lo / 10, 1e-45), min(hi * 10, 1e39))
    lo, hi = ax_s.get_ylim()
    x0 = np.concatenate([layers[rec.forward_std == 0], layers[rec.grad_std == 0]])
    xn = np.concatenate([layers[np.isnan(rec.forward_std)], layers[np.isnan(rec.grad_std)]])
    art["zeros"].set_data(x0, np.full(x0.size, lo))
    art["nans"].set_data(xn, np.full(xn.size, hi))
    rectified = rec.zero_fraction is not None
    frac = rec.zero_fraction if rectified else rec.saturated
    art["frac"].set_data(*((layers, 100 * frac) if frac is not None else ([], [])))
    art["dead"].set_data(*((layers, 100 * rec.dead_units) if rectified else ([], [])))
    art["zero_legend"].set_visible(rectified)
    art["note"].set_text("" if frac is not None else f"{rec.activation}: nothing saturates or dies")
    kind = {"tanh": "saturated % (|h| > 0.99)", "sigmoid": "saturated % (h ∉ [0.01, 0.99])"}
    ax_f.set_ylabel(kind.get(rec.activation, "% of the layer"))
    ax_f.set_title("zeros and dead units" if rectified else "saturated units")
    layer, text = _event(rec)
    for line in art["lines"]:
        line.set_visible(layer is not None)
        line.set_xdata([layer or 1, layer or 1])
    art["event"].set_text(text)
    art["event"].set_visible(layer is not None)
    art["event"].set_x(layer or 1)
    span = propagation_span(depth)
    art["event"].set_ha("right" if (layer or 1) > (span + 1) / 2 else "left")
    for ax in art["axes"]:
        ax.set_xlim(0.5, span + 0.5)
    art["title"].set_text(title)
    return layer


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


def freeze_layout(fig: Figure) -> Figure:
    """Call after a first drawing: keep its layout and drop minor log ticks, so redraws skip the
    constrained-layout pass and most tick-label text, the bulk of a two-panel redraw.
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    for ax in fig.axes:
        if ax.get_yscale() == "log":
            ax.yaxis.set_minor_locator(NullLocator())
    fig.set_layout_engine("none")
    return fig


def zigzag_panels(grid, weights, losses, w_star, *, threshold: float = 1e-3,
                  figsize: tuple[float, float] = (9.0, 4.0)) -> tuple[Figure, dict]:
    """The 2-D neuron's figure: its weight path on the loss contours (left) and its loss per
    step (right, log axis, capped at 1e3), with the artists draw_zigzag moves.
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    fig, (ax, ax_loss) = new_figure(1, 2, figsize=figsize)
    contours, path, _start = plot_contour_path(ax, grid, weights, w_star)
    ax.legend(loc="upper right", fontsize="small")
    (loss_line,) = plot_loss_per_step(ax_loss, {"loss": losses}, threshold=threshold).values()
    ax_loss.legend(loc="upper right", fontsize="small")  # fixed: "best" would follow the curve
    ax_loss.set_ylim(1e-8, 1e3)
    return fig, {"ax": ax, "ax_loss": ax_loss, "contours": contours, "path": path,
                 "loss": loss_line}


def draw_zigzag(art: dict, weights, losses, title: str, loss_title: str, *, grid=None) -> None:
    """Move the path and the loss curve of zigzag_panels in place (losses capped at 1e3, the
    top of the axis); a new `grid` (another landscape) redraws the contours.
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    ax = art["ax"]
    if grid is not None:
        art["contours"].remove()
        art["contours"] = ax.contour(*grid, levels=ZIGZAG_LEVELS, colors=COLORS["neutral"],
                                     linewidths=0.7, alpha=0.7)
    art["path"].set_data(weights[:, 0], weights[:, 1])
    art["loss"].set_data(np.arange(len(losses)), np.minimum(losses, 1e3))
    ax.set_title(title)
    art["ax_loss"].set_title(loss_title)


def fixes_panels(base_weights, base_losses, *, base: str = "no fix, lr 1",
                 figsize: tuple[float, float] = (9.0, 3.6)) -> tuple[Figure, dict]:
    """The source article's weight per step (left) and loss per step (right): a fixed grey baseline and a
    "chosen" run that draw_fixes moves. Introduced in notebooks/08_fixes.ipynb.
    """
    fig, (ax, ax_loss) = new_figure(1, 2, figsize=figsize)
    colors = {base: COLORS["neutral"], "chosen": COLORS["measured"]}
    lines = plot_weight_path(ax, {base: base_weights, "chosen": base_weights}, colors=colors)
    losses = plot_loss_per_step(ax_loss, {base: base_losses, "chosen": base_losses},
                                colors=colors, start=1)
    for a, where in ((ax, "lower right"), (ax_loss, "upper right")):  # fixed: "best" follows the
        a.legend(loc=where)  # data, and the explorer keeps the legends in its cached frame
    return fig, {"ax": ax, "ax_loss": ax_loss, "weight": lines["chosen"], "loss": losses["chosen"],
                 "base_weight": lines[base], "base_loss": losses[base]}


def draw_fixes(art: dict, weights, losses, title: str, loss_title: str) -> None:
    """The chosen run's weight and loss after each step (steps 1..n), axes rescaled.
    Introduced in notebooks/08_fixes.ipynb.
    """
    steps = np.arange(1, len(weights) + 1)
    art["weight"].set_data(steps, weights)
    art["loss"].set_data(steps, losses)
    for a in (art["ax"], art["ax_loss"]):
        a.relim()
        a.autoscale_view()
    art["ax"].set_title(title)
    art["ax_loss"].set_title(loss_title)


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


def criticality_panel(figsize: tuple[float, float] = (7.0, 3.4)) -> tuple[Figure, dict]:
    """An empty figure for one net's log10 signal and gradient growth per layer, measured
    (markers) against mean-field theory (dashed); draw_criticality fills it.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    fig, ax = new_figure(figsize=figsize)
    (fwd,) = ax.plot([], [], "o-", ms=3, color=COLORS["measured"], label="pre-activation std (measured)")
    (bwd,) = ax.plot([], [], "s-", ms=3, color=COLORS["bad"], label="input gradient (measured)")
    (fwd_theory,) = ax.plot([], [], "--", color=COLORS["measured"], lw=1.5)
    (bwd_theory,) = ax.plot([], [], "--", color=COLORS["bad"], lw=1.5)
    ax.plot([], [], "--", color="black", lw=1.5, label="mean-field theory")
    ax.axhline(0, color=COLORS["neutral"], lw=1)
    ax.set_xlabel("layers crossed")
    ax.set_ylabel("log10 growth")
    ax.legend(loc="upper left", fontsize=8)
    # the title as a text of its own, not the axes' title: an explorer redraws it with the
    # lines over a cached frame (Explorer's dynamic artists)
    title = ax.text(0.5, 1.0, "", transform=ax.transAxes, ha="center", va="bottom",
                    fontweight="bold", fontsize=mpl.rcParams["axes.titlesize"])
    title.set_in_layout(False)
    ax.set_title(" ")  # keeps room for it in the layout
    return fig, {"ax": ax, "fwd": fwd, "bwd": bwd, "fwd_theory": fwd_theory, "bwd_theory": bwd_theory,
                 "title": title}


def draw_criticality(art: dict, fwd, bwd, fwd_theory, bwd_theory, title: str, *,
                     span: int | None = None) -> None:
    """Per-layer log10 growth (layers 1..depth), measured and predicted; the x axis runs to
    layer `span` (default: the depth), the y limits to whole decades with at least one
    either side of 0, so that nearby settings share a frame.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    layers = np.arange(1, len(fwd) + 1)
    for key, y in (("fwd", fwd), ("bwd", bwd), ("fwd_theory", fwd_theory), ("bwd_theory", bwd_theory)):
        art[key].set_data(layers, y)
    lo = min(-1.0, np.floor(min(np.min(fwd), np.min(bwd), np.min(fwd_theory), np.min(bwd_theory))))
    hi = max(1.0, np.ceil(max(np.max(fwd), np.max(bwd), np.max(fwd_theory), np.max(bwd_theory))))
    art["ax"].set_xlim(0, (span or len(fwd)) + 1)
    art["ax"].set_ylim(lo - 0.3, hi + 0.3)
    art["title"].set_text(title)


# --- 12: checkup of any model ------------------------------------------------------------------


def plot_checkup(ax: Axes, report, title: str | None = None) -> dict:
    """Per-layer forward std and gradient std of a helpers.checkup.Checkup on a log axis.

    One point per row of report.layers, in forward order, the x ticks named after the
    layers; flagged rows get a triangle on the x axis and a tick label in the 'bad' colour.
    A std of 0 or inf/NaN has no place on a log axis and is left out of its curve. The
    title defaults to the problems found. Returns the artists by role: "forward", "grad",
    "flagged" (Line2D). Introduced in notebooks/12_cheat_sheet.ipynb.
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
    (marks,) = ax.plot(flagged, [0.0] * len(flagged), "^", ms=9, clip_on=False, ls="none",
                       color=COLORS["bad"], transform=ax.get_xaxis_transform(),
                       label="flagged (see the findings)")
    marks.set_in_layout(False)  # on the axis line; an empty one would upset constrained layout
    ax.set_xticks(xs, [r.name for r in rows], rotation=60, ha="right", fontsize="small")
    for i in flagged:
        ax.get_xticklabels()[i].set_color(COLORS["bad"])
    ax.set_xlabel("layer (forward order)")
    ax.set_ylabel("std (log scale)")
    found = ", ".join(report.problems) or "no problem found"
    ax.set_title(title if title is not None else f"checkup: {found}")
    ax.legend(fontsize="small")
    return {"forward": fwd, "grad": grad, "flagged": marks}


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
    gradient's std ("grad") per block on a log axis; `theory` (label -> array) dashed.

    Introduced in notebooks/10_attention_residual.ipynb.
    """
    validate.one_of("which", which, ("forward", "grad"))
    for i, (label, st) in enumerate(streams.items()):
        color = OKABE_ITO[i % len(OKABE_ITO)]
        y = st.forward_std if which == "forward" else st.grad_std
        ax.semilogy(st.blocks, y, "-", color=color, label=label)
        if theory and label in theory and np.isfinite(theory[label]).any():
            ref = y[0] if which == "forward" else y[-1]
            ax.semilogy(st.blocks, ref * np.asarray(theory[label]), "--", color=color, lw=1.2)
    ax.set_xlabel("block l")
    ax.set_ylabel("std of x_l" if which == "forward" else "std of dL/dx_l")


def residual_panels(figsize: tuple[float, float] = (9.5, 3.6)) -> tuple[Figure, dict]:
    """An empty two-panel figure for residual_explorer: the stream's std per block (left) and
    its gradient's std (right), log axes, measured lines and dashed predictions, a marker for
    the block where the stream overflows. draw_residual fills it in place.

    Introduced in notebooks/10_attention_residual.ipynb.
    """
    fig, (ax_f, ax_g) = new_figure(1, 2, figsize=figsize)
    art: dict = {"fig": fig, "axes": (ax_f, ax_g)}
    for key, ax, color, label in (("fwd", ax_f, COLORS["measured"], "stream std(x_l)"),
                                  ("grad", ax_g, OKABE_ITO[4], "gradient std(dL/dx_l)")):
        (art[key],) = ax.semilogy([], [], "o-", ms=2.5, color=color, label="measured")
        (art[key + "_theory"],) = ax.semilogy([], [], "--", color=COLORS["theory"], lw=1.5,
                                              label="Var addition (theory)")
        ax.set(xlabel="block l", ylabel=label + " (log scale)")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.set_major_locator(LogLocator(numticks=7))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(_decade_label))
    ax_f.legend(loc="upper left", fontsize="small")  # one legend: fewer texts, faster redraws
    bad = COLORS["bad"]
    art["lines"] = [ax.axvline(1, color=bad, ls="--", lw=1.5, visible=False) for ax in (ax_f, ax_g)]
    art["event"] = ax_f.text(0.5, 0.5, "", transform=ax_f.transAxes, ha="center", va="center",
                             color=bad, fontweight="bold",
                             bbox=dict(fc="white", ec=bad, alpha=0.9, pad=2))
    art["note"] = ax_g.text(0.5, 0.5, "", transform=ax_g.transAxes, ha="center", va="center",
                            color=bad, fontweight="bold")
    for artist in (art["event"], art["note"], *art["lines"]):
        artist.set_in_layout(False)
    art["title"] = fig.suptitle("")
    return fig, art


RESIDUAL_TOPS = (10.0, 1e3, 1e10, 1e20, 1e40)
"""Upper y-limits residual panels snap to: the frame (ticks, labels) is redrawn only when a
setting crosses one, and every other redraw blits the lines over the cached frame."""
RESIDUAL_SPANS = (10, 20, 50, 100, 200, 300)
"""x-limits the residual panels snap to, for the same reason."""


def _bucket_limits(values) -> tuple[float, float]:
    """Log-axis limits from a few fixed buckets that hold the finite positive values."""
    shown = values[np.isfinite(values) & (values > 0)]
    lo = min(0.1, 10.0 ** np.floor(np.log10(shown.min() / 2))) if shown.size else 0.1
    top = 2 * shown.max() if shown.size else 1.0
    return lo, next((t for t in RESIDUAL_TOPS if t >= top), RESIDUAL_TOPS[-1])


def draw_residual(art: dict, stream, theory_fwd, theory_grad, title: str = "") -> int | None:
    """Show a residual.Stream in residual_panels' artists, in place; returns the block where the
    stream overflowed (marked on both panels), or None.

    theory_* are std ratios per block (predicted_stream_std, predicted_grad_std), drawn from
    the measured std at the input (stream) or at the output (gradient).
    Introduced in notebooks/10_attention_residual.ipynb.
    """
    ax_f, ax_g = art["axes"]
    blocks, depth = stream.blocks, stream.depth
    fwd, grad = stream.forward_std, stream.grad_std
    art["fwd"].set_data(blocks, fwd)
    art["grad"].set_data(blocks, grad)
    with np.errstate(all="ignore"):
        t_fwd = fwd[0] * np.asarray(theory_fwd, dtype=float)
        t_grad = grad[-1] * np.asarray(theory_grad, dtype=float)
    t_fwd[t_fwd > 1e39] = np.nan  # past float32's range nothing is drawn, as in the measurement
    art["fwd_theory"].set_data(blocks, t_fwd)
    art["grad_theory"].set_data(blocks, t_grad)
    ax_f.set_ylim(*_bucket_limits(np.concatenate([fwd, t_fwd])))
    ax_g.set_ylim(*_bucket_limits(np.concatenate([grad, t_grad])))
    span = next((x for x in RESIDUAL_SPANS if x >= depth), depth)
    for ax in (ax_f, ax_g):
        ax.set_xlim(0, span)
    k = stream.overflow_block
    for line in art["lines"]:
        line.set_visible(k is not None)
        line.set_xdata([k or 0, k or 0])
    art["event"].set_text(f"stream overflows to inf\nat block {k}" if k is not None else "")
    art["event"].set_visible(k is not None)
    art["note"].set_text("no gradient: the forward\npass overflowed" if k is not None else "")
    art["note"].set_visible(k is not None)
    art["title"].set_text(title)
    return k


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


SV_DECADES = (-14, 4)
"""The singular-value axis of the isometry explorer, in decades: fixed, so that most redraws
only repaint the histogram; it widens (to whole decades) only for values outside it."""


def _sv_bins(s, resolution: float):
    """Bin edges (10 per decade, whole decades) covering SV_DECADES, the kept singular values of
    s, the floor (largest x resolution) and, if any value is lost, one decade below it."""
    top = float(s.max())
    floor = top * resolution
    kept = s[s > floor]
    lo = min(SV_DECADES[0], int(np.floor(np.log10(max(float(kept.min()), floor)) + 1e-9)))
    hi = max(SV_DECADES[1], int(np.ceil(np.log10(top) + 1e-9)))
    if (s <= floor).any():
        lo = min(lo, int(np.floor(np.log10(floor))) - 1)
    return np.logspace(lo, hi, 10 * (hi - lo) + 1), floor


def singular_value_panel(figsize: tuple[float, float] = (7.5, 3.3)):
    """An empty histogram of singular values on a log axis, with artists to update in place
    (for helpers.widgets.isometry_explorer): returns (fig, art).

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    fig, ax = new_figure(figsize=figsize)
    art = {
        "ax": ax,
        "kept": ax.stairs([0.0], [1e-1, 1e1], fill=True, alpha=0.6, color=COLORS["measured"],
                          label="singular values"),
        "lost": ax.stairs([0.0], [1e-13, 1e-12], fill=True, alpha=0.8, hatch="//",
                          color=COLORS["saturated"], label="below float64 resolution (lost)"),
        "floor": ax.axvline(1e-12, color=COLORS["saturated"], ls=":", lw=1.5),
        "note": ax.text(0.5, 0.55, "", transform=ax.transAxes, ha="center", va="center",
                        fontsize=11, color=COLORS["bad"]),
        "headline": ax.text(0.0, 1.02, "", transform=ax.transAxes, ha="left", va="bottom",
                            fontsize=10, fontweight="bold"),
    }
    ax.axvline(1.0, color="black", lw=1, ls="--", label="isometry: s = 1")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("singular value s of the input-output Jacobian (log axis)")
    ax.set_ylabel("fraction of singular values")
    ax.legend(loc="upper right", fontsize=8)
    return fig, art


def draw_singular_values(art: dict, s, headline: str, *, resolution: float = 1e-12) -> str:
    """Draw the histogram of singular values s into a singular_value_panel; singular values below
    resolution x the largest go into the hatched "lost" bar. Non-finite or all-zero s leave a
    message in the plot instead. Returns that message ("" if the histogram was drawn).

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    s = np.asarray(s, dtype=float)
    ax, message = art["ax"], ""
    if s.size == 0 or not np.isfinite(s).all():
        message = "the Jacobian overflowed (inf/NaN): no spectrum to show"
    elif s.max() <= 0:
        message = "every singular value is 0: the net erases every direction"
    for key in ("kept", "lost", "floor"):
        art[key].set_visible(not message)
    art["note"].set_text(message)
    art["headline"].set_text(headline)
    if message:
        ax.set_xlim(10.0 ** SV_DECADES[0], 10.0 ** SV_DECADES[1])
        return message
    edges, floor = _sv_bins(s, resolution)
    kept, lost = s[s > floor], s[s <= floor]
    counts, _ = np.histogram(np.clip(kept, edges[0], edges[-1]), bins=edges)
    art["kept"].set_data(counts / s.size, edges)
    art["lost"].set_data([lost.size / s.size], [floor / 10, floor])
    art["lost"].set_visible(lost.size > 0)
    art["floor"].set_xdata([floor, floor])
    art["floor"].set_visible(lost.size > 0)
    ax.set_xlim(edges[0], edges[-1])
    return ""
