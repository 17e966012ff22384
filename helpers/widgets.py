"""Interactive explorers: each builder returns a widget; callbacks call compute, then a panel.

Each control is declared once (Control: name, kind, range or options, step, default, label);
the builder's argument check and the ipywidget are both made from that declaration, so an
explorer refuses what its controls cannot show. The figures are helpers.panels'.

Every builder draws its figure for the default values straight away, into an
ipywidgets.Image. When the widget is displayed it also offers that figure as a
plain PNG, so a notebook executed headless (nbval, nbconvert, GitHub's preview)
still shows a meaningful picture. Live, a change re-renders only that image.
Tests drive a widget by setting a control's .value and reading `.png` or `.state`.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import math
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as w
import matplotlib as mpl
import matplotlib.image
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers import criticality, isometry, nets, panels, plots, probe, residual, stats, validate, zigzag
from helpers import init as inits

__all__ = [
    "Explorer",
    "CONTROL_KINDS",
    "Control",
    "EXPLORER_CONTROLS",
    "MC_SIZES",
    "MONTE_CARLO_CONTROLS",
    "monte_carlo_explorer",
    "SUM_SIZES",
    "PREACTIVATION_CONTROLS",
    "preactivation_explorer",
    "PROPAGATION_WIDTHS",
    "PROPAGATION_CONTROLS",
    "PROPAGATION_PRESETS",
    "EXPLORER_BATCH_STEPS",
    "explorer_batch",
    "propagation_explorer",
    "ZIGZAG_CONTROLS",
    "zigzag_explorer",
    "FIXES_CONTROLS",
    "fixes_explorer",
    "CRITICALITY_BLOCK",
    "CRITICALITY_CONTROLS",
    "criticality_explorer",
    "RESIDUAL_MAX_DEPTH",
    "RESIDUAL_CONTROLS",
    "residual_explorer",
    "ISOMETRY_MAX_DEPTH",
    "ISOMETRY_BLOCK",
    "ISOMETRY_CONTROLS",
    "isometry_explorer",
]


class Explorer(w.VBox):
    """A VBox of controls, a figure (as a PNG Image) and a one-line readout.

    `render` is called with the controls' current values (a dict); it must draw on
    `self.fig` (in place) and return the readout text, or (text, extra state dict).
    Subclass-free: builders below make an Explorer with their own controls and render
    function. `extras` are widgets shown after the controls that hold no value (e.g.
    preset buttons); `explorer.set(name=value, ...)` sets several controls with one redraw.

    Speed (a slider must answer in well under 200 ms, and matplotlib 3.11 draws text glyph by
    glyph, ~0.1 ms each): `dynamic` lists the artists a change moves (or a function returning
    them, when render replaces some); they are drawn over a cached frame, which is drawn again
    only when what it shows changes: an axes' limits (unless that axis is itself dynamic), its
    title (unless dynamic), its labels, the figure's title, and `frame(values)` for anything
    else (e.g. a legend that follows a dropdown). `freeze=True` keeps the layout of the first
    drawing (panels.freeze_layout), so a redraw skips the constrained-layout pass.
    """

    BACKGROUNDS = 8
    """Cached frames kept (about 1 MB each at 880 x 312): going back to an earlier frame blits."""

    def __init__(self, controls: dict[str, w.ValueWidget], fig: Figure,
                 render: Callable[[dict], str | tuple[str, dict]], *, dpi: float | None = None,
                 extras: Sequence[w.Widget] = (),
                 dynamic: Sequence[Artist] | Callable[[], Sequence[Artist]] = (),
                 frame: Callable[[dict], Hashable] | None = None, freeze: bool = False):
        self.controls = controls
        self.fig = fig
        self._render = render
        self._dpi = dpi
        self._held = 0
        self._dynamic = dynamic if callable(dynamic) else list(dynamic)
        self._frame = frame
        self._backgrounds: dict = {}  # frame key -> saved pixels, most recently used last
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.readout = w.HTML()
        self.state: dict = {}
        self.png: bytes = b""
        self.redraws = 0  # how many times update() has drawn (a preset must add exactly one)
        self.last_draw = ""  # "full" (every artist) or "blit" (dynamic artists over the cached frame)
        box = w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap"))
        rows = [box, w.HBox(list(extras), layout=w.Layout(flex_flow="row wrap"))] if extras else [box]
        super().__init__([*rows, self.image, self.readout])
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.update()
        if freeze:
            panels.freeze_layout(fig)  # after the first drawing: its layout is kept

    def values(self) -> dict:
        """The controls' current values, by name."""
        return {name: c.value for name, c in self.controls.items()}

    def update(self) -> None:
        """Recompute and redraw for the current values (what every control change calls)."""
        values = self.values()
        out = self._render(values)
        text, extra = out if isinstance(out, tuple) else (out, {})
        self.png = self._encode()
        self.redraws += 1
        self.image.value = self.png
        self.readout.value = f"<b>{text}</b>" if text else ""
        self.state = {**values, **extra, "readout": text}

    def dynamic(self) -> list[Artist]:
        """The artists drawn over the cached frame at every change (empty: every draw is full)."""
        return list(self._dynamic()) if callable(self._dynamic) else self._dynamic

    def _frame_key(self) -> tuple:
        """What the static background depends on: every axes' limits, title and labels (not the
        limits of an axis, nor a title, that is itself a dynamic artist: it is drawn with the
        data), the figure's title unless dynamic, and the builder's frame(values)."""
        suptitle = self.fig._suptitle
        return (*((None if ax.xaxis.get_animated() else ax.get_xlim(),
                   None if ax.yaxis.get_animated() else ax.get_ylim(),
                   None if ax.title.get_animated() else ax.get_title(),
                   ax.get_xlabel(), ax.get_ylabel()) for ax in self.fig.axes),
                None if suptitle is None or suptitle.get_animated() else suptitle.get_text(),
                self._frame(self.values()) if self._frame else None)

    def _blit(self) -> bytes:
        """Redraw only the `dynamic` artists over a cached background (axes, ticks, labels,
        legends), which is drawn again only when its frame key changes. Tick text is most of
        a full draw's time, so a change that keeps the axes' limits costs a fraction of it."""
        canvas = self.fig.canvas
        dynamic = self.dynamic()
        for artist in dynamic:
            artist.set_animated(True)  # left out of a full draw; drawn on top of the background
        key = self._frame_key()
        background = self._backgrounds.pop(key, None)
        if background is None:
            canvas.draw()
            background = canvas.copy_from_bbox(self.fig.bbox)
            self.last_draw = "full"
        else:
            canvas.restore_region(background)
            self.last_draw = "blit"
        self._backgrounds[key] = background
        while len(self._backgrounds) > self.BACKGROUNDS:
            self._backgrounds.pop(next(iter(self._backgrounds)))
        for artist in dynamic:
            self.fig.draw_artist(artist)
        buf = io.BytesIO()
        # zlib level 3 instead of 6: half the encoding time (10 ms at 880 x 312), 2% more bytes
        mpl.image.imsave(buf, np.asarray(canvas.buffer_rgba()), format="png", dpi=self.fig.dpi,
                         pil_kwargs={"compress_level": 3})
        return buf.getvalue()

    def _encode(self) -> bytes:
        """The figure as PNG bytes. At the figure's own dpi, print_png gives the same bytes as
        savefig ~40% faster (savefig resets dpi and size, which invalidates every text layout)."""
        dpi = self._dpi or mpl.rcParams["savefig.dpi"]
        dpi = self.fig.dpi if dpi == "figure" else dpi
        if dpi != self.fig.dpi or not isinstance(self.fig.canvas, FigureCanvasAgg):
            self.last_draw = "full"
            return plots.fig_to_png(self.fig, self._dpi)
        if self.dynamic():
            return self._blit()
        self.last_draw = "full"
        buf = io.BytesIO()
        self.fig.canvas.print_png(buf)
        return buf.getvalue()

    def set(self, **values) -> None:
        """Set several controls by name and redraw once (what a preset button or a test does)."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; this explorer has {sorted(self.controls)}")
        with self.hold():
            for name, value in values.items():
                self.controls[name].value = value

    def full_png(self) -> bytes:
        """The current figure drawn from scratch, every artist, no cached frame: what a blitted
        `.png` must equal pixel for pixel (the tests compare the two)."""
        self._backgrounds.clear()
        return self._encode()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Change several controls inside this block; the figure is redrawn once, at the end."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held:
                self.update()

    def _on_change(self, _change: dict) -> None:
        if not self._held:
            self.update()

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["image/png"] = base64.b64encode(self.png).decode("ascii")
        text = self.state.get("readout", "")
        data["text/plain"] = f"{type(self).__name__}: {text}" if text else type(self).__name__
        return data


# --- controls: each declared once, the slider and the argument check built from it -------------

CONTROL_KINDS = ("float", "log", "int", "steps", "menu", "toggle")
"""float: FloatSlider; log: FloatLogSlider; int: IntSlider; steps: SelectionSlider over options;
menu: Dropdown over options; toggle: Checkbox."""


@dataclass(frozen=True)
class Control:
    """One explorer control, declared once: its name (the builder's argument), kind
    (CONTROL_KINDS), the words of its label, its default, its range low..high (both ends shown
    by the slider; for "log" the values, not their exponents) and step (for "log", in powers of
    `base`), or its options. The builder's argument check (`check`) and the ipywidget
    (`widget`) are both made from it, so an explorer refuses exactly what its control cannot
    show, instead of a slider clamping the value in silence.
    Introduced in notebooks/00_start_here.ipynb (every explorer's controls).
    """

    name: str
    kind: str
    label: str
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    options: tuple = ()
    base: int = 10
    readout_format: str | None = None
    continuous_update: bool = True

    def check(self, value: Any) -> None:
        """Raise ValueError (helpers.validate's wording, naming the range or the choices) unless
        the control can show `value` as it is."""
        if self.kind in ("steps", "menu"):
            validate.one_of(self.name, value, self.options)
        elif self.kind == "toggle":
            validate.one_of(self.name, value, (False, True))
        elif self.kind == "int":
            validate.integer_in(self.name, value, int(self.low), int(self.high))
        else:
            validate.number(self.name, value, self.low, self.high)

    def widget(self, value: Any) -> w.ValueWidget:
        """The ipywidget of this control, set to `value` (checked first)."""
        self.check(value)
        extra = {} if self.readout_format is None else {"readout_format": self.readout_format}
        if not self.continuous_update:
            extra["continuous_update"] = False
        common = {"value": value, "description": self.label, **extra}
        if self.kind == "float":
            return w.FloatSlider(min=self.low, max=self.high, step=self.step, **common)
        if self.kind == "log":
            exponent = math.log10 if self.base == 10 else math.log2
            return w.FloatLogSlider(base=self.base, min=exponent(self.low), max=exponent(self.high),
                                    step=self.step, **common)
        if self.kind == "int":
            return w.IntSlider(min=self.low, max=self.high, **common)
        if self.kind == "steps":
            return w.SelectionSlider(options=self.options, **common)
        if self.kind == "menu":
            return w.Dropdown(options=self.options, **common)
        return w.Checkbox(**common)


def _declare(*controls: Control) -> dict[str, Control]:
    """An explorer's controls by name, in the order they are shown."""
    for c in controls:
        validate.one_of("kind", c.kind, CONTROL_KINDS)
    return {c.name: c for c in controls}


def _build(declared: dict[str, Control], **values) -> dict[str, w.ValueWidget]:
    """Check every value first (nothing is drawn for a bad one), then make the widgets."""
    for name, control in declared.items():
        control.check(values[name])
    return {name: control.widget(values[name]) for name, control in declared.items()}


# --- 01 uniform variance: Monte Carlo explorer --------------------------------------------

MC_SIZES = (10, 30, 100, 300, 1_000, 3_000, 10_000, 100_000)
MONTE_CARLO_CONTROLS = _declare(
    Control("a", "float", "a", -1.0, -3.0, 3.0, 0.1),
    Control("b", "float", "b", 1.0, -3.0, 3.0, 0.1),
    Control("n", "steps", "N", 1_000, options=MC_SIZES),
)


def monte_carlo_explorer(a: float = MONTE_CARLO_CONTROLS["a"].default,
                         b: float = MONTE_CARLO_CONTROLS["b"].default,
                         n: int = MONTE_CARLO_CONTROLS["n"].default, seed: int = 0) -> Explorer:
    """Sliders for a, b and the sample size N: histogram of U(a, b) draws against its density,
    and the sample variance against (b - a)^2 / 12 in the readout.

    a >= b is not an error here: the figure says so and waits for a valid interval.
    Introduced in notebooks/00_start_here.ipynb.
    """
    controls = _build(MONTE_CARLO_CONTROLS, a=a, b=b, n=n)
    panel = panels.uniform_panel()

    def render(v: dict) -> str:
        # a slider's float steps can give a = 0.9999999999999999 for b = 1: that is a = b
        lo, hi, size = round(v["a"], 6), round(v["b"], 6), v["n"]
        if lo >= hi:
            panels.draw_uniform(panel.art, lo, hi, None, "no interval: move a below b")
            return f"U(a, b) needs a < b; got a = {lo:.1f}, b = {hi:.1f}"
        x = np.random.default_rng(seed).uniform(lo, hi, size=size)
        measured, theory = x.var(ddof=1), stats.uniform_variance(lo, hi)
        panels.draw_uniform(panel.art, lo, hi, x,
                            f"N = {size:,}: sample Var {measured:.4f} vs (b-a)²/12 = {theory:.4f}")
        return (f"N = {size:,}: sample variance {measured:.4f}, theory {theory:.4f}, "
                f"error {abs(measured / theory - 1):.1%}")

    return Explorer(controls, panel.fig, render, dynamic=panel.moving, freeze=True)


# --- 02 sums of products: pre-activation explorer -----------------------------------------

SUM_SIZES = (1, 10, 100, 1_000, 10_000)
PREACTIVATION_CONTROLS = _declare(
    Control("n", "steps", "n inputs", 10_000, options=SUM_SIZES),
    Control("weight_std", "log", "weight std", 3 ** -0.5, 1e-3, 3.0, 0.05, readout_format=".3f"),
    Control("activation", "menu", "activation", "tanh", options=tuple(stats.SATURATION)),
)


@functools.lru_cache(maxsize=16)
def _unit_sums(n: int, trials: int, seed: int) -> np.ndarray:
    """sum_i w_i x_i with w_i ~ U(-sqrt 3, sqrt 3) (std 1) and x_i ~ U(-1, 1); cached per n,
    so moving the weight-std slider only rescales (a is linear in the weights' scale)."""
    return stats.sample_weighted_sums(n, trials, "uniform", weight_std=1.0, seed=seed)


def preactivation_explorer(n: int = PREACTIVATION_CONTROLS["n"].default,
                           weight_std: float = PREACTIVATION_CONTROLS["weight_std"].default,
                           activation: str = PREACTIVATION_CONTROLS["activation"].default,
                           trials: int = 1_000, seed: int = 0) -> Explorer:
    """Sliders for the number of inputs n and the weight std: histogram of the pre-activation
    a = sum w_i x_i (x_i ~ U(-1, 1), uniform weights) with the saturated regions of tanh or
    sigmoid shaded, and the saturated fraction in the readout.

    The default weight std is that of U(-1, 1), the setup of the source article on Keras
    initialisers. Introduced in
    notebooks/02_sums_of_products.ipynb.
    """
    controls = _build(PREACTIVATION_CONTROLS, n=n, weight_std=weight_std, activation=activation)
    panel = panels.preactivation_panel()

    def render(v: dict) -> str:
        a = v["weight_std"] * _unit_sums(v["n"], trials, seed)
        sd = stats.sum_of_products_std(v["n"], v["weight_std"] ** 2, 1 / 3)
        frac = stats.saturated_fraction(a, v["activation"])
        panels.draw_preactivation(panel.art, a, v["activation"], max(4 * sd, 6.0),
                                  f"n = {v['n']:,}: std(a) = {a.std():.3g}; {frac:.0%} saturated")
        return (f"n = {v['n']:,}, weight std {v['weight_std']:.3f}: std(a) = {a.std():.3g} "
                f"(theory {sd:.3g}), {frac:.1%} of units saturated under {v['activation']}")

    # the legend follows the activation: part of the cached frame, drawn again when it changes
    return Explorer(controls, panel.fig, render, freeze=True, frame=lambda v: v["activation"],
                    dynamic=panel.moving)


# --- 04 signal propagation: the explorer --------------------------------------------------

PROPAGATION_WIDTHS = (10, 20, 50, 100, 200, 500)
PROPAGATION_CONTROLS = _declare(
    Control("init", "menu", "init", "fixed", options=inits.INIT_SCHEMES),
    Control("std", "log", "std (fixed)", 0.01, 1e-3, 10.0, 0.05, readout_format=".3g"),
    Control("depth", "int", "depth L", 10, 1, 50),
    Control("activation", "menu", "activation", "tanh", options=nets.ACTIVATIONS),
    Control("width", "steps", "width n", 500, options=PROPAGATION_WIDTHS),
    Control("batchnorm", "toggle", "BatchNorm", False),
)
PROPAGATION_PRESETS: dict[str, dict] = {
    "tanh, std 0.01: vanishes": dict(init="fixed", std=0.01, activation="tanh", depth=10),
    "tanh, std 1: saturates": dict(init="fixed", std=1.0, activation="tanh", depth=10),
    "ReLU + Xavier: decays": dict(init="xavier", activation="relu", depth=10),
    "ReLU + He: holds": dict(init="he", activation="relu", depth=10),
    "deep ReLU, std 10: overflows": dict(init="fixed", std=10.0, activation="relu", depth=50),
}
"""The classic cases, one click each (BatchNorm off, width unchanged)."""

_cached_propagate = functools.lru_cache(maxsize=128)(probe.propagate)

EXPLORER_BATCH_STEPS = ((5, 1), (10, 2), (50, 4))
"""(up to this depth, divide the batch by): the propagation explorer sends the whole batch
through nets of depth 1-5, half of it through 6-10 layers and a quarter through deeper ones,
never fewer than 64 inputs. A redraw's cost grows with batch x depth; 64 x width values per
layer still pin each std to about 1% at width 500 (3% at width 10). Fewer inputs do make
more units look dead (0 for every input of the batch): state["batch"] says which was used."""


def explorer_batch(depth: int, batch: int) -> int:
    """The batch the propagation explorer uses at this depth (EXPLORER_BATCH_STEPS says why)."""
    divisor = next((d for upto, d in EXPLORER_BATCH_STEPS if depth <= upto), EXPLORER_BATCH_STEPS[-1][1])
    return max(min(batch, 64), batch // divisor)


def propagation_explorer(init: str = PROPAGATION_CONTROLS["init"].default,
                         std: float = PROPAGATION_CONTROLS["std"].default,
                         depth: int = PROPAGATION_CONTROLS["depth"].default,
                         activation: str = PROPAGATION_CONTROLS["activation"].default,
                         width: int = PROPAGATION_CONTROLS["width"].default,
                         batchnorm: bool = PROPAGATION_CONTROLS["batchnorm"].default,
                         *, batch: int = 256, seed: int = 0) -> Explorer:
    """The series' main explorer: a Gaussian batch through `depth` layers and back.

    Controls: init scheme (the std slider, log scale 1e-3..10, is for "fixed"), depth 1..50,
    activation, width, BatchNorm after each Linear; preset buttons for the classic cases.
    Per layer (helpers.probe.propagate, cached per setting; deeper nets get part of the batch,
    see EXPLORER_BATCH_STEPS; state["batch"] says how much): the activation distribution as a
    heat map, forward and gradient std on a log axis, saturated % (tanh, sigmoid) or zero
    fraction and dead units % (ReLU), and a marked layer where the signal overflows or
    underflows. The readout is probe.diagnose's one line; state adds the probe's
    overflow/underflow layers and the "marked_layer" of the figure.
    Introduced in notebooks/04_signal_propagation.ipynb.
    """
    validate.integer_in("batch", batch, 2)
    controls = _build(PROPAGATION_CONTROLS, init=init, std=std, depth=depth, activation=activation,
                      width=width, batchnorm=batchnorm)
    panel = panels.propagation_panels()

    def render(v: dict) -> tuple[str, dict]:
        fixed = v["init"] == "fixed"
        controls["std"].disabled = not fixed
        rec = _cached_propagate(v["depth"], v["width"], v["activation"], v["init"],
                                std=float(v["std"]) if fixed else None,
                                batch=explorer_batch(v["depth"], batch),
                                batchnorm=bool(v["batchnorm"]), seed=seed)
        scheme = f"std {v['std']:.3g}" if fixed else v["init"]
        bn = " + BatchNorm" if v["batchnorm"] else ""
        title = f"{v['activation']}, {scheme}{bn}, width {v['width']}: {probe.headline(rec)}"
        marked = panels.draw_propagation(panel.art, rec, title)
        return probe.diagnose(rec), {
            "marked_layer": marked, "batch": rec.batch, "overflow_layer": rec.overflow_layer,
            "underflow_layer": rec.underflow_layer, "grad_overflow_layer": rec.grad_overflow_layer,
            "grad_underflow_layer": rec.grad_underflow_layer}

    buttons = {name: w.Button(description=name, layout=w.Layout(width="auto"))
               for name in PROPAGATION_PRESETS}
    explorer = Explorer(controls, panel.fig, render, extras=list(buttons.values()),
                        dynamic=panel.moving, freeze=True)
    explorer.presets = buttons

    def apply(name: str) -> None:
        explorer.set(**{"batchnorm": False, **PROPAGATION_PRESETS[name]})

    for name, button in buttons.items():
        button.on_click(lambda _b, name=name: apply(name))
    return explorer

# --- 07/08 zig-zag: learning rate, centring, momentum, fixes -------------------------------

ZIGZAG_CONTROLS = _declare(
    Control("lr", "log", "lr", 0.2, 0.01, 2.0, 0.05, readout_format=".3f"),
    Control("centring", "float", "centring", 0.0, 0.0, 1.0, 0.1),
    Control("momentum", "float", "momentum", 0.0, 0.0, 0.95, 0.05),
)
FIXES_CONTROLS = _declare(
    Control("batchnorm", "toggle", "BatchNorm", False),
    Control("tanh", "toggle", "tanh", False),
    Control("momentum", "float", "momentum", 0.0, 0.0, 0.95, 0.05),
    Control("lr", "log", "lr", 1.0, 0.01, 2.5, 0.05, readout_format=".3f"),
)


@functools.lru_cache(maxsize=32)
def _zigzag_landscape(centring: float, seed: int) -> tuple:
    """The 2-D neuron's inputs and loss grid for one centring (cached: contours are the slow part)."""
    inputs = zigzag.make_inputs("sigmoid", centring=centring, seed=seed)
    return inputs, zigzag.loss_grid(inputs)


def zigzag_explorer(lr: float = ZIGZAG_CONTROLS["lr"].default,
                    centring: float = ZIGZAG_CONTROLS["centring"].default,
                    momentum: float = ZIGZAG_CONTROLS["momentum"].default,
                    steps: int = 400, seed: int = 0) -> Explorer:
    """Sliders for the learning rate, the centring of the inputs and the momentum of the 2-D
    neuron: its path on the loss contours and its loss per step; the readout gives the share
    of same-sign gradients, the steps to a loss of 1e-3 and the direction flips.

    centring 0 feeds raw sigmoid outputs (all > 0), 1 feeds them centred (same mean square).
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    controls = _build(ZIGZAG_CONTROLS, lr=lr, centring=centring, momentum=momentum)
    inputs, grid = _zigzag_landscape(centring, seed)
    run = zigzag.train_neuron(inputs, lr=lr, momentum=momentum, steps=steps, seed=seed)
    panel = panels.zigzag_panels(grid, run.weights, run.losses, zigzag.W_STAR, threshold=1e-3)
    drawn = {"centring": centring}

    def render(v: dict) -> str:
        inputs, grid = _zigzag_landscape(round(v["centring"], 2), seed)
        new_landscape = drawn["centring"] != v["centring"]
        drawn["centring"] = v["centring"]
        r = zigzag.train_neuron(inputs, lr=v["lr"], momentum=v["momentum"], steps=steps,
                                seed=seed)
        reached = (f"loss ≤ 1e-3 after {r.steps_to_threshold} steps"
                   if r.steps_to_threshold is not None else "loss never reaches 1e-3")
        if r.diverged_at is not None:
            reached = f"diverged at step {r.diverged_at} (|w| > 1e6)"
        panels.draw_zigzag(panel.art, r.weights, r.losses,
                           f"{r.same_sign:.0%} of gradients same-sign; {r.flips} direction flips",
                           reached, grid=grid if new_landscape else None)
        return (f"lr {v['lr']:.3f}, centring {v['centring']:.1f}, momentum {v['momentum']:.2f}: "
                f"same-sign gradients {r.same_sign:.0%}, {reached}, {r.flips} direction flips, "
                f"condition number {inputs.condition_number:.1f}")

    return Explorer(controls, panel.fig, render, freeze=True, dynamic=panel.moving)


def fixes_explorer(batchnorm: bool = FIXES_CONTROLS["batchnorm"].default,
                   tanh: bool = FIXES_CONTROLS["tanh"].default,
                   momentum: float = FIXES_CONTROLS["momentum"].default,
                   lr: float = FIXES_CONTROLS["lr"].default,
                   steps: int = 100, seed: int = 0) -> Explorer:
    """The source article's one-weight run with its fixes switched on and off: BatchNorm, tanh, the SGD
    momentum (0 = off) and the learning rate. Left: the weight after each step against the
    unfixed run; right: the loss. The readout gives flips, final weight and final loss.

    Introduced in notebooks/08_fixes.ipynb.
    """
    controls = _build(FIXES_CONTROLS, batchnorm=batchnorm, tanh=tanh, momentum=momentum, lr=lr)
    base = zigzag.run_article002(steps=steps, seed=seed)
    panel = panels.fixes_panels(base.weights, base.losses)

    def render(v: dict) -> str:
        fix = [name for name in ("batchnorm", "tanh") if v[name]]
        fix += ["momentum"] if v["momentum"] > 0 else []
        r = zigzag.run_article002(fix, steps=steps, lr=v["lr"], seed=seed,
                                  momentum=v["momentum"] or zigzag.MOMENTUM)
        name = " + ".join(fix) or "no fix"
        panels.draw_fixes(panel.art, r.weights, r.losses,
                          f"{name}, lr {v['lr']:.2f}: w ends at {r.weights[-1]:.3g}",
                          f"final loss {r.final_loss:.4f}; direction flips: {r.flips}")
        return (f"{name}, lr {v['lr']:.3f}: {r.flips} direction flips, final weight "
                f"{r.weights[-1]:.4g}, final loss {r.final_loss:.4f}")

    return Explorer(controls, panel.fig, render, dynamic=panel.moving, freeze=True)


# --- 09 init in training --------------------------------------------------------------------


CRITICALITY_BLOCK = 5
"""The criticality explorer measures depths 1 .. its depth rounded up to a multiple of this."""
CRITICALITY_CONTROLS = _declare(
    Control("activation", "menu", "activation", "tanh", options=criticality.CRITICAL_ACTIVATIONS),
    Control("sigma_w2", "log", "width·Var(W)", (5 / 3) ** 2, 0.25, 8.0, 0.0625, base=2,
            readout_format=".2f"),
    Control("depth", "int", "depth", 30, 2, 50),
)


@functools.lru_cache(maxsize=64)
def _profile(activation: str, sigma_w2: float, upto: int, seed: int) -> tuple:
    """Per-layer log10 signal and gradient growth of one net, layers 1..upto (cached: a depth
    move inside a block of CRITICALITY_BLOCK layers reuses it and costs only the drawing)."""
    fwd, bwd = criticality.propagation_map(activation, [sigma_w2], list(range(1, upto + 1)),
                                           width=128, batch=64, seed=seed)
    return fwd[0], bwd[0]


def criticality_explorer(activation: str = CRITICALITY_CONTROLS["activation"].default,
                         sigma_w2: float = CRITICALITY_CONTROLS["sigma_w2"].default,
                         depth: int = CRITICALITY_CONTROLS["depth"].default,
                         seed: int = 0) -> Explorer:
    """Activation, width * Var(W) and depth -> how a random net's signal and input gradient
    grow or fade layer by layer, against the mean-field prediction chi_1 for the gradient.

    chi_1 in the readout is the fixed-point value (the phase); the dashed lines follow
    mean_field_profile layer by layer. Defaults: tanh at torch's gain 5/3
    (sigma_w^2 = 2.78), which sits on the chaotic side. Each (activation, width * Var(W)) is
    measured once per block of CRITICALITY_BLOCK layers, so a depth move inside a block only redraws.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    controls = _build(CRITICALITY_CONTROLS, activation=activation, sigma_w2=sigma_w2, depth=depth)
    panel = panels.criticality_panel()

    def render(v: dict) -> str:
        act, s, d = v["activation"], round(float(v["sigma_w2"]), 4), int(v["depth"])
        upto = probe.round_up(d, CRITICALITY_BLOCK)
        fwd, bwd = (values[:d] for values in _profile(act, s, upto, seed))
        chi1 = criticality.mean_field(act, s, layers=200)[1]
        crit, phase = criticality.critical_weight_var(act), criticality.phase(act, s)
        panels.draw_criticality(panel.art, fwd, bwd, *criticality.mean_field_profile(act, s, d),
                                f"{act}, width·Var(W) = {s:.2f} ({phase}): gradient "
                                f"×{10 ** bwd[-1]:.3g} over {d} layers", span=upto)
        return (f"{act}, width·Var(W) = {s:.2f} (critical {crit:g}; chi_1 = {chi1:.3f}, {phase}): "
                f"after {d} layers signal std x{10 ** fwd[-1]:.3g}, input gradient x{10 ** bwd[-1]:.3g}")

    return Explorer(controls, panel.fig, render, dynamic=panel.moving, freeze=True)


# --- 10 attention and residual streams: the residual explorer -------------------------------

RESIDUAL_MAX_DEPTH = 300
"""Deep enough for He branches to overflow float32 (their std passes 3.4e38 near block 256)."""
RESIDUAL_CONTROLS = _declare(
    Control("depth", "int", "depth L", 50, 1, RESIDUAL_MAX_DEPTH, continuous_update=False),
    Control("branch_init", "menu", "branch init", "he", options=residual.BRANCH_INITS),
    Control("layernorm", "toggle", "pre-LayerNorm", False),
)


@functools.lru_cache(maxsize=64)
def _cached_stream(depth: int, branch_init: str, layernorm: bool, width: int, batch: int,
                   seed: int):
    """One residual.stream_profile per setting: revisiting a setting costs only the drawing."""
    return residual.stream_profile(depth, branch_init, layernorm, width=width, batch=batch,
                                   seed=seed)


def _residual_readout(st, name: str) -> tuple[str, dict]:
    """The explorer's one line and its state, from a residual.Stream."""
    head = f"{name}, depth {st.depth}:"
    if st.overflow_block is not None:
        return (f"{head} the stream overflows to inf at block {st.overflow_block} "
                f"(float32 ends at 3.4e38); no gradient"), {"final_std": np.nan,
                                                           "grad_ratio": np.nan}
    final, grad = st.forward_ratio, st.grad_ratio
    return (f"{head} stream std ×{final:.3g} over {st.depth} blocks (Var ×"
            f"{st.var_growth_per_block():.3g} per block); gradient at the input ×{grad:.3g} "
            f"the output's"), {"final_std": float(final), "grad_ratio": float(grad)}


def residual_explorer(depth: int = RESIDUAL_CONTROLS["depth"].default,
                      branch_init: str = RESIDUAL_CONTROLS["branch_init"].default,
                      layernorm: bool = RESIDUAL_CONTROLS["layernorm"].default, *,
                      width: int = 64, batch: int = 64, seed: int = 0) -> Explorer:
    """Depth, branch init (residual.BRANCH_INITS) and pre-LayerNorm on/off -> the residual
    stream's std and its gradient's std per block (log axes), measured against the
    prediction of variance addition (dashed).

    Each setting is measured once (helpers.residual.stream_profile, cached) and redrawn by
    blitting the lines over a cached frame. Where the stream overflows float32 the figure
    marks the block and says so. state adds "overflow_block", "final_std" (std(x_L) /
    std(x_0)) and "grad_ratio" (gradient std at the input / at the output).
    Introduced in notebooks/10_attention_residual.ipynb.
    """
    validate.integer_in("width", width, 2)
    validate.integer_in("batch", batch, 2)
    controls = _build(RESIDUAL_CONTROLS, depth=depth, branch_init=branch_init, layernorm=layernorm)
    panel = panels.residual_panels()

    def render(v: dict) -> tuple[str, dict]:
        d, b, ln = int(v["depth"]), v["branch_init"], bool(v["layernorm"])
        st = _cached_stream(d, b, ln, width, batch, seed)
        name = residual.BRANCH_NAMES[b] + (" + pre-LN" if ln else "")
        text, extra = _residual_readout(st, name)
        finding = (f"stream overflows at block {st.overflow_block}" if st.overflow_block is not None
                   else f"stream std ×{extra['final_std']:.2g}, input gradient "
                        f"×{extra['grad_ratio']:.2g}")
        k = panels.draw_residual(panel.art, st, residual.predicted_stream_std(b, ln, d),
                                 residual.predicted_grad_std(b, ln, d), f"{name}, depth {d}: {finding}")
        return text, {"overflow_block": k, **extra}

    return Explorer(controls, panel.fig, render, dynamic=panel.moving, freeze=True)


# --- 11 width and depth at scale: the isometry explorer ----------------------------------------

ISOMETRY_MAX_DEPTH = 100
ISOMETRY_BLOCK = 25
"""The explorer composes Jacobians up to the depth rounded up to a multiple of this."""
ISOMETRY_CONTROLS = _declare(
    Control("depth", "int", "depth L", 50, 1, ISOMETRY_MAX_DEPTH),
    Control("weights", "menu", "weights", "orthogonal", options=isometry.WEIGHTS),
    Control("activation", "menu", "activation", "tanh", options=isometry.ACTIVATIONS),
    Control("weight_scale", "float", "σ_w", 1.0, 0.5, 2.0, 0.01, readout_format=".2f"),
    Control("input_std", "log", "input std", 0.1, 0.01, 3.0, 0.1, readout_format=".2g"),
)


@functools.lru_cache(maxsize=8)
def _isometry_stack(weights: str, width: int, seed: int):
    """The unit-scale weights of every layer up to ISOMETRY_MAX_DEPTH (cached: drawing 100
    orthogonal matrices is the slow part; the sliders only rescale and truncate them)."""
    return isometry.weight_stack(weights, width, ISOMETRY_MAX_DEPTH, seed)


@functools.lru_cache(maxsize=4)
def _isometry_jacobians(weights: str, activation: str, weight_scale: float, input_std: float,
                        width: int, seed: int, upto: int) -> list:
    """J_1 .. J_upto for one setting, composed in one pass (cached: moving the depth slider
    within the block then costs one SVD; other controls recompute only up to the block)."""
    stack = _isometry_stack(weights, width, seed)
    x = isometry.input_vector(width, input_std, seed)
    depths = tuple(range(1, upto + 1))
    jacs = isometry.jacobian(stack, activation, x, weight_scale, depths)
    return [jacs[d] for d in depths]


def isometry_explorer(depth: int = ISOMETRY_CONTROLS["depth"].default,
                      weights: str = ISOMETRY_CONTROLS["weights"].default,
                      activation: str = ISOMETRY_CONTROLS["activation"].default,
                      weight_scale: float = ISOMETRY_CONTROLS["weight_scale"].default,
                      input_std: float = ISOMETRY_CONTROLS["input_std"].default, *,
                      width: int = 128, seed: int = 0) -> Explorer:
    """Depth, weights (Gaussian / orthogonal), activation, weight scale sigma_w and input std ->
    histogram of the singular values of the net's input-output Jacobian (log axis) at one input.

    The readout gives helpers.isometry.spread: the decades from the largest singular value to
    the 5th percentile, the share of directions lost (below float64 resolution) and the median;
    state adds them as numbers ("decades", "lost", "median", "at_floor", "message"). An
    overflowing Jacobian leaves a message in the plot (helpers.isometry.spectrum decides).
    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    controls = _build(ISOMETRY_CONTROLS, depth=depth, weights=weights, activation=activation,
                      weight_scale=weight_scale, input_std=input_std)
    validate.integer_in("width", width, 2, 512)
    panel = panels.singular_value_panel()

    def render(v: dict) -> tuple[str, dict]:
        d, scale = int(v["depth"]), round(float(v["weight_scale"]), 4)
        upto = min(ISOMETRY_MAX_DEPTH, probe.round_up(d, ISOMETRY_BLOCK))
        jacs = _isometry_jacobians(v["weights"], v["activation"], scale,
                                   round(float(v["input_std"]), 6), width, seed, upto)
        s = isometry.svd_or_nan(jacs[d - 1])
        spectrum, sp = isometry.spectrum(s), isometry.spread(s)
        setting = f"{v['activation']}, {v['weights']}, σ_w = {scale:.2f}, depth {d}"
        if not sp.finite:
            headline = f"{setting}: overflow"
        else:
            sign = "≥" if sp.at_floor else "="
            headline = f"{setting}: s_max / s_5% {sign} 10^{sp.decades:.1f}; {sp.lost:.0%} lost"
        panels.draw_singular_values(panel.art, spectrum, headline)
        message = spectrum.message
        if message:
            text = f"{setting}: {message}"
        else:
            text = (f"{setting}: the smallest 5% of singular values lie {'at least ' if sp.at_floor else ''}"
                    f"{sp.decades:.2f} decades below the largest; {sp.lost:.0%} of directions lost; "
                    + ("median singular value below resolution" if sp.lost >= 0.5
                       else f"median singular value {sp.median:.3g}"))
        return text, {"decades": sp.decades, "lost": sp.lost, "median": sp.median,
                      "at_floor": sp.at_floor, "message": message}

    return Explorer(controls, panel.fig, render, dynamic=panel.moving, freeze=True)


EXPLORER_CONTROLS: dict[str, dict[str, Control]] = {
    "monte_carlo_explorer": MONTE_CARLO_CONTROLS,
    "preactivation_explorer": PREACTIVATION_CONTROLS,
    "propagation_explorer": PROPAGATION_CONTROLS,
    "zigzag_explorer": ZIGZAG_CONTROLS,
    "fixes_explorer": FIXES_CONTROLS,
    "criticality_explorer": CRITICALITY_CONTROLS,
    "residual_explorer": RESIDUAL_CONTROLS,
    "isometry_explorer": ISOMETRY_CONTROLS,
}
"""Every explorer builder by name and the controls it declares (tests go over all of them)."""
