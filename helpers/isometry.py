"""Dynamical isometry: does the input-output Jacobian of a deep net keep every direction's length?

A random net x_l = phi(W_l x_{l-1}) (zero bias, width n) maps a small change dx of its input to
J dx, with J = D_L W_L ... D_1 W_1 and D_l = diag(phi'(W_l x_{l-1})). Critical init
(notebook 09) keeps the *average* squared singular value of J at 1; dynamical isometry (Saxe et
al. 2014; Pennington, Schoenholz & Ganguli 2017) asks that *all* of them stay near 1. Orthogonal
weights with tanh near its linear regime achieve it; Gaussian weights of the same variance
spread the singular values over decades, more with depth; ReLU with independently drawn weights
loses the directions of its inactive units (D_l has zeros). A mirrored ("looks-linear") ReLU net,
whose weights come in +Q / -Q pairs (Balduzzi et al. 2017; Burkholz & Dubatovka 2019), is an
exact isometry at init: every unit has a twin that carries the other sign.

All in float64, one input, the Jacobian composed layer by layer (helpers.isometry.network gives
the same map as a function, for torch.autograd). Introduced in notebooks/11_width_and_isometry.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from helpers import validate
from helpers.criticality import CRITICAL_ACTIVATIONS, critical_gain
from helpers.exercises import OpenExercise, register
from helpers.nets import activation_function

__all__ = [
    "ACTIVATIONS",
    "WEIGHTS",
    "RESOLUTION",
    "weight_stack",
    "input_vector",
    "network",
    "jacobian",
    "svd_or_nan",
    "singular_values",
    "NO_SPECTRUM",
    "Spectrum",
    "spectrum",
    "Spread",
    "spread",
    "spread_table",
    "looks_linear_stack",
    "looks_linear_jacobian",
]

ACTIVATIONS: tuple[str, ...] = tuple(sorted(CRITICAL_ACTIVATIONS, key=("tanh", "relu", "linear").index))
"""criticality.CRITICAL_ACTIVATIONS (each has a critical gain), in the order the spread table and
the isometry explorer list them."""
WEIGHTS: tuple[str, ...] = ("gaussian", "orthogonal")
RESOLUTION = 1e-12
"""Singular values below RESOLUTION x the largest are numerically zero: float64 products and the
SVD resolve a singular value only down to ~1e-16 x the largest, times the depth."""

_PHI = {name: activation_function(name) for name in ACTIVATIONS}


def _slope(activation: str, h: torch.Tensor) -> torch.Tensor:
    if activation == "tanh":
        return 1 - torch.tanh(h) ** 2
    if activation == "relu":
        return (h > 0).to(h.dtype)
    return torch.ones_like(h)


def _check(activation: str | None = None, weights: str | None = None, depth: int | None = None,
           width: int | None = None, weight_scale: float | None = None) -> None:
    if activation is not None:
        validate.one_of("activation", activation, ACTIVATIONS)
    if weights is not None:
        validate.one_of("weights", weights, WEIGHTS)
    if depth is not None:
        validate.integer_in("depth", depth, 1)
    if width is not None:
        validate.integer_in("width", width, 2)
    if weight_scale is not None and not (math.isfinite(weight_scale) and weight_scale > 0):
        raise ValueError(f"weight_scale must be a finite number > 0, got {weight_scale!r}")


def weight_stack(weights: str, width: int, depth: int, seed: int = 0) -> torch.Tensor:
    """`depth` square float64 matrices [depth, width, width] whose entries have Var = 1/width:
    Gaussian N(0, 1/width), or Haar-random orthogonal (torch.nn.init.orthogonal_).

    Scale them by the weight scale sigma_w (so Var(W) = sigma_w^2 / width for both).
    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    _check(weights=weights, depth=depth, width=width)
    gen = torch.Generator().manual_seed(seed)
    stack = torch.empty(depth, width, width, dtype=torch.float64)
    for layer in stack:
        if weights == "orthogonal":
            torch.nn.init.orthogonal_(layer, generator=gen)
        else:
            layer.normal_(0.0, 1 / math.sqrt(width), generator=gen)
    return stack


def input_vector(width: int, input_std: float = 0.1, seed: int = 0) -> torch.Tensor:
    """The one input x ~ N(0, input_std^2 I) (float64) at which the Jacobian is taken.

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    _check(width=width)
    if not (math.isfinite(input_std) and input_std > 0):
        raise ValueError(f"input_std must be a finite number > 0, got {input_std!r}")
    gen = torch.Generator().manual_seed(seed + 7919)  # not the weights' stream
    return input_std * torch.randn(width, generator=gen, dtype=torch.float64)


def network(stack: torch.Tensor, activation: str, weight_scale: float = 1.0):
    """The map x -> x_L of the net (x_l = phi(sigma_w W_l x_{l-1})), as a function of x.

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    _check(activation=activation, weight_scale=weight_scale)
    phi = _PHI[activation]

    def f(x: torch.Tensor) -> torch.Tensor:
        for w in stack:
            x = phi(weight_scale * (w @ x))
        return x

    return f


def jacobian(stack: torch.Tensor | list[torch.Tensor], activation: str, x: torch.Tensor,
             weight_scale: float = 1.0, depths: tuple[int, ...] | None = None) -> dict[int, torch.Tensor]:
    """The input-output Jacobian J_d = D_d W_d ... D_1 W_1 at x after each depth d in `depths`
    (default: the stack's full depth), composed layer by layer in one pass. `stack` may also be a
    list of matrices of any chained shapes (looks_linear_stack's).

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    _check(activation=activation, weight_scale=weight_scale)
    depths = (len(stack),) if depths is None else tuple(depths)
    if not depths or min(depths) < 1 or max(depths) > len(stack):
        raise ValueError(f"depths must lie in 1..{len(stack)}, got {depths}")
    phi, jac, out = _PHI[activation], torch.eye(len(x), dtype=stack[0].dtype), {}
    for layer in range(1, max(depths) + 1):
        w = weight_scale * stack[layer - 1]
        h = w @ x
        jac = _slope(activation, h)[:, None] * (w @ jac)
        x = phi(h)
        if layer in depths:
            out[layer] = jac
    return out


def svd_or_nan(jac: torch.Tensor) -> np.ndarray:
    """Singular values (descending) of a Jacobian; all nan if it is not finite (an overflow), so
    callers can say so instead of failing. Introduced in notebooks/11_width_and_isometry.ipynb."""
    if not torch.isfinite(jac).all():
        return np.full(min(jac.shape), np.nan)
    return torch.linalg.svdvals(jac).numpy()


def singular_values(activation: str, weights: str, depths: tuple[int, ...], *, width: int = 128,
                    weight_scale: float = 1.0, input_std: float = 0.1,
                    seed: int = 0) -> dict[int, np.ndarray]:
    """Singular values (descending) of the Jacobian at each depth, for one random net and input.

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    _check(activation, weights, max(depths) if depths else None, width, weight_scale)
    stack = weight_stack(weights, width, max(depths), seed)
    jacs = jacobian(stack, activation, input_vector(width, input_std, seed), weight_scale, depths)
    return {d: svd_or_nan(j) for d, j in jacs.items()}


@dataclass(frozen=True)
class Spread:
    """How far a Jacobian is from an isometry, from its singular values s.

    decades: log10(s_max / s_5), how many decades below the largest singular value the smallest
      5% lie (0 for an isometry). s_5 below the resolution counts as the resolution, so decades
      is at most log10(1 / RESOLUTION) = 12, and at_floor says it hit that cap (a lower bound).
    lost: fraction of singular values below RESOLUTION x s_max (directions the net erases).
    kept_decades: the same as decades over the singular values above the resolution only.
    median: the median singular value relative to nothing (1 for an isometry in the strict sense).
    finite: False if the Jacobian overflowed or is empty (the other fields are then nan).
    """

    decades: float
    lost: float
    kept_decades: float
    median: float
    at_floor: bool
    finite: bool = True


NO_SPECTRUM: dict[str, str] = {
    "overflow": "the Jacobian overflowed (inf/NaN): no spectrum to show",
    "zero": "every singular value is 0: the net erases every direction",
}
"""Why a set of singular values has no spectrum to show, by Spectrum.problem."""


@dataclass(frozen=True)
class Spectrum:
    """Singular values s split at the float64 floor: the one place that decides what a spectrum
    shows (spread measures it, helpers.panels draws it).

    top: the largest singular value; floor: RESOLUTION x top; kept: the values above the floor;
    lost: those at or below it (directions the net erases); size: how many values in all.
    problem: None, "overflow" (s empty or not finite) or "zero" (every value 0), a key of
    NO_SPECTRUM; then top and floor are nan and kept and lost empty.
    Introduced in notebooks/11_width_and_isometry.ipynb (through the isometry explorer).
    """

    top: float
    floor: float
    kept: np.ndarray
    lost: np.ndarray
    size: int
    problem: str | None = None

    @property
    def message(self) -> str:
        """Why there is no spectrum to show, in words ("" when there is one)."""
        return NO_SPECTRUM[self.problem] if self.problem else ""


def spectrum(s: np.ndarray) -> Spectrum:
    """The Spectrum of a set of singular values. Introduced in notebooks/11_width_and_isometry.ipynb
    (through the isometry explorer and spread)."""
    s = np.asarray(s, dtype=float)
    empty = np.empty(0)
    if s.size == 0 or not np.isfinite(s).all():
        return Spectrum(math.nan, math.nan, empty, empty, s.size, "overflow")
    top = float(s.max())
    if top <= 0:
        return Spectrum(math.nan, math.nan, empty, empty, s.size, "zero")
    floor = top * RESOLUTION
    return Spectrum(top, floor, s[s > floor], s[s <= floor], s.size)


def spread(s: np.ndarray) -> Spread:
    """The Spread of a set of singular values. Introduced in notebooks/11_width_and_isometry.ipynb."""
    s = np.asarray(s, dtype=float)
    split = spectrum(s)
    if split.problem == "overflow":
        return Spread(math.nan, math.nan, math.nan, math.nan, False, finite=False)
    if split.problem == "zero":
        return Spread(-math.log10(RESOLUTION), 1.0, math.nan, 0.0, True)
    top, floor, kept = split.top, split.floor, split.kept
    low = max(float(np.quantile(s, 0.05)), floor)
    return Spread(decades=math.log10(top / low), lost=float(np.mean(s <= floor)),
                  kept_decades=math.log10(top / float(np.quantile(kept, 0.05))),
                  median=float(np.median(s)), at_floor=low <= floor)


def spread_table(depths: tuple[int, ...], *, width: int = 128, input_std: float = 0.1, seed: int = 0,
                 scales: dict[str, float] | None = None) -> dict[tuple[str, str], list[Spread]]:
    """Spread at each depth for every (activation, weights), each activation at its critical
    weight scale (criticality.critical_gain: tanh and linear 1, ReLU sqrt 2; override with `scales`).

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    scales = {act: critical_gain(act) for act in ACTIVATIONS} | (scales or {})
    table = {}
    for act in ACTIVATIONS:
        for weights in WEIGHTS:
            sv = singular_values(act, weights, depths, width=width, weight_scale=scales[act],
                                 input_std=input_std, seed=seed)
            table[act, weights] = [spread(sv[d]) for d in depths]
    return table


def looks_linear_stack(width: int, depth: int, seed: int = 0) -> list[torch.Tensor]:
    """A mirrored ("looks-linear") ReLU net from R^width to R^width, as float64 matrices: `depth`
    ReLU layers of 2 * width units, then a linear readout. With a fresh Haar orthogonal Q for each:
    the first layer is [Q; -Q] (2n x n), every later ReLU layer [[Q, -Q], [-Q, Q]] (2n x 2n), the
    readout [Q, -Q] (n x 2n, no ReLU after it; the list's last matrix).

    Why it is an isometry: a layer's input is [relu(u); relu(-u)] and relu(u) - relu(-u) = u, so
    each layer passes u -> Q u exactly and the whole net computes Q_R Q_L ... Q_1 x, an orthogonal
    map, although half of the 2n units are 0 at every layer. The entries have Var = 1/n =
    2 / fan_in of a hidden layer: He's variance, drawn in +-pairs instead of independently
    (Balduzzi et al. 2017's looks-linear init; Burkholz & Dubatovka 2019's form).
    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    _check(depth=depth, width=width)
    q = weight_stack("orthogonal", width, depth + 1, seed)
    stack = [torch.cat([q[0], -q[0]])]
    stack += [torch.cat([torch.cat([w, -w], 1), torch.cat([-w, w], 1)]) for w in q[1:depth]]
    return stack + [torch.cat([q[depth], -q[depth]], 1)]


def looks_linear_jacobian(stack: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The width x width Jacobian at x of looks_linear_stack's net: the readout (the last matrix,
    linear) times the Jacobian of the ReLU layers before it (jacobian(..., "relu", ...)).

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    if len(stack) < 2 or stack[0].shape[1] != len(x):
        raise ValueError(f"need looks_linear_stack's matrices (at least 2) and an input of their "
                         f"width, got {len(stack)} matrices and an input of length {len(x)}")
    hidden = stack[:-1]
    return stack[-1] @ jacobian(hidden, "relu", x)[len(hidden)]


# --- notebook 11's open exercise on this module, with its worked solution (ex.chaotic_isometry) ---

register(
    OpenExercise(
        name="chaotic_isometry",
        hint_text="Read the median singular value as well as the spread. Where do the "
        "pre-activations settle after many layers at sigma_w = 1.05, and at sigma_w = 1?",
        solution_text=(
            "for sw in (1.0, 1.05):\n"
            "    sv = isometry.singular_values('tanh', 'orthogonal', (10, 30, 100), weight_scale=sw,\n"
            "                                  seed=SEED)\n"
            "    print(sw, {d: round(isometry.spread(s).decades, 2) for d, s in sv.items()})\n"
            "At SEED = 0, width 128, input std 0.1: at sigma_w = 1 the spread is 10^0.05, 10^0.07,\n"
            "10^0.10 at depths 10, 30, 100 (median singular value 0.94, 0.83, 0.63); at 1.05 it is\n"
            "10^0.08, 10^0.28, 10^0.94 (median 1.46, 2.25, 2.15). Above sigma_w = 1 a small signal\n"
            "grows until tanh's curvature stops it, at a fixed size q* > 0 (the chaotic side of\n"
            "notebook 09). There D_l = diag(1 - tanh^2) differs from unit to unit, and each layer's\n"
            "D_l stretches some directions more than others: the spread grows with depth. A bias-free\n"
            "tanh net at sigma_w = 1 is critical with q* = 0: its signal shrinks slowly towards 0,\n"
            "where tanh is linear, so D_l -> I and J stays close to a product of orthogonal matrices\n"
            "(only their common size shrinks: the falling median)."
        ),
    )
)
