"""The probe: push a fixed batch through a deep MLP and back, and record what each layer sees.

This is the measurement behind notebooks 04-06 and the series' main explorer: per layer
the forward std, the back-propagated gradient std (and, on request, the weight-gradient
std), histograms of activations and of gradients, the saturated fraction (tanh, sigmoid)
or the zero fraction and dead units (ReLU), and the first layer where the signal
overflows to inf/NaN or underflows to exactly 0. A numeric blow-up is a result to show,
never an exception.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import validate
from helpers.init import INIT_SCHEMES
from helpers.nets import ACTIVATIONS, mlp
from helpers.stats import SATURATION

__all__ = ["LOSS", "TREND_FACTOR", "EndRatios", "EVENTS", "EVENT_WORDS", "FORWARD_EVENTS", "GRADIENT_EVENTS",
           "Propagation", "propagate", "diagnose", "headline", "round_up"]

LOSS = "sum(h_L * P), P a fixed N(0, 1) matrix of the batch's shape: dLoss/dh_L = P, std 1"
"""The loss whose gradient the probe back-propagates (a random projection of the output)."""

TREND_FACTOR = 10.0
"""A std or gradient that shrinks (grows) by more than this factor is "vanishing" ("exploding"):
probe.diagnose and headline from end to end, helpers.checkup (its SIGNAL_FACTOR) layer by layer."""

_RECTIFIED = ("relu", "leaky_relu")


class EndRatios:
    """End-to-end ratios of a record with per-layer `forward_std` and `grad_std` arrays (first
    entry at the input side): Propagation, fan_modes.Flow and residual.Stream share them."""

    forward_std: np.ndarray
    grad_std: np.ndarray

    @property
    def forward_ratio(self) -> float:
        """Forward std at the last layer / at the first: below 1 the signal shrank on its way in
        (NaN once it overflowed)."""
        with np.errstate(all="ignore"):
            return float(self.forward_std[-1] / self.forward_std[0])

    @property
    def grad_ratio(self) -> float:
        """Gradient std at the first layer / at the last: below 1 the gradient shrank on its way back."""
        with np.errstate(all="ignore"):
            return float(self.grad_std[0] / self.grad_std[-1])


@dataclass(frozen=True)
class Propagation(EndRatios):
    """What `propagate` measured; every per-layer array has one entry per layer 1..depth.

    Layer l means the output of the l-th Linear (+ BatchNorm) + activation. forward_std,
    forward_mean and grad_std are NaN from the layer where that signal overflowed on.
    hist[l] counts layer l's finite activations in the bins `edges`; values outside the
    range are counted in the outermost bins.
    saturated (tanh |h| > 0.99, sigmoid h outside [0.01, 0.99]) is None unless the activation
    is tanh/sigmoid. zero_fraction (share of the layer's values that are exactly 0) and
    dead_units (share of its units that output 0 for every input of the batch, so no gradient
    reaches their weights) are None unless relu/leaky_relu: a healthy ReLU layer zeroes about
    half its values and has no dead unit.
    overflow_layer / underflow_layer: first layer (1-based) whose activations contain
    inf/NaN / are all exactly 0 (None if never); grad_overflow_layer / grad_underflow_layer:
    the same for gradients, first in backward order (i.e. the highest such layer). Once the
    forward signal overflows, the probe stops: later layers and every gradient are NaN (the
    loss is not a number), so grad_overflow_layer is then `depth`.
    values / grads: the per-layer arrays (batch, width), only with keep_values=True.
    weight_grad_std: std of dLoss/dW of each layer's Linear weight (W as it multiplies the
    signal, std included for "fixed"), only with weight_grads=True.
    """

    depth: int
    width: int
    activation: str
    init: str
    std: float | None
    param: float | None
    batch: int
    batchnorm: bool
    seed: int
    forward_std: np.ndarray
    forward_mean: np.ndarray
    grad_std: np.ndarray
    hist: np.ndarray
    edges: np.ndarray
    saturated: np.ndarray | None
    zero_fraction: np.ndarray | None
    dead_units: np.ndarray | None
    overflow_layer: int | None
    underflow_layer: int | None
    grad_overflow_layer: int | None
    grad_underflow_layer: int | None
    values: list[np.ndarray] | None = None
    grads: list[np.ndarray] | None = None
    weight_grad_std: np.ndarray | None = None

    @property
    def layers(self) -> np.ndarray:
        """Layer numbers 1..depth, the x axis of every per-layer plot."""
        return np.arange(1, self.depth + 1)


    @property
    def first_event(self) -> tuple[str, int] | None:
        """The blow-up a reader should see first, as (field name, layer), or None: a forward
        overflow, else a forward underflow, else a gradient overflow, else a gradient underflow
        (EVENTS). The forward pass comes first because a broken forward makes every gradient
        meaningless. diagnose, headline and the explorer's marked layer all follow this order."""
        return self.first_of(EVENTS)

    def first_of(self, among: tuple[str, ...]) -> tuple[str, int] | None:
        """first_event restricted to the events in `among` (e.g. FORWARD_EVENTS), in EVENTS' order."""
        for name in EVENTS:
            layer = getattr(self, name) if name in among else None
            if layer is not None:
                return name, layer
        return None


FORWARD_EVENTS = ("overflow_layer", "underflow_layer")
GRADIENT_EVENTS = ("grad_overflow_layer", "grad_underflow_layer")
EVENTS = FORWARD_EVENTS + GRADIENT_EVENTS
"""Propagation's blow-up fields in the order they are reported (Propagation.first_event)."""

EVENT_WORDS: dict[str, tuple[str, str, str]] = {
    "overflow_layer": ("forward signal overflows to inf/NaN at layer {}",
                       "signal overflows to inf/NaN at layer {}",
                       "inf/NaN from layer {}"),
    "underflow_layer": ("forward signal underflows to exactly 0 at layer {}",
                        "signal underflows to exactly 0 at layer {}",
                        "all 0 from layer {}"),
    "grad_overflow_layer": ("gradient overflows to inf/NaN at layer {}",
                            "gradient overflows at layer {}",
                            "gradient inf/NaN at layer {}"),
    "grad_underflow_layer": ("gradient is exactly 0 from layer {} down",
                             "gradient is 0 from layer {} down",
                             "gradient 0 from layer {} down"),
}
"""The words for each blow-up event (EVENTS), at a layer {}: (diagnose's sentence, headline's
few words, the label helpers.panels puts on the marked layer). The one table of them."""


def _is_number(x: object) -> bool:
    return isinstance(x, int | float | np.floating | np.integer) and not isinstance(x, bool)


def _check_range(name: str, r: tuple[float, float] | None) -> None:
    if r is None:
        return
    ok = (isinstance(r, tuple | list) and len(r) == 2 and all(_is_number(v) for v in r)
          and all(math.isfinite(v) for v in r) and r[0] < r[1])
    if not ok:
        raise ValueError(f"{name} must be None or (lo, hi) with finite lo < hi, got {r!r}")


def _check_args(depth, width, activation, init, std, param, batch, bins) -> None:
    validate.one_of("activation", activation, ACTIVATIONS)
    validate.one_of("init", init, INIT_SCHEMES)
    for name, value, least in (("depth", depth, 1), ("width", width, 1), ("batch", batch, 2),
                               ("bins", bins, 1)):
        validate.integer_in(name, value, least)
    if init == "fixed":
        if std is None or not _is_number(std) or not math.isfinite(std) or std <= 0:
            raise ValueError(f"init 'fixed' needs a finite std > 0, got std={std!r}")
    elif std is not None:
        raise ValueError(f"std is only for init 'fixed'; {init!r} computes its own (got {std!r})")
    if param is not None:
        if activation != "leaky_relu":
            raise ValueError(f"param is leaky_relu's negative slope; {activation!r} takes none")
        if not _is_number(param) or not math.isfinite(param):
            raise ValueError(f"param (leaky_relu's negative slope) must be a finite number, got {param!r}")


_NETS: dict[tuple, nn.Sequential] = {}
_MAX_NETS = 3


def _modules_per_layer(batchnorm: bool) -> int:
    return 3 if batchnorm else 2


def _unit_net(depth: int, width: int, activation: str, init: str, param: float | None,
              batchnorm: bool, seed: int) -> nn.Sequential:
    """The first `depth` layers of the probe's MLP, from a small cache of the deepest one built.

    mlp draws the layers in order from one seeded generator, so the first k layers of a
    deep net are exactly the k-layer net: changing depth costs no new weights. "fixed"
    is built at std 1 and the probe multiplies each Linear's output by std (the same net
    as weights std * N(0, 1)), so moving a std slider costs none either.
    """
    key = (width, activation, init, param, batchnorm, seed)
    per = _modules_per_layer(batchnorm)
    net = _NETS.pop(key, None)
    if net is None or len(net) < depth * per:
        net = mlp([width] * (depth + 1), activation, init,
                  std=1.0 if init == "fixed" else None, param=param, batchnorm=batchnorm,
                  final_activation=True, seed=seed)
        net.requires_grad_(False)
    _NETS[key] = net  # most recently used last
    while len(_NETS) > _MAX_NETS:
        _NETS.pop(next(iter(_NETS)))
    return net[: depth * per]


@functools.lru_cache(maxsize=8)
def _batch(batch: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The probe's input x and loss projection P, both N(0, 1) of shape (batch, width), from
    numpy's default_rng(seed) (cached: an explorer asks for the same pair at every change,
    and drawing them is a tenth of a redraw at depth 10). Never written to."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width), dtype=np.float32)
    return x, rng.standard_normal((batch, width), dtype=np.float32)


def _forward(net: nn.Sequential, x: torch.Tensor,
             scale: float) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Run the net, returning each activation's output and each Linear's output (scaled, before
    BatchNorm): the tensors we differentiate, the latter for the weight gradients.

    Stops after the first layer that holds inf/NaN: past it every value is inf/NaN too, and
    so is the loss (computing them is slow on CPUs). BatchNorm runs on batch statistics
    without touching its running averages."""
    outputs, linear_outputs = [], []
    h = x
    for module in net:
        if isinstance(module, nn.Linear):
            h = nn.functional.linear(h, module.weight, module.bias)
            if scale != 1.0:
                h = h * scale  # "fixed": its bias is 0
            linear_outputs.append(h)
        elif isinstance(module, nn.BatchNorm1d):
            h = nn.functional.batch_norm(h, None, None, module.weight, module.bias, True, 0.0,
                                         module.eps)
        else:
            h = module(h)
            outputs.append(h)
            low, high = torch.aminmax(h.detach())  # one pass, no copy; NaN propagates
            if not (math.isfinite(float(low)) and math.isfinite(float(high))):
                break
    return outputs, linear_outputs


class _LayerStats:
    """std, mean, max |value| and (when bins are given) histogram of each array in a list
    (one per layer).

    numpy with reused buffers: on a slider's time budget, np.histogram is ~4x slower
    than clip + bincount. Non-finite values are left out of std, mean and histogram."""

    def __init__(self, arrays: list[np.ndarray], lo: float = 0.0, hi: float = 1.0,
                 bins: int | None = None):
        n = arrays[0].size
        self.buf = np.empty(n, np.float32)
        self.idx = np.empty(n, np.intp)
        self.lo, self.hi, self.bins = lo, hi, bins
        rows = [self._one(a.reshape(-1)) for a in arrays]
        self.std = np.array([r[0] for r in rows])
        self.mean = np.array([r[1] for r in rows])
        self.absmax = np.array([r[2] for r in rows])
        self.hist = np.stack([r[3] for r in rows]) if bins else None

    def _one(self, a: np.ndarray) -> tuple[float, float, float, np.ndarray]:
        buf = self.buf
        absmax = float(np.abs(a, out=buf).max())  # NaN propagates
        if not math.isfinite(absmax):
            a = a[np.isfinite(a)]
            buf = buf[: a.size]
        mean = float(a.mean(dtype=np.float64)) if a.size else math.nan
        std = math.nan
        if a.size > 1:
            np.subtract(a, np.float32(mean), out=buf)
            top = float(np.abs(buf).max())
            if 1e-15 < top < 1e15:  # the squares fit in float32
                std = math.sqrt(float(np.dot(buf, buf)) / (a.size - 1))
            else:
                std = float(np.std(buf, dtype=np.float64, ddof=1))
        return std, mean, absmax, self._hist(a, buf) if self.bins else None

    def _hist(self, a: np.ndarray, buf: np.ndarray) -> np.ndarray:
        np.clip(a, self.lo, self.hi, out=buf)
        np.subtract(buf, self.lo, out=buf)
        np.multiply(buf, self.bins / (self.hi - self.lo), out=buf)
        np.minimum(buf, self.bins - 1, out=buf)
        idx = self.idx[: a.size]
        idx[...] = buf
        return np.bincount(idx, minlength=self.bins)


def _saturated(arrays: list[np.ndarray], activation: str) -> np.ndarray | None:
    """Saturated fraction per layer: tanh |h| > 0.99, sigmoid outside [0.01, 0.99]; else None."""
    if activation == "tanh":
        t = SATURATION["tanh"]
        counts = [np.count_nonzero(a > t) + np.count_nonzero(a < -t) for a in arrays]
    elif activation == "sigmoid":
        p = SATURATION["sigmoid"]
        counts = [np.count_nonzero(a < p) + np.count_nonzero(a > 1 - p) for a in arrays]
    else:
        return None
    return np.array(counts, dtype=float) / arrays[0].size


def _zeros(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per layer: the zero fraction (share of the (batch, width) values exactly 0) and the
    dead units (share of the columns that are 0 for every input of the batch).

    They answer different questions: ReLU zeroes about half the values of a healthy layer,
    while a dead unit passes no signal forward and gets no gradient back, for this batch."""
    zero_fraction, dead_units = [], []
    for a in arrays:
        zero = a == 0
        zero_fraction.append(np.count_nonzero(zero) / zero.size)
        dead_units.append(np.count_nonzero(zero.all(axis=0)) / zero.shape[1])
    return np.array(zero_fraction), np.array(dead_units)


def _first(mask: np.ndarray, reverse: bool = False) -> int | None:
    """1-based index of the first True in mask (the last one if reverse), or None."""
    hits = np.flatnonzero(mask)
    if hits.size == 0:
        return None
    return int(hits[-1] if reverse else hits[0]) + 1


def _after(arr: np.ndarray, layer: int | None, reverse: bool = False) -> np.ndarray:
    """arr with NaN from `layer` on (from `layer` down if reverse): values past an overflow."""
    arr = np.array(arr, dtype=float)
    if layer is not None:
        if reverse:
            arr[:layer] = np.nan
        else:
            arr[layer - 1:] = np.nan
    return arr


def propagate(
    depth: int,
    width: int,
    activation: str,
    init: str,
    *,
    std: float | None = None,
    param: float | None = None,
    batch: int = 256,
    batchnorm: bool = False,
    seed: int = 0,
    keep_values: bool = False,
    weight_grads: bool = False,
    bins: int = 50,
    hist_range: tuple[float, float] | None = None,
) -> Propagation:
    """Forward AND backward through `depth` layers of `width` units; per-layer statistics.

    The net is helpers.nets.mlp([width] * (depth + 1), activation, init, std=..., param=...,
    batchnorm=..., final_activation=True, seed=seed): an activation after every Linear
    (BatchNorm1d before it if batchnorm, in training mode: batch statistics). init is one of
    helpers.init.INIT_SCHEMES ("fixed" needs std; "he" uses the activation's gain; xavier,
    lecun, orthogonal gain 1), activation one of helpers.nets.ACTIVATIONS (param = leaky
    slope). The input is a fixed N(0, 1) batch (batch, width) from numpy's default_rng(seed).
    The loss is LOSS = sum(h_L * P) with P ~ N(0, 1), so the output-side gradient has std 1
    and never vanishes trivially; grad_std[l] is the std of dLoss/dh_l, the gradient w.r.t.
    layer l's activations. weight_grads=True also records weight_grad_std[l], the std of
    dLoss/dW_l = (dLoss/dz_l)^T h_(l-1) for layer l's Linear output z_l (one more matmul
    per layer; the weights themselves are never updated).
    Histogram bins: tanh [-1, 1], sigmoid [0, 1], others +-3 rms of layer 1 ([0, 3 rms] for
    relu); hist_range overrides it. (No histogram of the gradients: only their std is shown.)
    Saturated: tanh |h| > 0.99, sigmoid h outside [0.01, 0.99]. relu, leaky_relu: the zero
    fraction (values h == 0) and the dead units (units with h == 0 for every input).
    Never raises on overflow or underflow: see Propagation. ValueError on bad arguments.
    Introduced in notebooks/04_signal_propagation.ipynb.
    """
    _check_args(depth, width, activation, init, std, param, batch, bins)
    _check_range("hist_range", hist_range)
    net = _unit_net(depth, width, activation, init, param, bool(batchnorm), seed)
    x, projection = (torch.from_numpy(a) for a in _batch(batch, width, seed))
    hs, zs = _forward(net, x.requires_grad_(True), float(std) if init == "fixed" else 1.0)
    values = [h.detach().numpy() for h in hs]
    nan = np.full((batch, width), np.nan, dtype=np.float32)
    wstd = np.full(depth, np.nan) if weight_grads else None
    if len(hs) == depth and np.isfinite(values[-1]).all():
        targets = hs + zs if weight_grads else hs
        grads = torch.autograd.grad((hs[-1] * projection).sum(), targets)
        gvalues = [g.numpy() for g in grads[:depth]]
        if weight_grads:
            inputs = [x.detach()] + [h.detach() for h in hs[:-1]]
            wstd = np.array([float((gz.T @ h).double().std()) for gz, h in
                             zip(grads[depth:], inputs, strict=True)])
    else:  # the loss is inf/NaN: no gradient means anything
        values += [nan] * (depth - len(values))
        gvalues = [nan] * depth
    settings = dict(depth=depth, width=width, activation=activation, init=init, std=std,
                    param=param, batch=batch, batchnorm=bool(batchnorm), seed=seed)
    with np.errstate(all="ignore"):  # inf/NaN are results here, not warnings
        rec = _record(settings, values, gvalues, bins, hist_range, keep_values)
    return rec if wstd is None else dataclasses.replace(rec, weight_grad_std=wstd)


def _default_range(activation: str, rms1: float) -> tuple[float, float]:
    """Histogram range of the activations: the activation's image, else +-3 rms of layer 1."""
    if activation == "tanh":
        return (-1.0, 1.0)
    if activation == "sigmoid":
        return (0.0, 1.0)
    r = 3 * rms1 if math.isfinite(rms1) and rms1 > 0 else 1.0
    return (0.0, r) if activation == "relu" else (-r, r)


def _record(settings: dict, values: list[np.ndarray], gvalues: list[np.ndarray], bins: int,
            hist_range: tuple[float, float] | None, keep_values: bool) -> Propagation:
    """Turn the per-layer arrays into a Propagation (its docstring lists the fields)."""
    rms1 = float(np.sqrt(np.mean(np.square(values[0], dtype=np.float64))))
    lo, hi = hist_range or _default_range(settings["activation"], rms1)
    fwd, bwd = _LayerStats(values, lo, hi, bins), _LayerStats(gvalues)
    overflow = _first(~np.isfinite(fwd.absmax))
    g_overflow = _first(~np.isfinite(bwd.absmax), reverse=True)
    saturated = _saturated(values, settings["activation"])
    zero_fraction = dead_units = None
    if settings["activation"] in _RECTIFIED:
        zero_fraction, dead_units = (_after(f, overflow) for f in _zeros(values))
    return Propagation(
        **settings,
        forward_std=_after(fwd.std, overflow), forward_mean=_after(fwd.mean, overflow),
        grad_std=_after(bwd.std, g_overflow, reverse=True),
        hist=fwd.hist, edges=np.linspace(lo, hi, bins + 1),
        saturated=None if saturated is None else _after(saturated, overflow),
        zero_fraction=zero_fraction, dead_units=dead_units,
        overflow_layer=overflow, underflow_layer=_first(fwd.absmax == 0),
        grad_overflow_layer=g_overflow, grad_underflow_layer=_first(bwd.absmax == 0, reverse=True),
        values=[v.copy() for v in values] if keep_values else None,
        grads=[g.copy() for g in gvalues] if keep_values else None,
    )


def round_up(n: int, block: int) -> int:
    """n rounded up to a multiple of block (both integers >= 1): how far an explorer measures or
    draws, so that a depth move inside one block reuses what it has (the measured layers, the
    axes' frame). The one place the series writes it: helpers.panels.propagation_span, the
    criticality and isometry explorers, tests/tools/bench.py.
    Introduced in notebooks/04_signal_propagation.ipynb.
    """
    validate.integer_in("n", n, 1)
    validate.integer_in("block", block, 1)
    return -(-n // block) * block


def _trend(ratio: float) -> str:
    return "vanishing" if ratio < 1 / TREND_FACTOR else "exploding" if ratio > TREND_FACTOR else "holds"


def diagnose(rec: Propagation) -> str:
    """One line naming the regime: where the signal overflows to inf/NaN or underflows to 0,
    else whether the forward std and the gradient vanish, explode or hold from end to end
    (a factor beyond TREND_FACTOR, 10x, is vanishing/exploding), and the worst saturated fraction
    (tanh, sigmoid) or zero fraction and dead units (ReLU) of any layer.

    Introduced in notebooks/04_signal_propagation.ipynb.
    """
    parts = []
    forward, gradient = rec.first_of(FORWARD_EVENTS), rec.first_of(GRADIENT_EVENTS)
    if forward is not None:
        parts.append(EVENT_WORDS[forward[0]][0].format(forward[1]))
    elif rec.depth > 1:
        ratio = rec.forward_ratio
        parts.append(f"std at layer {rec.depth} is {ratio:.2g}x layer 1: {_trend(ratio)}")
    else:
        parts.append(f"std at layer 1 is {rec.forward_std[0]:.2g}")
    if rec.overflow_layer is not None:
        parts.append("the loss is inf/NaN, and so is every gradient")
    elif gradient is not None:
        parts.append(EVENT_WORDS[gradient[0]][0].format(gradient[1]))
    elif rec.depth > 1:
        ratio = rec.grad_ratio
        parts.append(f"gradient at layer 1 is {ratio:.2g}x layer {rec.depth}: {_trend(ratio)}")
    if rec.saturated is not None and np.isfinite(rec.saturated).any():
        parts.append(f"up to {_percent(np.nanmax(rec.saturated))} saturated")
    if rec.zero_fraction is not None and np.isfinite(rec.zero_fraction).any():
        parts.append(f"up to {_percent(np.nanmax(rec.zero_fraction))} of values exactly 0, "
                     f"{_percent(np.nanmax(rec.dead_units))} of units dead")
    return "; ".join(parts)


def _percent(share: float) -> str:
    """A share as a whole percentage that never rounds a nonzero share to "0%"."""
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def headline(rec: Propagation) -> str:
    """The finding in a few words, for a figure title: where it blows up, else how the forward
    std (last layer / first) and the gradient (first layer / last) change from end to end,
    any majority saturation, and dead units beyond 10% of a layer. Short on purpose: every
    glyph of a title costs an explorer ~0.1 ms a redraw; probe.diagnose says it in full.

    Introduced in notebooks/04_signal_propagation.ipynb.
    """
    forward, gradient = rec.first_of(FORWARD_EVENTS), rec.first_of(GRADIENT_EVENTS)
    if forward is not None:
        return EVENT_WORDS[forward[0]][1].format(forward[1])
    words = {"vanishing": "vanishes", "exploding": "explodes", "holds": "holds"}
    ratio = rec.forward_ratio
    parts = [f"std {words[_trend(ratio)]} (×{ratio:.2g})"]
    if rec.saturated is not None and np.nanmax(rec.saturated) > 0.5:
        parts.append(f"{np.nanmax(rec.saturated):.0%} saturated")
    if rec.dead_units is not None and np.nanmax(rec.dead_units) > 0.1:
        parts.append(f"{np.nanmax(rec.dead_units):.0%} of units dead")
    if gradient is not None:
        parts.append(EVENT_WORDS[gradient[0]][1].format(gradient[1]))
    else:
        g = rec.grad_ratio
        parts.append(f"gradient {words[_trend(g)]} (×{g:.2g})")
    return ", ".join(parts)
