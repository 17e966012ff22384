"""The series on one page: every init scheme's formulas, when to use it, and its names in
PyTorch and Keras, each formula checked against the torch initialiser it names; the source
articles' myths with links to where they were measured; and the two example models (a small CNN, a
small transformer classifier) that notebook 12 runs helpers.checkup on.

Introduced in notebooks/12_cheat_sheet.ipynb.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import init as tinit
from torch.nn.modules.conv import _ConvNd

from helpers import checkup, init, residual, stats, validate

__all__ = ["KERAS_TRUNCATION_FACTOR", "FIXED_STD", "BY_CONSTRUCTION", "GPT2_N_LAYER", "KerasDraw", "Row",
           "ROWS",
           "markdown_table", "replay_keras_draw", "orthogonal_relu_variance", "Check",
           "check_against_torch", "RowSummary", "summarise_checks", "SOURCE_ARTICLES", "Myth", "MYTHS",
           "jupyter_anchor",
           "section_link", "myths_markdown",
           "torch_default_init_", "example_cnn", "TokenClassifier", "example_transformer",
           "HIGHLIGHTS", "checkup_highlights"]

_Shape = tuple[int, ...]
_TorchInit = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


KERAS_TRUNCATION_FACTOR: float = stats.truncated_normal_std_factor(2.0)
"""std of N(0, 1) cut at +-2 (0.87962566...): what Keras' VarianceScaling divides its stddev by."""

FIXED_STD: float = 0.05
"""The s the fixed-std rows are checked with (Keras' default stddev for RandomNormal/TruncatedNormal)."""

BY_CONSTRUCTION: frozenset[str] = frozenset({"Zeros / constant", "Normal, fixed std",
                                              "GPT-2 residual scaling"})
"""Rows whose formula and torch call are the same expression (zeros_, normal_(0, s)): their
checks only test torch's sampler, so they pass by construction and are not counted as checks
of the table."""

GPT2_N_LAYER: int = 12
"""The n_layer the GPT-2 row is checked with (GPT-2 small: 12 blocks, 24 residual projections)."""


@dataclass(frozen=True)
class KerasDraw:
    """How one Keras initialiser draws from a normal distribution (read from Keras' source).

    truncated: values beyond +-2 stddev are re-drawn. corrected: the stddev is first divided
    by KERAS_TRUNCATION_FACTOR (and the cut is at +-2 of that divided stddev, +-2.27 of the
    formula's), so that after truncation the std is the formula's (Keras'
    VarianceScaling family: LecunNormal, GlorotNormal, HeNormal). TruncatedNormal truncates
    without correcting; RandomNormal and Orthogonal do not truncate.
    """

    name: str
    truncated: bool
    corrected: bool
    qr: bool = False  # Orthogonal: the QR factor of a normal matrix, not i.i.d. draws

    def std_factor(self) -> float:
        """The std Keras' draws end up with, as a multiple of the std the formula names."""
        return KERAS_TRUNCATION_FACTOR if self.truncated and not self.corrected else 1.0

    def describe(self) -> str:
        if not self.truncated:
            return f"`{self.name}`: not truncated" + (" (QR of a normal matrix)" if self.qr else "")
        if self.corrected:
            return (f"`{self.name}`: σ ÷ {KERAS_TRUNCATION_FACTOR:.4f} first, then truncated at ±2 "
                    f"of that divided std (±{2 / KERAS_TRUNCATION_FACTOR:.2f}σ), so the std is the table's")
        return (f"`{self.name}`: truncated at ±2 stddev, not corrected: std = "
                f"{KERAS_TRUNCATION_FACTOR:.2f} · stddev")


@dataclass(frozen=True)
class Row:
    """One scheme of the cheat sheet: what the table prints, and what checks it against torch.

    std_of(shape) / bound_of(shape) evaluate the printed formulas (bound_of None: no
    uniform variant); torch_normal / torch_uniform run the printed PyTorch call;
    keras_normal says how each Keras initialiser of the row draws its normal values (empty:
    no Keras normal draw). A row for a rule that is not an initialiser call (a scaling
    of attention logits, say) leaves the torch and Keras fields empty. measured_in names the
    sections of the series that measured the row (linked from the "when to use" cell).
    """

    scheme: str
    std: str
    bound: str
    when: str
    pytorch: str
    keras: str
    fan_mode: str
    std_of: Callable[[_Shape], float]
    bound_of: Callable[[_Shape], float] | None
    torch_normal: _TorchInit | None
    torch_uniform: _TorchInit | None
    keras_normal: tuple[KerasDraw, ...] = ()
    measured_in: tuple[tuple[str, str], ...] = ()  # (notebook, section heading) pairs

    def keras_truncation(self) -> str:
        """The table's "Keras: truncated? corrected?" cell, generated from keras_normal."""
        if not self.keras_normal:
            return "n/a (no normal draw)"
        return "; ".join(d.describe() for d in self.keras_normal)


def _orthogonal_std(shape: _Shape) -> float:
    """orthogonal_ flattens to (out, fan_in) and makes rows or columns orthonormal, so the
    mean square of the entries is exactly min(out, fan_in) / (out * fan_in)."""
    return 1 / math.sqrt(max(shape[0], init.fans(shape)[0]))


ROWS: tuple[Row, ...] = (
    Row("Zeros / constant", "$0$", "$0$",
        "biases only; on weights the hidden units stay clones of each other (03)",
        "`nn.init.zeros_(w)`, `nn.init.constant_(w, c)`", "`Zeros`, `Constant`", "none",
        lambda s: 0.0, lambda s: 0.0,
        lambda w, g: tinit.zeros_(w), None),
    Row("Normal, fixed std", "$s$ (you choose it)", "none",
        "only with $s$ matched to fan_in by hand (02, 04): a fixed small $s$ stalls deep nets (09)",
        "`nn.init.normal_(w, 0, s)`", "`RandomNormal(stddev=s)`", "none",
        lambda s: FIXED_STD, None,
        lambda w, g: tinit.normal_(w, 0.0, FIXED_STD, generator=g), None,
        (KerasDraw("RandomNormal", truncated=False, corrected=False),)),
    Row("Truncated normal, fixed std", r"$0.88\,s$ (cut at $\pm 2s$, not rescaled)", "none",
        "as above, without the rare large weight (01, 02); it does not fix a wrong scale",
        "`nn.init.trunc_normal_(w, std=s, a=-2*s, b=2*s)`: a, b are absolute, so the defaults "
        "±2 do not cut a small s at all",
        "`TruncatedNormal(stddev=s)`", "none",
        lambda s: KERAS_TRUNCATION_FACTOR * FIXED_STD, None,
        lambda w, g: tinit.trunc_normal_(w, std=FIXED_STD, a=-2 * FIXED_STD, b=2 * FIXED_STD,
                                         generator=g), None,
        (KerasDraw("TruncatedNormal", truncated=True, corrected=False),)),
    Row("LeCun", r"$1/\sqrt{\text{fan\_in}}$", r"$\sqrt{3/\text{fan\_in}}$",
        "linear or SELU layers (torch's docs: SELU wants `nonlinearity='linear'`); the 1/√n "
        "rule of notebook 02",
        "`nn.init.kaiming_normal_(w, nonlinearity='linear')` (`_uniform_` alike)",
        "`LecunNormal`, `LecunUniform`", "fan_in",
        lambda s: init.scheme_std("lecun", s), lambda s: init.scheme_bound("lecun", s),
        lambda w, g: tinit.kaiming_normal_(w, nonlinearity="linear", generator=g),
        lambda w, g: tinit.kaiming_uniform_(w, nonlinearity="linear", generator=g),
        (KerasDraw("LecunNormal", truncated=True, corrected=True),)),
    Row("Xavier / Glorot", r"$g\sqrt{2/(\text{fan\_in}+\text{fan\_out})}$",
        r"$g\sqrt{6/(\text{fan\_in}+\text{fan\_out})}$",
        "tanh and linear layers, gain 1 at any depth (near the critical line, 09's edge of chaos). "
        "torch's g = 5/3 for tanh makes up for tanh shrinking the signal, so the std holds over a "
        "few layers; at depth it is chaotic. Sigmoid (torch's g = 1 too) only for a few layers: "
        "its slope is at most 1/4, so at gain 1 the gradient shrinks about 4-fold per layer, and "
        "a gain large enough to hold it leaves about half the units saturated; deep hidden layers "
        "want tanh or ReLU. Keras' Glorot* have no gain; the same bound whatever the activation",
        "`nn.init.xavier_normal_(w, gain=g)` (`xavier_uniform_` alike)",
        "`GlorotNormal`, `GlorotUniform` (Keras' default for `Dense`)", "average of fan_in, fan_out",
        lambda s: init.scheme_std("xavier", s), lambda s: init.scheme_bound("xavier", s),
        lambda w, g: tinit.xavier_normal_(w, generator=g),
        lambda w, g: tinit.xavier_uniform_(w, generator=g),
        (KerasDraw("GlorotNormal", truncated=True, corrected=True),)),
    Row("He / Kaiming", r"$g/\sqrt{\text{fan}}$, $g=\sqrt{2}$ for ReLU",
        r"$g\sqrt{3/\text{fan}}$",
        "ReLU family (leaky ReLU: $g=\\sqrt{2/(1+a^2)}$); deep ReLU nets need it",
        "`nn.init.kaiming_normal_(w, nonlinearity='relu')` (`kaiming_uniform_` alike)",
        "`HeNormal`, `HeUniform`", "fan_in (torch: `mode='fan_out'` optional)",
        lambda s: init.scheme_std("he", s, "relu"), lambda s: init.scheme_bound("he", s, "relu"),
        lambda w, g: tinit.kaiming_normal_(w, nonlinearity="relu", generator=g),
        lambda w, g: tinit.kaiming_uniform_(w, nonlinearity="relu", generator=g),
        (KerasDraw("HeNormal", truncated=True, corrected=True),)),
    Row("PyTorch default", r"$1/\sqrt{3\,\text{fan\_in}}$", r"$1/\sqrt{\text{fan\_in}}$",
        "what `nn.Linear` / `nn.Conv*` give if you do nothing: 1/6 of He's variance, so each ReLU "
        "layer multiplies the gradient by about $1/\\sqrt{6}$ (tanh: $1/\\sqrt{3}$), and the input's "
        "signal likewise until only the biases' is left; shallow nets train, deep ones stall (09): "
        "override it with your activation's row",
        "`nn.init.kaiming_uniform_(w, a=math.sqrt(5))`", "none (Keras defaults to Glorot)",
        "fan_in",
        lambda s: init.scheme_std("pytorch_default", s),
        lambda s: init.scheme_bound("pytorch_default", s),
        None, lambda w, g: tinit.kaiming_uniform_(w, a=math.sqrt(5), generator=g)),
    Row("Orthogonal", r"$g/\sqrt{\max(\text{out},\,\text{fan\_in})}$ (exact mean square)",
        "none (not uniform)",
        "deep linear / tanh nets and RNNs: every singular value is g, so with tanh and small "
        "pre-activations the input-output Jacobian stays near an isometry. Under ReLU use "
        "$g=\\sqrt{2}$: at g = 1 each ReLU layer halves the signal's variance (09); with "
        "independently drawn weights no gain makes a deep ReLU net isometric, but the mirrored "
        "init does, Q orthogonal: first layer $[Q; -Q]$, hidden $[[Q, -Q], [-Q, Q]]$, readout "
        "$[Q, -Q]$ (Burkholz & Dubatovka 2019; Balduzzi et al. 2017's looks-linear mirrors "
        "$[W, -W]$ on CReLU inputs; 11)",
        "`nn.init.orthogonal_(w, gain=g)`; ReLU: `gain=math.sqrt(2)` "
        "(= `nn.init.calculate_gain('relu')`)", "`Orthogonal(gain=g)`",
        "none (shape of the flattened matrix)",
        _orthogonal_std, None,
        lambda w, g: tinit.orthogonal_(w, generator=g), None,
        (KerasDraw("Orthogonal", truncated=False, corrected=False, qr=True),),
        (("11_width_and_isometry.ipynb", "5. Depth: the singular values of the input-output Jacobian"),
         ("11_width_and_isometry.ipynb", "ReLU can be isometric: mirrored weights"))),
    Row("LSUV", "measured: each layer's output Var set to 1 on a batch", "none",
        "nets without BatchNorm when no gain formula fits the activation; needs no gain",
        "`helpers.lsuv.lsuv_(model, x)` (not in torch)", "none", "none (data-driven)",
        lambda s: math.nan, None, None, None, (),
        (("09_init_in_training.ipynb", "1. Depth decides how much init matters"),)),
    Row("Scaled dot-product attention",
        r"logits $q\cdot k/\sqrt{d_k}$: std 1 for unit-variance $q$, $k$ (unscaled: $\sqrt{d_k}$)",
        "n/a (scales the logits, not a weight)",
        "every attention head under the standard parametrisation: unscaled, the logits grow like "
        "$\\sqrt{d_k}$, the softmax turns one-hot and its Jacobian, the gradient's only way to q "
        "and k, vanishes for the typical query. Under muP a transformer divides by $d_k$ instead "
        "(see the muP row)",
        "built in: `F.scaled_dot_product_attention(q, k, v)` (`scale` defaults to "
        "$1/\\sqrt{d_k}$) and `nn.MultiheadAttention`; written out: "
        "`(q @ k.transpose(-2, -1) / math.sqrt(d_k)).softmax(-1) @ v`",
        "none (not an initialiser; `MultiHeadAttention` divides by $\\sqrt{\\text{key\\_dim}}$)",
        "d_k, the key size of one head (not the model width)",
        lambda s: math.nan, None, None, None, (),
        (("10_attention_residual.ipynb", "1. Attention logits are sums of products"),)),
    Row("GPT-2 residual scaling",
        r"$0.02/\sqrt{2\,n_\text{layer}}$ on each residual projection, 0.02 on every other weight",
        "none (normal)",
        "pre-LayerNorm transformers (GPT-2, nanoGPT): each of the $N = 2\\,n_\\text{layer}$ "
        "branches (attention and MLP of each block) reads a normalised copy of the stream, so "
        "it adds a variance set by its own weights, not by the stream's size; "
        "$1/\\sqrt{N}$ on the residual projections makes the total the $N$ branches add "
        "independent of depth. It does not hold the stream's variance fixed: from 0.02-std "
        "embeddings the stream still grows many-fold, more at larger width (10). In an "
        "un-normalised stream whose branches scale with it (10's toy), the same $1/\\sqrt{N}$ "
        "keeps the growth $(1 + 1/N)^N$ below $e$",
        "no single call: `nn.init.normal_(proj.weight, std=0.02/math.sqrt(2*n_layer))` for "
        "each block's output projections (nanoGPT: every `c_proj.weight`), "
        "`nn.init.normal_(w, std=0.02)` elsewhere",
        "none (write `RandomNormal(stddev=0.02/math.sqrt(2*n_layer))`)",
        "none (n_layer sets it)",
        lambda s: residual.gpt2_residual_std(GPT2_N_LAYER), None,
        lambda w, g: tinit.normal_(w, std=0.02 / math.sqrt(2 * GPT2_N_LAYER), generator=g), None,
        (KerasDraw("RandomNormal", truncated=False, corrected=False),),
        (("10_attention_residual.ipynb", "2. A residual stream of 50 blocks: variances add"),
         ("10_attention_residual.ipynb",
          "3. What GPT-2 does: pre-LN, and $1/\\sqrt{N}$ on the residual projections"))),
    Row("Zero-init residual branches",
        "$0$ where the branch ends: its gate α (ReZero, SkipInit), its last layer (Fixup), or "
        "the γ of its last norm",
        "$0$",
        "deep residual nets: every block starts as the identity, $x_L = x_0$ exactly (10 trains a "
        "50-block MLP so, without normalisation). Fixup also rescales the branch's other layers",
        "no single call: ReZero `self.alpha = nn.Parameter(torch.zeros(()))` and "
        "`x + self.alpha * f(x)`; Fixup-style `nn.init.zeros_(block.fc2.weight)`; zero γ "
        "`nn.init.zeros_(block.norm.weight)`",
        "`Zeros` on the branch's last layer; zero γ: `gamma_initializer='zeros'`; ReZero, "
        "SkipInit: none (write the gate)",
        "none",
        lambda s: 0.0, lambda s: 0.0, None, None, (),
        (("10_attention_residual.ipynb", "2. A residual stream of 50 blocks: variances add"),
         ("10_attention_residual.ipynb", "Deep dive: train a 50-block residual MLP without normalisation"))),
    Row("muP (width transfer)",
        r"hidden: Var $=1/\text{fan\_in}$ as in SP (×2 before a ReLU); readout: 0 (muP only bounds it, "
        r"$\lesssim 1/\text{fan\_in}^2$) behind a forward multiplier $1/m$, $m = n/n_0$",
        "none (the series draws normal)",
        "wide nets whose learning rate you tune on a narrow copy: under SP the best lr falls with "
        "width, under muP it stays put (Tensor Programs V, Yang et al. 2022). In a transformer "
        "muP also divides the attention logits by $d_k$, not $\\sqrt{d_k}$, and starts the query "
        "weights at 0 (the `mup` package's README)",
        "no single call: hidden `nn.init.normal_(w, std=1/math.sqrt(fan_in))` (ReLU: "
        "`math.sqrt(2/fan_in)`), "
        "`nn.init.zeros_(readout.weight)`, forward `readout(h) / m`; Adam parameter groups "
        "with `lr / m` for the hidden weights (input and readout at `lr`: with the 1/m "
        "multiplier the readout moves lr/m); attention `q @ k.transpose(-2, -1) / d_k`, "
        "`nn.init.zeros_(query.weight)`. The `mup` package: `MuReadout`, `MuAdam`",
        "none", "fan_in; m = width / base width (64 in 11)",
        lambda s: math.nan, None, None, None, (),
        (("11_width_and_isometry.ipynb", "3. Measure: the coordinate check, SP against muP"),
         ("11_width_and_isometry.ipynb", "4. The consequence: does the best learning rate move?"))),
)
"""The cheat sheet, one Row per scheme (g is the gain; fan is fan_in unless mode says otherwise)."""

_COLUMNS = ("scheme", "std (normal)", "bound a of U(-a, a)", "when to use", "PyTorch",
            "Keras", "Keras: truncated? corrected?", "default fan mode")


def markdown_table(rows: tuple[Row, ...] = ROWS) -> str:
    """The cheat sheet as a Markdown table (display with IPython.display.Markdown).

    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for r in rows:
        when = r.when
        if r.measured_in:
            when += " (measured: " + ", ".join(section_link(nb, sec, short=True)
                                               for nb, sec in r.measured_in) + ")"
        cells = (f"**{r.scheme}**", r.std, r.bound, when, r.pytorch, r.keras,
                 r.keras_truncation(), r.fan_mode)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def replay_keras_draw(draw: KerasDraw, std: float, n: int, seed: int = 0) -> float:
    """Draw n values the way Keras' `draw` does for a formula std, with torch; their std.

    Keras is not a dependency, so its recipe (from its VarianceScaling, TruncatedNormal and
    RandomNormal source) is replayed: stddev = std / KERAS_TRUNCATION_FACTOR if corrected,
    then N(0, stddev^2) with values beyond +-2 stddev re-drawn if truncated. The result
    should be std * draw.std_factor(). Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    validate.integer_in("n", n, 2)
    validate.number("std", std, 0, low_open=True)
    if draw.qr:
        raise ValueError(f"{draw.name} is a QR factor, not i.i.d. normal draws: nothing to replay")
    gen = torch.Generator().manual_seed(seed)
    stddev = std / KERAS_TRUNCATION_FACTOR if draw.corrected else std
    w = torch.empty(n, dtype=torch.float64)
    if draw.truncated:
        tinit.trunc_normal_(w, std=stddev, a=-2 * stddev, b=2 * stddev, generator=gen)
    else:
        tinit.normal_(w, 0.0, stddev, generator=gen)
    return float(w.pow(2).mean().sqrt())


def orthogonal_relu_variance(gain: float, depth: int = 20, width: int = 256, batch: int = 256,
                             seed: int = 0) -> tuple[float, float]:
    """(measured, predicted) variance of the last pre-activation of a ReLU stack under orthogonal_.

    depth square layers nn.init.orthogonal_(w, gain), zero bias, ReLU between them, input
    x ~ N(0, 1). An orthogonal matrix keeps a vector's length, so the first layer gives
    Var g^2 and every ReLU-then-layer step multiplies it by g^2 / 2: predicted
    g^2 (g^2 / 2)^(depth - 1). Gain 1 halves the variance per layer; gain sqrt(2) keeps it.
    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    validate.number("gain", gain, 0, low_open=True)
    for name, value, low in (("depth", depth, 1), ("width", width, 1), ("batch", batch, 2)):
        validate.integer_in(name, value, low)
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(batch, width, generator=gen, dtype=torch.float64)
    for layer in range(depth):
        w = tinit.orthogonal_(torch.empty(width, width, dtype=torch.float64), gain=gain, generator=gen)
        z = (h.relu() if layer else h) @ w.T
        h = z
    return float(z.var()), gain**2 * (gain**2 / 2) ** (depth - 1)


@dataclass(frozen=True)
class Check:
    """One formula against one torch measurement: quantity is "std" or "bound"."""

    scheme: str
    call: str
    shape: _Shape
    quantity: str
    formula: float
    measured: float

    @property
    def rel_error(self) -> float:
        if self.formula == 0:
            return abs(self.measured)
        return abs(self.measured / self.formula - 1)

    @property
    def by_construction(self) -> bool:
        """True for a row of BY_CONSTRUCTION: the formula is the call's own argument."""
        return self.scheme in BY_CONSTRUCTION

    @property
    def n(self) -> int:
        """How many weights were drawn."""
        return math.prod(self.shape)

    @property
    def tolerance(self) -> float:
        """The relative error a right formula stays within, for any seed.

        std: 5 standard errors of an RMS of n normal draws (relative SE 1/sqrt(2n); uniform
        and truncated draws scatter less), so a right formula fails about once in 10^6
        checks while a wrong fan or gain (10% off or more) fails every time. bound: the
        largest of n >= 18,000 uniform draws falls short of a by more than 0.2% with
        probability under 1e-15.
        """
        return 5 / math.sqrt(2 * self.n) if self.quantity == "std" else 0.002


def _measure(fill: _TorchInit, shape: _Shape, gen: torch.Generator) -> torch.Tensor:
    w = torch.empty(shape)
    with torch.no_grad():
        fill(w, gen)
    return w


def check_against_torch(shapes: tuple[_Shape, ...] = ((256, 512), (512, 128), (64, 32, 3, 3)),
                        seed: int = 0) -> list[Check]:
    """Evaluate every row's formulas on each shape and measure the torch call it prints.

    std: root mean square of the drawn weights (the std of a zero-mean scheme);
    bound: the largest |w| of the uniform call, which must sit just below the formula's a.
    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    gen = torch.Generator().manual_seed(seed)
    checks = []
    for row in ROWS:
        for shape in shapes:
            if row.torch_normal is not None:
                w = _measure(row.torch_normal, shape, gen)
                call = {"Zeros / constant": "zeros_", "Orthogonal": "orthogonal_",
                        "Truncated normal, fixed std": "trunc_normal_"}.get(row.scheme, "normal")
                checks.append(Check(row.scheme, call, shape, "std", row.std_of(shape),
                                    float(w.pow(2).mean().sqrt())))
            if row.torch_uniform is not None:
                w = _measure(row.torch_uniform, shape, gen)
                checks.append(Check(row.scheme, "uniform", shape, "std", row.std_of(shape),
                                    float(w.pow(2).mean().sqrt())))
                checks.append(Check(row.scheme, "uniform", shape, "bound",
                                    row.bound_of(shape), float(w.abs().max())))
    return checks


@dataclass(frozen=True)
class RowSummary:
    """One row's checks (check_against_torch) in a line: how many, the first shape's formula
    std against torch's, the worst relative errors. n_checks 0: the row has no weight formula
    to draw (its measurement is in the notebooks of measured_in)."""

    scheme: str
    n_checks: int
    formula: float | None
    measured: float | None
    worst_std: float | None
    worst_bound: float | None
    measured_in: tuple[tuple[str, str], ...]
    by_construction: bool = False


def summarise_checks(checks: list[Check]) -> list[RowSummary]:
    """check_against_torch's list, one RowSummary per row of ROWS in table order.

    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    out = []
    for row in ROWS:
        mine = [c for c in checks if c.scheme == row.scheme]
        worst = {q: max((c.rel_error for c in mine if c.quantity == q), default=None)
                 for q in ("std", "bound")}
        out.append(RowSummary(row.scheme, len(mine), mine[0].formula if mine else None,
                              mine[0].measured if mine else None, worst["std"], worst["bound"],
                              row.measured_in, row.scheme in BY_CONSTRUCTION))
    return out


SOURCE_ARTICLES: dict[str, str] = {
    "on init std by layer": "【TORCH】结合图形理解初始化标准差(init_sd_first, init_sd_middle, init_sd_last) "
                            "(\"understanding init std with figures\"), "
                            "blog post, 2024-07-06",
    "touring parameter init": "A tour of parameter initialisation (固定值参数初始化, 随机初始化, "
                              "Xavier, He), reposted blog post, undated",
    "on the sigmoid sawtooth": "由sigmod权重曲线存在锯齿的探索 (\"exploring the sawtooth in a sigmoid weight "
                        "curve\"), blog post, undated",
    "on Keras initialisers": "An untitled blog post on gradient explosion and Keras' uniform, normal and "
                          "truncated normal initialisers, undated",
    "on GlorotUniform": "效果对比:使用GlorotUniform()与随机初始化方法初始化神经网络的权重 (\"GlorotUniform "
                     "against random init, compared\"), 宙启技术站, 2024-01-02",
}
"""The five source articles, by the short name the series uses ("the source article <key>",
docs/authoring.md), with their reference lines."""


@dataclass(frozen=True)
class Myth:
    """A claim from a source article, what the series measured instead, and where.

    source is a key of SOURCE_ARTICLES; claim is the article's claim in our words, as close to
    what it says as English allows; section is a heading of the notebook that measured it, and
    `also` further headings of the same notebook where the rest of the measurement is.
    """

    source: str
    claim: str
    measurement: str
    notebook: str
    section: str
    also: tuple[str, ...] = ()


MYTHS: tuple[Myth, ...] = (
    Myth("touring parameter init", "zero or constant initialisation causes 'symmetry breaking', and "
         "random initialisation is what avoids it",
         "the other way round: a constant start gives every hidden unit the same gradient, so "
         "the units stay clones through training (up to float rounding) and the layer works "
         "like one unit; random init breaks the symmetry",
         "03_constant_and_random_init.ipynb", "1. Constant init never breaks the symmetry"),
    Myth("on the sigmoid sawtooth", "nn.Linear's default Kaiming-uniform init keeps the input's "
         "distribution stable from layer to layer",
         "its bound √(1/fan_in) gives Var(w) = 1/(3 fan_in), a third of the 1/fan_in that would keep "
         "the variance, so each default layer shrinks it about 3-fold before the activation acts",
         "03_constant_and_random_init.ipynb",
         "Deep dive: PyTorch's default, `kaiming_uniform_(a=√5)`"),
    Myth("on Keras initialisers", "dividing the weights by √n keeps the weighted sum a within about ±1, "
         "and |a| > 1 already sends sigmoid into its flat region",
         "std(a) becomes std(x), so |a| is of order 1 and a fair share of neurons exceed 1; "
         "sigmoid keeps most of its slope at |a| = 1 and is flat only far beyond it",
         "02_sums_of_products.ipynb", "4. The fix: std(w) = 1/√n, i.e. LeCun initialisation",
         ("How we know: the fix holds at every n, and sigmoid is steep at |a| = 1",)),
    Myth("on Keras initialisers", "weights scaled by 1/√n suit sigmoid and ReLU alike and lower the "
         "risk of vanishing and exploding gradients",
         "under ReLU, Var(W) = 1/fan_in halves the signal's variance at every layer, so it fades "
         "geometrically with depth; ReLU needs He's 2/fan_in",
         "09_init_in_training.ipynb", "1. Depth decides how much init matters"),
    Myth("on init std by layer", "a small weight std may make gradients vanish and a large one make "
         "them explode",
         "its demo is one forward pass with no gradient, and 'small' or 'large' means nothing "
         "without the fan_in the std multiplies; a tanh net with a large std saturates and its "
         "gradients grow at the same time",
         "04_signal_propagation.ipynb", "Deep dive: the source article's three-layer demo",
         ("Deep dive: the gradients of the five regimes",)),
    Myth("on GlorotUniform", "GlorotUniform adapts to the activation: bound √(6/(fan_in + fan_out)) "
         "for tanh layers but √(6/fan_in) for ReLU layers",
         "GlorotUniform's bound is √(6/(fan_in + fan_out)) whatever the activation; "
         "√(6/fan_in) is He uniform",
         "05_xavier_glorot.ipynb", "5. Does Glorot uniform depend on the activation?",
         ("How we know: sections 4 and 5",)),
    Myth("on the sigmoid sawtooth", "of the many causes of the sawtooth in the weight curve (it names the "
         "learning rate and the data's distribution), the article examines sigmoid's always-positive "
         "outputs, which make the weight gradients share a sign, as the cause in its "
         "Linear(1, 1) + sigmoid demo",
         "with one weight there is nothing to zig-zag between; the late oscillation is the "
         "step size against the curvature (lr · L'' > 2), the learning rate the article named "
         "and set aside, and a smaller lr removes it",
         "07_sigmoid_zigzag.ipynb", "3. The source article's sawtooth: one weight"),
    Myth("on the sigmoid sawtooth", "momentum (SGD with momentum 0.9) and swapping sigmoid for tanh smooth "
         "out the sawtooth",
         "in the article's own setup (lr = 1) neither helps: both end at a higher loss than "
         "plain SGD, momentum because it carries the weight far out onto the sigmoid's flat part",
         "08_fixes.ipynb", "2. The fixes on the source article's run"),
    Myth("on the sigmoid sawtooth", "BatchNorm helps because it turns sigmoid's always-positive outputs "
         "into values with negative entries",
         "in the article BatchNorm sits before the sigmoid, so it normalises w·x, not the "
         "sigmoid's outputs; it helps by making the loss blind to the weight's scale and "
         "adding the bias the layer lacks",
         "08_fixes.ipynb", "How we know: what BatchNorm does to the article's model"),
    Myth("on GlorotUniform", "on a 10-20-2 net GlorotUniform does slightly better on the test set than "
         "U(−0.1, 0.1), because it adapts to the activation and the layer sizes",
         "Xavier is far ahead early and still slightly ahead after a short budget; trained to the "
         "plateau the two end close together. The cause is the narrow init's slow start, not the "
         "activation, which GlorotUniform never sees",
         "09_init_in_training.ipynb",
         "Deep dive: a shallow net, the source article on GlorotUniform done properly"),
)
"""The source articles' claims the series measured, in reading order of the notebooks that did it."""

_UNLINKABLE = set("()[]`$")


def jupyter_anchor(heading: str) -> str | None:
    """The fragment JupyterLab gives a Markdown heading (spaces become '-', case kept), or
    None where the heading has characters ((), [], `, or $ of inline math) that would break
    a Markdown link."""
    heading = heading.strip()
    if _UNLINKABLE & set(heading):
        return None
    return heading.replace(" ", "-")


def section_link(notebook: str, section: str, *, short: bool = False) -> str:
    """A relative Markdown link to a section of the series (to its notebook where the heading
    makes no safe anchor), followed by the section's name; short: "[10 §5](...)" only.

    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    anchor = jupyter_anchor(section)
    target = notebook + (f"#{anchor}" if anchor else "")
    if short:
        head, prefix = section.split(".")[0], section.split(":")[0]
        label = (f"§{head}" if head.isdigit()
                 else prefix.lower() if prefix in ("Deep dive", "How we know") else prefix)
        return f"[{notebook[:2]} {label}]({target})"
    title = notebook.removesuffix(".ipynb").replace("_", " ")
    return f"[{title}]({target}), section “{section}”"


def myths_markdown(myths: tuple[Myth, ...] = MYTHS) -> str:
    """Each myth as a 'Myth vs measurement' blockquote naming its source article by title, with a
    relative link to its notebook (and to the section, where the heading makes a safe anchor).

    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    blocks = []
    for m in myths:
        where = section_link(m.notebook, m.section)
        for section in m.also:
            where += f", and {section_link(m.notebook, section, short=True)}, section “{section}”"
        blocks.append(f"> **Myth** (the source article {m.source}: {SOURCE_ARTICLES[m.source]}): "
                      f"{m.claim}.  \n"
                      f"> **Measured:** {m.measurement}. See {where}.")
    return "\n\n".join(blocks)


# --- 4. Check your own network: the two example models ------------------------------------


def torch_default_init_(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Draw every parameter of `model` the way torch's own constructors do, from `generator`.

    nn.Linear / nn.Conv*: weight kaiming_uniform_(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in)), bias
    U(+-1/sqrt(fan_in)); nn.Embedding: N(0, 1); nn.LayerNorm: gamma 1, beta 0;
    nn.MultiheadAttention: in_proj_weight xavier_uniform_, in_proj_bias and out_proj.bias 0
    (out_proj.weight as a Linear). The same distributions as a model built with torch's
    defaults, without reading or advancing torch's global RNG (build the model with
    nn.utils.skip_init). ValueError for a parameter of a module it does not know.
    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    done: set[int] = set()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear | _ConvNd):
                fan_in = init.fans(tuple(m.weight.shape))[0]
                tinit.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if m.bias is not None:
                    m.bias.uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=generator)
            elif isinstance(m, nn.Embedding):
                m.weight.normal_(0.0, 1.0, generator=generator)
            elif isinstance(m, nn.LayerNorm):
                tinit.ones_(m.weight)
                tinit.zeros_(m.bias)
            else:
                continue
            done.update(id(p) for p in m.parameters(recurse=False))
        for m in model.modules():  # after the loop: out_proj (a Linear) must not redraw its bias
            if isinstance(m, nn.MultiheadAttention):
                if m.in_proj_weight is None:
                    raise ValueError("nn.MultiheadAttention with separate q/k/v weights is not handled")
                tinit.xavier_uniform_(m.in_proj_weight, generator=generator)
                tinit.zeros_(m.in_proj_bias)
                tinit.zeros_(m.out_proj.bias)
                done.update(id(p) for p in m.parameters(recurse=False))
    left = [n for n, p in model.named_parameters() if id(p) not in done]
    if left:
        raise ValueError(f"no torch default known for the parameters {left}; modules handled: "
                         "Linear, Conv*, Embedding, LayerNorm, MultiheadAttention")
    return model


def example_cnn(seed: int = 0, n_classes: int = 10) -> nn.Sequential:
    """A small CNN for 3 x 16 x 16 images, with torch's default init drawn from `seed`.

    Conv2d(3, 16, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(16, 32, 3, padding=1), ReLU,
    MaxPool2d(2), Flatten, Linear(32 * 4 * 4, n_classes). Introduced in
    notebooks/12_cheat_sheet.ipynb.
    """
    skip = nn.utils.skip_init
    model = nn.Sequential(skip(nn.Conv2d, 3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          skip(nn.Conv2d, 16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), skip(nn.Linear, 32 * 4 * 4, n_classes))
    return torch_default_init_(model, torch.Generator().manual_seed(seed))


class TokenClassifier(nn.Module):
    """Embedding(vocab, d), one pre-LN nn.TransformerEncoderLayer (GELU, dropout 0.1),
    mean over the tokens, Linear head to n_classes. activation: "gelu" (torch calls F.gelu,
    a function no hook sees) or a module such as nn.GELU() (a leaf the checkup measures).
    Introduced in notebooks/12_cheat_sheet.ipynb.
    """

    def __init__(self, vocab: int = 50, d: int = 32, heads: int = 4, d_ff: int = 128,
                 n_classes: int = 10, activation: str | nn.Module = "gelu"):
        super().__init__()
        skip = nn.utils.skip_init
        self.emb = skip(nn.Embedding, vocab, d)
        self.block = skip(nn.TransformerEncoderLayer, d, heads, d_ff, dropout=0.1,
                          activation=activation, batch_first=True, norm_first=True)
        self.head = skip(nn.Linear, d, n_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.emb(tokens)).mean(1))


def example_transformer(seed: int = 0, n_classes: int = 10,
                        activation: str | nn.Module = "gelu") -> TokenClassifier:
    """A TokenClassifier (vocabulary 50, width 32, 4 heads) with torch's default init from `seed`;
    activation as in TokenClassifier (the draws do not depend on it).

    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    return torch_default_init_(TokenClassifier(n_classes=n_classes, activation=activation),
                               torch.Generator().manual_seed(seed))


HIGHLIGHTS: tuple[str, ...] = checkup.VALUED_RULES
"""The checkup rules whose numbers checkup_highlights lines up: helpers.checkup.VALUED_RULES."""


def checkup_highlights(report) -> dict[str, float | None]:
    """The number each of a helpers.checkup.Checkup's rules rests on (None: the rule did not
    apply), keyed by HIGHLIGHTS: loss / ln C; the input's rms; the smallest and largest ratio of a
    weight layer's input rms to its reference; grad:data of the first weight layer over the last
    hidden one's; the largest dead-unit and saturated shares. Read from report.findings, so the
    rules and their numbers stay the checkup's own. Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    found = {f.rule: f.value for f in report.findings}
    return {rule: found.get(rule) for rule in HIGHLIGHTS}
