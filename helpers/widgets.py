"""Interactive explorers: each builder returns a widget; callbacks call compute, then plot.

Every builder draws its figure for the default values straight away, into an
ipywidgets.Image. When the widget is displayed it also offers that figure as a
plain PNG, so a notebook executed headless (nbval, nbconvert, GitHub's preview)
still shows a meaningful picture. Live, a change re-renders only that image.
Tests drive a widget by setting a control's .value and reading `.png` or `.state`.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable

import ipywidgets as w
import numpy as np
from matplotlib.figure import Figure

from helpers import stats
from helpers.plots import COLORS, fig_to_png, new_figure, shade_saturation

__all__ = ["Explorer", "monte_carlo_explorer", "preactivation_explorer"]


class Explorer(w.VBox):
    """A VBox of controls, a figure (as a PNG Image) and a one-line readout.

    `render` is called with the controls' current values (a dict); it must draw on
    `self.fig` (in place) and return the readout text. Subclass-free: builders
    below make an Explorer with their own controls and render function.
    """

    def __init__(self, controls: dict[str, w.ValueWidget], fig: Figure,
                 render: Callable[[dict], str], *, dpi: float | None = None):
        self.controls = controls
        self.fig = fig
        self._render = render
        self._dpi = dpi
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.readout = w.HTML()
        self.state: dict = {}
        self.png: bytes = b""
        box = w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap"))
        super().__init__([box, self.image, self.readout])
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict:
        """The controls' current values, by name."""
        return {name: c.value for name, c in self.controls.items()}

    def update(self) -> None:
        """Recompute and redraw for the current values (what every control change calls)."""
        values = self.values()
        text = self._render(values)
        self.png = fig_to_png(self.fig, self._dpi)
        self.image.value = self.png
        self.readout.value = f"<b>{text}</b>" if text else ""
        self.state = {**values, "readout": text}

    def _on_change(self, _change: dict) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["image/png"] = base64.b64encode(self.png).decode("ascii")
        text = self.state.get("readout", "")
        data["text/plain"] = f"{type(self).__name__}: {text}" if text else type(self).__name__
        return data


# --- 01 uniform variance: Monte Carlo explorer --------------------------------------------

MC_SIZES = (10, 30, 100, 300, 1_000, 3_000, 10_000, 100_000)


def monte_carlo_explorer(a: float = -1.0, b: float = 1.0, n: int = 1_000, seed: int = 0) -> Explorer:
    """Sliders for a, b and the sample size N: histogram of U(a, b) draws against its density,
    and the sample variance against (b - a)^2 / 12 in the readout.

    a >= b is not an error here: the figure says so and waits for a valid interval.
    Introduced in notebooks/01_uniform_variance.ipynb.
    """
    if n not in MC_SIZES:
        raise ValueError(f"n must be one of {MC_SIZES}, got {n}")
    controls = {
        "a": w.FloatSlider(value=a, min=-3.0, max=3.0, step=0.1, description="a"),
        "b": w.FloatSlider(value=b, min=-3.0, max=3.0, step=0.1, description="b"),
        "n": w.SelectionSlider(options=MC_SIZES, value=n, description="N"),
    }
    fig, ax = new_figure(figsize=(7.0, 3.2))
    stairs = ax.stairs([0.0], [0.0, 1.0], fill=True, alpha=0.45, color=COLORS["measured"],
                       label="samples (density)")
    (pdf,) = ax.plot([], [], color=COLORS["theory"], lw=2.5, label="U(a, b) density 1/(b - a)")
    note = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center", fontsize=12)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend(loc="upper right")

    def render(v: dict) -> str:
        lo, hi, size = v["a"], v["b"], v["n"]
        if lo >= hi:
            stairs.set_visible(False)
            pdf.set_visible(False)
            note.set_text(f"need a < b (now a = {lo:.1f}, b = {hi:.1f})")
            ax.set_title("no interval: move a below b")
            return f"U(a, b) needs a < b; got a = {lo:.1f}, b = {hi:.1f}"
        x = np.random.default_rng(seed).uniform(lo, hi, size=size)
        values, edges = np.histogram(x, bins=40, range=(lo, hi), density=True)
        stairs.set_data(values, edges)
        pdf.set_data([lo, lo, hi, hi], [0, 1 / (hi - lo), 1 / (hi - lo), 0])
        for artist in (stairs, pdf):
            artist.set_visible(True)
        note.set_text("")
        pad = 0.1 * (hi - lo)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(0, 1.35 * max(values.max(), 1 / (hi - lo)))
        measured, theory = x.var(ddof=1), stats.uniform_variance(lo, hi)
        ax.set_title(f"N = {size:,}: sample Var {measured:.4f} vs (b-a)²/12 = {theory:.4f}")
        return (f"N = {size:,}: sample variance {measured:.4f}, theory {theory:.4f}, "
                f"error {abs(measured / theory - 1):.1%}")

    return Explorer(controls, fig, render)


# --- 02 sums of products: pre-activation explorer -----------------------------------------

SUM_SIZES = (1, 10, 100, 1_000, 10_000)


@functools.lru_cache(maxsize=16)
def _unit_sums(n: int, trials: int, seed: int) -> np.ndarray:
    """sum_i w_i x_i with w_i ~ U(-sqrt 3, sqrt 3) (std 1) and x_i ~ U(-1, 1); cached per n,
    so moving the weight-std slider only rescales (a is linear in the weights' scale)."""
    return stats.sample_weighted_sums(n, trials, "uniform", weight_std=1.0, seed=seed)


def preactivation_explorer(n: int = 10_000, weight_std: float = 3 ** -0.5,
                           activation: str = "tanh", trials: int = 1_000,
                           seed: int = 0) -> Explorer:
    """Sliders for the number of inputs n and the weight std: histogram of the pre-activation
    a = sum w_i x_i (x_i ~ U(-1, 1), uniform weights) with the saturated regions of tanh or
    sigmoid shaded, and the saturated fraction in the readout.

    The default weight std is that of U(-1, 1), seed 003's setup. Introduced in
    notebooks/02_sums_of_products.ipynb.
    """
    if n not in SUM_SIZES:
        raise ValueError(f"n must be one of {SUM_SIZES}, got {n}")
    if activation not in stats.SATURATION:
        raise ValueError(f"activation must be one of {tuple(stats.SATURATION)}, got {activation!r}")
    controls = {
        "n": w.SelectionSlider(options=SUM_SIZES, value=n, description="n inputs"),
        "weight_std": w.FloatLogSlider(value=weight_std, base=10, min=-3, max=0.5, step=0.05,
                                       description="weight std", readout_format=".3f"),
        "activation": w.Dropdown(options=tuple(stats.SATURATION), value=activation,
                                 description="activation"),
    }
    fig, ax = new_figure(figsize=(7.0, 3.2))
    stairs = ax.stairs([0.0], [0.0, 1.0], fill=True, alpha=0.5, color=COLORS["measured"],
                       label="pre-activation a")
    shaded: list = []
    ax.set_xlabel("pre-activation a = Σ w·x")
    ax.set_ylabel("density")

    def render(v: dict) -> str:
        a = v["weight_std"] * _unit_sums(v["n"], trials, seed)
        sd = stats.sum_of_products_std(v["n"], v["weight_std"] ** 2, 1 / 3)
        half = max(4 * sd, 6.0)
        values, edges = np.histogram(a, bins=50, range=(-half, half), density=True)
        stairs.set_data(values, edges)
        for patch in shaded:
            patch.remove()
        shaded[:] = shade_saturation(ax, v["activation"], -half, half)
        ax.set_xlim(-half, half)
        ax.set_ylim(0, 1.2 * values.max())
        ax.legend(loc="upper right")
        frac = stats.saturated_fraction(a, v["activation"])
        ax.set_title(f"n = {v['n']:,}: std(a) = {a.std():.3g}; {frac:.0%} saturated")
        return (f"n = {v['n']:,}, weight std {v['weight_std']:.3f}: std(a) = {a.std():.3g} "
                f"(theory {sd:.3g}), {frac:.1%} of units saturated under {v['activation']}")

    return Explorer(controls, fig, render)


# --- 04 signal propagation: the explorer --------------------------------------------------

# --- 07/08 zig-zag: learning rate, centring, momentum, fixes -------------------------------

# --- 09 init in training --------------------------------------------------------------------
