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
    "classroom": {
        **_BASE,
        "figure.figsize": (10.0, 4.8),
        "font.size": 15,
        "axes.titlesize": 16,
        "axes.labelsize": 15,
        "lines.linewidth": 3.0,
        "lines.markersize": 9,
        "figure.dpi": 90,
        "savefig.dpi": 90,
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
        ax.axhline(chance, ls="--", color=COLORS["neutral"], label="chance: ln(classes)")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"cross-entropy (mean of {window} steps)")
    ax.legend(fontsize="small")

# --- 07 / 08: zig-zag -------------------------------------------------------------------------------

# --- 09 / 10: training sweeps --------------------------------------------------------------------
