"""fan_in vs fan_out: which direction a He-type init protects when the width changes.

helpers.probe measures constant-width stacks, where fan_in = fan_out and the two modes
coincide. Here the widths vary from layer to layer, so `mode` matters: "fan_in" keeps the
forward signal's variance, "fan_out" the back-propagated gradient's. Both rules hold on
average over nets; norm_walk measures how far one net of finite width strays from that
average. Introduced in notebooks/06_he_kaiming.ipynb.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import init, nets, validate
from helpers.probe import EndRatios

__all__ = ["FLOW_SCHEMES", "Flow", "flow", "norm_walk"]

FLOW_SCHEMES: tuple[str, ...] = ("he", "xavier")


@dataclass(frozen=True)
class Flow(EndRatios):
    """Per-layer std of the activations h_l and of dLoss/dh_l, layers 1..len(widths) - 1.

    With repeats > 1, the geometric mean over that many independent nets (seeds).
    """

    widths: tuple[int, ...]
    scheme: str
    mode: str
    repeats: int
    forward_std: np.ndarray
    grad_std: np.ndarray


def flow(
    widths: Sequence[int],
    scheme: str = "he",
    mode: str = "fan_in",
    *,
    batch: int = 256,
    seed: int = 0,
    repeats: int = 1,
) -> Flow:
    """Push a N(0, 1) batch through a ReLU MLP of these widths and back; std per layer.

    The net is helpers.nets.mlp(widths, "relu", scheme, mode=mode): "he" with the ReLU
    gain and `mode`, "xavier" with gain 1 (mode unused); normal weights, zero biases. The loss is sum(h_L * P)
    with P ~ N(0, 1), as in helpers.probe, so dLoss/dh_L has std 1. One finite-width net
    fluctuates a lot around the expected std, so `repeats` nets (seeds seed, seed + 1, ...)
    are averaged geometrically. Introduced in notebooks/06_he_kaiming.ipynb.
    """
    validate.one_of("scheme", scheme, FLOW_SCHEMES)
    validate.one_of("mode", mode, init.MODES)
    if batch < 2 or repeats < 1:
        raise ValueError(f"need batch >= 2 and repeats >= 1, got batch={batch}, repeats={repeats}")
    widths = [int(w) for w in widths]
    runs = [_one_flow(widths, scheme, mode, batch, seed + r) for r in range(repeats)]
    forward, grad = (np.exp(np.mean(np.log([run[i] for run in runs]), axis=0)) for i in (0, 1))
    return Flow(tuple(widths), scheme, mode, repeats, forward, grad)


def _one_flow(widths: list[int], scheme: str, mode: str, batch: int,
              seed: int) -> tuple[np.ndarray, np.ndarray]:
    net = nets.mlp(widths, "relu", scheme, mode=mode, final_activation=True, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    net.requires_grad_(False)
    h = torch.randn(batch, widths[0], generator=gen).requires_grad_(True)
    hs = []
    for module in net:
        h = module(h)
        if not isinstance(module, nn.Linear):
            hs.append(h)
    projection = torch.randn(hs[-1].shape, generator=gen)
    grads = torch.autograd.grad((hs[-1] * projection).sum(), hs)
    return (np.array([float(a.detach().std()) for a in hs]),
            np.array([float(g.std()) for g in grads]))


def norm_walk(width: int, depth: int, *, nets: int = 200, seed: int = 0) -> np.ndarray:
    """log(|h_l|^2 / |x|^2) at layers l = 1..depth of `nets` independent He-initialised ReLU stacks.

    Each net is `depth` square Linear layers of `width` units with weights N(0, 2 / width)
    (kaiming_normal_: fan_in, ReLU gain), zero biases and a ReLU after every layer, fed its
    own input x ~ N(0, I). He init keeps the average of |h_l|^2 over nets equal to |x|^2, but
    one net of finite width does not: each layer multiplies |h|^2 by an independent random
    factor of mean 1 and variance 5 / width, so log|h_l|^2 is a random walk whose variance
    grows like 5 * l / width (Hanin & Rolnick 2018). Returns an array [net, layer] (float64).
    A net whose units all die (probability 2^-width per layer) gives -inf from there on.
    Introduced in notebooks/06_he_kaiming.ipynb.
    """
    if width < 1 or depth < 1 or nets < 2:
        raise ValueError(f"need width >= 1, depth >= 1 and nets >= 2, got width={width}, "
                         f"depth={depth}, nets={nets}")
    std = init.scheme_std("he", (width, width), "relu")
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(nets, width, 1, generator=gen)
    start = (h.double() ** 2).sum((1, 2))
    walk = torch.empty(nets, depth, dtype=torch.float64)
    for layer in range(depth):  # torch.log(0) is -inf, without a warning
        w = torch.randn(nets, width, width, generator=gen) * std
        h = torch.bmm(w, h).relu()
        walk[:, layer] = torch.log((h.double() ** 2).sum((1, 2)) / start)
    return walk.numpy()
