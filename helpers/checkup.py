"""Check the initialisation of any model: one forward and backward pass, read layer by layer.

What notebooks 04-09 measure on the series' own MLPs, applied to a network the learner
wrote: hooks on every leaf module record, per call, the weight's std and the scheme it is
closest to, the output's mean and std, the zero fraction and dead units of rectifiers, the
saturated fraction of tanh/sigmoid, the back-propagated gradient and the grad:data ratio
(in the manner of fast.ai's ActivationStats and Karpathy's makemore). A classifier's
initial loss is compared with ln C. The findings are one-line sentences.

The model comes back as it went in: hooks removed (also on error), train/eval mode,
buffers (BatchNorm's running statistics) and parameters' .grad restored, and the global
random state untouched.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.dropout import _DropoutNd
from torch.nn.modules.instancenorm import _InstanceNorm

from helpers.init import fans, scheme_std
from helpers.stats import SATURATION, saturated_fraction

__all__ = [
    "SIGNAL_FACTOR",
    "GRAD_DATA_FACTOR",
    "DEAD_UNITS",
    "SATURATED",
    "LOSS_TOLERANCE",
    "SCHEME_TOLERANCE",
    "CANDIDATES",
    "LayerReport",
    "Checkup",
    "hooked",
    "closest_scheme",
    "run",
]

SIGNAL_FACTOR = 10.0
"""A weight layer whose input rms is this many times below (above) the first weight layer's
input rms is flagged "vanishing" ("exploding")."""
GRAD_DATA_FACTOR = 100.0
"""grad:data of the first weight layer this many times below (above) that of the last hidden
one (the output layer left out): the gradient vanishes (explodes) on its way back."""
DEAD_UNITS = 0.25
"""A rectifier with at least this share of dead units (0 for every input of the batch) is flagged."""
SATURATED = 0.1
"""A tanh/sigmoid with at least this share of saturated values is flagged (thresholds:
helpers.stats.SATURATION, tanh |h| > 0.99, sigmoid h outside [0.01, 0.99])."""
LOSS_TOLERANCE = 0.2
"""A classifier's initial loss further than this fraction from ln C is flagged."""
SCHEME_TOLERANCE = 0.15
"""A weight's std within this fraction of a scheme's std is named after it (wider for small
weights: 3 standard errors of a sample std, 3 / sqrt(2 n))."""
CANDIDATES: tuple[str, ...] = ("he", "xavier", "lecun", "pytorch_default")
"""The schemes closest_scheme compares with (fan_in mode, ReLU gain for He, gain 1 for Xavier)."""

_RECTIFIERS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)
_SATURATING = {nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}
_CHANNEL_FIRST = (_ConvNd, _BatchNorm, _InstanceNorm, nn.GroupNorm)
_FEATURE_LAST = (nn.Linear, nn.Bilinear, nn.LayerNorm, nn.RMSNorm, nn.MultiheadAttention, nn.Embedding)
_PASS_THROUGH = (nn.Identity, nn.Flatten, nn.Unflatten, _DropoutNd)
_RANDOM_IN_TRAINING = (_DropoutNd, nn.RReLU, nn.MultiheadAttention)  # MHA: its attention dropout
_CROSS_ENTROPY = (nn.CrossEntropyLoss, nn.NLLLoss, F.cross_entropy, F.nll_loss)


@dataclass(frozen=True)
class LayerReport:
    """One call of one leaf module (a module called twice gets two rows, "name [2]").

    kind: the module's class name. fan_in, fan_out, weight_std, scheme: of its weight matrix
    (in_proj_weight for nn.MultiheadAttention; None for 1-D weights such as a norm's gamma);
    scheme is closest_scheme's answer. input_rms: rms of the first input of a weight layer
    (None for others and for nn.Embedding, whose input is indices). mean, std: of the
    output (NaN if, and only if, it holds inf/NaN). zero_fraction: share of output values exactly 0;
    dead_units: share of units (features, or channels after a conv) that are 0 for every
    input of the batch; both only for the ReLU family. saturated: tanh |h| > 0.99, sigmoid
    outside [0.01, 0.99], only for those. grad_std: std of dLoss/d(output). grad_data:
    std(dLoss/dW) / std(W) for the weight matrix. flags: the findings this row triggered.
    """

    name: str
    kind: str
    fan_in: int | None
    fan_out: int | None
    weight_std: float | None
    scheme: str | None
    input_rms: float | None
    mean: float
    std: float
    zero_fraction: float | None
    dead_units: float | None
    saturated: float | None
    grad_std: float | None
    grad_data: float | None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Checkup:
    """What run measured: one LayerReport per leaf call in forward order, the loss, the findings.

    loss_kind: "projection" (sum(output * P), P a seeded N(0, 1) tensor: dLoss/doutput = P),
    "cross_entropy" (then n_classes and expected_loss = ln n_classes are set) or "custom".
    diagnosis: one line per finding, using the words vanishing, exploding, dead, saturated,
    initial loss where they apply; problems: the names of the findings that are problems
    ("initial loss", "vanishing", "exploding", "vanishing gradient", "exploding gradient",
    "dead", "saturated"), empty if none. Introduced in notebooks/12_cheat_sheet.ipynb.
    """

    layers: tuple[LayerReport, ...]
    loss: float
    loss_kind: str
    n_classes: int | None
    expected_loss: float | None
    diagnosis: list[str]
    problems: tuple[str, ...]

    @property
    def flagged(self) -> list[int]:
        """Indices of the rows (into .layers) that triggered a finding."""
        return [i for i, r in enumerate(self.layers) if r.flags]

    def table(self) -> str:
        """The report as text, one line per layer (makemore style), findings below."""
        return _format_table(self)


# --- hooks ---------------------------------------------------------------------------------


@contextlib.contextmanager
def hooked(modules: list[nn.Module], pre: Callable, post: Callable) -> Iterator[None]:
    """Register a forward pre-hook and a forward hook (both with kwargs) on each module;
    on exit, normal or by an exception, remove every one (fast.ai's Hooks).

    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    handles = []
    try:
        for m in modules:
            handles.append(m.register_forward_pre_hook(pre, with_kwargs=True))
            handles.append(m.register_forward_hook(post, with_kwargs=True))
        yield
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def _preserved(model: nn.Module) -> Iterator[None]:
    """Training mode for the run (dropout and RReLU off: deterministic); on exit every module's
    mode and every buffer (BatchNorm's running statistics) as they were."""
    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        model.train()
        for m in model.modules():
            if isinstance(m, _RANDOM_IN_TRAINING):
                m.eval()
        yield
    finally:
        for m, mode in modes:
            m.training = mode
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)


def _leaves(model: nn.Module) -> dict[nn.Module, str]:
    """Every leaf module by name (nn.MultiheadAttention counts as one, its out_proj is not)."""
    found: dict[nn.Module, str] = {}
    inside_attention: set[nn.Module] = set()
    for name, m in model.named_modules():
        if m in inside_attention:
            continue
        if isinstance(m, nn.MultiheadAttention):
            inside_attention.update(m.modules())
        elif next(m.children(), None) is not None:
            continue
        found[m] = name or type(m).__name__
    return found


# --- what a layer expects ------------------------------------------------------------------


def _expects(m: nn.Module) -> str | None:
    """The input a known first layer takes, in words; None for modules that take any shape."""
    if isinstance(m, nn.Linear):
        return f"a float tensor (..., {m.in_features})"
    if isinstance(m, _ConvNd):
        spatial = {1: "L", 2: "H, W", 3: "D, H, W"}.get(len(m.kernel_size), "...")
        return f"a float tensor (N, {m.in_channels}, {spatial})"
    if isinstance(m, nn.Embedding):
        return f"integer indices in [0, {m.num_embeddings})"
    if isinstance(m, nn.MultiheadAttention):
        return f"a float tensor (..., {m.embed_dim})"
    if isinstance(m, nn.LayerNorm):
        return f"a float tensor (..., {', '.join(map(str, m.normalized_shape))})"
    if isinstance(m, _BatchNorm):
        return f"a float tensor (N, {m.num_features}, ...)"
    return None


def _accepts(m: nn.Module, x: torch.Tensor) -> bool:
    """Whether x fits what _expects(m) says (modules it does not know accept anything)."""
    if isinstance(m, nn.Embedding):
        return not x.is_floating_point() and (x.numel() == 0 or (
            int(x.min()) >= 0 and int(x.max()) < m.num_embeddings))
    if _expects(m) is None:
        return True
    if not x.is_floating_point():
        return False
    if isinstance(m, nn.Linear | nn.MultiheadAttention):
        return x.shape[-1] == (m.in_features if isinstance(m, nn.Linear) else m.embed_dim)
    if isinstance(m, _ConvNd):
        return x.ndim == len(m.kernel_size) + 2 and x.shape[1] == m.in_channels
    if isinstance(m, nn.LayerNorm):
        return tuple(x.shape[-len(m.normalized_shape):]) == tuple(m.normalized_shape)
    return x.ndim >= 2 and x.shape[1] == m.num_features


def _first_layer(model: nn.Module) -> nn.Module | None:
    """The module that certainly sees x first: the first leaf down a chain of nn.Sequential."""
    m = model
    while isinstance(m, nn.Sequential) and len(m) > 0:
        m = m[0]
    return m if next(m.children(), None) is None else None


def _check_inputs(model, x, y, loss_fn, seed) -> None:
    """ValueError, before anything runs, on whatever run cannot take."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[0] < 2:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a batch: a tensor with >= 2 samples along dim 0, got {got}")
    if y is not None and not isinstance(y, torch.Tensor):
        raise ValueError(f"y must be None or a tensor of targets, got {type(y).__name__}")
    if loss_fn is not None and not callable(loss_fn):
        raise ValueError(f"loss_fn must be None or callable as loss_fn(output, y), got {loss_fn!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no trainable parameter: there is no initialisation to check")
    first = _first_layer(model)
    if first is not None and not _accepts(first, x):
        raise ValueError(f"the first layer ({type(first).__name__}) expects {_expects(first)}, "
                         f"got {x.dtype} of shape {tuple(x.shape)}")


# --- per-call statistics -------------------------------------------------------------------


def _weight(m: nn.Module) -> torch.Tensor | None:
    """The layer's weight matrix (>= 2 dims), or None."""
    w = getattr(m, "in_proj_weight", None) if isinstance(m, nn.MultiheadAttention) else None
    if isinstance(m, nn.MultiheadAttention) and w is None:
        w = m.q_proj_weight
    w = getattr(m, "weight", None) if w is None else w
    return w if isinstance(w, torch.Tensor) and w.ndim >= 2 else None


def closest_scheme(weight: torch.Tensor, *, embedding: bool = False) -> str:
    """The scheme (of CANDIDATES) whose std a weight matrix's std is closest to, or "none".

    Closest on a log scale; named when within SCHEME_TOLERANCE (or 3 standard errors of
    the sample std, if wider); when several are that close (a square layer: Xavier = LeCun;
    a small one: its std is not known better) all are named, closest first: "xavier/lecun".
    With embedding=True (an nn.Embedding's table) the only candidate is its PyTorch default,
    N(0, 1): He, Xavier and LeCun do not apply to a lookup.
    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    w = weight.detach().double()
    std = float(w.std()) if w.numel() > 1 else 0.0
    if not math.isfinite(std) or std == 0:
        return "none"
    if embedding:
        targets = {"pytorch_default": 1.0}
    else:
        shape = tuple(weight.shape)
        targets = {s: scheme_std(s, shape) for s in CANDIDATES}
    tol = math.log1p(max(SCHEME_TOLERANCE, 3 / math.sqrt(2 * w.numel())))
    dist = {s: abs(math.log(std / t)) for s, t in targets.items()}
    close = sorted((d, CANDIDATES.index(s), s) for s, d in dist.items() if d <= tol)
    return "/".join(s for _, _, s in close) or "none"


def _dead_units(out: torch.Tensor, axis: int) -> float:
    """Share of units along `axis` that are 0 for every input of the batch (and position)."""
    units = out.movedim(axis, 0).reshape(out.shape[axis], -1)
    return float((~(units != 0).any(dim=1)).double().mean())


def _output_stats(m: nn.Module, inp: torch.Tensor | None, out: torch.Tensor, axis: int) -> dict:
    """mean, std, zero fraction, dead units, saturated fraction of one call's output."""
    o = out.detach()
    finite = bool(torch.isfinite(o).all())
    od = o.double()
    stats = dict(mean=float(od.mean()) if finite else math.nan,
                 std=(float(od.std()) if o.numel() > 1 else 0.0) if finite else math.nan,
                 zero_fraction=None, dead_units=None, saturated=None)
    if isinstance(m, _RECTIFIERS) and o.numel() > 0:
        stats["zero_fraction"] = float((o == 0).double().mean())
        stats["dead_units"] = _dead_units(o, axis if o.ndim > 1 else 0)
    kind = next((k for t, k in _SATURATING.items() if isinstance(m, t)), None)
    if kind is not None and inp is not None:
        stats["saturated"] = saturated_fraction(inp.detach().double().cpu().numpy(), kind)
    return stats


def _first_tensor(args: tuple, kwargs: dict) -> torch.Tensor | None:
    return next((a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)), None)


def _rms(t: torch.Tensor) -> float:
    return float(t.detach().double().square().mean().sqrt())


class _Recorder:
    """The hooks' state: which leaf is running (for error messages), and per call its
    statistics and its output (kept to differentiate the loss with respect to it)."""

    def __init__(self, names: dict[nn.Module, str]):
        self.names = names
        self.running: list[tuple[nn.Module, tuple | None]] = []  # (module, its input's shape)
        self.calls: list[dict] = []
        self.outputs: list[torch.Tensor | None] = []
        self.counts: dict[nn.Module, int] = {}
        self.axis = -1  # the unit axis: 1 after a conv or batch norm, -1 after a Linear

    def pre(self, module, args, kwargs):
        inp = _first_tensor(args, kwargs)
        self.running.append((module, None if inp is None else tuple(inp.shape)))

    def post(self, module, args, kwargs, output):
        self.running.pop()
        inp = _first_tensor(args, kwargs)
        if isinstance(module, _CHANNEL_FIRST):
            self.axis = 1
        elif isinstance(module, _FEATURE_LAST):
            self.axis = -1
        out = output[0] if isinstance(output, tuple | list) and output else output
        if isinstance(module, _PASS_THROUGH) or not isinstance(out, torch.Tensor):
            return None
        self.counts[module] = self.counts.get(module, 0) + 1
        name = self.names[module] + (f" [{self.counts[module]}]" if self.counts[module] > 1 else "")
        weighted = _weight(module) is not None and not isinstance(module, nn.Embedding)
        self.calls.append(dict(module=module, name=name, **_output_stats(module, inp, out, self.axis),
                               input_rms=_rms(inp) if weighted and inp is not None
                               and inp.is_floating_point() else None))
        if not (out.is_floating_point() and out.requires_grad):
            self.outputs.append(None)
            return None
        self.outputs.append(out)
        if out is output:  # later in-place ops (ReLU(inplace=True)) must not change `out`
            return out.clone()
        return None


# --- forward, loss, backward -----------------------------------------------------------------


def _forward(model: nn.Module, x: torch.Tensor, rec: _Recorder) -> torch.Tensor:
    """model(x); a shape error inside a leaf becomes a ValueError naming the layer and its input."""
    try:
        return model(x)
    except (RuntimeError, IndexError, ValueError, AssertionError) as err:
        if not rec.running:
            raise
        m, shape = rec.running[-1]
        wants = _expects(m)
        raise ValueError(f"layer {rec.names[m]!r} ({type(m).__name__}) could not take its input "
                         f"of shape {shape}" + (f"; it expects {wants}" if wants else "")
                         + f" (torch: {str(err).splitlines()[0]})") from err


def _class_layout(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(logits (M, C), targets (M,), C) for integer targets: the classes on the last dim when
    y has the output's shape without it (also (N, T, C) sequences), else on dim 1 as torch has them."""
    if out.ndim >= 2 and tuple(y.shape) == tuple(out.shape[:-1]):
        c = out.shape[-1]
        return out.reshape(-1, c), y.reshape(-1), c
    if out.ndim >= 3 and tuple(y.shape) == (out.shape[0], *out.shape[2:]):
        c = out.shape[1]
        return out.movedim(1, -1).reshape(-1, c), y.reshape(-1), c
    raise ValueError(f"integer targets y must have the output's shape without its class dim: "
                     f"output {tuple(out.shape)} needs y of shape {tuple(out.shape[:-1])}, "
                     f"got {tuple(y.shape)}")


def _cross_entropy(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy for integer targets, and the number of classes C (>= 2)."""
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(f"without a loss_fn, y must hold integer class labels (got {y.dtype}); "
                         "pass loss_fn for other targets, e.g. loss_fn=nn.MSELoss()")
    logits, targets, c = _class_layout(out, y)
    lo, hi = (int(targets.min()), int(targets.max())) if targets.numel() else (0, 0)
    if c < 2 or lo < 0 or hi >= c:
        raise ValueError(f"class labels must lie in [0, {c}) for an output with {c} classes "
                         f"(and C >= 2), got labels from {lo} to {hi}")
    return F.cross_entropy(logits, targets), c


def _loss(out, y, loss_fn, seed: int) -> tuple[torch.Tensor, str, int | None]:
    """The scalar to differentiate, its kind, and the number of classes of a classifier."""
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        got = out.dtype if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model(x) must return a float tensor, got {got}")
    if y is None and loss_fn is None:
        gen = torch.Generator().manual_seed(seed)
        p = torch.randn(tuple(out.shape), generator=gen, dtype=out.dtype).to(out.device)
        return (out * p).sum(), "projection", None
    if loss_fn is None:
        loss, c = _cross_entropy(out, y)
        return loss, "cross_entropy", c
    loss = loss_fn(out) if y is None else loss_fn(out, y)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return a scalar tensor (one value: reduction 'mean' or "
                         f"'sum'), got {got}")
    if isinstance(loss_fn, nn.CrossEntropyLoss | nn.NLLLoss) or loss_fn in _CROSS_ENTROPY:
        return loss.reshape(()), "cross_entropy", int(out.shape[1] if out.ndim >= 2 else out.shape[0])
    return loss.reshape(()), "custom", None


def _weights(rec: _Recorder) -> list[torch.Tensor]:
    """Each distinct trainable weight matrix of the recorded calls, in forward order."""
    seen: dict[int, torch.Tensor] = {}
    for call in rec.calls:
        w = _weight(call["module"])
        if w is not None and w.requires_grad:
            seen.setdefault(id(w), w)
    return list(seen.values())


def _gradients(loss: torch.Tensor, rec: _Recorder, weights: list[torch.Tensor]):
    """dLoss/d(each recorded output) and dLoss/d(each weight), without touching any .grad."""
    if not loss.requires_grad:
        raise ValueError("the loss does not depend on the model's trainable parameters")
    outs = [o for o in rec.outputs if o is not None]
    grads = torch.autograd.grad(loss, outs + weights, allow_unused=True)
    it = iter(grads[: len(outs)])
    out_grads = [None if o is None else next(it) for o in rec.outputs]
    return out_grads, {id(w): g for w, g in zip(weights, grads[len(outs):], strict=True)}


def _std(t: torch.Tensor | None) -> float | None:
    return None if t is None or t.numel() < 2 else float(t.detach().double().std())


def _layer_report(call: dict, out_grad: torch.Tensor | None, w_grads: dict) -> LayerReport:
    m = call["module"]
    w = _weight(m)
    fan_in = fan_out = w_std = scheme = grad_data = None
    if w is not None:
        if not isinstance(m, nn.Embedding):
            fan_in, fan_out = fans(tuple(w.shape))
        w_std = _std(w)
        scheme = closest_scheme(w, embedding=isinstance(m, nn.Embedding))
        g_std = _std(w_grads.get(id(w)))
        grad_data = g_std / w_std if g_std is not None and w_std else None
    return LayerReport(
        name=call["name"], kind=type(m).__name__, fan_in=fan_in, fan_out=fan_out,
        weight_std=w_std, scheme=scheme, input_rms=call["input_rms"], mean=call["mean"],
        std=call["std"], zero_fraction=call["zero_fraction"], dead_units=call["dead_units"],
        saturated=call["saturated"], grad_std=_std(out_grad), grad_data=grad_data)


# --- findings ------------------------------------------------------------------------------


def _signal_findings(layers: list[LayerReport]) -> tuple[list[str], dict[int, str]]:
    """Overflow anywhere; the rms each weight layer receives against the first weight layer's."""
    blown = [i for i, r in enumerate(layers) if math.isnan(r.std)]
    if blown:
        return ([f"exploding: the output of layer {layers[blown[0]].name} holds inf/NaN, and so does "
                 "everything computed from it"], {blown[0]: "exploding"})
    weighted = [(i, r) for i, r in enumerate(layers) if r.input_rms is not None]
    if len(weighted) < 2 or not weighted[0][1].input_rms > 0:
        return [], {}
    first = weighted[0][1]
    ref = first.input_rms
    lines, flags = [], {}
    for word, bad, pick in (("vanishing", lambda v: v < ref / SIGNAL_FACTOR, min),
                            ("exploding", lambda v: v > ref * SIGNAL_FACTOR, max)):
        hits = [(i, r) for i, r in weighted[1:] if bad(r.input_rms)]
        if not hits:
            continue
        worst = pick(hits, key=lambda h: h[1].input_rms)[1]
        lines.append(f"{word}: the signal reaching layer {worst.name} has rms {worst.input_rms:.2g}, "
                     f"{_times(worst.input_rms / ref)} the input of layer {first.name} ({ref:.2g}); "
                     f"{len(hits)} of {len(weighted) - 1} later weight layers are beyond "
                     f"{SIGNAL_FACTOR:g}x")
        flags.update({i: word for i, _ in hits})
    return lines, flags


def _times(ratio: float) -> str:
    if ratio == 0:
        return "0, infinitely below"
    return f"{1 / ratio:.2g}x below" if ratio < 1 else f"{ratio:.2g}x above"


def _gradient_findings(layers: list[LayerReport]) -> tuple[list[str], dict[int, str]]:
    """grad:data (Karpathy's ratio) of the first weight layer against the last hidden one.

    The output layer is left out: its grad:data scales with 1 / its weights' std, and
    shrinking that layer is a recommended init (Karpathy's x0.1), not a gradient problem.
    """
    rows = [(i, r) for i, r in enumerate(layers) if r.input_rms is not None and r.grad_data]
    if len(rows) < 3 or not all(math.isfinite(r.grad_data) for _, r in rows):
        return [], {}
    (i0, first), (_, last) = rows[0], rows[-2]
    ratio = first.grad_data / last.grad_data
    if 1 / GRAD_DATA_FACTOR <= ratio <= GRAD_DATA_FACTOR:
        return [], {}
    word = "vanishing" if ratio < 1 else "exploding"
    effect = "barely train" if ratio < 1 else "take steps far larger than the rest"
    return ([f"{word} gradient: grad:data of layer {first.name} is {_times(ratio)} that of layer "
             f"{last.name} ({first.grad_data:.2g} vs {last.grad_data:.2g}): at one learning rate "
             f"the layers near the input will {effect}"], {i0: f"{word} gradient"})


def _unit_findings(layers: list[LayerReport]) -> tuple[list[str], dict[int, str]]:
    """Rectifiers with many dead units; tanh/sigmoid layers with many saturated values."""
    lines, flags = [], {}
    dead = [(i, r) for i, r in enumerate(layers) if r.dead_units is not None
            and r.dead_units >= DEAD_UNITS]
    if dead:
        worst = max(dead, key=lambda h: h[1].dead_units)[1]
        lines.append(f"dead: {len(dead)} rectifier layer(s) with >= {DEAD_UNITS:.0%} dead units; "
                     f"worst layer {worst.name}: {worst.dead_units:.0%} of its units are 0 for every "
                     f"input of the batch (zero fraction {worst.zero_fraction:.0%})")
        flags.update({i: "dead" for i, _ in dead})
    sat = [(i, r) for i, r in enumerate(layers) if r.saturated is not None
           and r.saturated >= SATURATED]
    if sat:
        worst = max(sat, key=lambda h: h[1].saturated)[1]
        rule = (f"|h| > {SATURATION['tanh']}" if worst.kind == "Tanh"
                else f"h outside [{SATURATION['sigmoid']}, {1 - SATURATION['sigmoid']}]")
        lines.append(f"saturated: {len(sat)} tanh/sigmoid layer(s) with >= {SATURATED:.0%} "
                     f"saturated values; worst layer {worst.name}: {worst.saturated:.0%} with {rule}")
        flags.update({i: "saturated" for i, _ in sat})
    return lines, flags


def _loss_finding(loss: float, n_classes: int) -> tuple[str, bool]:
    """Karpathy's first check: a fresh classifier should be unsure, loss ~ ln C. (line, bad?)"""
    ln_c = math.log(n_classes)
    if not math.isfinite(loss):
        return f"initial loss is {loss}: the outputs overflow before the loss", True
    ratio = loss / ln_c
    if abs(ratio - 1) <= LOSS_TOLERANCE:
        return (f"initial loss {loss:.3g} is close to ln {n_classes} = {ln_c:.3g} (within "
                f"{LOSS_TOLERANCE:.0%}): the outputs start unsure, as they should"), False
    if ratio > 1:
        return (f"initial loss {loss:.3g} is {ratio:.2g}x ln {n_classes} = {ln_c:.3g}: the "
                "outputs start confidently wrong; shrink the last layer's weights (e.g. x0.1) "
                "or start them at 0"), True
    return (f"initial loss {loss:.3g} is {ratio:.2g}x ln {n_classes} = {ln_c:.3g}, below it: the "
            "untrained net already favours the right classes; check that the targets do not "
            "leak into the input"), True


def _diagnose(layers: list[LayerReport], loss: float, n_classes: int | None):
    """(layers with their flags, the findings, the problems' names), every rule applied once."""
    lines, flags = [], {}
    for finder in (_signal_findings, _gradient_findings, _unit_findings):
        more, marks = finder(layers)
        lines += more
        for i, word in marks.items():
            flags.setdefault(i, []).append(word)
    problems = [line.split(":")[0] for line in lines]
    if not lines:
        lines.append(f"no problem found: every weight layer's input within {SIGNAL_FACTOR:g}x "
                     f"of the first's, grad:data within {GRAD_DATA_FACTOR:g}x from the first to "
                     f"the last hidden layer, under {DEAD_UNITS:.0%} dead units and {SATURATED:.0%} "
                     "saturated values")
    if n_classes is not None:
        line, bad = _loss_finding(loss, n_classes)
        lines.insert(0, line)
        last = [i for i, r in enumerate(layers) if r.weight_std is not None][-1:]
        for i in last if bad else []:
            flags.setdefault(i, []).append("initial loss")
        problems = ["initial loss"] * bad + problems
    layers = [replace(r, flags=tuple(flags.get(i, ()))) for i, r in enumerate(layers)]
    return layers, lines, tuple(problems)


# --- the report ----------------------------------------------------------------------------

_COLUMNS = ("fan_in", "fan_out", "w std", "scheme", "mean", "std", "zero%", "dead%", "sat%",
            "grad std", "grad:data")


def _cell(value, kind: str = "g") -> str:
    if value is None:
        return "-"
    if kind == "%":
        return f"{100 * value:.0f}"
    if isinstance(value, str | int):
        return str(value)
    return f"{value:.3g}" if math.isfinite(value) else "nan"


def _row(r: LayerReport) -> list[str]:
    return [_cell(r.fan_in), _cell(r.fan_out), _cell(r.weight_std), _cell(r.scheme),
            _cell(r.mean), _cell(r.std), _cell(r.zero_fraction, "%"), _cell(r.dead_units, "%"),
            _cell(r.saturated, "%"), _cell(r.grad_std), _cell(r.grad_data)]


def _format_table(c: Checkup) -> str:
    """Checkup.table: a header, one aligned line per layer, the loss, the findings."""
    names = [r.name[:30] for r in c.layers]
    kinds = [r.kind[:22] for r in c.layers]
    rows = [_row(r) for r in c.layers]
    wn = max([5, *map(len, names)])
    wk = max([4, *map(len, kinds)])
    widths = [max(len(h), *(len(row[j]) for row in rows)) for j, h in enumerate(_COLUMNS)]

    def line(name: str, kind: str, cells: list[str], flags: str) -> str:
        padded = (v.rjust(w) for v, w in zip(cells, widths, strict=True))
        return "  ".join([name.ljust(wn), kind.ljust(wk), *padded, flags]).rstrip()

    out = [line("layer", "type", list(_COLUMNS), "flags")]
    out += [line(n, k, row, ", ".join(r.flags)) for n, k, row, r in zip(names, kinds, rows, c.layers,
                                                                      strict=True)]
    loss = (f"cross-entropy {c.loss:.4g} (ln {c.n_classes} = {c.expected_loss:.4g})"
            if c.loss_kind == "cross_entropy" else f"{c.loss_kind} loss {c.loss:.4g}")
    out += ["", f"loss: {loss}",
            f"sat%: tanh |h| > {SATURATION['tanh']}, sigmoid outside [{SATURATION['sigmoid']}, "
            f"{1 - SATURATION['sigmoid']}]; dead%: units 0 for every input of the batch; "
            "grad std: of dLoss/d(output); grad:data: std(dLoss/dW) / std(W)", ""]
    out += [f"- {d}" for d in c.diagnosis]
    return "\n".join(out)


def run(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
        loss_fn: Callable | None = None, *, seed: int = 0) -> Checkup:
    """One forward and backward pass of `model` on the batch `x`, read layer by layer.

    Hooks every leaf module (nn.MultiheadAttention counts as one) and records each call; the
    model runs as a first training step would (BatchNorm on batch statistics) but with
    dropout and RReLU's random slopes off. The loss: loss_fn(output, y) (loss_fn(output) if y
    is None); with y and no loss_fn, cross-entropy for integer labels (classes on the last
    dim, or dim 1); with neither, sum(output * P) for a fixed N(0, 1) tensor P drawn from
    torch.Generator(seed). A cross-entropy loss is compared with ln C. Gradients come from
    torch.autograd.grad, so no .grad is touched; every hook is removed, every module's
    train/eval mode and every buffer restored, and the global random state left as it was,
    also on error. ValueError (saying what was expected) for a model that is not an
    nn.Module, a batch the first layer cannot take, a loss that is not one number.
    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    _check_inputs(model, x, y, loss_fn, seed)
    rec = _Recorder(_leaves(model))
    with _preserved(model), torch.random.fork_rng(devices=[]), torch.enable_grad():
        with hooked(list(rec.names), rec.pre, rec.post):
            out = _forward(model, x, rec)
        loss, kind, n_classes = _loss(out, y, loss_fn, seed)
        out_grads, w_grads = _gradients(loss, rec, _weights(rec))
    layers = [_layer_report(c, g, w_grads) for c, g in zip(rec.calls, out_grads, strict=True)]
    loss_value = float(loss.detach())
    layers, diagnosis, problems = _diagnose(layers, loss_value, n_classes)
    return Checkup(layers=tuple(layers), loss=loss_value, loss_kind=kind, n_classes=n_classes,
                   expected_loss=None if n_classes is None else math.log(n_classes),
                   diagnosis=diagnosis, problems=problems)
