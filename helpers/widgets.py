"""Interactive explorers: each builder returns a widget; callbacks call compute, then plot.

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
from collections.abc import Callable, Hashable, Iterator, Sequence

import ipywidgets as w
import matplotlib as mpl
import matplotlib.image
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers import criticality, isometry, plots, probe, residual, stats, validate, zigzag
from helpers.criticality import (
    CRITICAL_ACTIVATIONS,
    critical_weight_var,
    mean_field,
    mean_field_profile,
    propagation_map,
)
from helpers.init import INIT_SCHEMES
from helpers.nets import ACTIVATIONS
from helpers.plots import fig_to_png

__all__ = ["Explorer", "monte_carlo_explorer", "preactivation_explorer", "propagation_explorer",
           "criticality_explorer", "residual_explorer", "isometry_explorer"]


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
    drawing (plots.freeze_layout), so a redraw skips the constrained-layout pass.
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
            plots.freeze_layout(fig)  # after the first drawing: its layout is kept

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
            return fig_to_png(self.fig, self._dpi)
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


# --- 01 uniform variance: Monte Carlo explorer --------------------------------------------

MC_SIZES = (10, 30, 100, 300, 1_000, 3_000, 10_000, 100_000)


def monte_carlo_explorer(a: float = -1.0, b: float = 1.0, n: int = 1_000, seed: int = 0) -> Explorer:
    """Sliders for a, b and the sample size N: histogram of U(a, b) draws against its density,
    and the sample variance against (b - a)^2 / 12 in the readout.

    a >= b is not an error here: the figure says so and waits for a valid interval.
    Introduced in notebooks/00_start_here.ipynb.
    """
    validate.one_of("n", n, MC_SIZES)
    controls = {
        "a": w.FloatSlider(value=a, min=-3.0, max=3.0, step=0.1, description="a"),
        "b": w.FloatSlider(value=b, min=-3.0, max=3.0, step=0.1, description="b"),
        "n": w.SelectionSlider(options=MC_SIZES, value=n, description="N"),
    }
    fig, art = plots.uniform_panel()

    def render(v: dict) -> str:
        # a slider's float steps can give a = 0.9999999999999999 for b = 1: that is a = b
        lo, hi, size = round(v["a"], 6), round(v["b"], 6), v["n"]
        if lo >= hi:
            plots.draw_uniform(art, lo, hi, None, "no interval: move a below b")
            return f"U(a, b) needs a < b; got a = {lo:.1f}, b = {hi:.1f}"
        x = np.random.default_rng(seed).uniform(lo, hi, size=size)
        measured, theory = x.var(ddof=1), stats.uniform_variance(lo, hi)
        plots.draw_uniform(art, lo, hi, x,
                           f"N = {size:,}: sample Var {measured:.4f} vs (b-a)²/12 = {theory:.4f}")
        return (f"N = {size:,}: sample variance {measured:.4f}, theory {theory:.4f}, "
                f"error {abs(measured / theory - 1):.1%}")

    ax = art["ax"]  # a and b move both axes' limits: the axes are drawn with the data
    dynamic = [ax.xaxis, ax.yaxis, art["stairs"], art["pdf"], art["note"], ax.title]
    return Explorer(controls, fig, render, dynamic=dynamic, freeze=True)


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

    The default weight std is that of U(-1, 1), the setup of the source article on Keras
    initialisers. Introduced in
    notebooks/02_sums_of_products.ipynb.
    """
    validate.one_of("n", n, SUM_SIZES)
    validate.one_of("activation", activation, stats.SATURATION)
    controls = {
        "n": w.SelectionSlider(options=SUM_SIZES, value=n, description="n inputs"),
        "weight_std": w.FloatLogSlider(value=weight_std, base=10, min=-3, max=0.5, step=0.05,
                                       description="weight std", readout_format=".3f"),
        "activation": w.Dropdown(options=tuple(stats.SATURATION), value=activation,
                                 description="activation"),
    }
    fig, art = plots.preactivation_panel()

    def render(v: dict) -> str:
        a = v["weight_std"] * _unit_sums(v["n"], trials, seed)
        sd = stats.sum_of_products_std(v["n"], v["weight_std"] ** 2, 1 / 3)
        frac = stats.saturated_fraction(a, v["activation"])
        plots.draw_preactivation(art, a, v["activation"], max(4 * sd, 6.0),
                                 f"n = {v['n']:,}: std(a) = {a.std():.3g}; {frac:.0%} saturated")
        return (f"n = {v['n']:,}, weight std {v['weight_std']:.3f}: std(a) = {a.std():.3g} "
                f"(theory {sd:.3g}), {frac:.1%} of units saturated under {v['activation']}")

    ax = art["ax"]  # the axes move with n and the std; the legend follows the activation
    return Explorer(controls, fig, render, freeze=True, frame=lambda v: v["activation"],
                    dynamic=lambda: [ax.xaxis, ax.yaxis, *art["shaded"], art["stairs"], ax.title])


# --- 04 signal propagation: the explorer --------------------------------------------------

PROPAGATION_WIDTHS = (10, 20, 50, 100, 200, 500)
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


def _check_propagation_args(init, std, depth, activation, width, batch) -> None:
    validate.one_of("init", init, INIT_SCHEMES)
    validate.one_of("activation", activation, ACTIVATIONS)
    validate.one_of("width", width, PROPAGATION_WIDTHS)
    validate.integer_in("depth", depth, 1, 50)
    if not (isinstance(std, int | float) and 1e-3 <= std <= 10):
        raise ValueError(f"std must be in [0.001, 10], got {std!r}")
    validate.integer_in("batch", batch, 2)


def _propagation_controls(init, std, depth, activation, width, batchnorm) -> dict:
    return {
        "init": w.Dropdown(options=INIT_SCHEMES, value=init, description="init"),
        "std": w.FloatLogSlider(value=std, base=10, min=-3, max=1, step=0.05,
                                description="std (fixed)", readout_format=".3g"),
        "depth": w.IntSlider(value=depth, min=1, max=50, description="depth L"),
        "activation": w.Dropdown(options=ACTIVATIONS, value=activation, description="activation"),
        "width": w.SelectionSlider(options=PROPAGATION_WIDTHS, value=width, description="width n"),
        "batchnorm": w.Checkbox(value=batchnorm, description="BatchNorm"),
    }


def propagation_explorer(init: str = "fixed", std: float = 0.01, depth: int = 10,
                         activation: str = "tanh", width: int = 500, batchnorm: bool = False,
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
    _check_propagation_args(init, std, depth, activation, width, batch)
    controls = _propagation_controls(init, std, depth, activation, width, batchnorm)
    fig, art = plots.propagation_panels()

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
        marked = plots.draw_propagation(art, rec, title)
        return probe.diagnose(rec), {
            "marked_layer": marked, "batch": rec.batch, "overflow_layer": rec.overflow_layer,
            "underflow_layer": rec.underflow_layer, "grad_overflow_layer": rec.grad_overflow_layer,
            "grad_underflow_layer": rec.grad_underflow_layer}

    buttons = {name: w.Button(description=name, layout=w.Layout(width="auto"))
               for name in PROPAGATION_PRESETS}
    # the std axis's ticks move with the data at almost every change: drawn with the data, so
    # the rest of the frame (most of the figure's text) stays cached
    dynamic = [art["axes"][1].yaxis] + [
        art[k] for k in ("image", "fwd", "grad", "zeros", "nans", "frac", "dead", "zero_legend",
                         "note", "event", "title")] + art["lines"]
    explorer = Explorer(controls, fig, render, extras=list(buttons.values()), dynamic=dynamic,
                        freeze=True)
    explorer.presets = buttons

    def apply(name: str) -> None:
        explorer.set(**{"batchnorm": False, **PROPAGATION_PRESETS[name]})

    for name, button in buttons.items():
        button.on_click(lambda _b, name=name: apply(name))
    return explorer

# --- 07/08 zig-zag: learning rate, centring, momentum, fixes -------------------------------


@functools.lru_cache(maxsize=32)
def _zigzag_landscape(centring: float, seed: int) -> tuple:
    """The 2-D neuron's inputs and loss grid for one centring (cached: contours are the slow part)."""
    inputs = zigzag.make_inputs("sigmoid", centring=centring, seed=seed)
    return inputs, zigzag.loss_grid(inputs)


def zigzag_explorer(lr: float = 0.2, centring: float = 0.0, momentum: float = 0.0,
                    steps: int = 400, seed: int = 0) -> Explorer:
    """Sliders for the learning rate, the centring of the inputs and the momentum of the 2-D
    neuron: its path on the loss contours and its loss per step; the readout gives the share
    of same-sign gradients, the steps to a loss of 1e-3 and the direction flips.

    centring 0 feeds raw sigmoid outputs (all > 0), 1 feeds them centred (same mean square).
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    if not (0 < lr <= 2 and 0 <= centring <= 1 and 0 <= momentum < 1):
        raise ValueError("need lr in (0, 2], centring in [0, 1] and momentum in [0, 1), got "
                         f"lr={lr!r}, centring={centring!r}, momentum={momentum!r}")
    controls = {
        "lr": w.FloatLogSlider(value=lr, base=10, min=-2, max=0.3, step=0.05,
                               description="lr", readout_format=".3f"),
        "centring": w.FloatSlider(value=centring, min=0.0, max=1.0, step=0.1,
                                  description="centring"),
        "momentum": w.FloatSlider(value=momentum, min=0.0, max=0.95, step=0.05,
                                  description="momentum"),
    }
    inputs, grid = _zigzag_landscape(centring, seed)
    run = zigzag.train_neuron(inputs, lr=lr, momentum=momentum, steps=steps, seed=seed)
    fig, art = plots.zigzag_panels(grid, run.weights, run.losses, zigzag.W_STAR, threshold=1e-3)
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
        plots.draw_zigzag(art, r.weights, r.losses,
                          f"{r.same_sign:.0%} of gradients same-sign; {r.flips} direction flips",
                          reached, grid=grid if new_landscape else None)
        return (f"lr {v['lr']:.3f}, centring {v['centring']:.1f}, momentum {v['momentum']:.2f}: "
                f"same-sign gradients {r.same_sign:.0%}, {reached}, {r.flips} direction flips, "
                f"condition number {inputs.condition_number:.1f}")

    # the axes' limits stay: only the landscape (a new contour set per centring), the path, the
    # loss curve and the titles move
    return Explorer(controls, fig, render, freeze=True, dynamic=lambda: [
        art["contours"], art["path"], art["loss"], art["ax"].title, art["ax_loss"].title])


def fixes_explorer(batchnorm: bool = False, tanh: bool = False, momentum: float = 0.0,
                   lr: float = 1.0, steps: int = 100, seed: int = 0) -> Explorer:
    """The source article's one-weight run with its fixes switched on and off: BatchNorm, tanh, the SGD
    momentum (0 = off) and the learning rate. Left: the weight after each step against the
    unfixed run; right: the loss. The readout gives flips, final weight and final loss.

    Introduced in notebooks/08_fixes.ipynb.
    """
    if not (0 < lr <= 3 and 0 <= momentum < 1):
        raise ValueError(f"need lr in (0, 3] and momentum in [0, 1), got lr={lr!r}, "
                         f"momentum={momentum!r}")
    controls = {
        "batchnorm": w.Checkbox(value=batchnorm, description="BatchNorm"),
        "tanh": w.Checkbox(value=tanh, description="tanh"),
        "momentum": w.FloatSlider(value=momentum, min=0.0, max=0.95, step=0.05,
                                  description="momentum"),
        "lr": w.FloatLogSlider(value=lr, base=10, min=-2, max=0.4, step=0.05,
                               description="lr", readout_format=".3f"),
    }
    base = zigzag.run_article002(steps=steps, seed=seed)
    fig, art = plots.fixes_panels(base.weights, base.losses)

    def render(v: dict) -> str:
        fix = [name for name in ("batchnorm", "tanh") if v[name]]
        fix += ["momentum"] if v["momentum"] > 0 else []
        r = zigzag.run_article002(fix, steps=steps, lr=v["lr"], seed=seed,
                               momentum=v["momentum"] or zigzag.MOMENTUM)
        name = " + ".join(fix) or "no fix"
        plots.draw_fixes(art, r.weights, r.losses,
                         f"{name}, lr {v['lr']:.2f}: w ends at {r.weights[-1]:.3g}",
                         f"final loss {r.final_loss:.4f}; direction flips: {r.flips}")
        return (f"{name}, lr {v['lr']:.3f}: {r.flips} direction flips, final weight "
                f"{r.weights[-1]:.4g}, final loss {r.final_loss:.4f}")

    # the step axes stay; the weight and loss axes rescale with every run, so they and every
    # line on them (the baseline too) are drawn with the data
    dynamic = [art["ax"].yaxis, art["ax_loss"].yaxis, art["base_weight"], art["base_loss"],
               art["weight"], art["loss"], art["ax"].title, art["ax_loss"].title]
    return Explorer(controls, fig, render, dynamic=dynamic, freeze=True)


# --- 09 init in training --------------------------------------------------------------------


CRITICALITY_BLOCK = 5
"""The criticality explorer measures depths 1 .. its depth rounded up to a multiple of this."""


@functools.lru_cache(maxsize=64)
def _profile(activation: str, sigma_w2: float, upto: int, seed: int) -> tuple:
    """Per-layer log10 signal and gradient growth of one net, layers 1..upto (cached: a depth
    move inside a block of CRITICALITY_BLOCK layers reuses it and costs only the drawing)."""
    fwd, bwd = propagation_map(activation, [sigma_w2], list(range(1, upto + 1)), width=128,
                               batch=64, seed=seed)
    return fwd[0], bwd[0]


def criticality_explorer(activation: str = "tanh", sigma_w2: float = (5 / 3) ** 2,
                         depth: int = 30, seed: int = 0) -> Explorer:
    """Activation, width * Var(W) and depth -> how a random net's signal and input gradient
    grow or fade layer by layer, against the mean-field prediction chi_1 for the gradient.

    chi_1 in the readout is the fixed-point value (the phase); the dashed lines follow
    mean_field_profile layer by layer. Defaults: tanh at torch's gain 5/3
    (sigma_w^2 = 2.78), which sits on the chaotic side. Each (activation, width * Var(W)) is
    measured once per block of CRITICALITY_BLOCK layers, so a depth move inside a block only redraws.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    validate.one_of("activation", activation, CRITICAL_ACTIVATIONS)
    if not 0.25 <= sigma_w2 <= 8 or not 2 <= depth <= 50:
        raise ValueError(f"need 0.25 <= sigma_w2 <= 8 and 2 <= depth <= 50, got {sigma_w2}, {depth}")
    controls = {
        "activation": w.Dropdown(options=CRITICAL_ACTIVATIONS, value=activation,
                                 description="activation"),
        "sigma_w2": w.FloatLogSlider(value=sigma_w2, base=2, min=-2, max=3, step=0.0625,
                                     description="width·Var(W)", readout_format=".2f"),
        "depth": w.IntSlider(value=depth, min=2, max=50, description="depth"),
    }
    fig, art = plots.criticality_panel()

    def render(v: dict) -> str:
        act, s, d = v["activation"], round(float(v["sigma_w2"]), 4), int(v["depth"])
        upto = -(-d // CRITICALITY_BLOCK) * CRITICALITY_BLOCK
        fwd, bwd = (values[:d] for values in _profile(act, s, upto, seed))
        chi1 = mean_field(act, s, layers=200)[1]
        crit, phase = critical_weight_var(act), criticality.phase(act, s)
        plots.draw_criticality(art, fwd, bwd, *mean_field_profile(act, s, d),
                               f"{act}, width·Var(W) = {s:.2f} ({phase}): gradient "
                               f"×{10 ** bwd[-1]:.3g} over {d} layers", span=upto)
        return (f"{act}, width·Var(W) = {s:.2f} (critical {crit:g}; chi_1 = {chi1:.3f}, {phase}): "
                f"after {d} layers signal std x{10 ** fwd[-1]:.3g}, input gradient x{10 ** bwd[-1]:.3g}")

    dynamic = [art[k] for k in ("fwd", "bwd", "fwd_theory", "bwd_theory", "title")]
    return Explorer(controls, fig, render, dynamic=dynamic, freeze=True)


# --- 10 attention and residual streams: the residual explorer -------------------------------

RESIDUAL_MAX_DEPTH = 300
"""Deep enough for He branches to overflow float32 (their std passes 3.4e38 near block 256)."""


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


def residual_explorer(depth: int = 50, branch_init: str = "he", layernorm: bool = False, *,
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
    validate.one_of("branch_init", branch_init, residual.BRANCH_INITS)
    validate.integer_in("depth", depth, 1, RESIDUAL_MAX_DEPTH)
    if not (isinstance(width, int) and width >= 2 and isinstance(batch, int) and batch >= 2):
        raise ValueError(f"width and batch must be integers >= 2, got {width!r}, {batch!r}")
    controls = {
        "depth": w.IntSlider(value=depth, min=1, max=RESIDUAL_MAX_DEPTH, description="depth L",
                             continuous_update=False),
        "branch_init": w.Dropdown(options=residual.BRANCH_INITS, value=branch_init,
                                  description="branch init"),
        "layernorm": w.Checkbox(value=layernorm, description="pre-LayerNorm"),
    }
    fig, art = plots.residual_panels()
    names = {"he": "He branches", "scaled": "scaled branches (1/√L)", "zero": "zero-gated (ReZero)"}

    def render(v: dict) -> tuple[str, dict]:
        d, b, ln = int(v["depth"]), v["branch_init"], bool(v["layernorm"])
        st = _cached_stream(d, b, ln, width, batch, seed)
        name = names[b] + (" + pre-LN" if ln else "")
        text, extra = _residual_readout(st, name)
        finding = (f"stream overflows at block {st.overflow_block}" if st.overflow_block is not None
                   else f"stream std ×{extra['final_std']:.2g}, input gradient "
                        f"×{extra['grad_ratio']:.2g}")
        k = plots.draw_residual(art, st, residual.predicted_stream_std(b, ln, d),
                                residual.predicted_grad_std(b, ln, d), f"{name}, depth {d}: {finding}")
        return text, {"overflow_block": k, **extra}

    dynamic = [art[k] for k in ("fwd", "grad", "fwd_theory", "grad_theory", "event", "note",
                                "title")] + art["lines"]
    return Explorer(controls, fig, render, dynamic=dynamic, freeze=True)


# --- 11 width and depth at scale: the isometry explorer ----------------------------------------

ISOMETRY_MAX_DEPTH = 100


@functools.lru_cache(maxsize=8)
def _isometry_stack(weights: str, width: int, seed: int):
    """The unit-scale weights of every layer up to ISOMETRY_MAX_DEPTH (cached: drawing 100
    orthogonal matrices is the slow part; the sliders only rescale and truncate them)."""
    return isometry.weight_stack(weights, width, ISOMETRY_MAX_DEPTH, seed)


ISOMETRY_BLOCK = 25
"""The explorer composes Jacobians up to the depth rounded up to a multiple of this."""


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


def _check_isometry_args(depth, weights, activation, weight_scale, input_std, width) -> None:

    validate.one_of("weights", weights, isometry.WEIGHTS)
    validate.one_of("activation", activation, isometry.ACTIVATIONS)
    validate.integer_in("depth", depth, 1, ISOMETRY_MAX_DEPTH)
    if not (isinstance(weight_scale, int | float) and 0.5 <= weight_scale <= 2):
        raise ValueError(f"weight_scale must be in [0.5, 2], got {weight_scale!r}")
    if not (isinstance(input_std, int | float) and 0.01 <= input_std <= 3):
        raise ValueError(f"input_std must be in [0.01, 3], got {input_std!r}")
    validate.integer_in("width", width, 2, 512)


def isometry_explorer(depth: int = 50, weights: str = "orthogonal", activation: str = "tanh",
                      weight_scale: float = 1.0, input_std: float = 0.1, *, width: int = 128,
                      seed: int = 0) -> Explorer:
    """Depth, weights (Gaussian / orthogonal), activation, weight scale sigma_w and input std ->
    histogram of the singular values of the net's input-output Jacobian (log axis) at one input.

    The readout gives helpers.isometry.spread: the decades from the largest singular value to
    the 5th percentile, the share of directions lost (below float64 resolution) and the median;
    state adds them as numbers ("decades", "lost", "median", "at_floor", "message"). An
    overflowing Jacobian leaves a message in the plot. Introduced in
    notebooks/11_width_and_isometry.ipynb.
    """
    _check_isometry_args(depth, weights, activation, weight_scale, input_std, width)
    controls = {
        "depth": w.IntSlider(value=depth, min=1, max=ISOMETRY_MAX_DEPTH, description="depth L"),
        "weights": w.Dropdown(options=isometry.WEIGHTS, value=weights, description="weights"),
        "activation": w.Dropdown(options=isometry.ACTIVATIONS, value=activation,
                                 description="activation"),
        "weight_scale": w.FloatSlider(value=weight_scale, min=0.5, max=2.0, step=0.01,
                                      description="σ_w", readout_format=".2f"),
        "input_std": w.FloatLogSlider(value=input_std, base=10, min=-2, max=0.5, step=0.1,
                                      description="input std", readout_format=".2g"),
    }
    fig, art = plots.singular_value_panel()

    def render(v: dict) -> tuple[str, dict]:
        d, scale = int(v["depth"]), round(float(v["weight_scale"]), 4)
        upto = min(ISOMETRY_MAX_DEPTH, -(-d // ISOMETRY_BLOCK) * ISOMETRY_BLOCK)
        jacs = _isometry_jacobians(v["weights"], v["activation"], scale,
                                   round(float(v["input_std"]), 6), width, seed, upto)
        s = isometry.svd_or_nan(jacs[d - 1])
        sp = isometry.spread(s)
        setting = f"{v['activation']}, {v['weights']}, σ_w = {scale:.2f}, depth {d}"
        if not sp.finite:
            headline = f"{setting}: overflow"
        else:
            sign = "≥" if sp.at_floor else "="
            headline = f"{setting}: s_max / s_5% {sign} 10^{sp.decades:.1f}; {sp.lost:.0%} lost"
        message = plots.draw_singular_values(art, s, headline, resolution=isometry.RESOLUTION)
        if message:
            text = f"{setting}: {message}"
        else:
            text = (f"{setting}: the smallest 5% of singular values lie {'at least ' if sp.at_floor else ''}"
                    f"{sp.decades:.2f} decades below the largest; {sp.lost:.0%} of directions lost; "
                    + ("median singular value below resolution" if sp.lost >= 0.5
                       else f"median singular value {sp.median:.3g}"))
        return text, {"decades": sp.decades, "lost": sp.lost, "median": sp.median,
                      "at_floor": sp.at_floor, "message": message}

    dynamic = [art[k] for k in ("kept", "lost", "floor", "note", "headline")]
    return Explorer(controls, fig, render, dynamic=dynamic, freeze=True)
