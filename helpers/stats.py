"""Closed-form statistics behind every initialisation rule, and their Monte Carlo checks.

The series starts here: an initialiser is a distribution, and what matters about it
is its variance. These functions give the exact values; the notebooks measure them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from helpers import validate

__all__ = [
    "uniform_mean",
    "uniform_second_moment",
    "uniform_variance",
    "uniform_bound",
    "truncated_normal_std_factor",
    "monte_carlo_variance",
    "monte_carlo_error",
    "variance_relative_se",
    "std_relative_se",
    "sample_same_std",
    "sum_of_products_std",
    "sample_weighted_sums",
    "saturated_fraction",
    "SATURATION",
]


def _check_interval(a: float, b: float) -> None:
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"a and b must be finite numbers, got a={a}, b={b}")
    if a >= b:
        raise ValueError(f"U(a, b) needs a < b, got a={a}, b={b}")


def uniform_mean(a: float, b: float) -> float:
    """E[X] = (a + b) / 2 for X ~ U(a, b).

    The first step of the derivation. Introduced in notebooks/01_uniform_variance.ipynb.
    """
    _check_interval(a, b)
    return (a + b) / 2


def uniform_second_moment(a: float, b: float) -> float:
    """E[X^2] = (a^2 + ab + b^2) / 3 for X ~ U(a, b).

    Integral of x^2 / (b - a) over [a, b]: the derivation's second step.
    Introduced in notebooks/01_uniform_variance.ipynb.
    """
    _check_interval(a, b)
    return (a * a + a * b + b * b) / 3


def uniform_variance(a: float, b: float) -> float:
    """Var(X) = (b - a)^2 / 12 for X ~ U(a, b).

    Every uniform initialiser (Xavier, He, PyTorch's default) is built on this.
    Introduced in notebooks/00_start_here.ipynb.
    """
    _check_interval(a, b)
    return (b - a) ** 2 / 12


def uniform_bound(std: float) -> float:
    """The bound a for which U(-a, a) has standard deviation `std`: a = sqrt(3) * std.

    From Var U(-a, a) = a^2 / 3. This turns any "target std" rule into a uniform
    initialiser. Introduced in notebooks/01_uniform_variance.ipynb.
    """
    if not math.isfinite(std) or std < 0:
        raise ValueError(f"std must be a finite number >= 0, got {std}")
    return math.sqrt(3.0) * std


def truncated_normal_std_factor(k: float = 2.0) -> float:
    """std of N(0, 1) truncated to [-k, k], i.e. how much truncation shrinks the std.

    sqrt(1 - 2 k phi(k) / (2 Phi(k) - 1)), about 0.8796 at k = 2. Keras' VarianceScaling
    initialisers with distribution="truncated_normal" (LecunNormal, GlorotNormal, HeNormal)
    divide their std by this factor; Keras' TruncatedNormal and torch.nn.init.trunc_normal_
    do not. Introduced in notebooks/01_uniform_variance.ipynb.
    """
    if not math.isfinite(k) or k <= 0:
        raise ValueError(f"k (the truncation point in stds) must be > 0, got {k}")
    pdf = math.exp(-k * k / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(k / math.sqrt(2))  # P(|Z| < k) = 2 Phi(k) - 1
    return math.sqrt(1 - 2 * k * pdf / mass)


def monte_carlo_variance(a: float, b: float, n: int, seed: int = 0) -> float:
    """Sample variance of `n` draws from U(a, b): the measurement that (b - a)^2 / 12 predicts.

    Its error shrinks like 1/sqrt(n). Introduced in notebooks/01_uniform_variance.ipynb.
    """
    _check_interval(a, b)
    if n < 2:
        raise ValueError(f"n (sample size) must be >= 2, got {n}")
    rng = np.random.default_rng(seed)
    return float(rng.uniform(a, b, size=n).var(ddof=1))


def sum_of_products_std(n: int, var_w: float, var_x: float) -> float:
    """std of sum_i w_i x_i for n independent zero-mean terms: sqrt(n Var(w) Var(x)).

    Why a pre-activation grows like sqrt(fan_in) unless Var(w) shrinks like 1/fan_in.
    Introduced in notebooks/02_sums_of_products.ipynb.
    """
    if n < 1:
        raise ValueError(f"n (number of terms) must be >= 1, got {n}")
    if var_w < 0 or var_x < 0:
        raise ValueError(f"variances must be >= 0, got Var(w)={var_w}, Var(x)={var_x}")
    return math.sqrt(n * var_w * var_x)


_WEIGHT_DISTRIBUTIONS = ("uniform", "normal", "truncated_normal")


def sample_weighted_sums(
    n: int,
    trials: int,
    weight_dist: str = "uniform",
    weight_std: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    """`trials` pre-activations a = sum_{i<n} w_i x_i with inputs x_i ~ U(-1, 1), one per neuron.

    weight_dist is "uniform" (U(-1, 1) unless weight_std is given), "normal" or
    "truncated_normal" (N(0, std^2) with every draw beyond +-2 std redrawn, not rescaled, as
    Keras' truncated normal does); weight_std defaults to that of U(-1, 1) for
    "uniform" and 1 otherwise. Drawn in float32 with one torch.Generator, inputs first and
    then weights, exactly as notebook 02's visible lines do for uniform weights, so the
    notebook's few lines and this helper's sweeps give the same numbers.
    Introduced in notebooks/02_sums_of_products.ipynb.
    """
    validate.one_of("weight_dist", weight_dist, _WEIGHT_DISTRIBUTIONS)
    if n < 1 or trials < 1:
        raise ValueError(f"n and trials must be >= 1, got n={n}, trials={trials}")
    if weight_std is not None and not (math.isfinite(weight_std) and weight_std > 0):
        raise ValueError(f"weight_std must be a finite number > 0, got {weight_std}")
    gen = torch.Generator().manual_seed(seed)
    x = torch.empty(trials, n).uniform_(-1, 1, generator=gen)
    if weight_dist == "uniform":
        bound = 1.0 if weight_std is None else uniform_bound(weight_std)
        w = torch.empty(trials, n).uniform_(-bound, bound, generator=gen)
    else:
        std = 1.0 if weight_std is None else weight_std
        w = torch.empty(trials, n).normal_(0.0, 1.0, generator=gen)
        if weight_dist == "truncated_normal":
            flat = w.view(-1)
            redraw = (flat.abs() > 2).nonzero().squeeze(1)
            while redraw.numel():  # redraw until every value lies in [-2, 2], as Keras does
                flat[redraw] = torch.empty(redraw.numel()).normal_(0.0, 1.0, generator=gen)
                redraw = redraw[flat[redraw].abs() > 2]
        w *= std
    return (w * x).sum(dim=1).double().numpy()


SATURATION = {"tanh": 0.99, "sigmoid": 0.01}
"""Saturation thresholds used throughout: tanh |h| > 0.99; sigmoid h < 0.01 or h > 0.99."""


def saturated_fraction(preactivations: np.ndarray, activation: str = "tanh") -> float:
    """Fraction of pre-activations that land where `activation` is flat (gradient < ~2%).

    tanh: |tanh(a)| > 0.99 (|a| > 2.65); sigmoid: sigmoid(a) outside [0.01, 0.99]
    (|a| > 4.6). Introduced in notebooks/02_sums_of_products.ipynb.
    """
    validate.one_of("activation", activation, tuple(SATURATION))
    a = np.asarray(preactivations, dtype=float)
    if activation == "tanh":
        return float(np.mean(np.abs(np.tanh(a)) > SATURATION["tanh"]))
    s = 1.0 / (1.0 + np.exp(-np.clip(a, -500, 500)))
    lo = SATURATION["sigmoid"]
    return float(np.mean((s < lo) | (s > 1 - lo)))


def monte_carlo_error(
    a: float, b: float, sizes: list[int], repeats: int = 200, seed: int = 0
) -> np.ndarray:
    """Root-mean-square relative error of the sample variance of U(a, b), per sample size.

    For each n in `sizes`, `repeats` independent samples of size n are drawn; the
    error of their variance against (b - a)^2 / 12 shrinks like 1/sqrt(n): its expected
    value is variance_relative_se(n), about sqrt(0.8 / n) for large n.
    Introduced in notebooks/01_uniform_variance.ipynb.
    """
    truth = uniform_variance(a, b)
    if repeats < 2 or any(n < 2 for n in sizes):
        raise ValueError(f"need repeats >= 2 and every size >= 2, got {repeats}, {sizes}")
    rng = np.random.default_rng(seed)
    errors = [
        np.sqrt(np.mean((rng.uniform(a, b, size=(repeats, n)).var(axis=1, ddof=1) / truth - 1) ** 2))
        for n in sizes
    ]
    return np.array(errors)


def variance_relative_se(n: int, kurtosis: float = 1.8) -> float:
    """Exact relative standard error of the sample variance (ddof=1) of n independent draws.

    sqrt(2 / (n - 1) + (kurtosis - 3) / n), from Var(s^2) = sigma^4 (2 / (n - 1) + (kurtosis - 3) / n).
    The default kurtosis 1.8 is the uniform's: sqrt(2 / (n - 1) - 1.2 / n), about sqrt(0.8 / n)
    for large n; a normal (kurtosis 3) gives sqrt(2 / (n - 1)).
    Introduced in notebooks/01_uniform_variance.ipynb.
    """
    if n < 2:
        raise ValueError(f"n (sample size) must be >= 2, got {n}")
    if not (math.isfinite(kurtosis) and kurtosis >= 1):
        raise ValueError(f"kurtosis must be a finite number >= 1, got {kurtosis}")
    return math.sqrt(max(2 / (n - 1) + (kurtosis - 3) / n, 0.0))


def std_relative_se(samples: np.ndarray) -> float:
    """Estimated relative standard error of the sample std of `samples`: sqrt((kurtosis - 1) / n) / 2.

    The std's error is half the variance's (variance_relative_se, large n), with the kurtosis
    estimated from the samples themselves, so heavy-tailed sums get a wider tolerance.
    A check "measured std within 5 standard errors of the formula" then fails for fewer
    than 1 sample in a million when the formula is right. Introduced in
    notebooks/02_sums_of_products.ipynb.
    """
    x = np.asarray(samples, dtype=float).ravel()
    if x.size < 10 or not np.isfinite(x).all():
        raise ValueError(f"need at least 10 finite samples, got {x.size}")
    d = x - x.mean()
    m2 = float(np.mean(d**2))
    if m2 == 0:
        raise ValueError("samples are all equal: their std has no relative error")
    kurtosis = float(np.mean(d**4)) / m2**2
    return 0.5 * math.sqrt(max(kurtosis - 1, 0.0) / x.size)


def sample_same_std(std: float, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """n draws each of U(-sqrt(3) std, sqrt(3) std), N(0, std^2) and N(0, std^2) cut at +-2 std.

    The three initialisers a framework offers for one target std. The truncated one
    is drawn with torch.nn.init.trunc_normal_ (absolute bounds, no rescaling), so its
    std comes out at truncated_normal_std_factor(2) * std ~ 0.88 std.
    Introduced in notebooks/01_uniform_variance.ipynb.
    """
    if not (math.isfinite(std) and std > 0) or n < 2:
        raise ValueError(f"need std > 0 and n >= 2, got std={std}, n={n}")
    gen = torch.Generator().manual_seed(seed)
    bound = uniform_bound(std)
    return {
        "uniform": torch.empty(n).uniform_(-bound, bound, generator=gen).numpy(),
        "normal": torch.empty(n).normal_(0.0, std, generator=gen).numpy(),
        "truncated normal": torch.nn.init.trunc_normal_(
            torch.empty(n), std=std, a=-2 * std, b=2 * std, generator=gen
        ).numpy(),
    }
