"""Check the initialisation of any model: one forward and backward pass, read layer by layer.

What notebooks 04-09 measure on the series' own MLPs, applied to a network the learner
wrote: hooks on every leaf module record, per call, the weight's std and the scheme it is
closest to, the output's mean and std, the zero fraction and dead units of rectifiers, the
saturated fraction of tanh/sigmoid, the back-propagated gradient and the grad:data ratio
(in the manner of fast.ai's ActivationStats and Karpathy's makemore). Recurrent layers
(nn.RNN, nn.GRU, nn.LSTM) are replayed step by step in plain torch to read their gates. A
classifier's initial loss is compared with ln C (ln 2 for a binary one), on the loss that
fits the output: logits, probabilities or log-probabilities.

The checkup reports only what it measured: each rule gives a Finding (name, severity, the
number it rests on, the sentence), and whatever it could not inspect (parameters used
outside a layer it hooks, activations called as functions, a recurrent layer it could not
replay) is listed in Checkup.unchecked; then the diagnosis says "not checked: ..." instead
of "no problem found".

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
from torch.overrides import TorchFunctionMode

from helpers.init import fans, scheme_std
from helpers.probe import TREND_FACTOR
from helpers.stats import SATURATION, saturated_fraction

__all__ = [
    "SIGNAL_FACTOR",
    "INPUT_FACTOR",
    "GRAD_DATA_FACTOR",
    "DEAD_UNITS",
    "SATURATED",
    "LOSS_TOLERANCE",
    "CONFIDENT_FACTOR",
    "SCHEME_TOLERANCE",
    "CANDIDATES",
    "SEVERITIES",
    "RULES",
    "VALUED_RULES",
    "LayerReport",
    "RecurrentReport",
    "Finding",
    "Unchecked",
    "Checkup",
    "hooked",
    "closest_scheme",
    "replay_recurrent",
    "run",
]

SIGNAL_FACTOR = TREND_FACTOR
"""probe's vanishing/exploding factor (10), applied layer by layer: a weight layer whose input
rms is this many times below (above) its reference is flagged "vanishing" ("exploding"). The
reference: the output of the last normalisation layer called before it (BatchNorm, LayerNorm,
GroupNorm, InstanceNorm, RMSNorm), or, with none before it, the input of the first weight layer."""
INPUT_FACTOR = 10.0
"""A float input whose rms is this many times below (above) 1 is flagged "input scale"
(standardise it): the init formulas assume inputs of order 1."""
GRAD_DATA_FACTOR = 100.0
"""grad:data of the first weight layer this many times below (above) that of the last hidden
one (the output layer left out): the gradient vanishes (explodes) on its way back."""
DEAD_UNITS = 0.25
"""A rectifier with at least this share of dead units (0 for every input of the batch) is flagged."""
SATURATED = 0.1
"""A tanh/sigmoid (or a recurrent layer's gates) with at least this share of saturated values
is flagged (thresholds: helpers.stats.SATURATION, tanh |h| > 0.99, sigmoid h outside
[0.01, 0.99])."""
LOSS_TOLERANCE = 0.2
"""A classifier's initial loss within this fraction of ln C (or within 3 standard errors of
the batch's mean, if wider) is "close to ln C"."""
CONFIDENT_FACTOR = 2.0
"""An initial loss at least this many times ln C is "confidently wrong" (a problem); between
the tolerance and this factor the outputs start "somewhat confident" (a note, not a problem)."""
SCHEME_TOLERANCE = 0.15
"""A weight's std within this fraction of a scheme's std is named after it (wider for small
weights: 3 standard errors of a sample std, 3 / sqrt(2 n))."""
CANDIDATES: tuple[str, ...] = ("he", "xavier", "lecun", "pytorch_default")
"""The schemes closest_scheme compares with (fan_in mode, ReLU gain for He, gain 1 for Xavier)."""
SEVERITIES: tuple[str, ...] = ("problem", "note", "ok", "not checked")
"""A Finding's severity: a problem to fix, a note (worth knowing, not a problem), a rule that
passed, or what could not be inspected."""

RULES: tuple[str, ...] = ("loss / ln C", "probabilities", "input rms", "signal: smallest", "signal: largest",
                          "grad:data, first / last hidden", "dead units", "saturated", "not checked")
"""Every rule a Finding comes from (Finding.rule), in the order the checkup applies them."""
VALUED_RULES: tuple[str, ...] = tuple(r for r in RULES if r not in ("probabilities", "not checked"))
"""The rules whose Finding.value is a measurement (helpers.cheatsheet.HIGHLIGHTS lines them up)."""

_RECTIFIERS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)
_SATURATING = {nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}
_NORMS = (_BatchNorm, _InstanceNorm, nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)
_CHANNEL_FIRST = (_ConvNd, _BatchNorm, _InstanceNorm, nn.GroupNorm)
_FEATURE_LAST = (nn.Linear, nn.Bilinear, nn.LayerNorm, nn.RMSNorm, nn.MultiheadAttention, nn.Embedding,
                 nn.RNNBase)
_PASS_THROUGH = (nn.Identity, nn.Flatten, nn.Unflatten, _DropoutNd)
# random in training: dropout, RReLU's slopes, MHA's attention dropout, dropout between RNN layers
_RANDOM_IN_TRAINING = (_DropoutNd, nn.RReLU, nn.MultiheadAttention, nn.RNNBase)
_FUNCTIONAL_ACTIVATIONS = frozenset({
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "rrelu", "rrelu_", "prelu", "elu", "elu_",
    "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "softplus", "hardtanh", "hardtanh_",
    "hardswish", "hardsigmoid", "tanh", "tanh_", "sigmoid", "sigmoid_", "logsigmoid", "softsign",
    "glu", "threshold", "threshold_"})
_PROBABILITY_FUNCTIONS = {"softmax": "softmax", "sigmoid": "sigmoid", "sigmoid_": "sigmoid"}
_LOSS_FAMILIES = {
    "cross_entropy": (nn.CrossEntropyLoss, F.cross_entropy),
    "nll": (nn.NLLLoss, F.nll_loss),
    "bce_logits": (nn.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits),
    "bce": (nn.BCELoss, F.binary_cross_entropy),
}


@dataclass(frozen=True)
class LayerReport:
    """One call of one leaf module (a module called twice gets two rows, "name [2]").

    kind: the module's class name. fan_in, fan_out, weight_std, scheme: of its weight matrix
    (in_proj_weight for nn.MultiheadAttention, weight_ih_l0 for a recurrent layer; None for
    1-D weights such as a norm's gamma); scheme is closest_scheme's answer. input_rms: rms
    of the first input of a weight layer (None for others and for nn.Embedding, whose input
    is indices). mean, std: of the output (NaN if, and only if, it holds inf/NaN).
    zero_fraction: share of output values exactly 0; dead_units: share of units (features,
    or channels after a conv) that are 0 for every input of the batch; both only for the
    ReLU family (and a ReLU nn.RNN). saturated: tanh |h| > 0.99, sigmoid outside
    [0.01, 0.99], only for those and for a recurrent layer's gates. grad_std: std of
    dLoss/d(output). grad_data: std(dLoss/dW) / std(W) for the weight matrix. flags: the
    findings this row triggered.
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
class RecurrentReport:
    """A recurrent layer's call, replayed: its weight matrices and its gates.

    weights: (parameter name, shape, std, closest scheme, grad:data) for every weight_ih_*
    and weight_hh_* (and weight_hr_* of an LSTM with proj_size). gates: (gate, nonlinearity,
    saturated share) per gate over all layers, directions, time steps and the batch: LSTM
    input/forget/output (sigmoid) and cell candidate (tanh), GRU reset/update (sigmoid) and
    new (tanh), RNN hidden (tanh, or relu: then the share of values at 0).
    """

    name: str
    kind: str
    weights: tuple[tuple[str, tuple[int, ...], float, str, float | None], ...]
    gates: tuple[tuple[str, str, float], ...]


@dataclass(frozen=True)
class Finding:
    """One rule's result. rule: which check (one of RULES); name: the finding's name, the words a
    problem goes by ("initial loss", "input scale", "vanishing", "exploding", "vanishing gradient",
    "exploding gradient", "dead", "saturated", "probabilities as output", "not checked");
    severity: one of SEVERITIES; value: the number the rule rests on (None where it has
    none); words: the sentence, starting with the name.
    """

    rule: str
    name: str
    severity: str
    value: float | None
    words: str


@dataclass(frozen=True)
class Unchecked:
    """What the checkup could not inspect: where (a module's name), what (a parameter or an
    activation function), why."""

    where: str
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.what} in {self.where} ({self.why})"


@dataclass(frozen=True)
class Checkup:
    """What run measured: one LayerReport per leaf call in forward order, the loss, the findings.

    loss_kind: "projection" (sum(output * P), P a seeded N(0, 1) tensor: dLoss/doutput = P),
    "cross_entropy" (then n_classes and expected_loss = ln n_classes are set),
    "binary_cross_entropy" (n_classes 2, expected_loss ln 2) or "custom". loss_se: the
    standard error of the batch's mean loss, from the per-sample losses (None for
    projection and custom losses). findings: one Finding per rule applied; diagnosis: their
    sentences, one line per problem or note (the initial loss first), then "no problem
    found: <what was measured>", or "not checked: ..." when anything could not be
    inspected; problems: the names of the findings that are problems, empty if none.
    unchecked: what could not be inspected; recurrent: the replayed recurrent layers.
    Introduced in notebooks/12_cheat_sheet.ipynb.
    """

    layers: tuple[LayerReport, ...]
    loss: float
    loss_kind: str
    n_classes: int | None
    expected_loss: float | None
    diagnosis: list[str]
    problems: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    unchecked: tuple[Unchecked, ...] = ()
    recurrent: tuple[RecurrentReport, ...] = ()
    loss_se: float | None = None

    @property
    def flagged(self) -> list[int]:
        """Indices of the rows (into .layers) that triggered a finding."""
        return [i for i, r in enumerate(self.layers) if r.flags]

    def finding(self, rule: str) -> Finding | None:
        """The finding of one rule (see Finding.rule), or None if the rule did not apply."""
        return next((f for f in self.findings if f.rule == rule), None)

    @property
    def problem_lines(self) -> list[str]:
        """The diagnosis lines of the problems (findings of severity "problem"), in the diagnosis'
        order: read from the findings, never by matching a name against a sentence."""
        problems = {f.words for f in self.findings if f.severity == "problem"}
        return [line for line in self.diagnosis if line in problems]

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
    """Training mode for the run (dropout, RReLU and dropout between RNN layers off: deterministic);
    on exit every module's mode and every buffer (BatchNorm's running statistics) as they were."""
    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        model.train()
        for m in model.modules():
            # cuDNN's recurrent kernels backpropagate only in training mode: a GPU RNN keeps it (its
            # dropout between layers then stops the replay, and its gates are listed as not checked)
            gpu_rnn = isinstance(m, nn.RNNBase) and any(p.is_cuda for p in m.parameters())
            if isinstance(m, _RANDOM_IN_TRAINING) and not gpu_rnn:
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


def _is_torch_activation(m: nn.Module) -> bool:
    """nn.ReLU, nn.GELU, nn.Tanh, ...: torch's activation modules, whose own functional call
    is that module's row."""
    return type(m).__module__ == "torch.nn.modules.activation"


class _FunctionWatch(TorchFunctionMode):
    """Sees every torch function the forward pass calls (hooks see only modules): records the
    outputs of softmax / sigmoid (to tell probabilities from logits at the end) and the
    activations called as functions outside torch's activation modules (not measured)."""

    def __init__(self, rec: _Recorder):
        super().__init__()
        self.rec = rec

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        if isinstance(out, torch.Tensor) and (name in _FUNCTIONAL_ACTIVATIONS
                                              or name in _PROBABILITY_FUNCTIONS):
            self.rec.functional(name, out, args, kwargs or {})
        return out


class _Recorder:
    """The hooks' state: which leaf is running (for error messages), and per call its
    statistics and its output (kept to differentiate the loss with respect to it); the
    enclosing modules (to name where a function was called), the functional activations, the
    recurrent calls to replay."""

    def __init__(self, model: nn.Module):
        self.names = _leaves(model)
        self.all_names = {m: name or type(m).__name__ for name, m in model.named_modules()}
        self.running: list[tuple[nn.Module, tuple | None]] = []  # (module, its input's shape)
        self.scope: list[nn.Module] = []  # enclosing non-leaf modules
        self.calls: list[dict] = []
        self.outputs: list[torch.Tensor | None] = []
        self.counts: dict[nn.Module, int] = {}
        self.called: set[nn.Module] = set()
        self.recurrent: list[tuple[nn.Module, str, tuple, dict, object]] = []
        # (output, "softmax" / "sigmoid", (its input, dim) or None for an in-place call)
        self.probabilities: list[tuple[torch.Tensor, str, tuple | None]] = []
        self.activations: list[tuple[str, str, torch.Tensor]] = []  # (function, where, output)
        self.axis = -1  # the unit axis: 1 after a conv or batch norm, -1 after a Linear

    def containers(self) -> list[nn.Module]:
        return [m for m in self.all_names if m not in self.names]

    def enter(self, module, args, kwargs):
        self.scope.append(module)

    def leave(self, module, args, kwargs, output):
        if self.scope and self.scope[-1] is module:
            self.scope.pop()

    def functional(self, name: str, out: torch.Tensor, args: tuple, kwargs: dict) -> None:
        if name in _PROBABILITY_FUNCTIONS:
            src = args[0] if args and isinstance(args[0], torch.Tensor) else kwargs.get("input")
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            source = (src, dim) if isinstance(src, torch.Tensor) and not name.endswith("_") else None
            self.probabilities.append((out, _PROBABILITY_FUNCTIONS[name], source))
        if name not in _FUNCTIONAL_ACTIVATIONS:
            return
        owner = self.running[-1][0] if self.running else None
        if owner is not None and _is_torch_activation(owner):
            return  # nn.ReLU calling F.relu: that module's row measures it
        where = self.names[owner] if owner is not None else (
            self.all_names[self.scope[-1]] if self.scope else "the model")
        self.activations.append((name, where, out))

    def pre(self, module, args, kwargs):
        inp = _first_tensor(args, kwargs)
        self.running.append((module, None if inp is None else tuple(inp.shape)))

    def post(self, module, args, kwargs, output):
        self.running.pop()
        self.called.add(module)
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
        if isinstance(module, nn.RNNBase):
            self.recurrent.append((module, name, args, kwargs, output))
        if not (out.is_floating_point() and out.requires_grad):
            self.outputs.append(None)
            return None
        self.outputs.append(out)
        if out is output:  # later in-place ops (ReLU(inplace=True)) must not change `out`
            clone = out.clone()
            found = next(((k, src) for t, k, src in self.probabilities if t is out), None)
            if found is not None:  # nn.Softmax / nn.Sigmoid: its output is still probabilities
                self.probabilities.append((clone, *found))
            return clone
        return None


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
    """The layer's weight matrix (>= 2 dims), or None (a recurrent layer: weight_ih_l0)."""
    if isinstance(m, nn.RNNBase):
        return m.weight_ih_l0
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


def _rectifies(m: nn.Module) -> bool:
    return isinstance(m, _RECTIFIERS) or (isinstance(m, nn.RNN) and m.nonlinearity == "relu")


def _output_stats(m: nn.Module, inp: torch.Tensor | None, out: torch.Tensor, axis: int) -> dict:
    """mean, std, zero fraction, dead units, saturated fraction of one call's output."""
    o = out.detach()
    finite = bool(torch.isfinite(o).all())
    od = o.double()
    stats = dict(mean=float(od.mean()) if finite else math.nan,
                 std=(float(od.std()) if o.numel() > 1 else 0.0) if finite else math.nan,
                 zero_fraction=None, dead_units=None, saturated=None)
    if _rectifies(m) and o.numel() > 0:
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


# --- recurrent layers: replayed step by step -------------------------------------------------

_GATES = {
    nn.LSTM: (("input", "sigmoid"), ("forget", "sigmoid"), ("cell", "tanh"), ("output", "sigmoid")),
    nn.GRU: (("reset", "sigmoid"), ("update", "sigmoid"), ("new", "tanh")),
}


def _gates(m: nn.RNNBase) -> tuple[tuple[str, str], ...]:
    """(gate, nonlinearity) of a recurrent layer, in the order of its weight rows."""
    if isinstance(m, nn.RNN):
        return (("hidden", m.nonlinearity),)
    return next(g for t, g in _GATES.items() if isinstance(m, t))


def _initial_state(m: nn.RNNBase, hx, n: int, batched: bool, like: torch.Tensor):
    """(h0, c0) as (layers * directions, N, size) tensors; c0 None except for an LSTM."""
    d = (2 if m.bidirectional else 1) * m.num_layers
    h_size = getattr(m, "proj_size", 0) or m.hidden_size
    lstm = isinstance(m, nn.LSTM)
    if hx is None:
        zeros = like.new_zeros
        return zeros(d, n, h_size), (zeros(d, n, m.hidden_size) if lstm else None)
    h0, c0 = hx if lstm else (hx, None)
    if not batched:
        h0, c0 = h0.unsqueeze(1), (None if c0 is None else c0.unsqueeze(1))
    return h0, c0


def _step(m: nn.RNNBase, xt: torch.Tensor, h, c, w_hh, b_hh, w_hr, pre: dict):
    """One time step of one layer and direction; appends the gates' pre-activations to pre."""
    gh = h @ w_hh.T + b_hh
    if isinstance(m, nn.LSTM):
        i, f, g, o = (xt + gh).chunk(4, -1)
        for gate, v in zip(("input", "forget", "cell", "output"), (i, f, g, o), strict=True):
            pre[gate].append(v)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return (h if w_hr is None else h @ w_hr.T), c
    if isinstance(m, nn.GRU):
        xr, xz, xn = xt.chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r_pre, z_pre = xr + hr, xz + hz
        n_pre = xn + torch.sigmoid(r_pre) * hn
        for gate, v in zip(("reset", "update", "new"), (r_pre, z_pre, n_pre), strict=True):
            pre[gate].append(v)
        z = torch.sigmoid(z_pre)
        return (1 - z) * torch.tanh(n_pre) + z * h, None
    a = xt + gh
    pre["hidden"].append(a)
    return (torch.tanh(a) if m.nonlinearity == "tanh" else torch.relu(a)), None


def replay_recurrent(m: nn.RNNBase, x: torch.Tensor, hx=None) -> tuple[torch.Tensor, dict]:
    """Run an nn.RNN / nn.GRU / nn.LSTM step by step in plain torch from its own weights.

    Returns the output sequence, shaped as the module returns it, and per gate (names as in
    RecurrentReport) its pre-activations over all layers, directions, steps and the batch.
    Why: the module's fused kernel hides its gates, and whether they saturate decides whether
    the layer learns. (Dropout between layers is not replayed: run the module in eval mode.)
    ValueError for a PackedSequence or a module that is not one of the three.
    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    if not isinstance(m, nn.RNN | nn.GRU | nn.LSTM):
        raise ValueError(f"replay_recurrent takes nn.RNN, nn.GRU or nn.LSTM, got {type(m).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim not in (2, 3):
        raise ValueError("replay_recurrent needs a tensor input (seq, features) or a batch of them; "
                         f"got {type(x).__name__} (a PackedSequence is not replayed)")
    batched = x.ndim == 3
    seq = x.unsqueeze(1) if not batched else (x.transpose(0, 1) if m.batch_first else x)
    h0, c0 = _initial_state(m, hx, seq.shape[1], batched, seq)
    dirs = 2 if m.bidirectional else 1
    pre: dict[str, list] = {gate: [] for gate, _ in _gates(m)}
    layer_in = seq
    for layer in range(m.num_layers):
        outs = []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih, w_hh = getattr(m, "weight_ih" + sfx), getattr(m, "weight_hh" + sfx)
            b_ih, b_hh = ((getattr(m, "bias_ih" + sfx), getattr(m, "bias_hh" + sfx)) if m.bias
                          else (0.0, 0.0))
            w_hr = getattr(m, "weight_hr" + sfx, None)
            xi = layer_in @ w_ih.T + b_ih
            h, c = h0[layer * dirs + d], (None if c0 is None else c0[layer * dirs + d])
            hs: list = [None] * seq.shape[0]
            for t in range(seq.shape[0]) if d == 0 else reversed(range(seq.shape[0])):
                h, c = _step(m, xi[t], h, c, w_hh, b_hh, w_hr, pre)
                hs[t] = h
            outs.append(torch.stack(hs))
        layer_in = torch.cat(outs, -1)
    out = layer_in.squeeze(1) if not batched else (layer_in.transpose(0, 1) if m.batch_first else layer_in)
    return out, {gate: torch.stack(v) for gate, v in pre.items()}


def _recurrent_report(m: nn.RNNBase, name: str, args: tuple, kwargs: dict, output,
                      w_grads: dict) -> RecurrentReport | None:
    """The replayed call's weights and gates; None where the replay is impossible (a
    PackedSequence) or does not reproduce the module's own output."""
    x = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    try:
        with torch.no_grad():
            replayed, pre = replay_recurrent(m, x, hx)
    except (ValueError, RuntimeError, AttributeError):
        return None
    out = output[0] if isinstance(output, tuple | list) else output
    if not isinstance(out, torch.Tensor) or replayed.shape != out.shape:
        return None
    # float32 rounding grows through saturated steps (up to ~1e-3 in a few entries); a wrong
    # replay is off everywhere, so compare the whole sequence's relative error
    scale = float(out.detach().double().norm()) or 1.0
    if float((replayed.double() - out.detach().double()).norm()) > 1e-3 * scale:
        return None
    gates = []
    for gate, nonlin in _gates(m):
        v = pre[gate].detach().double().cpu().numpy()
        share = float((v <= 0).mean()) if nonlin == "relu" else saturated_fraction(v, nonlin)
        gates.append((gate, nonlin, share))
    weights = []
    for pname, p in m.named_parameters():
        if pname.startswith("weight"):
            g_std, w_std = _std(w_grads.get(id(p))), float(p.detach().double().std())
            weights.append((pname, tuple(p.shape), w_std, closest_scheme(p),
                            g_std / w_std if g_std is not None and w_std else None))
    return RecurrentReport(name=name, kind=type(m).__name__, weights=tuple(weights), gates=tuple(gates))


def _gate_saturation(report: RecurrentReport) -> float | None:
    """Share of saturated gate values over the sigmoid and tanh gates (each gate weighted by
    its number of values, which is the same for every gate of a layer)."""
    shares = [s for _, nonlin, s in report.gates if nonlin != "relu"]
    return sum(shares) / len(shares) if shares else None


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


@dataclass
class _Loss:
    """The scalar to differentiate and what is known about it."""

    value: torch.Tensor
    kind: str
    n_classes: int | None = None
    per_sample: torch.Tensor | None = None
    checkable: bool = True  # compare with ln C
    probabilities: Finding | None = None


def _family(loss_fn) -> str | None:
    """Which classification loss loss_fn is ("cross_entropy", "nll", "bce_logits", "bce"), or None."""
    for family, (cls, fn) in _LOSS_FAMILIES.items():
        if isinstance(loss_fn, cls) or loss_fn is fn:
            return family
    return None


def _is_integer(y: torch.Tensor) -> bool:
    return not (y.is_floating_point() or y.is_complex() or y.dtype == torch.bool)


def _binary_targets(out: torch.Tensor, y: torch.Tensor) -> bool:
    """One output per target (one logit per sample, or per label), targets in [0, 1]."""
    if y.numel() != out.numel() or y.numel() == 0:
        return False
    same = tuple(out.shape) == tuple(y.shape) or tuple(out.shape) == (*y.shape, 1)
    lo, hi = float(y.min()), float(y.max())
    return same and lo >= 0 and hi <= 1 and (not _is_integer(y) or out.ndim == 1 or out.shape[-1] == 1)


def _rows_sum_to_one(p: torch.Tensor) -> bool:
    """Every row of (M, C) is a probability vector (softmax output), C >= 2."""
    p = p.detach()
    return (p.shape[-1] >= 2 and bool(torch.isfinite(p).all()) and float(p.min()) >= -1e-6
            and float(p.max()) <= 1 + 1e-6 and float((p.sum(-1) - 1).abs().max()) < 1e-3)


def _probability_kind(out: torch.Tensor, rec: _Recorder) -> tuple[str | None, torch.Tensor | None]:
    """("softmax" or "sigmoid", the same scores as log-probabilities or logits, computed stably
    from the function's input where it has the output's shape) if the output is (a view of)
    a softmax or sigmoid's result; (None, None) otherwise."""
    base = out._base if out._base is not None else out
    kind, source = next(((k, src) for t, k, src in rec.probabilities if t is out or t is base),
                        (None, None))
    if kind is None or source is None or tuple(source[0].shape) != tuple(out.shape):
        return kind, None
    x, dim = source
    if kind == "sigmoid":
        return kind, x
    return kind, (F.log_softmax(x, dim) if dim is not None else None)


def _probabilities_finding(kind: str, family: str | None, measured: str) -> Finding:
    """The output is probabilities: a problem if the loss expects logits (or log-probs), else a note."""
    fix = ("train on logits with nn.CrossEntropyLoss, which applies log-softmax itself" if kind == "softmax"
           else "train on logits with nn.BCEWithLogitsLoss, which applies the sigmoid itself")
    wrong = {"cross_entropy": "nn.CrossEntropyLoss applies a softmax to them again",
             "nll": "nn.NLLLoss expects log-probabilities, and takes -p[y] of probabilities",
             "bce_logits": "nn.BCEWithLogitsLoss applies a sigmoid to them again"}.get(family)
    if wrong:
        return Finding("probabilities", "probabilities as output", "problem", None,
                       f"probabilities as output: the model ends in a {kind}, and {wrong}, so its "
                       f"loss always looks unsure; the initial loss is measured as {measured}; {fix}")
    return Finding("probabilities", "probabilities as output", "note", None,
                   f"probabilities as output: the model ends in a {kind}; the initial loss is measured as "
                   f"{measured}; {fix} (more stable than the log of a probability)")


def _binary_loss(out: torch.Tensor, y: torch.Tensor, family: str | None, prob: str | None,
                 scores: torch.Tensor | None) -> _Loss:
    """Binary (or multi-label) cross-entropy per target, on logits or on probabilities (from
    the sigmoid's input where known: the same loss, without the log of a rounded 0)."""
    t = y.reshape(out.shape).to(out.dtype)
    as_probabilities = family == "bce" or prob == "sigmoid"
    finding = None
    if as_probabilities:
        p = out.detach()
        if float(p.min()) < 0 or float(p.max()) > 1:
            raise ValueError("nn.BCELoss needs probabilities in [0, 1]; the output has values outside: "
                             "pass loss_fn=nn.BCEWithLogitsLoss() for logits")
        per = (F.binary_cross_entropy(out, t, reduction="none") if scores is None
               else F.binary_cross_entropy_with_logits(scores, t, reduction="none"))
        if family != "bce":
            finding = _probabilities_finding("sigmoid", family, "the binary cross-entropy of the "
                                             "probabilities, -ln p of the right label")
    else:
        per = F.binary_cross_entropy_with_logits(out, t, reduction="none")
    return _Loss(per.mean(), "binary_cross_entropy", 2, per.reshape(-1), True, finding)


def _class_loss(out: torch.Tensor, y: torch.Tensor, family: str | None, prob: str | None,
                scores: torch.Tensor | None) -> _Loss:
    """Cross-entropy for integer labels, on logits, log-probabilities or probabilities (then
    from the softmax's input where known: the same loss, without the log of a rounded 0)."""
    logits, targets, c = _class_layout(out, y)
    lo, hi = (int(targets.min()), int(targets.max())) if targets.numel() else (0, 0)
    if c < 2 or lo < 0 or hi >= c:
        raise ValueError(f"class labels must lie in [0, {c}) for an output with {c} classes "
                         f"(and C >= 2), got labels from {lo} to {hi}")
    if prob == "softmax" or _rows_sum_to_one(logits):
        log_p = (logits.clamp_min(torch.finfo(logits.dtype).tiny).log() if scores is None
                 else _class_layout(scores, y)[0])
        per = F.nll_loss(log_p, targets, reduction="none")
        return _Loss(per.mean(), "cross_entropy", c, per, True,
                     _probabilities_finding("softmax", family, "-ln p[y] of those probabilities"))
    per = F.cross_entropy(logits, targets, reduction="none")  # log-probabilities: the same as NLL
    if prob == "sigmoid":
        return _Loss(per.mean(), "cross_entropy", c, per, False, Finding(
            "probabilities", "probabilities as output", "problem", None,
            "probabilities as output: the model ends in a sigmoid but y holds class labels; "
            "cross-entropy needs logits (drop the sigmoid), so the initial loss is not checked"))
    finding = None
    if family == "nll" and float(logits.detach().max()) > 1e-6:
        finding = Finding("probabilities", "probabilities as output", "problem", None,
                          "probabilities as output: nn.NLLLoss expects log-probabilities, but the "
                          "output has positive values (raw scores): end the model in log_softmax or "
                          "use nn.CrossEntropyLoss; the initial loss is measured as the cross-entropy")
    return _Loss(per.mean(), "cross_entropy", c, per, True, finding)


def _loss(out, y, loss_fn, seed: int, rec: _Recorder) -> _Loss:
    """The loss to differentiate: the projection, a classification loss run measures per sample
    (for no loss_fn, or one of torch's four classification losses), or the user's own."""
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        got = out.dtype if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model(x) must return a float tensor, got {got}")
    if y is None and loss_fn is None:
        gen = torch.Generator().manual_seed(seed)
        p = torch.randn(tuple(out.shape), generator=gen, dtype=out.dtype).to(out.device)
        return _Loss((out * p).sum(), "projection")
    family = _family(loss_fn) if loss_fn is not None else None
    prob, scores = _probability_kind(out, rec)
    if y is not None and (family in ("bce", "bce_logits") or (loss_fn is None and _binary_targets(out, y))):
        if y.numel() != out.numel():
            raise ValueError(f"binary targets y need one value per output: output "
                             f"{tuple(out.shape)}, got y of shape {tuple(y.shape)}")
        return _binary_loss(out, y, family, prob, scores)
    if y is not None and (loss_fn is None or (family in ("cross_entropy", "nll") and _is_integer(y))):
        if not _is_integer(y):
            raise ValueError(f"without a loss_fn, y must hold integer class labels or binary 0/1 "
                             f"targets, one per output (got {y.dtype}, shape {tuple(y.shape)}); pass "
                             "loss_fn for other targets, e.g. loss_fn=nn.MSELoss()")
        return _class_loss(out, y, family, prob, scores)
    loss = loss_fn(out) if y is None else loss_fn(out, y)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return a scalar tensor (one value: reduction 'mean' or "
                         f"'sum'), got {got}")
    if family in ("cross_entropy", "nll"):  # soft (probability) targets
        return _Loss(loss.reshape(()), "cross_entropy", int(out.shape[1] if out.ndim >= 2 else out.shape[0]))
    return _Loss(loss.reshape(()), "custom")


def _weights(rec: _Recorder) -> list[torch.Tensor]:
    """Each distinct trainable weight matrix of the recorded calls (all of a recurrent layer's),
    in forward order."""
    seen: dict[int, torch.Tensor] = {}
    for call in rec.calls:
        m = call["module"]
        ws = ([p for n, p in m.named_parameters() if n.startswith("weight")]
              if isinstance(m, nn.RNNBase) else [_weight(m)])
        for w in ws:
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

_Marks = dict[int, str]


def _g(v: float) -> str:
    """Two significant digits, without an exponent between 0.001 and 100,000."""
    if v != 0 and not 1e-3 <= abs(v) < 1e5:
        return f"{v:.2g}"
    return f"{v:.0f}" if abs(v) >= 10 else f"{v:.2g}"


def _g3(v: float) -> str:
    """Three significant digits, without an exponent between 0.001 and 100,000."""
    if v != 0 and not 1e-3 <= abs(v) < 1e5:
        return f"{v:.3g}"
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _times(ratio: float) -> str:
    if ratio == 0:
        return "0, infinitely below"
    return f"{_g(1 / ratio)}x below" if ratio < 1 else f"{_g(ratio)}x above"


def _input_finding(x: torch.Tensor, layers: list[LayerReport]) -> tuple[list[Finding], _Marks]:
    """A float input's rms against 1, the scale every init formula assumes."""
    if not x.is_floating_point():
        return [], {}
    rms = _rms(x)
    first = next((i for i, r in enumerate(layers) if r.input_rms is not None), None)
    if 1 / INPUT_FACTOR <= rms <= INPUT_FACTOR:
        return [Finding("input rms", "input scale", "ok", rms,
                        f"no input scale problem: the input has rms {_g(rms)}, of order 1")], {}
    return ([Finding("input rms", "input scale", "problem", rms,
                     f"input scale: the input has rms {_g(rms)}, {_times(rms)} 1, the scale every init "
                     "formula assumes: standardise it (subtract each feature's mean, divide by its std) "
                     "before it reaches the model")],
            {} if first is None else {first: "input scale"})


def _references(layers: list[LayerReport], norms: list[bool]):
    """(row index, row, its reference rms, the reference's name) for every weight layer but the
    first: the reference is the last normalisation layer's output called before it, or, with
    none, the first weight layer's input."""
    out, ref = [], None
    for i, r in enumerate(layers):
        rms = math.hypot(r.mean, r.std) if math.isfinite(r.std) else math.nan
        if norms[i] and rms > 0:
            ref = (rms, f"the output of {r.name}")
        if r.input_rms is None:
            continue
        if ref is None:
            ref = (r.input_rms, f"the input of layer {r.name}")
            continue
        if ref[0] > 0:
            out.append((i, r, ref[0], ref[1]))
    return out


def _signal_findings(layers: list[LayerReport], norms: list[bool]) -> tuple[list[Finding], _Marks]:
    """Overflow anywhere; each weight layer's input rms against its reference (see SIGNAL_FACTOR)."""
    blown = [i for i, r in enumerate(layers) if math.isnan(r.std)]
    if blown:
        return ([Finding("signal: largest", "exploding", "problem", math.inf,
                         f"exploding: the output of layer {layers[blown[0]].name} holds inf/NaN, and "
                         "so does everything computed from it")], {blown[0]: "exploding"})
    compared = _references(layers, norms)
    if not compared:
        return [], {}
    findings, marks = [], {}
    for rule, word, bad, pick in (
            ("signal: smallest", "vanishing", lambda v: v < 1 / SIGNAL_FACTOR, min),
            ("signal: largest", "exploding", lambda v: v > SIGNAL_FACTOR, max)):
        i, worst, ref, ref_name = pick(compared, key=lambda c: c[1].input_rms / c[2])
        ratio = worst.input_rms / ref
        hits = [c for c in compared if bad(c[1].input_rms / c[2])]
        if not hits:
            findings.append(Finding(rule, word, "ok", ratio,
                                    f"no {word}: the {'smallest' if pick is min else 'largest'} ratio of a "
                                    f"weight layer's input rms to its reference is {ratio:.2g} (flag "
                                    f"beyond {SIGNAL_FACTOR:g}x)"))
            continue
        findings.append(Finding(rule, word, "problem", ratio,
                                f"{word}: the signal reaching layer {worst.name} has rms "
                                f"{worst.input_rms:.2g}, {_times(ratio)} {ref_name} ({ref:.2g}); "
                                f"{len(hits)} of {len(compared)} later weight layers are beyond "
                                f"{SIGNAL_FACTOR:g}x of their reference"))
        marks.update({c[0]: word for c in hits})
    return findings, marks


def _gradient_findings(layers: list[LayerReport]) -> tuple[list[Finding], _Marks]:
    """grad:data (Karpathy's ratio) of the first weight layer against the last hidden one.

    The output layer is left out: its grad:data scales with 1 / its weights' std, and
    shrinking that layer is a recommended init (Karpathy's x0.1), not a gradient problem.
    """
    rows = [(i, r) for i, r in enumerate(layers) if r.input_rms is not None and r.grad_data]
    if len(rows) < 3 or not all(math.isfinite(r.grad_data) for _, r in rows):
        return [], {}
    (i0, first), (_, last) = rows[0], rows[-2]
    ratio = first.grad_data / last.grad_data
    word = "vanishing gradient" if ratio < 1 else "exploding gradient"
    rule = "grad:data, first / last hidden"
    if 1 / GRAD_DATA_FACTOR <= ratio <= GRAD_DATA_FACTOR:
        return [Finding(rule, word, "ok", ratio,
                        f"no vanishing or exploding gradient: grad:data of layer {first.name} is "
                        f"{_times(ratio)} that of layer {last.name} (flag beyond {GRAD_DATA_FACTOR:g}x)")], {}
    effect = "barely train" if ratio < 1 else "take steps far larger than the rest"
    return ([Finding(rule, word, "problem", ratio,
                     f"{word}: grad:data of layer {first.name} is {_times(ratio)} that of layer "
                     f"{last.name} ({first.grad_data:.2g} vs {last.grad_data:.2g}): at one learning "
                     f"rate the layers near the input will {effect}")], {i0: word})


def _share_findings(layers: list[LayerReport], share: str, threshold: float, rule: str, name: str,
                    what: str, kind: str,
                    detail: Callable[[LayerReport], str]) -> tuple[list[Finding], _Marks]:
    """One rule over the layers that report a share (a LayerReport field, e.g. dead_units): a
    problem naming the layers at `threshold` or above and the worst, else "ok" with the largest share."""
    rows = [(i, r) for i, r in enumerate(layers) if getattr(r, share) is not None]
    if not rows:
        return [], {}
    worst = max(rows, key=lambda h: getattr(h[1], share))[1]
    value = getattr(worst, share)
    hits = [i for i, r in rows if getattr(r, share) >= threshold]
    if hits:
        return ([Finding(rule, name, "problem", value,
                         f"{name}: {len(hits)} {kind} layer(s) with >= {threshold:.0%} {what}; worst layer "
                         f"{worst.name}: {detail(worst)}")], {i: name for i in hits})
    return [Finding(rule, name, "ok", value, f"no {name} layer: at most {value:.0%} {what} in {len(rows)} "
                                            f"{kind} layer(s) (flag at {threshold:.0%})")], {}


def _saturation_rule(r: LayerReport) -> str:
    """What counts as saturated in the worst layer: its activation's threshold, or its gates'."""
    tanh, sig = SATURATION["tanh"], SATURATION["sigmoid"]
    return {"Tanh": f"|h| > {tanh}", "Sigmoid": f"h outside [{sig}, {1 - sig}]"}.get(
        r.kind, f"of its gates: sigmoid gates outside [{sig}, {1 - sig}], tanh gates |g| > {tanh}")


def _unit_findings(layers: list[LayerReport]) -> tuple[list[Finding], _Marks]:
    """Rectifiers with many dead units; tanh/sigmoid layers and recurrent gates with many
    saturated values."""
    dead, dead_marks = _share_findings(
        layers, "dead_units", DEAD_UNITS, "dead units", "dead", "dead units", "rectifier",
        lambda r: f"{r.dead_units:.0%} of its units are 0 for every input of the batch (zero fraction "
                  f"{r.zero_fraction:.0%})")
    sat, sat_marks = _share_findings(
        layers, "saturated", SATURATED, "saturated", "saturated", "saturated values",
        "tanh/sigmoid or recurrent",
        lambda r: f"{r.saturated:.0%} {_saturation_rule(r)}")
    return dead + sat, dead_marks | sat_marks


def _loss_finding(loss: float, n_classes: int, se: float | None) -> Finding:
    """Karpathy's first check: a fresh classifier should be unsure, loss ~ ln C. Graded by how
    far off it is: within LOSS_TOLERANCE (or 3 standard errors of the batch mean) it is
    fine; above, a note up to CONFIDENT_FACTOR x ln C and a problem beyond; below, a problem."""
    ln_c = math.log(n_classes)
    rule, name = "loss / ln C", "initial loss"
    if not math.isfinite(loss):
        return Finding(rule, name, "problem", math.inf,
                       f"initial loss is {loss}: the outputs overflow before the loss")
    ratio = loss / ln_c
    noise = 3 * se if se is not None and math.isfinite(se) else 0.0
    spread = f" (batch noise ±{_g(se)})" if se is not None else ""
    head = f"initial loss {_g3(loss)} is {_g(ratio)}x ln {n_classes} = {ln_c:.3g}{spread}"
    if ratio < CONFIDENT_FACTOR and abs(loss - ln_c) <= max(LOSS_TOLERANCE * ln_c, noise):
        return Finding(rule, name, "ok", ratio,
                       f"initial loss {_g3(loss)} is close to ln {n_classes} = {ln_c:.3g}{spread}: "
                       "the outputs start unsure, as they should")
    if ratio >= CONFIDENT_FACTOR:
        return Finding(rule, name, "problem", ratio,
                       f"{head}: the outputs start confidently wrong; shrink the last layer's "
                       "weights (e.g. x0.1) or start them at 0")
    if ratio > 1:
        return Finding(rule, name, "note", ratio,
                       f"{head}: the outputs start somewhat confident, not a problem at init "
                       f"(a problem from {CONFIDENT_FACTOR:g}x); shrinking the last layer's weights "
                       "(x0.1) would start it at ln C")
    return Finding(rule, name, "problem", ratio,
                   f"{head}, below it: the untrained net already favours the right classes; check "
                   "that the targets do not leak into the input")


def _measured(findings: list[Finding]) -> str:
    """What the rules that passed measured, in one phrase list, for "no problem found"."""
    ok = {f.rule: f for f in findings if f.severity == "ok"}
    parts = []
    if "input rms" in ok:
        parts.append(f"input rms {_g(ok['input rms'].value)}")
    if "signal: smallest" in ok and "signal: largest" in ok:
        parts.append(f"every later weight layer's input within {SIGNAL_FACTOR:g}x of its reference "
                     f"({ok['signal: smallest'].value:.2g}x to {ok['signal: largest'].value:.2g}x)")
    if "grad:data, first / last hidden" in ok:
        parts.append(f"grad:data within {GRAD_DATA_FACTOR:g}x from the first to the last hidden "
                     f"layer ({ok['grad:data, first / last hidden'].value:.2g}x)")
    for rule, what, limit in (("dead units", "dead units", DEAD_UNITS), ("saturated", "saturated values",
                                                                        SATURATED)):
        if rule in ok:
            parts.append(f"at most {ok[rule].value:.0%} {what} (flag at {limit:.0%})")
    return ", ".join(parts) or "nothing beyond the loss"


def _unchecked_words(unchecked: tuple[Unchecked, ...], limit: int = 4) -> str:
    items = [str(u) for u in unchecked[:limit]]
    more = len(unchecked) - limit
    return "; ".join(items) + (f"; and {more} more (Checkup.unchecked)" if more > 0 else "")


def _diagnose(layers: list[LayerReport], norms: list[bool], x: torch.Tensor, loss: _Loss,
              loss_value: float, se: float | None, unchecked: tuple[Unchecked, ...]):
    """(layers with their flags, the findings, the diagnosis lines, the problems' names), every
    rule applied once."""
    findings: list[Finding] = []
    flags: dict[int, list[str]] = {}
    weighted = [i for i, r in enumerate(layers) if r.weight_std is not None]
    if loss.n_classes is not None and loss.checkable:
        f = _loss_finding(loss_value, loss.n_classes, se)
        findings.append(f)
        if f.severity == "problem" and weighted:
            flags.setdefault(weighted[-1], []).append("initial loss")
    if loss.probabilities is not None:
        findings.append(loss.probabilities)
        if loss.probabilities.severity == "problem" and layers:
            flags.setdefault(len(layers) - 1, []).append("probabilities as output")
    for finder in (lambda: _input_finding(x, layers), lambda: _signal_findings(layers, norms),
                   lambda: _gradient_findings(layers), lambda: _unit_findings(layers)):
        more, marks = finder()
        findings += more
        for i, word in marks.items():
            flags.setdefault(i, []).append(word)
    problems = tuple(f.name for f in findings if f.severity == "problem")
    lines = [f.words for f in findings if f.severity in ("problem", "note") or f.rule == "loss / ln C"]
    lines.sort(key=lambda w: not w.startswith(("initial loss", "probabilities")))  # stable
    if unchecked:
        f = Finding("not checked", "not checked", "not checked", float(len(unchecked)),
                    f"not checked: {_unchecked_words(unchecked)}"
                    + ("" if problems else f". In what was measured, no problem: {_measured(findings)}"))
        findings.append(f)
        lines.append(f.words)
    elif not problems:
        lines.append(f"no problem found: {_measured(findings)}")
    layers = [replace(r, flags=tuple(flags.get(i, ()))) for i, r in enumerate(layers)]
    return layers, findings, lines, problems


def _unchecked(model: nn.Module, rec: _Recorder, replayed: set[nn.Module], out: torch.Tensor):
    """What the checkup could not inspect: parameters used outside a layer it reads, layers
    with parameters that never produced a tensor, recurrent layers it could not replay,
    activations called as functions (the model's own output excepted: the loss reads it)."""
    found: list[Unchecked] = []
    inside_leaf = {c for leaf in rec.names for c in leaf.modules() if c is not leaf}
    recorded = set(rec.counts)
    for m in model.modules():
        where, params = rec.all_names[m], list(m.named_parameters(recurse=False))
        if not params or m in inside_leaf:  # out_proj of an attention: that leaf's row reads it
            continue
        kind = type(m).__name__
        if m not in rec.names:
            shapes = ", ".join(f"{n} {tuple(p.shape)}" for n, p in params)
            found.append(Unchecked(where, f"parameter(s) {shapes}",
                                   "used outside any layer the checkup hooks: no row reads them"))
        elif m not in rec.called:
            found.append(Unchecked(where, f"{kind}'s parameters", "not called in the forward pass"))
        elif m not in recorded:
            found.append(Unchecked(where, f"{kind}'s parameters", "its output is not a tensor"))
        elif isinstance(m, nn.RNNBase) and m not in replayed:
            found.append(Unchecked(where, f"the gates of {kind}",
                                   "its call could not be replayed (a PackedSequence?)"))
        elif not type(m).__module__.startswith("torch."):
            w = _weight(m)
            others = [n for n, p in params if p.ndim >= 2 and p is not w]
            if others:
                found.append(Unchecked(where, f"parameter(s) {', '.join(others)} of {kind}",
                                       "only a layer's .weight is read"))
    base = out._base if isinstance(out, torch.Tensor) and out._base is not None else out
    calls: dict[tuple[str, str], int] = {}
    for name, where, t in rec.activations:
        if t is out or t is base:
            continue
        calls[(name, where)] = calls.get((name, where), 0) + 1
    for (name, where), n in calls.items():
        found.append(Unchecked(where, f"{name} called as a function" + (f" ({n} calls)" if n > 1 else ""),
                               "no module to hook: dead or saturated units not measured"))
    return tuple(found)


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
    names_of = {"cross_entropy": "cross-entropy", "binary_cross_entropy": "binary cross-entropy"}
    loss = (f"{names_of[c.loss_kind]} {c.loss:.4g} (ln {c.n_classes} = {c.expected_loss:.4g})"
            if c.loss_kind in names_of else f"{c.loss_kind} loss {c.loss:.4g}")
    out += ["", f"loss: {loss}"]
    for rr in c.recurrent:
        gates = ", ".join(f"{g} {s:.0%}" for g, _, s in rr.gates)
        out.append(f"{rr.name} ({rr.kind}), replayed step by step: saturated gates {gates}"
                   if rr.kind != "RNN" or rr.gates[0][1] != "relu"
                   else f"{rr.name} ({rr.kind}), replayed step by step: hidden values at 0 {gates}")
        out += [f"  {n} {tuple(shape)}: std {std:.3g}, {scheme}, grad:data {_cell(gd)}"
                for n, shape, std, scheme, gd in rr.weights]
    out += [f"sat%: tanh |h| > {SATURATION['tanh']}, sigmoid outside [{SATURATION['sigmoid']}, "
            f"{1 - SATURATION['sigmoid']}]; dead%: units 0 for every input of the batch; "
            "grad std: of dLoss/d(output); grad:data: std(dLoss/dW) / std(W)", ""]
    out += [f"- {d}" for d in c.diagnosis]
    return "\n".join(out)


def run(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
        loss_fn: Callable | None = None, *, seed: int = 0) -> Checkup:
    """One forward and backward pass of `model` on the batch `x`, read layer by layer.

    Hooks every leaf module (nn.MultiheadAttention counts as one) and records each call; the
    model runs as a first training step would (BatchNorm on batch statistics) but with
    dropout and RReLU's random slopes off. Recurrent layers are replayed step by step to read
    their gates; activations called as functions (F.relu, a string activation inside
    nn.TransformerEncoderLayer) are seen but not measured, and are listed in .unchecked.
    The loss: with y and no loss_fn, cross-entropy for integer labels (classes on the last
    dim, or dim 1) and binary cross-entropy for one output per 0/1 target; with loss_fn one of
    torch's classification losses (CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss, BCELoss),
    that loss measured per sample; an output that is probabilities (a softmax or sigmoid at
    the end) is scored by -ln p of the right class, and reported; another loss_fn is called
    as loss_fn(output, y) (loss_fn(output) if y is None); with neither y nor loss_fn,
    sum(output * P) for a fixed N(0, 1) tensor P drawn from torch.Generator(seed). A
    classification loss is compared with ln C. Gradients come from torch.autograd.grad, so
    no .grad is touched; every hook is removed, every module's train/eval mode and every
    buffer restored, and the global random state left as it was, also on error. ValueError
    (saying what was expected) for a model that is not an nn.Module, a batch the first layer
    cannot take, a loss that is not one number.
    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    _check_inputs(model, x, y, loss_fn, seed)
    rec = _Recorder(model)
    with _preserved(model), torch.random.fork_rng(devices=[]), torch.enable_grad():
        with hooked(rec.containers(), rec.enter, rec.leave), hooked(list(rec.names), rec.pre, rec.post), \
                _FunctionWatch(rec):
            out = _forward(model, x, rec)
        loss = _loss(out, y, loss_fn, seed, rec)
        out_grads, w_grads = _gradients(loss.value, rec, _weights(rec))
    layers = [_layer_report(c, g, w_grads) for c, g in zip(rec.calls, out_grads, strict=True)]
    recurrent = []
    for m, name, args, kwargs, output in rec.recurrent:
        report = _recurrent_report(m, name, args, kwargs, output, w_grads)
        if report is not None:
            recurrent.append(report)
            i = next(i for i, r in enumerate(layers) if r.name == name)
            layers[i] = replace(layers[i], saturated=_gate_saturation(report))
    norms = [isinstance(c["module"], _NORMS) for c in rec.calls]
    done = {r.name for r in recurrent}
    unchecked = _unchecked(model, rec, {m for m, name, *_ in rec.recurrent if name in done}, out)
    loss_value = float(loss.value.detach())
    per = loss.per_sample
    se = (float(per.detach().double().std() / math.sqrt(per.numel()))
          if per is not None and per.numel() > 1 else None)
    layers, findings, diagnosis, problems = _diagnose(layers, norms, x, loss, loss_value, se, unchecked)
    return Checkup(layers=tuple(layers), loss=loss_value, loss_kind=loss.kind, n_classes=loss.n_classes,
                   expected_loss=None if loss.n_classes is None else math.log(loss.n_classes),
                   diagnosis=diagnosis, problems=problems, findings=tuple(findings),
                   unchecked=unchecked, recurrent=tuple(recurrent), loss_se=se)
