"""LSUV, layer-sequential unit-variance init (Mishkin & Matas 2016): a data-driven initialiser.

Instead of predicting each layer's output variance from a formula (Xavier, He), LSUV
measures it on a real minibatch and rescales the weights until it is 1, layer by
layer from the input up. It needs no gain for the activation, which is its point.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from helpers.init import initialize_

__all__ = ["lsuv_"]


def lsuv_(
    model: nn.Module,
    x: torch.Tensor,
    *,
    tol: float = 0.02,
    max_iter: int = 10,
    generator: torch.Generator | None = None,
) -> list[float]:
    """Orthogonal init for every nn.Linear of `model`, then rescale each so its output Var is 1.

    Algorithm 1 of Mishkin & Matas (2016): for each Linear in order, run the batch `x`
    forward, measure the variance of that layer's output (its pre-activation) and divide
    the weight by its std, until |Var - 1| < tol or max_iter passes. Biases are set to 0.
    Returns each layer's output variance after rescaling. Hooks are always removed.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    if not 0 < tol < 1 or max_iter < 1:
        raise ValueError(f"need 0 < tol < 1 and max_iter >= 1, got tol={tol}, max_iter={max_iter}")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("lsuv_ needs a model with at least one nn.Linear layer")
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x must be a batch of shape (n >= 2, features), got {tuple(x.shape)}")
    for layer in linears:
        initialize_(layer.weight, "orthogonal", generator=generator)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    variances = []
    was_training = model.training
    model.eval()
    try:
        for layer in linears:
            variances.append(_rescale_layer(model, layer, x, tol, max_iter))
    finally:
        model.train(was_training)
    return variances


def _rescale_layer(model: nn.Module, layer: nn.Linear, x: torch.Tensor, tol: float,
                   max_iter: int) -> float:
    """Divide layer.weight by the std of its output on x until that variance is within tol of 1."""
    seen: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))

    def output_variance() -> float:
        seen.clear()
        model(x)
        return float(seen[-1].var())

    try:
        with torch.no_grad():
            var = output_variance()
            for _ in range(max_iter):
                if abs(var - 1) < tol or not math.isfinite(var) or var <= 0:
                    break  # done, or nothing a rescale can fix (a dead or exploded layer)
                layer.weight.div_(math.sqrt(var))
                var = output_variance()
    finally:
        handle.remove()
    return var
