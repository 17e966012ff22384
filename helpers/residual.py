"""Residual streams x_{l+1} = x_l + f_l(x_l): how each branch init makes the stream grow with depth.

A branch adds its output to the stream, so the stream's variance is the sum of what every
block added. How fast that sum grows is set by the init of the branches (and by a
LayerNorm in front of them). Three inits are studied, one per line of the widget:

- "he": each Linear gets torch's kaiming_normal_ (fan_in) with the gain of what it feeds:
  sqrt(2) before the ReLU, 1 at the branch's output. Then Var(f(x)) = Var(x): every block
  doubles the stream's variance (without LayerNorm).
- "scaled": "he" with the branch's last Linear divided by sqrt(depth), so each branch adds
  1/depth of the variance it receives. In this un-normalised stream that bounds the
  expected growth by (1 + 1/depth)^depth < e. (GPT-2 divides its residual projections by
  sqrt(2 n_layer) too, but in a pre-LayerNorm stream, where it does something else:
  gpt2_stream_var measures it.)
- "zero": "he" branches behind a trainable gate alpha = 0 (ReZero; SkipInit is the same
  idea): the net starts as the identity.

Introduced in notebooks/10_attention_residual.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers import validate
from helpers.probe import EndRatios
from helpers.threads import single_thread
from helpers.train import Dataset, History, tail_loss, train

__all__ = [
    "BRANCH_INITS",
    "BRANCH_NAMES",
    "ResidualBlock",
    "branch_scale",
    "gpt2_residual_std",
    "gpt2_stream_var",
    "residual_blocks",
    "residual_classifier",
    "predicted_stream_std",
    "predicted_grad_std",
    "Stream",
    "stream_profile",
    "TrainingRuns",
    "compare_training",
]

BRANCH_INITS: tuple[str, ...] = ("he", "scaled", "zero")
"""Branch inits: variance-preserving He branches, 1/sqrt(depth)-scaled branches, zero-gated (ReZero)."""
BRANCH_NAMES: dict[str, str] = {"he": "He branches", "scaled": "scaled branches (1/√L)",
                                "zero": "zero-gated (ReZero)"}
"""Each branch init's name in a figure or a readout (the residual explorer's titles)."""


def _check(branch_init: str, depth: int, width: int) -> None:
    validate.one_of("branch_init", branch_init, BRANCH_INITS)
    if not (isinstance(depth, int) and depth >= 1) or not (isinstance(width, int) and width >= 1):
        raise ValueError(f"need integers depth >= 1 and width >= 1, got depth={depth!r}, "
                         f"width={width!r}")


def branch_scale(branch_init: str, depth: int) -> float:
    """The factor on the std of each branch's last Linear: 1 ("he", "zero"), 1/sqrt(depth) ("scaled").

    With Var(f(x)) = Var(x) / depth per branch, depth blocks multiply the stream's variance
    by (1 + 1/depth)^depth < e, whatever the depth. Introduced in
    notebooks/10_attention_residual.ipynb.
    """
    _check(branch_init, depth, 1)
    return 1 / math.sqrt(depth) if branch_init == "scaled" else 1.0


def gpt2_residual_std(n_layer: int, base_std: float = 0.02) -> float:
    """nanoGPT's std for the residual projections of GPT-2: base_std / sqrt(2 n_layer).

    Every other Linear gets base_std; the projections that write into the stream (two per
    block: attention's and the MLP's) are scaled so the 2 n_layer branches add O(1) in total.
    Introduced in notebooks/10_attention_residual.ipynb.
    """
    if not (isinstance(n_layer, int) and n_layer >= 1) or not base_std > 0:
        raise ValueError(f"need an integer n_layer >= 1 and base_std > 0, got {n_layer!r}, "
                         f"{base_std!r}")
    return base_std / math.sqrt(2 * n_layer)


def _normal(shape: tuple[int, ...], std: float, gen: torch.Generator) -> torch.Tensor:
    return torch.randn(*shape, generator=gen) * std


def gpt2_stream_var(n_layer: int, width: int, *, scaled: bool = True, seq: int = 64, batch: int = 4,
                    base_std: float = 0.02, seed: int = 0) -> np.ndarray:
    """Var of a GPT-2 residual stream at init: after the embeddings, then after every branch.

    GPT-2 as nanoGPT builds and initialises it: token plus position embeddings and every
    Linear drawn from N(0, base_std^2), zero biases, LayerNorm in front of each of the two
    branches of a block (causal attention with heads of 64, then a 4x GELU MLP). With
    scaled=True the branches' last Linears (the residual projections) get
    gpt2_residual_std(n_layer); with scaled=False base_std like the rest. Random embeddings
    stand in for token ids. Returns 2 n_layer + 1 variances (float64). Introduced in
    notebooks/10_attention_residual.ipynb.
    """
    validate.integer_in("n_layer", n_layer, 1)
    validate.integer_in("width", width, 64)
    validate.integer_in("seq", seq, 1)
    validate.integer_in("batch", batch, 1)
    if width % 64 or not base_std > 0:
        raise ValueError(f"need width a multiple of 64 (heads of 64) and base_std > 0, got "
                         f"width={width}, base_std={base_std}")
    gen, heads = torch.Generator().manual_seed(seed), width // 64
    proj_std = gpt2_residual_std(n_layer, base_std) if scaled else base_std
    x = _normal((batch, seq, width), base_std, gen) + _normal((seq, width), base_std, gen)
    out = [float(x.double().var())]
    with single_thread():
        for _ in range(n_layer):
            qkv = F.layer_norm(x, (width,)) @ _normal((width, 3 * width), base_std, gen)
            q, k, v = (t.reshape(batch, seq, heads, 64).transpose(1, 2) for t in qkv.split(width, -1))
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + att.transpose(1, 2).reshape(batch, seq, width) @ _normal((width, width), proj_std, gen)
            out.append(float(x.double().var()))
            hidden = F.gelu(F.layer_norm(x, (width,)) @ _normal((width, 4 * width), base_std, gen),
                            approximate="tanh")
            x = x + hidden @ _normal((4 * width, width), proj_std, gen)
            out.append(float(x.double().var()))
    return np.array(out)


class ResidualBlock(nn.Module):
    """x + alpha * fc2(relu(fc1(norm(x)))): one block of a residual MLP.

    norm is a LayerNorm (pre-LN) or the identity; alpha is a trainable scalar gate for
    ReZero ("zero" init, alpha = 0) and absent otherwise (a constant 1, not a parameter).
    Introduced in notebooks/10_attention_residual.ipynb.
    """

    def __init__(self, width: int, *, layernorm: bool = False, gate: bool = False):
        super().__init__()
        self.norm = nn.LayerNorm(width) if layernorm else nn.Identity()
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)
        self.alpha = nn.Parameter(torch.zeros(())) if gate else None

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """f(x), what the block adds to the stream before the gate."""
        return self.fc2(torch.relu(self.fc1(self.norm(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.branch(x)
        return x + (f if self.alpha is None else self.alpha * f)


def _init_block(block: ResidualBlock, scale: float, gen: torch.Generator) -> None:
    nn.init.kaiming_normal_(block.fc1.weight, nonlinearity="relu", generator=gen)
    nn.init.kaiming_normal_(block.fc2.weight, nonlinearity="linear", generator=gen)
    with torch.no_grad():
        block.fc2.weight.mul_(scale)
    nn.init.zeros_(block.fc1.bias)
    nn.init.zeros_(block.fc2.bias)


def residual_blocks(depth: int, width: int, branch_init: str = "he", *, layernorm: bool = False,
                    seed: int = 0) -> nn.Sequential:
    """`depth` ResidualBlocks of `width`, initialised by `branch_init` (one of BRANCH_INITS).

    Biases start at 0, LayerNorm at gamma = 1, beta = 0. Seeded by `seed`.
    Introduced in notebooks/10_attention_residual.ipynb.
    """
    _check(branch_init, depth, width)
    gen = torch.Generator().manual_seed(seed)
    scale = branch_scale(branch_init, depth)
    blocks = []
    for _ in range(depth):
        block = ResidualBlock(width, layernorm=layernorm, gate=branch_init == "zero")
        _init_block(block, scale, gen)
        blocks.append(block)
    return nn.Sequential(*blocks)


def residual_classifier(branch_init: str, depth: int, width: int, n_in: int, n_out: int, *,
                        layernorm: bool = False, seed: int = 0) -> nn.Sequential:
    """Linear(n_in, width), `depth` residual blocks, Linear(width, n_out): a deep residual MLP.

    The input and output Linears get LeCun init (kaiming_normal_ with gain 1, zero bias), so
    standardised inputs enter the stream with variance ~1 and only the blocks differ.
    Introduced in notebooks/10_attention_residual.ipynb.
    """
    _check(branch_init, depth, width)
    if n_in < 1 or n_out < 1:
        raise ValueError(f"need n_in >= 1 and n_out >= 1, got {n_in}, {n_out}")
    gen = torch.Generator().manual_seed(seed + 1)
    ends = [nn.Linear(n_in, width), nn.Linear(width, n_out)]
    for layer in ends:
        nn.init.kaiming_normal_(layer.weight, nonlinearity="linear", generator=gen)
        nn.init.zeros_(layer.bias)
    blocks = residual_blocks(depth, width, branch_init, layernorm=layernorm, seed=seed)
    return nn.Sequential(ends[0], *blocks, ends[1])


def _branch_ratio(branch_init: str, depth: int) -> float:
    """Var(f(x)) / Var(x) of one branch at init (LayerNorm'd input: Var(f) for unit Var(x))."""
    return {"he": 1.0, "scaled": 1.0 / depth, "zero": 0.0}[branch_init]


def predicted_stream_std(branch_init: str, layernorm: bool, depth: int) -> np.ndarray:
    """std(x_l) / std(x_0) for l = 0..depth, for an input of variance 1, from Var addition.

    Without LayerNorm each block multiplies the variance by (1 + r), r = Var(f) / Var(x):
    2 for "he", 1 + 1/depth for "scaled", 1 for "zero". With pre-LayerNorm every branch
    sees a unit-variance input and adds r, so Var(x_l) = 1 + l r: linear in l.
    Introduced in notebooks/10_attention_residual.ipynb.
    """
    _check(branch_init, depth, 1)
    r, blocks = _branch_ratio(branch_init, depth), np.arange(depth + 1)
    return np.sqrt(1 + r * blocks) if layernorm else (1 + r) ** (blocks / 2)


def predicted_grad_std(branch_init: str, layernorm: bool, depth: int) -> np.ndarray:
    """std(dL/dx_l) / std(dL/dx_depth) for l = 0..depth without LayerNorm: (1 + r)^((depth - l) / 2).

    Each block's Jacobian is I + J_f, and (fan_in = fan_out) J_f^T passes back r times the
    gradient's variance, so the gradient grows toward the input as the stream grows toward
    the output. With LayerNorm there is no such closed form here: all NaN.
    Introduced in notebooks/10_attention_residual.ipynb.
    """
    _check(branch_init, depth, 1)
    if layernorm:
        return np.full(depth + 1, np.nan)
    r, blocks = _branch_ratio(branch_init, depth), np.arange(depth + 1)
    return (1 + r) ** ((depth - blocks) / 2)


@dataclass(frozen=True)
class Stream(EndRatios):
    """What stream_profile measured: the stream's std and its gradient's std after each block.

    Index l = 0 is the input x_0, l = depth the output. A NaN entry is a value that was not
    finite (or not computed because the forward pass had already overflowed).
    """

    depth: int
    branch_init: str
    layernorm: bool
    width: int
    forward_std: np.ndarray
    grad_std: np.ndarray
    overflow_block: int | None  # first block whose output holds an inf/NaN
    grad_overflow_block: int | None  # deepest block whose gradient holds an inf/NaN

    @property
    def blocks(self) -> np.ndarray:
        return np.arange(self.depth + 1)

    def var_growth_per_block(self) -> float:
        """Geometric mean of Var(x_{l+1}) / Var(x_l) over the finite part of the stream."""
        s = self.forward_std[np.isfinite(self.forward_std)]
        return float((s[-1] / s[0]) ** (2 / (len(s) - 1))) if len(s) > 1 else math.nan


def _stds(tensors: list[torch.Tensor]) -> np.ndarray:
    out = np.full(len(tensors), np.nan)
    for i, t in enumerate(tensors):
        t = t.detach().double()
        if torch.isfinite(t).all():
            out[i] = float(t.std())
    return out


def _first_bad(stds: np.ndarray) -> int | None:
    bad = np.flatnonzero(~np.isfinite(stds))
    return int(bad[0]) if bad.size else None


def stream_profile(depth: int, branch_init: str = "he", layernorm: bool = False, *,
                   width: int = 128, batch: int = 128, seed: int = 0) -> Stream:
    """Push a N(0, 1) batch through `depth` residual blocks and back; record both stds per block.

    The loss is sum(x_L * R) with a fixed R ~ N(0, 1), so the gradient at the output has std
    ~1 and the gradient at block l shows how much the blocks above amplify it. Stds are
    taken in float64 (a float32 variance overflows long before the values do). Where the
    forward pass overflows, nothing is back-propagated: the gradient is all NaN.
    Introduced in notebooks/10_attention_residual.ipynb.
    """
    _check(branch_init, depth, width)
    validate.integer_in("batch", batch, 2)
    net = residual_blocks(depth, width, branch_init, layernorm=layernorm, seed=seed)
    gen = torch.Generator().manual_seed(seed + 7)
    x = torch.randn(batch, width, generator=gen).requires_grad_()
    readout = torch.randn(batch, width, generator=gen)
    xs = [x]
    with single_thread(), torch.enable_grad():
        for block in net:
            xs.append(block(xs[-1]))
        forward = _stds(xs)
        overflow = _first_bad(forward)
        grad = np.full(depth + 1, np.nan)
        if overflow is None:
            grads = torch.autograd.grad((xs[-1] * readout).sum(), xs)
            grad = _stds(list(grads))
    bad = np.flatnonzero(~np.isfinite(grad)) if overflow is None else np.array([], dtype=int)
    return Stream(depth, branch_init, bool(layernorm), width, forward, grad, overflow,
                  int(bad[-1]) if bad.size else None)


@dataclass(frozen=True)
class TrainingRuns:
    """Training histories of residual_classifier per branch init, one per seed (paired)."""

    seeds: tuple[int, ...]
    histories: dict[str, list[History]]

    def tail_losses(self, branch_init: str) -> list[float]:
        """train.tail_loss of each seed's run (inf where the run blew up)."""
        return [tail_loss(h) for h in self.histories[branch_init]]

    def blew_up(self, branch_init: str) -> list[bool]:
        """Per seed: did the loss become inf/NaN?"""
        return [not math.isfinite(h.final_loss) for h in self.histories[branch_init]]


def compare_training(data: Dataset, seeds: tuple[int, ...] | list[int],
                     branch_inits: tuple[str, ...] = BRANCH_INITS, *, depth: int = 50,
                     width: int = 32, steps: int = 60, lr: float = 0.01, momentum: float = 0.0,
                     batch_size: int = 64) -> TrainingRuns:
    """Train residual_classifier (no normalisation) from each branch init, for each seed.

    Init seed and minibatch seed are the seed, so runs of different inits pair up. A run
    whose loss becomes inf/NaN stops there (train.train records it). One thread: nets this
    small spend their time in per-op overhead. Introduced in notebooks/10_attention_residual.ipynb.
    """
    bad = [b for b in branch_inits if b not in BRANCH_INITS]
    if bad or not seeds:
        raise ValueError(f"branch_inits must come from {BRANCH_INITS} (got {bad}) and seeds "
                         f"must be non-empty (got {seeds!r})")
    histories: dict[str, list[History]] = {b: [] for b in branch_inits}
    with single_thread():
        for seed in seeds:
            for b in branch_inits:
                model = residual_classifier(b, depth, width, data.n_features, data.n_classes,
                                            seed=seed)
                histories[b].append(train(model, data, steps=steps, lr=lr, momentum=momentum,
                                          batch_size=batch_size, seed=seed))
    return TrainingRuns(tuple(seeds), histories)
