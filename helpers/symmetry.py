"""Symmetry between hidden units: does an initialisation make them different, and do they stay so?

Two hidden units with the same incoming and outgoing weights compute the same value
and receive the same gradient, so gradient descent can never tell them apart. These
functions measure that on real trained networks. Introduced in
notebooks/03_constant_and_random_init.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from helpers import nets, stats, train, validate

__all__ = [
    "STARTS",
    "CLONE_RTOL",
    "unit_spread",
    "relative_spread",
    "unit_groups",
    "distinct_units",
    "closest_units",
    "constant_",
    "nudge_",
    "SymmetryRun",
    "symmetry_run",
]

STARTS: tuple[str, ...] = ("constant", "normal", "uniform", "uniform_0_1")
"""How symmetry_run initialises the weights: constant c, N(0, std^2), U(-a, a) with std,
or torch.nn.init.uniform_'s default U(0, 1) (value ignored)."""


def unit_spread(weight: torch.Tensor) -> float:
    """Max over pairs of hidden units i, j of max_k |W[i, k] - W[j, k]| (rows = units).

    Exactly 0 when every unit has the same incoming weights, i.e. the units are clones.
    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    if weight.dim() != 2:
        raise ValueError(f"weight must be 2-D (units x inputs), got shape {tuple(weight.shape)}")
    w = weight.detach()
    # the pair farthest apart in column k is that column's max and min
    return float((w.amax(dim=0) - w.amin(dim=0)).max()) if w.shape[0] > 1 and w.shape[1] else 0.0


CLONE_RTOL = 1e-5
"""Two hidden units count as clones when their weight rows differ by at most this fraction of the
layer's largest |weight|. float32 rounds at a relative 6e-8, so a difference born of rounding
counts as a clone until training has amplified it more than a hundredfold."""


def relative_spread(weight: torch.Tensor) -> float:
    """unit_spread(weight) divided by the largest |weight| (0 for an all-zero matrix).

    A scale-free "how different are the units": at most about one float32 step of the largest
    weight (2^-23 ~ 1.2e-7) is float32 rounding, O(1) is a random init. Introduced in
    notebooks/03_constant_and_random_init.ipynb.
    """
    scale = float(weight.detach().abs().max()) if weight.numel() else 0.0
    return unit_spread(weight) / scale if scale > 0 else 0.0


def unit_groups(weight: torch.Tensor, rtol: float = 0.0) -> list[int]:
    """Sizes of the groups of clone units, largest first (rows = units).

    A unit joins the first group whose first member's row is within rtol * max|W| of its own
    (max-abs difference); rtol=0 compares exactly. 32 clones give [32]; a split into 31 and 1
    gives [31, 1]; a random init gives 32 ones. Introduced in
    notebooks/03_constant_and_random_init.ipynb.
    """
    if weight.dim() != 2:
        raise ValueError(f"weight must be 2-D (units x inputs), got shape {tuple(weight.shape)}")
    if not (math.isfinite(rtol) and rtol >= 0):
        raise ValueError(f"rtol must be a finite number >= 0, got {rtol}")
    w = weight.detach()
    tol = rtol * float(w.abs().max()) if w.numel() else 0.0
    leaders: list[torch.Tensor] = []
    sizes: list[int] = []
    for row in w:
        for i, leader in enumerate(leaders):
            if float((row - leader).abs().max()) <= tol:
                sizes[i] += 1
                break
        else:
            leaders.append(row)
            sizes.append(1)
    return sorted(sizes, reverse=True)


def distinct_units(weight: torch.Tensor, rtol: float = 0.0) -> int:
    """How many different rows (hidden units) a weight matrix has: len(unit_groups(weight, rtol)).

    rtol=0 (the default) compares exactly. Introduced in
    notebooks/03_constant_and_random_init.ipynb.
    """
    if weight.dim() != 2:
        raise ValueError(f"weight must be 2-D (units x inputs), got shape {tuple(weight.shape)}")
    if rtol == 0:
        return int(torch.unique(weight.detach(), dim=0).shape[0])
    return len(unit_groups(weight, rtol))


def closest_units(weight: torch.Tensor) -> float:
    """The smallest Euclidean distance between two rows (hidden units) of a weight matrix.

    0 when two units are clones; for a random start, about the distance the init's std implies.
    Comparing it before and after training asks whether training pulls units back together.
    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    if weight.dim() != 2 or weight.shape[0] < 2:
        raise ValueError("weight must be 2-D with >= 2 rows (units x inputs), got shape "
                         f"{tuple(weight.shape)}")
    w = weight.detach().double()
    d = torch.cdist(w, w)
    d.fill_diagonal_(math.inf)
    return float(d.min())


def _start_(layer: nn.Linear, start: str, value: float, gen: torch.Generator) -> None:
    """Draw one layer's weight from `start` (see STARTS) with `value`, its bias 0 (in place)."""
    with torch.no_grad():
        if start == "constant":
            layer.weight.fill_(value)
        elif start == "normal":
            layer.weight.normal_(0.0, value, generator=gen)
        elif start == "uniform":
            bound = math.sqrt(3) * value
            layer.weight.uniform_(-bound, bound, generator=gen)
        else:
            layer.weight.uniform_(0.0, 1.0, generator=gen)
        layer.bias.zero_()


def _check_start(name: str, start: str, value: float) -> None:
    validate.one_of(name, start, STARTS)
    if start in ("normal", "uniform") and not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} {start!r} needs value = std > 0, got {value}")
    if start == "constant" and not math.isfinite(value):
        raise ValueError(f"{name} 'constant' needs a finite value, got {value}")


def constant_(model: nn.Module, value: float) -> nn.Module:
    """Set every Linear weight of `model` to `value` and every bias to 0 (in place); return it.

    What seed articles call constant initialisation (zeros_, ones_, constant_).
    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    if not math.isfinite(value):
        raise ValueError(f"value must be a finite number, got {value}")
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            nn.init.constant_(layer.weight, value)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return model


def nudge_(model: nn.Module, ulps: int = 1) -> nn.Module:
    """Move the first hidden unit's first weight by `ulps` steps of its float format (in place).

    The smallest difference the arithmetic can make between two clone units: what a
    rounding error would leave. Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    validate.integer_in("ulps", ulps, 1)
    first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
    if first is None:
        raise ValueError("model has no nn.Linear layer to nudge")
    with torch.no_grad():
        w = first.weight
        value = w[0, 0].clone()
        for _ in range(ulps):
            value = torch.nextafter(value, torch.tensor(math.inf, dtype=w.dtype))
        w[0, 0] = value
    return model


@dataclass
class SymmetryRun:
    """One training run: the hidden layer's spread and distinct units before and after.

    hidden_weight is a copy of the hidden layer's weight after training. preact_std
    and saturated (fraction of tanh/sigmoid pre-activations in the flat
    region, NaN for other activations) describe the hidden layer at initialisation.
    spread_history[t] is relative_spread of the hidden weight before step t's update, plus
    one entry after the last step; groups is unit_groups(hidden_weight, CLONE_RTOL).
    distinct_after counts rows exactly; len(groups) counts them up to CLONE_RTOL.
    test_answers is how many different classes the trained net predicts over the test set
    (1: it gives every input the same answer). initial_loss and logit_std are the training
    set's cross-entropy and the std of the logits at initialisation (ln C and small: unsure;
    far above ln C: confidently wrong). closest_before / closest_after are closest_units of the
    hidden weight before and after training.
    """

    start: str
    value: float
    width: int
    spread_before: float
    spread_after: float
    distinct_after: int
    preact_std: float
    saturated: float
    history: train.History
    hidden_weight: torch.Tensor
    spread_history: list[float] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    test_answers: int = 0
    initial_loss: float = math.nan
    logit_std: float = math.nan
    closest_before: float = math.nan
    closest_after: float = math.nan

    @property
    def relative_spread_after(self) -> float:
        """relative_spread of the hidden weight after training."""
        return self.spread_history[-1] if self.spread_history else relative_spread(self.hidden_weight)

    @property
    def first_split(self) -> int | None:
        """First entry of spread_history above 0 (the step a difference appeared), or None."""
        return next((t for t, s in enumerate(self.spread_history) if s > 0), None)

    @property
    def recent_loss(self) -> float:
        """Mean training loss over the last 100 steps (one step's loss is noisy)."""
        tail = self.history.loss[-100:]
        return sum(tail) / len(tail)


def symmetry_run(
    data: train.Dataset,
    start: str,
    value: float = 0.0,
    *,
    width: int = 32,
    activation: str = "tanh",
    steps: int = 1000,
    lr: float = 0.05,
    momentum: float = 0.0,
    batch_size: int = 1,
    dtype: torch.dtype = torch.float32,
    nudge_ulps: int = 0,
    output_start: str | None = None,
    output_value: float = 0.0,
    seed: int = 0,
) -> SymmetryRun:
    """Train a one-hidden-layer MLP from `start` (see STARTS) and measure its hidden units.

    value is the constant c for "constant" and the std for "normal" / "uniform";
    biases start at 0. dtype is the float format of weights and data (float64 keeps
    rounding a billion times below float32's). nudge_ulps > 0 moves one hidden weight by
    that many ulps after the init (nudge_), a rounding error made on purpose. Clones stay
    clones in exact arithmetic; in floats, sums such as z = Wx are rounded, and a kernel
    may round some units differently from others (see notebook 03, section 4).
    output_start / output_value, if given, start the output layer differently from the hidden
    one (drawn from a generator seeded by seed + 1), e.g. to tell a saturated hidden layer's
    effect from an oversized output layer's.
    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    validate.one_of("start", start, STARTS)
    if start in ("normal", "uniform") and not (math.isfinite(value) and value > 0):
        raise ValueError(f"start {start!r} needs value = std > 0, got {value}")
    if output_start is not None:
        _check_start("output_start", output_start, output_value)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be one of (torch.float32, torch.float64), got {dtype}")
    widths = [data.n_features, width, data.n_classes]
    dist = "uniform" if start == "uniform" else "normal"
    std = value if start in ("normal", "uniform") else 1.0
    model = nets.mlp(widths, activation, "fixed", std=std, distribution=dist, seed=seed)
    if start == "constant":
        constant_(model, value)
    elif start == "uniform_0_1":
        gen = torch.Generator().manual_seed(seed)
        for layer in (model[0], model[2]):
            nn.init.uniform_(layer.weight, generator=gen)
    if output_start is not None:
        _start_(model[2], output_start, output_value, torch.Generator().manual_seed(seed + 1))
    model.to(dtype)
    if nudge_ulps:
        nudge_(model, nudge_ulps)
    if dtype != data.x_train.dtype:
        data = train.Dataset(data.x_train.to(dtype), data.y_train, data.x_test.to(dtype), data.y_test)
    hidden = model[0]
    before = unit_spread(hidden.weight)
    closest_before = closest_units(hidden.weight) if width > 1 else math.nan
    with torch.no_grad():
        preact = hidden(data.x_train)
        logits = model(data.x_train)
        initial_loss = float(nn.functional.cross_entropy(logits, data.y_train))
    saturated = (
        stats.saturated_fraction(preact.numpy(), activation)
        if activation in stats.SATURATION else math.nan
    )
    spreads: list[float] = []
    history = train.train(
        model, data, steps=steps, lr=lr, momentum=momentum, batch_size=batch_size, seed=seed,
        on_step=lambda m: spreads.append(relative_spread(m[0].weight)),
    )
    spreads.append(relative_spread(hidden.weight))
    with torch.no_grad():
        answers = int(model(data.x_test).argmax(dim=1).unique().numel())
    return SymmetryRun(start, value, width, before, unit_spread(hidden.weight),
                       distinct_units(hidden.weight), float(preact.std()), saturated, history,
                       hidden.weight.detach().clone(), spreads,
                       unit_groups(hidden.weight, CLONE_RTOL), answers, initial_loss,
                       float(logits.std()), closest_before,
                       closest_units(hidden.weight) if width > 1 else math.nan)
