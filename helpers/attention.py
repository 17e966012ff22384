"""Scaled dot-product attention as a sum of products: why the logits are divided by sqrt(d_k).

An attention logit q . k = sum_i q_i k_i is notebook 02's sum of d_k products, so
Var(q . k) = d_k Var(q) Var(k). Unscaled, the logits grow like sqrt(d_k), the softmax
over the keys turns into a one-hot choice and its Jacobian, through which every gradient
to q and k passes, goes to 0. Dividing by sqrt(d_k) keeps the logits at std ~1.

Introduced in notebooks/10_attention_residual.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "DK_VALUES",
    "ONE_HOT",
    "attention",
    "attention_logits",
    "softmax_entropy",
    "softmax_jacobian_norm",
    "Saturation",
    "saturation_sweep",
]

DK_VALUES: tuple[int, ...] = (8, 16, 32, 64, 128, 256, 512, 1024)
"""Key dimensions of the sweep, 8 to 1024 (head sizes run from 64 to 128 in most models)."""

ONE_HOT = 0.99
"""A query's attention counts as one-hot when its largest weight exceeds this."""


def _check_sizes(**sizes: int) -> None:
    bad = {k: v for k, v in sizes.items() if not (isinstance(v, int) and v >= 1)}
    if bad:
        raise ValueError(f"sizes must be integers >= 1, got {bad}")


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, scaled: bool = True
              ) -> torch.Tensor:
    """softmax(q k^T / sqrt(d_k)) v, written out (scaled=False drops the 1/sqrt(d_k)).

    The same as torch.nn.functional.scaled_dot_product_attention for scaled=True (no mask,
    no dropout), up to float rounding. Introduced in notebooks/10_attention_residual.ipynb.
    """
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"need q (..., n_q, d_k), k (..., n_k, d_k), v (..., n_k, d_v); got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    logits = q @ k.transpose(-1, -2)
    if scaled:
        logits = logits / math.sqrt(q.shape[-1])
    return logits.softmax(-1) @ v


def attention_logits(d_k: int, *, n_keys: int = 64, n_queries: int = 64, n_heads: int = 16,
                     seed: int = 0) -> torch.Tensor:
    """Raw logits q . k for q, k with i.i.d. N(0, 1) entries: shape (n_heads, n_queries, n_keys).

    Divide by sqrt(d_k) for the scaled logits. Introduced in notebooks/10_attention_residual.ipynb.
    """
    _check_sizes(d_k=d_k, n_keys=n_keys, n_queries=n_queries, n_heads=n_heads)
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(n_heads, n_queries, d_k, generator=gen)
    k = torch.randn(n_heads, n_keys, d_k, generator=gen)
    return q @ k.transpose(-1, -2)


def softmax_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of softmax over the last axis, per row: ln(n_keys) if uniform, 0 if one-hot.

    Introduced in notebooks/10_attention_residual.ipynb.
    """
    p = logits.double().softmax(-1)
    return -torch.special.xlogy(p, p).sum(-1)


def softmax_jacobian_norm(logits: torch.Tensor) -> torch.Tensor:
    """Frobenius norm of the softmax Jacobian dp/ds = diag(p) - p p^T, per row (float64).

    It is the rms size of the gradient dL/ds = J^T g that reaches the logits for a random
    upstream gradient g with unit entries: what is left for q and k to learn from. 0 for a
    one-hot p, about 1/sqrt(n) for a uniform one over n keys. Computed from
    ||J||^2 = sum_i p_i^2 (1 - p_i)^2 + sum_{i != j} p_i^2 p_j^2 with the largest p_i taken
    apart, so that 1 - p_max is summed from the other weights instead of cancelling.
    Introduced in notebooks/10_attention_residual.ipynb.
    """
    p = logits.double().softmax(-1)
    top_index = p.argmax(-1, keepdim=True)
    top = p.gather(-1, top_index).squeeze(-1)
    rest = p.scatter(-1, top_index, 0.0)
    rest2 = rest.square()
    s2, s4 = rest2.sum(-1), rest2.square().sum(-1)
    diagonal = (top * rest.sum(-1)).square() + (rest2 * (1 - rest).square()).sum(-1)
    off_diagonal = 2 * top.square() * s2 + s2.square() - s4
    return (diagonal + off_diagonal.clamp_min(0)).sqrt()


@dataclass(frozen=True)
class Saturation:
    """Per d_k, for raw and scaled logits of the same q and k: what the softmax does.

    Arrays are indexed like d_k; keys of each dict are "raw" and "scaled".
    """

    d_k: np.ndarray
    n_keys: int
    logit_std: dict[str, np.ndarray]
    entropy: dict[str, np.ndarray]  # mean over queries, nats
    jacobian_median: dict[str, np.ndarray]  # median over queries
    jacobian_mean: dict[str, np.ndarray]
    one_hot: dict[str, np.ndarray]  # share of queries whose top weight exceeds ONE_HOT
    top_weight: dict[str, np.ndarray]  # mean over queries of the largest attention weight


def saturation_sweep(d_ks: tuple[int, ...] = DK_VALUES, *, n_keys: int = 64, n_queries: int = 64,
                     n_heads: int = 16, seed: int = 0) -> Saturation:
    """Measure logit std, softmax entropy, Jacobian size and one-hot share for every d_k.

    Each d_k draws fresh q and k (n_heads x n_queries queries against n_keys keys); raw and
    scaled logits share them, so the two columns are a paired comparison.
    Introduced in notebooks/10_attention_residual.ipynb.
    """
    if not d_ks or any(not (isinstance(d, int) and d >= 1) for d in d_ks):
        raise ValueError(f"d_ks must be a non-empty tuple of integers >= 1, got {d_ks!r}")
    names = ("raw", "scaled")
    fields = {f: {n: np.empty(len(d_ks)) for n in names}
              for f in ("logit_std", "entropy", "jacobian_median", "jacobian_mean", "one_hot",
                        "top_weight")}
    for i, d_k in enumerate(d_ks):
        raw = attention_logits(d_k, n_keys=n_keys, n_queries=n_queries, n_heads=n_heads,
                               seed=seed * 10_007 + d_k)
        for name, logits in (("raw", raw), ("scaled", raw / math.sqrt(d_k))):
            jac = softmax_jacobian_norm(logits)
            top = logits.double().softmax(-1).amax(-1)
            fields["logit_std"][name][i] = float(logits.double().std())
            fields["entropy"][name][i] = float(softmax_entropy(logits).mean())
            fields["jacobian_median"][name][i] = float(jac.median())
            fields["jacobian_mean"][name][i] = float(jac.mean())
            fields["one_hot"][name][i] = float((top > ONE_HOT).double().mean())
            fields["top_weight"][name][i] = float(top.mean())
    return Saturation(np.array(d_ks), n_keys, **fields)
