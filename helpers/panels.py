"""The explorers' figures: each *_panel builds an empty figure once, each draw_* fills it in place.

helpers.widgets wires controls to compute functions and then to these; helpers.plots keeps the
series' style and the static figures. A panel function returns a Panel: the Figure, its artists
by name (what draw_* moves) and `moving`, the artists a change redraws (an Explorer draws them
over a cached frame of everything else, so a slider answers in well under 200 ms). The words a
figure says about a blow-up come from helpers.probe.EVENT_WORDS, the split of a spectrum at the
float64 floor from helpers.isometry.spectrum, so a figure and a readout cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from helpers import isometry, plots, probe

__all__ = [
    "Panel",
    "freeze_layout",
    "uniform_panel",
    "draw_uniform",
    "preactivation_panel",
    "draw_preactivation",
    "propagation_panels",
    "propagation_span",
    "draw_propagation",
    "zigzag_panels",
    "draw_zigzag",
    "fixes_panels",
    "draw_fixes",
    "criticality_panel",
    "draw_criticality",
    "residual_panels",
    "RESIDUAL_TOPS",
    "RESIDUAL_SPANS",
    "draw_residual",
    "SV_DECADES",
    "singular_value_panel",
    "draw_singular_values",
]


class Panel(NamedTuple):
    """An explorer's figure: `fig`, its artists by name (`art`, what the draw_* function moves)
    and `moving()`, the artists a change redraws, in drawing order (a function, because some
    draw_* replace an artist: a new contour set, new shaded spans). Everything else is the
    frame an Explorer caches. Introduced in notebooks/00_start_here.ipynb (every explorer).
    """

    fig: Figure
    art: dict
    moving: Callable[[], list[Artist]]


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


# --- 00-02: distributions and sums ---------------------------------------------------------


def uniform_panel(figsize: tuple[float, float] = (7.0, 3.2)) -> Panel:
    """An empty figure for draws of U(a, b) against its density, and its artists.

    draw_uniform fills it in place (the Monte Carlo explorer of notebook 00 and 01).
    Introduced in notebooks/00_start_here.ipynb.
    """
    fig, ax = plots.new_figure(figsize=figsize)
    stairs = ax.stairs([0.0], [0.0, 1.0], fill=True, alpha=0.45, color=plots.COLORS["measured"],
                       label="samples (density)")
    (pdf,) = ax.plot([], [], color=plots.COLORS["theory"], lw=2.5, label="U(a, b) density 1/(b - a)")
    note = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center", fontsize=12)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend(loc="upper right")
    art = {"ax": ax, "stairs": stairs, "pdf": pdf, "note": note}
    # a and b move both axes' limits: the axes are drawn with the data
    moving = [ax.xaxis, ax.yaxis, stairs, pdf, note, ax.title]
    return Panel(fig, art, lambda: moving)


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


def preactivation_panel(figsize: tuple[float, float] = (7.0, 3.2)) -> Panel:
    """An empty figure for a histogram of pre-activations a = sum w x, and its artists.

    draw_preactivation fills it in place (the explorer of notebook 02).
    Introduced in notebooks/02_sums_of_products.ipynb.
    """
    fig, ax = plots.new_figure(figsize=figsize)
    stairs = ax.stairs([0.0], [0.0, 1.0], fill=True, alpha=0.5, color=plots.COLORS["measured"],
                       label="pre-activation a")
    ax.set_xlabel("pre-activation a = Σ w·x")
    ax.set_ylabel("density")
    art = {"ax": ax, "stairs": stairs, "shaded": []}
    # the axes move with n and the std; the shaded spans are new at every drawing
    return Panel(fig, art, lambda: [ax.xaxis, ax.yaxis, *art["shaded"], art["stairs"], ax.title])


def draw_preactivation(art: dict, a, activation: str, half: float, title: str, *,
                       bins: int = 50) -> None:
    """Histogram of the pre-activations a on [-half, half] with `activation`'s saturated
    regions shaded (plots.shade_saturation), in place. Introduced in notebooks/02_sums_of_products.ipynb.
    """
    ax, stairs, shaded = art["ax"], art["stairs"], art["shaded"]
    values, edges = np.histogram(a, bins=bins, range=(-half, half), density=True)
    stairs.set_data(values, edges)
    for patch in shaded:
        patch.remove()
    shaded[:] = plots.shade_saturation(ax, activation, -half, half)
    ax.set_xlim(-half, half)
    ax.set_ylim(0, 1.2 * values.max())
    ax.legend(loc="upper right")
    ax.set_title(title)


# --- 04: signal propagation ------------------------------------------------------------------


def _decade_label(value: float, _pos: int) -> str:
    """Tick label for a log axis without mathtext: 1e-3, 1, 1e+2."""
    if value <= 0 or not math.isfinite(value):
        return ""
    exponent = round(math.log10(value))
    return "1" if exponent == 0 else f"1e{exponent:+d}".replace("+", "")


def propagation_panels(figsize: tuple[float, float] = (11.0, 3.9)) -> Panel:
    """An empty figure for a probe record (helpers.probe.Propagation) and its artists.

    Left: the activation distribution per layer (heat map, layers x bins, share of the
    layer's values per bin on a log colour scale; grey = no finite value). Middle: forward
    std and gradient std per layer on a log axis; an exact 0 is a triangle at the bottom, an
    inf/NaN a cross at the top. Right: saturated % (tanh, sigmoid), or for ReLU the zero
    fraction (% of values exactly 0) and the dead units (% of units that are 0 for every
    input of the batch). draw_propagation fills them in place, so a widget never rebuilds
    the figure. Introduced in notebooks/04_signal_propagation.ipynb.
    """
    fig, (ax_h, ax_s, ax_f) = plots.new_figure(1, 3, figsize=figsize, width_ratios=[1.2, 1.0, 0.75])
    bad = plots.COLORS["bad"]
    cmap = mpl.colormaps["viridis"].with_extremes(bad="#d9d9d9", under=mpl.colormaps["viridis"](0))
    image = ax_h.imshow(np.full((2, 2), np.nan), origin="lower", aspect="auto", cmap=cmap,
                        norm=LogNorm(1e-4, 1), interpolation="nearest", extent=(0.5, 1.5, 0, 1))
    colorbar = fig.colorbar(image, ax=ax_h, label="share of the layer's values", pad=0.02)
    ax_h.set(xlabel="layer", ylabel="activation h", title="activation distribution")
    ax_h.grid(False)
    (fwd,) = ax_s.semilogy([], [], "o-", ms=3, color=plots.COLORS["measured"], label="forward std of h")
    (grad,) = ax_s.semilogy([], [], "s-", ms=3, color=plots.OKABE_ITO[4], label="gradient std dL/dh")
    (zeros,) = ax_s.plot([], [], "v", ms=8, color=bad, clip_on=False, label="exactly 0")
    (nans,) = ax_s.plot([], [], "x", ms=8, mew=2, color=bad, clip_on=False, label="inf / NaN")
    # the label as a plain text, not the y-axis's own: an explorer redraws that axis (ticks
    # move with the data) and a rotated label is a third of its cost
    ax_s.set(xlabel="layer")
    ax_s.text(-0.26, 0.5, "std (log scale)", rotation=90, ha="center", va="center",
              transform=ax_s.transAxes)
    ax_s.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small")
    (frac,) = ax_f.plot([], [], "o-", ms=3, color=plots.COLORS["saturated"], label="values = 0")
    (dead,) = ax_f.plot([], [], "s-", ms=3, color=plots.OKABE_ITO[7], label="dead units")
    ax_f.set(xlabel="layer", ylim=(-3, 103))
    zero_legend = ax_f.legend(loc="upper left", fontsize="small")  # shown for ReLU only
    note = ax_f.text(0.5, 0.5, "", transform=ax_f.transAxes, ha="center", va="center",
                     color=plots.COLORS["neutral"])
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
    art = dict(fig=fig, axes=(ax_h, ax_s, ax_f), image=image, fwd=fwd, grad=grad,
               zeros=zeros, nans=nans, frac=frac, dead=dead, zero_legend=zero_legend,
               note=note, lines=lines, event=event, title=fig.suptitle(""))
    # the std axis's ticks move with the data at almost every change: drawn with the data, so
    # the rest of the frame (most of the figure's text) stays cached
    moving = [ax_s.yaxis] + [art[k] for k in ("image", "fwd", "grad", "zeros", "nans", "frac", "dead",
                                              "zero_legend", "note", "event", "title")] + lines
    return Panel(fig, art, lambda: moving)


def _event(rec) -> tuple[int | None, str]:
    """The layer to mark and what happened there, in the probe's order (first_event), in the
    figure's words of probe.EVENT_WORDS."""
    event = rec.first_event
    if event is None:
        return None, ""
    name, layer = event
    return layer, probe.EVENT_WORDS[name][2].format(layer)


def propagation_span(depth: int) -> int:
    """The layers the x axes of propagation_panels show: the depth up to 10, beyond that the
    depth rounded up to a multiple of 10. A depth slider then moves the data over a frame
    that changes at most every ten layers, and the frame (tick text) is most of a redraw.
    Introduced in notebooks/04_signal_propagation.ipynb.
    """
    return depth if depth <= 10 else probe.round_up(depth, 10)


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


# --- 07 / 08: zig-zag -------------------------------------------------------------------------


def zigzag_panels(grid, weights, losses, w_star, *, threshold: float = 1e-3,
                  figsize: tuple[float, float] = (9.0, 4.0)) -> Panel:
    """The 2-D neuron's figure: its weight path on the loss contours (left) and its loss per
    step (right, log axis, capped at 1e3), with the artists draw_zigzag moves.
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    fig, (ax, ax_loss) = plots.new_figure(1, 2, figsize=figsize)
    contours, path, _start = plots.plot_contour_path(ax, grid, weights, w_star)
    ax.legend(loc="upper right", fontsize="small")
    (loss_line,) = plots.plot_loss_per_step(ax_loss, {"loss": losses}, threshold=threshold).values()
    ax_loss.legend(loc="upper right", fontsize="small")  # fixed: "best" would follow the curve
    ax_loss.set_ylim(1e-8, 1e3)
    art = {"ax": ax, "ax_loss": ax_loss, "contours": contours, "path": path, "loss": loss_line}
    # the axes' limits stay: only the landscape (a new contour set per centring), the path, the
    # loss curve and the titles move
    return Panel(fig, art, lambda: [art["contours"], art["path"], art["loss"], ax.title,
                                    ax_loss.title])


def draw_zigzag(art: dict, weights, losses, title: str, loss_title: str, *, grid=None) -> None:
    """Move the path and the loss curve of zigzag_panels in place (losses capped at 1e3, the
    top of the axis); a new `grid` (another landscape) redraws the contours.
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    ax = art["ax"]
    if grid is not None:
        art["contours"].remove()
        art["contours"] = ax.contour(*grid, levels=plots.ZIGZAG_LEVELS, colors=plots.COLORS["neutral"],
                                     linewidths=0.7, alpha=0.7)
    art["path"].set_data(weights[:, 0], weights[:, 1])
    art["loss"].set_data(np.arange(len(losses)), np.minimum(losses, 1e3))
    ax.set_title(title)
    art["ax_loss"].set_title(loss_title)


def fixes_panels(base_weights, base_losses, *, base: str = "no fix, lr 1",
                 figsize: tuple[float, float] = (9.0, 3.6)) -> Panel:
    """The source article's weight per step (left) and loss per step (right): a fixed grey baseline and a
    "chosen" run that draw_fixes moves. Introduced in notebooks/08_fixes.ipynb.
    """
    fig, (ax, ax_loss) = plots.new_figure(1, 2, figsize=figsize)
    colors = {base: plots.COLORS["neutral"], "chosen": plots.COLORS["measured"]}
    lines = plots.plot_weight_path(ax, {base: base_weights, "chosen": base_weights}, colors=colors)
    losses = plots.plot_loss_per_step(ax_loss, {base: base_losses, "chosen": base_losses},
                                colors=colors, start=1)
    for a, where in ((ax, "lower right"), (ax_loss, "upper right")):  # fixed: "best" follows the
        a.legend(loc=where)  # data, and the explorer keeps the legends in its cached frame
    art = {"ax": ax, "ax_loss": ax_loss, "weight": lines["chosen"], "loss": losses["chosen"],
           "base_weight": lines[base], "base_loss": losses[base]}
    # the step axes stay; the weight and loss axes rescale with every run, so they and every
    # line on them (the baseline too) are drawn with the data
    moving = [ax.yaxis, ax_loss.yaxis, art["base_weight"], art["base_loss"], art["weight"],
              art["loss"], ax.title, ax_loss.title]
    return Panel(fig, art, lambda: moving)


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


# --- 09: criticality ---------------------------------------------------------------------------


def criticality_panel(figsize: tuple[float, float] = (7.0, 3.4)) -> Panel:
    """An empty figure for one net's log10 signal and gradient growth per layer, measured
    (markers) against mean-field theory (dashed); draw_criticality fills it.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    fig, ax = plots.new_figure(figsize=figsize)
    (fwd,) = ax.plot([], [], "o-", ms=3, color=plots.COLORS["measured"],
                     label="pre-activation std (measured)")
    (bwd,) = ax.plot([], [], "s-", ms=3, color=plots.COLORS["bad"], label="input gradient (measured)")
    (fwd_theory,) = ax.plot([], [], "--", color=plots.COLORS["measured"], lw=1.5)
    (bwd_theory,) = ax.plot([], [], "--", color=plots.COLORS["bad"], lw=1.5)
    ax.plot([], [], "--", color="black", lw=1.5, label="mean-field theory")
    ax.axhline(0, color=plots.COLORS["neutral"], lw=1)
    ax.set_xlabel("layers crossed")
    ax.set_ylabel("log10 growth")
    ax.legend(loc="upper left", fontsize=8)
    # the title as a text of its own, not the axes' title: an explorer redraws it with the
    # lines over a cached frame (Explorer's dynamic artists)
    title = ax.text(0.5, 1.0, "", transform=ax.transAxes, ha="center", va="bottom",
                    fontweight="bold", fontsize=mpl.rcParams["axes.titlesize"])
    title.set_in_layout(False)
    ax.set_title(" ")  # keeps room for it in the layout
    art = {"ax": ax, "fwd": fwd, "bwd": bwd, "fwd_theory": fwd_theory, "bwd_theory": bwd_theory,
           "title": title}
    moving = [fwd, bwd, fwd_theory, bwd_theory, title]
    return Panel(fig, art, lambda: moving)


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


# --- 10: residual streams ----------------------------------------------------------------------


def residual_panels(figsize: tuple[float, float] = (9.5, 3.6)) -> Panel:
    """An empty two-panel figure for residual_explorer: the stream's std per block (left) and
    its gradient's std (right), log axes, measured lines and dashed predictions, a marker for
    the block where the stream overflows. draw_residual fills it in place.

    Introduced in notebooks/10_attention_residual.ipynb.
    """
    fig, (ax_f, ax_g) = plots.new_figure(1, 2, figsize=figsize)
    art: dict = {"fig": fig, "axes": (ax_f, ax_g)}
    for key, ax, color, label in (("fwd", ax_f, plots.COLORS["measured"], "stream std(x_l)"),
                                  ("grad", ax_g, plots.OKABE_ITO[4], "gradient std(dL/dx_l)")):
        (art[key],) = ax.semilogy([], [], "o-", ms=2.5, color=color, label="measured")
        (art[key + "_theory"],) = ax.semilogy([], [], "--", color=plots.COLORS["theory"], lw=1.5,
                                              label="Var addition (theory)")
        ax.set(xlabel="block l", ylabel=label + " (log scale)")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.set_major_locator(LogLocator(numticks=7))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(_decade_label))
    ax_f.legend(loc="upper left", fontsize="small")  # one legend: fewer texts, faster redraws
    bad = plots.COLORS["bad"]
    art["lines"] = [ax.axvline(1, color=bad, ls="--", lw=1.5, visible=False) for ax in (ax_f, ax_g)]
    art["event"] = ax_f.text(0.5, 0.5, "", transform=ax_f.transAxes, ha="center", va="center",
                             color=bad, fontweight="bold",
                             bbox=dict(fc="white", ec=bad, alpha=0.9, pad=2))
    art["note"] = ax_g.text(0.5, 0.5, "", transform=ax_g.transAxes, ha="center", va="center",
                            color=bad, fontweight="bold")
    for artist in (art["event"], art["note"], *art["lines"]):
        artist.set_in_layout(False)
    art["title"] = fig.suptitle("")
    moving = [art[k] for k in ("fwd", "grad", "fwd_theory", "grad_theory", "event", "note",
                               "title")] + art["lines"]
    return Panel(fig, art, lambda: moving)


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


# --- 11: Jacobian spectra ----------------------------------------------------------------------


SV_DECADES = (-14, 4)
"""The singular-value axis of the isometry explorer, in decades: fixed, so that most redraws
only repaint the histogram; it widens (to whole decades) only for values outside it."""


def _sv_bins(spectrum: isometry.Spectrum) -> np.ndarray:
    """Bin edges (10 per decade, whole decades) covering SV_DECADES, the kept singular values,
    the floor and, if any value is lost, one decade below it."""
    top, floor = spectrum.top, spectrum.floor
    lo = min(SV_DECADES[0], int(np.floor(np.log10(max(float(spectrum.kept.min()), floor)) + 1e-9)))
    hi = max(SV_DECADES[1], int(np.ceil(np.log10(top) + 1e-9)))
    if spectrum.lost.size:
        lo = min(lo, int(np.floor(np.log10(floor))) - 1)
    return np.logspace(lo, hi, 10 * (hi - lo) + 1)


def singular_value_panel(figsize: tuple[float, float] = (7.5, 3.3)) -> Panel:
    """An empty histogram of singular values on a log axis, with artists to update in place
    (for helpers.widgets.isometry_explorer).

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    fig, ax = plots.new_figure(figsize=figsize)
    art = {
        "ax": ax,
        "kept": ax.stairs([0.0], [1e-1, 1e1], fill=True, alpha=0.6, color=plots.COLORS["measured"],
                          label="singular values"),
        "lost": ax.stairs([0.0], [1e-13, 1e-12], fill=True, alpha=0.8, hatch="//",
                          color=plots.COLORS["saturated"], label="below float64 resolution (lost)"),
        "floor": ax.axvline(1e-12, color=plots.COLORS["saturated"], ls=":", lw=1.5),
        "note": ax.text(0.5, 0.55, "", transform=ax.transAxes, ha="center", va="center",
                        fontsize=11, color=plots.COLORS["bad"]),
        "headline": ax.text(0.0, 1.02, "", transform=ax.transAxes, ha="left", va="bottom",
                            fontsize=10, fontweight="bold"),
    }
    ax.axvline(1.0, color="black", lw=1, ls="--", label="isometry: s = 1")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("singular value s of the input-output Jacobian (log axis)")
    ax.set_ylabel("fraction of singular values")
    ax.legend(loc="upper right", fontsize=8)
    moving = [art[k] for k in ("kept", "lost", "floor", "note", "headline")]
    return Panel(fig, art, lambda: moving)


def draw_singular_values(art: dict, spectrum: isometry.Spectrum, headline: str) -> None:
    """Draw a spectrum (helpers.isometry.spectrum) into a singular_value_panel: the kept singular
    values as a histogram, the lost ones (at or below the float64 floor) in the hatched bar. A
    spectrum with a problem (an overflow, all zero) shows its message instead.

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    ax, message = art["ax"], spectrum.message
    for key in ("kept", "lost", "floor"):
        art[key].set_visible(not message)
    art["note"].set_text(message)
    art["headline"].set_text(headline)
    if message:
        ax.set_xlim(10.0 ** SV_DECADES[0], 10.0 ** SV_DECADES[1])
        return
    edges, floor, lost = _sv_bins(spectrum), spectrum.floor, spectrum.lost
    counts, _ = np.histogram(np.clip(spectrum.kept, edges[0], edges[-1]), bins=edges)
    art["kept"].set_data(counts / spectrum.size, edges)
    art["lost"].set_data([lost.size / spectrum.size], [floor / 10, floor])
    art["lost"].set_visible(lost.size > 0)
    art["floor"].set_xdata([floor, floor])
    art["floor"].set_visible(lost.size > 0)
    ax.set_xlim(edges[0], edges[-1])
