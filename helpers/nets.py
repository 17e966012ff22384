"""The small networks the notebooks study: an MLP whose init, activation and BatchNorm are knobs.

Kept apart from `probe` (which measures a network) and `train` (which trains one),
so both build exactly the same model from the same arguments.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from helpers import validate
from helpers.init import INIT_SCHEMES, MODES, initialize_

__all__ = ["ACTIVATIONS", "activation_function", "make_activation", "mlp"]

ACTIVATIONS: tuple[str, ...] = ("linear", "sigmoid", "tanh", "relu", "leaky_relu")
"""Activations every experiment accepts; `param` is leaky_relu's negative slope."""



def activation_function(name: str, param: float | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The elementwise function of an activation name in ACTIVATIONS, for code that applies it to
    tensors directly (leaky_relu slope = param, default 0.01); make_activation gives the module.

    The one table from names to functions: criticality, isometry and mup build their nets with it.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    validate.one_of("activation", name, ACTIVATIONS)
    if name == "leaky_relu":
        slope = 0.01 if param is None else param
        return lambda h: F.leaky_relu(h, slope)
    return {"linear": _identity, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[name]


def _identity(h: torch.Tensor) -> torch.Tensor:
    return h


def make_activation(name: str, param: float | None = None) -> nn.Module:
    """The nn.Module for an activation name in ACTIVATIONS (leaky_relu slope = param, default 0.01).

    Introduced in notebooks/04_signal_propagation.ipynb.
    """
    validate.one_of("activation", name, ACTIVATIONS)
    if name == "linear":
        return nn.Identity()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "relu":
        return nn.ReLU()
    return nn.LeakyReLU(0.01 if param is None else param)


def _check_mlp_args(widths: list[int], activation: str, init: str, mode: str) -> None:
    validate.one_of("mode", mode, MODES)
    if len(widths) < 2 or any(not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(f"widths must list >= 2 integers >= 1 (input, ..., output), got {widths}")
    validate.one_of("activation", activation, ACTIVATIONS)
    validate.one_of("init", init, INIT_SCHEMES)


def mlp(
    widths: list[int],
    activation: str = "relu",
    init: str = "pytorch_default",
    *,
    std: float | None = None,
    param: float | None = None,
    mode: str = "fan_in",
    batchnorm: bool = False,
    final_activation: bool = False,
    distribution: str = "normal",
    seed: int = 0,
) -> nn.Sequential:
    """Linear layers widths[0] -> widths[1] -> ... with `activation` after each.

    The last Linear gets an activation only if final_activation (a probe wants one
    after every layer; a classifier wants raw logits). init is one of INIT_SCHEMES
    ("fixed" needs std); "he" uses the activation's gain, "xavier", "lecun" and
    "orthogonal" gain 1, as torch's defaults do; "he" and "lecun" scale by the fan `mode`
    names ("fan_in" keeps the forward signal, "fan_out" the gradient). Biases start at 0 except for
    "pytorch_default", which keeps nn.Linear's own bias init. batchnorm puts a
    BatchNorm1d after each Linear, before the activation. Seeded by `seed` alone: torch's
    global RNG is neither read nor advanced.
    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    _check_mlp_args(widths, activation, init, mode)
    gen = torch.Generator().manual_seed(seed)
    nl = {"linear": "linear", "sigmoid": "sigmoid", "tanh": "tanh"}.get(activation, activation)
    layers: list[nn.Module] = []
    n_linear = len(widths) - 1
    for i in range(n_linear):
        # skip_init: nn.Linear's own init would draw from (and advance) torch's global RNG
        linear = nn.utils.skip_init(nn.Linear, widths[i], widths[i + 1])
        if init == "pytorch_default":
            bound = 1 / widths[i] ** 0.5
            initialize_(linear.weight, "pytorch_default", generator=gen)
            with torch.no_grad():
                linear.bias.uniform_(-bound, bound, generator=gen)
        else:
            kwargs = {"std": std} if init == "fixed" else {}
            if init == "he":
                kwargs.update(nonlinearity=nl, param=param)
            if init in ("he", "lecun"):
                kwargs["mode"] = mode
            if init not in ("orthogonal",):
                kwargs["distribution"] = distribution
            initialize_(linear.weight, init, generator=gen, **kwargs)
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if batchnorm:
            layers.append(nn.BatchNorm1d(widths[i + 1]))
        if i < n_linear - 1 or final_activation:
            layers.append(make_activation(activation, param))
    return nn.Sequential(*layers)
