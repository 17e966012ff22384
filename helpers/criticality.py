"""The edge of chaos: which weight variance lets a signal cross a deep net without fading or blowing up.

Mean-field theory (Poole et al. 2016, Schoenholz et al. 2017) follows the variance q of a
pre-activation through layers of width n with weights N(0, sigma_w^2 / n) and zero bias:
    q_{l+1} = sigma_w^2 E[phi(sqrt(q_l) z)^2],   z ~ N(0, 1),
and a back-propagated gradient's variance is multiplied per layer by
    chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2].
chi_1 = 1 is the critical line: sigma_w^2 = 2 for ReLU, 1 for tanh and linear.
Here the theory, and a measurement on real random networks to hold it against.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from helpers import validate
from helpers.nets import activation_function
from helpers.threads import single_thread

__all__ = [
    "CRITICAL_WEIGHT_VAR",
    "CRITICAL_ACTIVATIONS",
    "PHASES",
    "critical_gain",
    "critical_weight_var",
    "mean_field",
    "mean_field_profile",
    "phase",
    "propagation_map",
]

CRITICAL_WEIGHT_VAR: dict[str, float] = {"linear": 1.0, "tanh": 1.0, "relu": 2.0}
"""sigma_w^2 = width * Var(W) on the critical line (zero bias), per activation: the one table of
critical gains (critical_gain = its square root) that isometry and mup take theirs from."""
CRITICAL_ACTIVATIONS: tuple[str, ...] = tuple(CRITICAL_WEIGHT_VAR)
"""The activations with a critical line (helpers.nets.ACTIVATIONS names them)."""


def _check(activation: str, sigma_w2: float) -> None:
    validate.one_of("activation", activation, CRITICAL_ACTIVATIONS)
    validate.number("sigma_w2 (= width * Var(W))", sigma_w2, 0, low_open=True)


@functools.lru_cache(maxsize=1)
def _gauss_hermite(points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and weights (summing to 1) for E[f(Z)], Z ~ N(0, 1): sum(weights * f(z)).
    Cached: computing them (an eigenvalue problem) took a sixth of a criticality redraw."""
    z, weights = np.polynomial.hermite_e.hermegauss(points)
    weights = weights / weights.sum()
    z.flags.writeable = weights.flags.writeable = False
    return z, weights


def critical_weight_var(activation: str) -> float:
    """sigma_w^2 = width * Var(W) on the critical line (zero bias): 2 for ReLU, 1 for tanh/linear.

    ReLU keeps half of a symmetric signal's second moment, so the weights must double
    it; tanh and linear have slope 1 at 0. Introduced in notebooks/09_init_in_training.ipynb.
    """
    _check(activation, 1.0)
    return CRITICAL_WEIGHT_VAR[activation]


def critical_gain(activation: str) -> float:
    """The gain g of the critical init std g / sqrt(fan_in): sqrt(2) for ReLU (He), 1 for tanh
    and linear (LeCun); the square root of critical_weight_var.

    isometry's critical weight scales and mup's standard parametrisation use it.
    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    return math.sqrt(critical_weight_var(activation))


def mean_field(activation: str, sigma_w2: float, q0: float = 1.0,
               layers: int = 1000) -> tuple[float, float]:
    """(q*, chi_1): the pre-activation variance after `layers` layers from q0, and the
    per-layer factor on a gradient's variance there (Gauss-Hermite expectations).

    chi_1 < 1: gradients vanish with depth (ordered phase); > 1: they grow (chaotic).
    For ReLU q* is not a fixed point unless sigma_w2 = 2 (it shrinks or grows
    geometrically), but chi_1 = sigma_w2 / 2 regardless.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    _check(activation, sigma_w2)
    if activation == "relu":
        return q0 * (sigma_w2 / 2) ** layers, sigma_w2 / 2
    if activation == "linear":
        return q0 * sigma_w2**layers, sigma_w2
    z, weights = _gauss_hermite()
    q = q0
    for _ in range(layers):
        q = sigma_w2 * float(weights @ np.tanh(math.sqrt(q) * z) ** 2)
    chi1 = sigma_w2 * float(weights @ (1 / np.cosh(math.sqrt(q) * z)) ** 4)
    return q, chi1


PHASES: tuple[str, ...] = ("ordered", "critical", "chaotic")


def phase(activation: str, sigma_w2: float, tolerance: float = 0.03) -> str:
    """"critical" within `tolerance` (relative) of critical_weight_var, else "chaotic" where
    chi_1 > 1 (gradients grow with depth) and "ordered" where chi_1 < 1 (they fade).

    The phase a random net of this activation and width * Var(W) sits in, as the
    criticality explorer names it. Introduced in notebooks/09_init_in_training.ipynb.
    """
    _check(activation, sigma_w2)
    validate.number("tolerance", tolerance, 0, 1, high_open=True)
    if abs(sigma_w2 / critical_weight_var(activation) - 1) < tolerance:
        return "critical"
    return "chaotic" if mean_field(activation, sigma_w2, layers=200)[1] > 1 else "ordered"


def mean_field_profile(activation: str, sigma_w2: float, depth: int,
                       q0: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Mean-field prediction layer by layer, d = 1..depth: (log10 sqrt(q_d / q0),
    log10 sqrt(chi_1 * ... * chi_d)), q_d the pre-activation variance of layer d (layer 1
    sees the input, of variance q0) and each chi_l taken at that layer's q.

    The first is the pre-activation std's growth, the second the gradient's; what
    propagation_map measures. Introduced in notebooks/09_init_in_training.ipynb.
    """
    _check(activation, sigma_w2)
    validate.integer_in("depth", depth, 1)
    validate.number("q0", q0, 0, low_open=True)
    z, weights = _gauss_hermite()
    q, log_grad, fwd, bwd = sigma_w2 * q0, 0.0, [], []  # layer 1 sees the raw input x
    for _ in range(depth):
        if activation == "tanh":
            h = np.tanh(math.sqrt(q) * z)
            chi, q_next = sigma_w2 * float(weights @ (1 - h**2) ** 2), sigma_w2 * float(weights @ h**2)
        else:
            chi = sigma_w2 / 2 if activation == "relu" else sigma_w2
            q_next = q * chi
        log_grad += 0.5 * math.log10(chi)
        fwd.append(0.5 * math.log10(max(q / q0, 1e-300)))
        bwd.append(log_grad)
        q = q_next
    return np.array(fwd), np.array(bwd)


def propagation_map(
    activation: str,
    sigma_w2s: list[float],
    depths: list[int],
    *,
    width: int = 128,
    batch: int = 256,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Measured log10 growth of the signal and of the input gradient, [sigma_w2, depth].

    For each sigma_w2, one random net of max(depths) layers (width x width, weights
    N(0, sigma_w2 / width), zero bias, the activation after every layer) gets a batch
    x ~ N(0, 1). forward[i, j] = log10 std(z_d) / std(x), z_d the pre-activation of layer
    d = depths[j]; backward[i, j] = log10 std(d(r . h_d)/dx) for a random readout
    r ~ N(0, 1) of the activations h_d: how much a gradient grows (> 0) or fades (< 0)
    crossing d layers. Both track mean_field_profile; 0 at criticality for ReLU. (Unlike
    helpers.probe.propagate, which records post-activation stds and gradients from one
    readout at the top, this measures exactly the two quantities the theory predicts.)
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    for s in sigma_w2s:
        _check(activation, s)
    if not depths:
        raise ValueError("depths must list at least one depth, got none")
    for d in depths:
        validate.integer_in("each depth", d, 1)
    validate.integer_in("width", width, 1)
    validate.integer_in("batch", batch, 2)
    gen = torch.Generator().manual_seed(seed)
    phi = activation_function(activation)
    forward = np.empty((len(sigma_w2s), len(depths)))
    backward = np.empty_like(forward)
    with single_thread():
        for i, s in enumerate(sigma_w2s):
            x = torch.randn(batch, width, generator=gen, dtype=torch.float64, requires_grad=True)
            h, pre, post = x, {}, {}
            for layer in range(1, max(depths) + 1):
                w = torch.randn(width, width, generator=gen, dtype=torch.float64)
                pre[layer] = h @ w.T * math.sqrt(s / width)
                h = post[layer] = phi(pre[layer])
            x_std = float(x.detach().std())
            for j, d in enumerate(depths):
                r = torch.randn(batch, width, generator=gen, dtype=torch.float64)
                (grad,) = torch.autograd.grad((post[d] * r).sum(), x, retain_graph=True)
                ratio = float(pre[d].detach().std()) / x_std
                forward[i, j] = math.log10(max(ratio, 1e-300))
                backward[i, j] = math.log10(max(float(grad.std()), 1e-300))
    return forward, backward
