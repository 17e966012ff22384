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

from helpers import init, stats

__all__ = ["KERAS_TRUNCATION_FACTOR", "FIXED_STD", "KerasDraw", "Row", "ROWS", "markdown_table",
           "replay_keras_draw", "orthogonal_relu_variance", "Check", "check_against_torch", "Myth",
           "MYTHS", "jupyter_anchor", "myths_markdown"]

Shape = tuple[int, ...]
TorchInit = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


KERAS_TRUNCATION_FACTOR: float = stats.truncated_normal_std_factor(2.0)
"""std of N(0, 1) cut at +-2 (0.87962566...): what Keras' VarianceScaling divides its stddev by."""

FIXED_STD: float = 0.05
"""The s the fixed-std rows are checked with (Keras' default stddev for RandomNormal/TruncatedNormal)."""


@dataclass(frozen=True)
class KerasDraw:
    """How one Keras initialiser draws from a normal distribution (read from Keras' source).

    truncated: values beyond +-2 stddev are re-drawn. corrected: the stddev is first divided
    by KERAS_TRUNCATION_FACTOR, so that after truncation the std is the formula's (Keras'
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
            return (f"`{self.name}`: truncated at ±2σ, corrected (σ ÷ {KERAS_TRUNCATION_FACTOR:.4f} "
                    "first), so the std is the table's")
        return (f"`{self.name}`: truncated at ±2 stddev, not corrected: std = "
                f"{KERAS_TRUNCATION_FACTOR:.2f} · stddev")


@dataclass(frozen=True)
class Row:
    """One scheme of the cheat sheet: what the table prints, and what checks it against torch.

    std_of(shape) / bound_of(shape) evaluate the printed formulas (bound_of None: no
    uniform variant); torch_normal / torch_uniform run the printed PyTorch call;
    keras_normal says how each Keras initialiser of the row draws its normal values (empty:
    no Keras normal draw). A row for a rule that is not an initialiser call (a scaling
    of attention logits, say) leaves the torch and Keras fields empty.
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
    keras_normal: tuple[KerasDraw, ...] = ()

    def keras_truncation(self) -> str:
        """The table's "Keras: truncated? corrected?" cell, generated from keras_normal."""
        if not self.keras_normal:
            return "n/a (no normal draw)"
        return "; ".join(d.describe() for d in self.keras_normal)


def _orthogonal_std(shape: Shape) -> float:
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
        "tanh, sigmoid, linear (torch: g = 5/3 for tanh, a heuristic (09); Keras' Glorot* have no "
        "gain); the same bound whatever the activation",
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
        "what `nn.Linear` / `nn.Conv*` give if you do nothing; fine when shallow, "
        "fades in deep ReLU nets (1/6 of He's variance)",
        "`nn.init.kaiming_uniform_(w, a=math.sqrt(5))`", "none (Keras defaults to Glorot)",
        "fan_in",
        lambda s: init.scheme_std("pytorch_default", s),
        lambda s: init.scheme_bound("pytorch_default", s),
        None, lambda w, g: tinit.kaiming_uniform_(w, a=math.sqrt(5), generator=g)),
    Row("Orthogonal", r"$g/\sqrt{\max(\text{out},\,\text{fan\_in})}$ (exact mean square)",
        "none (not uniform)",
        "deep linear / tanh nets and RNNs: every singular value is g. Under ReLU use "
        "$g=\\sqrt{2}$: at g = 1 each ReLU layer halves the signal's variance (section 2, 09)",
        "`nn.init.orthogonal_(w, gain=g)`", "`Orthogonal(gain=g)`",
        "none (shape of the flattened matrix)",
        _orthogonal_std, None,
        lambda w, g: tinit.orthogonal_(w, generator=g), None,
        (KerasDraw("Orthogonal", truncated=False, corrected=False, qr=True),)),
    Row("LSUV", "measured: each layer's output Var set to 1 on a batch", "none",
        "nets without BatchNorm when no gain formula fits the activation; needs no gain (09)",
        "`helpers.lsuv.lsuv_(model, x)` (not in torch)", "none", "none (data-driven)",
        lambda s: math.nan, None, None, None),
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
        cells = (f"**{r.scheme}**", r.std, r.bound, r.when, r.pytorch, r.keras,
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
    if n < 2 or not std > 0:
        raise ValueError(f"need n >= 2 and std > 0, got n={n}, std={std}")
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
    if not gain > 0 or depth < 1 or width < 1 or batch < 2:
        raise ValueError(f"need gain > 0, depth >= 1, width >= 1, batch >= 2; got {gain}, {depth}, "
                         f"{width}, {batch}")
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
    shape: Shape
    quantity: str
    formula: float
    measured: float

    @property
    def rel_error(self) -> float:
        if self.formula == 0:
            return abs(self.measured)
        return abs(self.measured / self.formula - 1)

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
class Myth:
    """A claim from a seed article, what the series measured instead, and where.

    claim is the article's claim in our words, as close to what it says as English allows;
    section is a heading of the notebook that measured it.
    """

    seed: str
    claim: str
    measurement: str
    notebook: str
    section: str


MYTHS: tuple[Myth, ...] = (
    Myth("001", "zero or constant initialisation causes 'symmetry breaking', and random "
         "initialisation is what avoids it",
         "the other way round: a constant start gives every hidden unit the same gradient, so "
         "the units stay clones through training (up to float rounding) and the layer works "
         "like one unit; random init breaks the symmetry",
         "03_constant_and_random_init.ipynb",
         "1. Break it first: every weight starts at the same constant"),
    Myth("002", "nn.Linear's default Kaiming-uniform init, bound √(1/fan_in), is chosen so that "
         "Var(y) = fan_in · Var(w) · Var(x) keeps the input's variance",
         "that bound gives Var(w) = 1/(3 fan_in), a third of the 1/fan_in that would keep the "
         "variance, so each default layer shrinks it about 3-fold before the activation acts",
         "03_constant_and_random_init.ipynb",
         "5. PyTorch's default: `kaiming_uniform_(a=√5)`, i.e. U(−1/√fan_in, 1/√fan_in)"),
    Myth("003", "dividing the weights by √n keeps the weighted sum a within about ±1, and "
         "|a| > 1 already sends sigmoid into its flat region",
         "std(a) becomes std(x), so |a| is of order 1 and a fair share of neurons exceed 1; "
         "sigmoid keeps most of its slope at |a| = 1 and is flat only far beyond it",
         "02_sums_of_products.ipynb", "5. The fix: std(w) = 1/√n, i.e. LeCun initialisation"),
    Myth("003", "weights scaled by 1/√n suit sigmoid and ReLU alike and lower the risk of "
         "vanishing and exploding gradients",
         "under ReLU, Var(W) = 1/fan_in halves the signal's variance at every layer, so it fades "
         "geometrically with depth (09 prints the compounded factors); ReLU needs He's 2/fan_in",
         "09_init_in_training.ipynb", "2. Depth decides how much init matters"),
    Myth("000", "a small weight std may make gradients vanish and a large one make them explode",
         "its demo is one forward pass with no gradient, and 'small' or 'large' means nothing "
         "without the fan_in the std multiplies; a tanh net with a large std saturates and its "
         "gradients grow at the same time",
         "04_signal_propagation.ipynb", "1. Seed 000's demo: three layers with std 0.1, 0.5 and 1.0"),
    Myth("004", "GlorotUniform adapts to the activation: bound √(6/(fan_in + fan_out)) for tanh "
         "layers but √(6/fan_in) for ReLU layers",
         "GlorotUniform's bound is √(6/(fan_in + fan_out)) whatever the activation; "
         "√(6/fan_in) is He uniform (this notebook's section 2 measures both)",
         "05_xavier_glorot.ipynb", "5. Myth vs measurement: Glorot uniform and the activation"),
    Myth("002", "the sawtooth in the weight curve of Linear(1, 1) + sigmoid comes from sigmoid's "
         "always-positive outputs, which make the weight gradients share a sign",
         "with one weight there is nothing to zig-zag between; the late oscillation is the "
         "step size against the curvature (lr · L'' > 2) and a smaller lr removes it",
         "07_sigmoid_zigzag.ipynb", "2. One weight has nothing to zig-zag against"),
    Myth("002", "momentum (SGD with momentum 0.9) and swapping sigmoid for tanh smooth out "
         "the sawtooth",
         "in the article's own setup (lr = 1) neither helps: both end at a higher loss than "
         "plain SGD, momentum because it carries the weight far out onto the sigmoid's flat part",
         "08_fixes.ipynb", "1. Each fix on both demos"),
    Myth("002", "BatchNorm helps because it turns sigmoid's always-positive outputs into values "
         "with negative entries",
         "in the article BatchNorm sits before the sigmoid, so it normalises w·x, not the "
         "sigmoid's outputs; it helps by making the loss blind to the weight's scale and "
         "adding the bias the layer lacks",
         "08_fixes.ipynb", "3. Why BatchNorm wins there"),
    Myth("004", "on a 10-20-2 net GlorotUniform does slightly better on the test set than "
         "U(−0.1, 0.1), because it adapts to the activation and the layer sizes",
         "over 20 paired seeds Xavier is far ahead early and still slightly ahead after a "
         "short budget; trained to the plateau the two end within a few tenths of a point. "
         "The cause is the narrow init's slow start, not the activation, which GlorotUniform "
         "never sees",
         "09_init_in_training.ipynb", "1. Seed 004's comparison, done properly"),
)
"""The seeds' claims the series measured, in reading order of the notebooks that did it."""

_UNLINKABLE = set("()[]`")


def jupyter_anchor(heading: str) -> str | None:
    """The fragment JupyterLab gives a Markdown heading (spaces become '-', case kept), or
    None where the heading has characters ((), [], `) that would break a Markdown link."""
    heading = heading.strip()
    if _UNLINKABLE & set(heading):
        return None
    return heading.replace(" ", "-")


def myths_markdown(myths: tuple[Myth, ...] = MYTHS) -> str:
    """Each myth as a 'Myth vs measurement' blockquote with a relative link to its notebook
    (and to the section, where the heading makes a safe anchor).

    Introduced in notebooks/12_cheat_sheet.ipynb.
    """
    blocks = []
    for m in myths:
        anchor = jupyter_anchor(m.section)
        target = m.notebook + (f"#{anchor}" if anchor else "")
        title = m.notebook.removesuffix(".ipynb").replace("_", " ")
        where = f"[{title}]({target}), section “{m.section}”"
        blocks.append(f"> **Myth (seed {m.seed}):** {m.claim}.  \n"
                      f"> **Measured:** {m.measurement}. See {where}.")
    return "\n\n".join(blocks)
