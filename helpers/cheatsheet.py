"""The series on one page: every init scheme's formulas, when to use it, and its names in
PyTorch and Keras, each formula checked against the torch initialiser it names.

Introduced in notebooks/12_cheat_sheet.ipynb.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import init as tinit

from helpers import init

__all__ = ["Row", "ROWS", "Check", "markdown_table", "check_against_torch", "Myth", "MYTHS",
           "jupyter_anchor", "myths_markdown"]

Shape = tuple[int, ...]
TorchInit = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class Row:
    """One scheme of the cheat sheet: what the table prints, and what checks it against torch.

    std_of(shape) / bound_of(shape) evaluate the printed formulas (bound_of None: no
    uniform variant); torch_normal / torch_uniform run the printed PyTorch call.
    """

    scheme: str
    std: str
    bound: str
    when: str
    pytorch: str
    keras: str
    fan_mode: str
    std_of: Callable[[Shape], float]
    bound_of: Callable[[Shape], float] | None
    torch_normal: TorchInit | None
    torch_uniform: TorchInit | None


def _orthogonal_std(shape: Shape) -> float:
    """orthogonal_ flattens to (out, fan_in) and makes rows or columns orthonormal, so the
    mean square of the entries is exactly min(out, fan_in) / (out * fan_in)."""
    return 1 / math.sqrt(max(shape[0], init.fans(shape)[0]))


ROWS: tuple[Row, ...] = (
    Row("Zeros / constant", "$0$", "$0$",
        "biases only; on weights every unit stays identical forever",
        "`nn.init.zeros_(w)`, `nn.init.constant_(w, c)`", "`Zeros`, `Constant`", "none",
        lambda s: 0.0, lambda s: 0.0,
        lambda w, g: tinit.zeros_(w), None),
    Row("LeCun", r"$1/\sqrt{\text{fan\_in}}$", r"$\sqrt{3/\text{fan\_in}}$",
        "linear or SELU layers; the 1/√n rule of notebook 02",
        "`nn.init.kaiming_normal_(w, nonlinearity='linear')` (`_uniform_` alike)",
        "`LecunNormal`, `LecunUniform`", "fan_in",
        lambda s: init.scheme_std("lecun", s), lambda s: init.scheme_bound("lecun", s),
        lambda w, g: tinit.kaiming_normal_(w, nonlinearity="linear", generator=g),
        lambda w, g: tinit.kaiming_uniform_(w, nonlinearity="linear", generator=g)),
    Row("Xavier / Glorot", r"$g\sqrt{2/(\text{fan\_in}+\text{fan\_out})}$",
        r"$g\sqrt{6/(\text{fan\_in}+\text{fan\_out})}$",
        "tanh, sigmoid, linear (torch: g = 5/3 for tanh; Keras has no gain); "
        "the same bound whatever the activation",
        "`nn.init.xavier_normal_(w, gain=g)` (`xavier_uniform_` alike)",
        "`GlorotNormal`, `GlorotUniform` (Keras' default for `Dense`)", "average of fan_in, fan_out",
        lambda s: init.scheme_std("xavier", s), lambda s: init.scheme_bound("xavier", s),
        lambda w, g: tinit.xavier_normal_(w, generator=g),
        lambda w, g: tinit.xavier_uniform_(w, generator=g)),
    Row("He / Kaiming", r"$g/\sqrt{\text{fan}}$, $g=\sqrt{2}$ for ReLU",
        r"$g\sqrt{3/\text{fan}}$",
        "ReLU family (leaky ReLU: $g=\\sqrt{2/(1+a^2)}$); deep ReLU nets need it",
        "`nn.init.kaiming_normal_(w, nonlinearity='relu')` (`kaiming_uniform_` alike)",
        "`HeNormal`, `HeUniform`", "fan_in (torch: `mode='fan_out'` optional)",
        lambda s: init.scheme_std("he", s, "relu"), lambda s: init.scheme_bound("he", s, "relu"),
        lambda w, g: tinit.kaiming_normal_(w, nonlinearity="relu", generator=g),
        lambda w, g: tinit.kaiming_uniform_(w, nonlinearity="relu", generator=g)),
    Row("PyTorch default", r"$1/\sqrt{3\,\text{fan\_in}}$", r"$1/\sqrt{\text{fan\_in}}$",
        "what `nn.Linear` / `nn.Conv*` give if you do nothing; fine when shallow, "
        "fades in deep ReLU nets (1/6 of He's variance)",
        "`nn.init.kaiming_uniform_(w, a=math.sqrt(5))`", "none (Keras defaults to Glorot)",
        "fan_in",
        lambda s: init.scheme_std("pytorch_default", s),
        lambda s: init.scheme_bound("pytorch_default", s),
        None, lambda w, g: tinit.kaiming_uniform_(w, a=math.sqrt(5), generator=g)),
    Row("Orthogonal", r"$g/\sqrt{\max(\text{out},\,\text{fan\_in})}$ (exact mean square)",
        "none (not uniform)",
        "deep linear / tanh nets and RNNs: keeps every singular value at g",
        "`nn.init.orthogonal_(w, gain=g)`", "`Orthogonal`", "none (shape of the flattened matrix)",
        _orthogonal_std, None,
        lambda w, g: tinit.orthogonal_(w, generator=g), None),
    Row("LSUV", "measured: each layer's output Var set to 1 on a batch", "none",
        "nets without BatchNorm when no gain formula fits the activation",
        "`helpers.lsuv.lsuv_(model, x)` (not in torch)", "none", "none (data-driven)",
        lambda s: math.nan, None, None, None),
)
"""The cheat sheet, one Row per scheme (g is the gain; fan is fan_in unless mode says otherwise)."""

_COLUMNS = ("scheme", "std (normal)", "bound a of U(-a, a)", "when to use", "PyTorch",
            "Keras", "default fan mode")


def markdown_table(rows: tuple[Row, ...] = ROWS) -> str:
    """The cheat sheet as a Markdown table (display with IPython.display.Markdown).

    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for r in rows:
        cells = (f"**{r.scheme}**", r.std, r.bound, r.when, r.pytorch, r.keras, r.fan_mode)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Check:
    """One formula against one torch measurement: quantity is "std" or "bound"."""

    scheme: str
    call: str
    shape: Shape
    quantity: str
    formula: float
    measured: float

    @property
    def rel_error(self) -> float:
        if self.formula == 0:
            return abs(self.measured)
        return abs(self.measured / self.formula - 1)


def _measure(fill: TorchInit, shape: Shape, gen: torch.Generator) -> torch.Tensor:
    w = torch.empty(shape)
    with torch.no_grad():
        fill(w, gen)
    return w


def check_against_torch(shapes: tuple[Shape, ...] = ((256, 512), (512, 128), (64, 32, 3, 3)),
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
                call = {"Zeros / constant": "zeros_", "Orthogonal": "orthogonal_"}.get(
                    row.scheme, "normal")
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
class Myth:
    """A claim from a seed article, what the series measured instead, and where."""

    seed: str
    claim: str
    measurement: str
    notebook: str
    section: str


MYTHS: tuple[Myth, ...] = (
    Myth("001", "initialising every weight to the same constant is 'symmetry breaking'",
         "the opposite: every hidden unit gets the same gradient, so after training their "
         "weight rows are still exactly equal; only random init breaks the symmetry",
         "03_constant_and_random_init.ipynb",
         "1. Break it first: every weight starts at the same constant"),
    Myth("003", "a truncated normal keeps a sum of 10,000 weighted inputs small",
         "truncation at ±2σ only shrinks the std by 0.88; scaling the weights by 1/√n "
         "is what brings the sum to O(1)",
         "02_sums_of_products.ipynb", "4. A different distribution does not help"),
    Myth("000", "a bigger weight std just spreads the weights wider",
         "a std means nothing without the fan_in it multiplies: each layer scales the signal "
         "by a factor, and through depth those factors compound until the signal vanishes "
         "or tanh saturates",
         "04_signal_propagation.ipynb", "1. Seed 000's demo: three layers with std 0.1, 0.5 and 1.0"),
    Myth("004", "GlorotUniform uses the bound √(6/fan_in) for ReLU layers",
         "GlorotUniform's bound is √(6/(fan_in + fan_out)) whatever the activation; "
         "√(6/fan_in) is He uniform (the table above measures both)",
         "05_xavier_glorot.ipynb", "5. Myth vs measurement: Glorot uniform and the activation"),
    Myth("002", "the weight zig-zags because sigmoid outputs are not zero-centred "
         "(Linear(1, 1) + sigmoid)",
         "with one weight there is nothing to zig-zag between; the late oscillation is the "
         "step size against the curvature (lr · L'' > 2) and a smaller lr removes it",
         "07_sigmoid_zigzag.ipynb", "2. One weight has nothing to zig-zag against"),
    Myth("004", "Xavier init is clearly better than U(-0.1, 0.1) on a 10-20-2 net",
         "over many seeds Xavier only leads early in training; trained to convergence the "
         "two differ by about the seed-to-seed spread",
         "09_init_in_training.ipynb", "1. Seed 004's comparison, done properly"),
)
"""The seeds' claims the series measured, in reading order of the notebooks that did it."""


def jupyter_anchor(heading: str) -> str:
    """The fragment JupyterLab gives a Markdown heading: spaces become '-', case is kept."""
    return heading.strip().replace(" ", "-")


def myths_markdown(myths: tuple[Myth, ...] = MYTHS) -> str:
    """Each myth as a 'Myth vs measurement' blockquote with a relative link to its notebook.

    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    blocks = []
    for m in myths:
        target = m.notebook + (f"#{jupyter_anchor(m.section)}" if m.section else "")
        title = m.notebook.removesuffix(".ipynb").replace("_", " ")
        where = m.section or title
        blocks.append(f"> **Myth (seed {m.seed}):** {m.claim}.  \n"
                      f"> **Measured:** {m.measurement}. See [{title}: {where}]({target}).")
    return "\n\n".join(blocks)
