"""Symmetry between hidden units: does an initialisation make them different, and do they stay so?

Two hidden units with the same incoming and outgoing weights compute the same value
and receive the same gradient, so gradient descent can never tell them apart. These
functions measure that on real trained networks. Introduced in
notebooks/03_constant_and_random_init.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from helpers import nets, stats, train

__all__ = ["STARTS", "unit_spread", "distinct_units", "constant_", "SymmetryRun", "symmetry_run"]

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
    return float(torch.cdist(w, w, p=math.inf).max()) if w.shape[0] > 1 else 0.0


def distinct_units(weight: torch.Tensor) -> int:
    """How many different rows (hidden units) a weight matrix has, compared exactly.

    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    if weight.dim() != 2:
        raise ValueError(f"weight must be 2-D (units x inputs), got shape {tuple(weight.shape)}")
    return int(torch.unique(weight.detach(), dim=0).shape[0])


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


@dataclass
class SymmetryRun:
    """One training run: the hidden layer's spread and distinct units before and after.

    hidden_weight is a copy of the hidden layer's weight after training. preact_std
    and saturated (fraction of tanh/sigmoid pre-activations in the flat
    region, NaN for other activations) describe the hidden layer at initialisation.
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
    seed: int = 0,
) -> SymmetryRun:
    """Train a one-hidden-layer MLP from `start` (see STARTS) and measure its hidden units.

    value is the constant c for "constant" and the std for "normal" / "uniform";
    biases start at 0. batch_size=1 makes every weight gradient an outer product,
    computed without a sum, so the arithmetic is exactly as symmetric as the maths.
    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}")
    if start in ("normal", "uniform") and not (math.isfinite(value) and value > 0):
        raise ValueError(f"start {start!r} needs value = std > 0, got {value}")
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
    hidden = model[0]
    before = unit_spread(hidden.weight)
    with torch.no_grad():
        preact = hidden(data.x_train)
    saturated = (
        stats.saturated_fraction(preact.numpy(), activation)
        if activation in stats.SATURATION else math.nan
    )
    history = train.train(
        model, data, steps=steps, lr=lr, momentum=momentum, batch_size=batch_size, seed=seed
    )
    return SymmetryRun(start, value, width, before, unit_spread(hidden.weight),
                       distinct_units(hidden.weight), float(preact.std()), saturated, history,
                       hidden.weight.detach().clone())
