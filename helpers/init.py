"""Initialisation schemes as formulas: fans, gains, and the std each scheme gives a weight.

Every function here is checked in tests/test_init.py against torch.nn.init, so a
notebook can state a formula and the library that trains real networks agrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from helpers import validate
from helpers.stats import uniform_bound

__all__ = [
    "NONLINEARITIES",
    "SCHEMES",
    "MODES",
    "INIT_SCHEMES",
    "fans",
    "gain",
    "scheme_std",
    "scheme_bound",
    "initialize_",
]

_LINEAR_FAMILY = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)
NONLINEARITIES: tuple[str, ...] = (*_LINEAR_FAMILY, "sigmoid", "tanh", "relu", "leaky_relu", "selu")
"""Every name torch.nn.init.calculate_gain accepts."""

SCHEMES: tuple[str, ...] = ("lecun", "xavier", "he", "pytorch_default")
"""Schemes with a closed-form std (scheme_std, scheme_bound)."""

INIT_SCHEMES: tuple[str, ...] = ("fixed", "lecun", "xavier", "he", "pytorch_default", "orthogonal")
"""Schemes initialize_ can apply to a tensor: SCHEMES plus "fixed" (a given std) and "orthogonal"."""

MODES: tuple[str, ...] = ("fan_in", "fan_out")


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape, exactly as torch computes them.

    shape is (out, in) for a Linear layer and (out, in, *kernel) for a convolution:
    fan_in = in * prod(kernel), fan_out = out * prod(kernel). So a 3x3 conv from
    64 to 128 channels has fan_in 576 and fan_out 1152.
    Introduced in notebooks/05_xavier_glorot.ipynb (conv fans in 06_he_kaiming.ipynb).
    """
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(
            f"fans need a weight shape with at least 2 dims (out, in, *kernel), got {shape}"
        )
    if any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in shape):
        raise ValueError(f"every size in the shape must be an integer >= 1, got {shape}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain torch.nn.init.calculate_gain recommends for `nonlinearity`.

    It rescales a unit-variance rule to make up for what the activation does to
    the second moment: 1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu (slope = param, default 0.01), 3/4 for selu.
    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    validate.one_of("nonlinearity", nonlinearity, NONLINEARITIES)
    if nonlinearity in _LINEAR_FAMILY or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    slope = 0.01 if param is None else param
    if isinstance(slope, bool) or not isinstance(slope, int | float) or not math.isfinite(slope):
        raise ValueError(f"leaky_relu's param (negative slope) must be a number, got {param!r}")
    return math.sqrt(2.0 / (1 + slope**2))


def _check_mode(mode: str) -> None:
    validate.one_of("mode", mode, MODES)


def scheme_std(
    scheme: str,
    shape: Sequence[int],
    nonlinearity: str | None = None,
    mode: str = "fan_in",
    param: float | None = None,
) -> float:
    """The std of the weights that `scheme` gives a tensor of `shape`.

    - "lecun": 1/sqrt(fan); torch: kaiming_normal_(w, mode=mode, nonlinearity="linear").
    - "xavier": gain * sqrt(2 / (fan_in + fan_out)); torch: xavier_normal_(w, gain(nonlinearity)).
      nonlinearity None means gain 1, torch's default. mode is not used.
    - "he": gain / sqrt(fan); torch: kaiming_normal_(w, a=param, mode, nonlinearity).
      nonlinearity None means torch's default, leaky_relu with slope param (0 when None),
      i.e. the ReLU gain sqrt(2).
    - "pytorch_default": what nn.Linear / nn.Conv give a fresh layer,
      kaiming_uniform_(w, a=sqrt(5), mode) = U(-1/sqrt(fan), 1/sqrt(fan)), std 1/sqrt(3 fan).

    fan is fan_in or fan_out as `mode` says. lecun and pytorch_default have a fixed
    gain and take no nonlinearity. Introduced in notebooks/02_sums_of_products.ipynb.
    """
    validate.one_of("scheme", scheme, SCHEMES)
    _check_mode(mode)
    fan_in, fan_out = fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    if scheme in ("lecun", "pytorch_default"):
        if nonlinearity is not None:
            raise ValueError(
                f"{scheme!r} has a fixed gain and takes no nonlinearity (got {nonlinearity!r}); "
                "use 'xavier' or 'he' for a gain"
            )
        return 1 / math.sqrt(fan) if scheme == "lecun" else 1 / math.sqrt(3 * fan)
    if scheme == "xavier":
        g = 1.0 if nonlinearity is None else gain(nonlinearity, param)
        return g * math.sqrt(2.0 / (fan_in + fan_out))
    # he / kaiming: torch passes `a` as the gain's param, 0 by default
    nl = "leaky_relu" if nonlinearity is None else nonlinearity
    return gain(nl, 0 if param is None else param) / math.sqrt(fan)


def scheme_bound(
    scheme: str,
    shape: Sequence[int],
    nonlinearity: str | None = None,
    mode: str = "fan_in",
    param: float | None = None,
) -> float:
    """The bound a of U(-a, a) with the std of scheme_std (same arguments): sqrt(3) * std.

    Equal to the bound torch's xavier_uniform_ / kaiming_uniform_ use, e.g.
    sqrt(6 / (fan_in + fan_out)) for Xavier. Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    return uniform_bound(scheme_std(scheme, shape, nonlinearity, mode, param))


def initialize_(
    weight: torch.Tensor,
    scheme: str,
    *,
    std: float | None = None,
    nonlinearity: str | None = None,
    mode: str = "fan_in",
    param: float | None = None,
    distribution: str = "normal",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill `weight` in place with `scheme` and return it; the experiments' one entry point.

    scheme is one of INIT_SCHEMES: "fixed" needs `std`; "orthogonal" uses
    torch.nn.init.orthogonal_ at gain 1; "pytorch_default" is always uniform; the
    others draw from N(0, std^2) or U(-sqrt(3) std, sqrt(3) std) by `distribution`,
    with std from scheme_std. Pass a torch.Generator to keep experiments seeded.
    Introduced in notebooks/04_signal_propagation.ipynb.
    """
    validate.one_of("scheme", scheme, INIT_SCHEMES)
    validate.one_of("distribution", distribution, ("normal", "uniform"))
    if scheme == "fixed":
        if std is None or not math.isfinite(std) or std <= 0:
            raise ValueError(f"scheme 'fixed' needs a finite std > 0, got std={std}")
        w_std = std
    elif scheme == "orthogonal":
        fans(tuple(weight.shape))  # same shape checks as the other schemes
        with torch.no_grad():
            return torch.nn.init.orthogonal_(weight, gain=1.0, generator=generator)
    else:
        if std is not None:
            raise ValueError(f"std is only for scheme 'fixed'; {scheme!r} computes its own")
        w_std = scheme_std(scheme, tuple(weight.shape), nonlinearity, mode, param)
        if scheme == "pytorch_default":
            distribution = "uniform"
    with torch.no_grad():
        if distribution == "normal":
            return weight.normal_(0.0, w_std, generator=generator)
        bound = uniform_bound(w_std)
        return weight.uniform_(-bound, bound, generator=generator)
