"""Comparing inits once the network trains: paired seeds, a depth x init sweep, update:data ratios.

Notebook 09's experiments, built on the training loop in helpers.train: the Xavier-versus-
uniform comparison of the source article on GlorotUniform, with paired seeds; the sweep over
depth and scheme; and Karpathy's update:data ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import validate
from helpers.nets import mlp
from helpers.progress import progress as progress_bar
from helpers.threads import single_thread
from helpers.train import SWEEP_SCHEMES, Dataset, History, build_classifier, tail_loss, train, train_many

__all__ = [
    "ARTICLE004_INITS",
    "article004_net",
    "PairedCurves",
    "article004_curves",
    "PairedDifference",
    "paired_difference",
    "SeedSummary",
    "Sweep",
    "sweep_depth_init",
    "update_ratios",
]


ARTICLE004_INITS: tuple[str, ...] = ("xavier_uniform", "uniform_0.1")
"""The two weight inits of the source article on GlorotUniform: xavier_uniform_ and uniform_(-0.1, 0.1)."""


def article004_net(weight_init: str, seed: int = 0) -> nn.Sequential:
    """The source article on GlorotUniform's 10-20-2 ReLU net: nn.Linear's biases, weights by `weight_init`.

    "xavier_uniform" is nn.init.xavier_uniform_ (bound sqrt(6 / (fan_in + fan_out)),
    0.45 and 0.52 here); "uniform_0.1" is nn.init.uniform_(w, -0.1, 0.1), as the article wrote.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    validate.one_of("weight_init", weight_init, ARTICLE004_INITS)
    model = mlp([10, 20, 2], "relu", "pytorch_default", seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    for layer in (model[0], model[2]):
        if weight_init == "xavier_uniform":
            nn.init.xavier_uniform_(layer.weight, generator=gen)
        else:
            nn.init.uniform_(layer.weight, -0.1, 0.1, generator=gen)
    return model


@dataclass(frozen=True)
class PairedCurves:
    """Test accuracy of paired runs over training: accuracy[init] is [seed, checkpoint]."""

    steps: tuple[int, ...]
    seeds: tuple[int, ...]
    accuracy: dict[str, torch.Tensor]

    def at(self, init: str, step: int) -> torch.Tensor:
        """One init's accuracy at one checkpoint, one value per seed."""
        return self.accuracy[init][:, self.steps.index(step)]


def article004_curves(
    data: Dataset,
    seeds: range | list[int],
    *,
    checkpoints: tuple[int, ...] = (0, 10, 20, 30, 60, 120, 240, 480, 960),
    lr: float = 0.05,
    momentum: float = 0.9,
) -> PairedCurves:
    """Test accuracy of article004_net under both inits, per seed, at each checkpoint.

    One seed fixes a run's biases and its minibatch order, shared by both inits, so
    runs pair up: compare them with paired_difference. Introduced in
    notebooks/09_init_in_training.ipynb.
    """
    if data.n_features != 10 or data.n_classes != 2:
        raise ValueError(f"the source article's net needs 10 features and 2 classes, got "
                         f"{data.n_features} and {data.n_classes}")
    seeds, checkpoints = list(seeds), tuple(checkpoints)
    models = [article004_net(name, s) for name in ARTICLE004_INITS for s in seeds]
    with single_thread():
        histories = train_many(models, data, seeds * len(ARTICLE004_INITS), steps=max(checkpoints),
                               lr=lr, momentum=momentum, checkpoints=checkpoints)
    acc = torch.tensor([[h.test_accuracy_at[k] for k in checkpoints] for h in histories],
                       dtype=torch.float64)
    per_init = dict(zip(ARTICLE004_INITS, acc.split(len(seeds)), strict=True))
    return PairedCurves(checkpoints, tuple(seeds), per_init)


@dataclass(frozen=True)
class PairedDifference:
    """Paired differences a - b over seeds: their mean, its standard error and the t statistic."""

    mean: float
    se: float
    n: int
    wins: int

    @property
    def t(self) -> float:
        """mean / se, the paired t statistic (inf if every difference is the same nonzero value)."""
        if self.se == 0:
            return 0.0 if self.mean == 0 else math.copysign(math.inf, self.mean)
        return self.mean / self.se

    def interval(self, k: float = 2.0) -> tuple[float, float]:
        """mean -+ k standard errors."""
        return self.mean - k * self.se, self.mean + k * self.se


def paired_difference(a: torch.Tensor, b: torch.Tensor) -> PairedDifference:
    """Compare two methods run on the same seeds: d = a - b per seed, mean and standard error.

    The seed moves both runs of a pair together (same data order, same biases), so the
    differences vary far less than either method's results: the paired test is the right
    one, and its standard error is sd(d) / sqrt(n). wins counts seeds where a > b.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    if a.shape != b.shape or a.ndim != 1 or a.numel() < 2:
        raise ValueError(f"need two 1-d tensors of one length >= 2, got {tuple(a.shape)}, {tuple(b.shape)}")
    d = (a - b).double()
    return PairedDifference(float(d.mean()), float(d.std() / math.sqrt(d.numel())), d.numel(),
                            int((d > 0).sum()))


@dataclass(frozen=True)
class SeedSummary:
    """Sweep.per_seed's numbers for one seed (losses are tail losses)."""

    seed: int
    gap_shallow: float  # best-to-worst plain scheme at the shallowest depth
    gap_deeper: float  # the largest such gap at any deeper depth
    stuck_shallow: int  # plain schemes stuck near chance at the shallowest depth
    stuck_deepest: int  # ... at the deepest depth
    small_vs_he: float  # |small - he|, mean over the deeper depths
    small_vs_he_bn: float  # the same with BatchNorm


@dataclass(frozen=True)
class Sweep:
    """Final (tail) losses of a depth x init sweep, indexed [scheme, depth, seed]."""

    schemes: tuple[str, ...]
    depths: tuple[int, ...]
    seeds: tuple[int, ...]
    loss: torch.Tensor

    def mean(self) -> torch.Tensor:
        """Loss averaged over seeds, [scheme, depth] (inf if any seed blew up)."""
        return self.loss.mean(dim=2)

    def at(self, scheme: str, depth: int) -> torch.Tensor:
        """The per-seed losses of one cell."""
        return self.loss[self.schemes.index(scheme), self.depths.index(depth)]

    def per_seed(self, stuck: float) -> list[SeedSummary]:
        """One SeedSummary per seed: how much init matters at the shallowest depth and deeper,
        how many plain (no BatchNorm) schemes end above `stuck` (a loss near chance), and how
        far apart small and He end with and without BatchNorm (mean over the deeper depths).
        Needs "small", "he", "small+bn" and "he+bn" among the schemes and two depths or more.
        Introduced in notebooks/09_init_in_training.ipynb.
        """
        need = {"small", "he", "small+bn", "he+bn"} - set(self.schemes)
        if need or len(self.depths) < 2:
            raise ValueError(f"per_seed needs the schemes {sorted(need)} and two depths or more")
        plain = [i for i, s in enumerate(self.schemes) if not s.endswith("+bn")]
        deeper = self.depths[1:]
        out = []
        for k, seed in enumerate(self.seeds):
            loss = self.loss[plain, :, k]
            gap = loss.max(0).values - loss.min(0).values
            n_stuck = (loss > stuck).sum(0)
            apart = {bn: float(np.mean([abs(float(self.at("small" + bn, d)[k] - self.at("he" + bn, d)[k]))
                                        for d in deeper])) for bn in ("", "+bn")}
            out.append(SeedSummary(seed, float(gap[0]), float(gap[1:].max()), int(n_stuck[0]),
                                   int(n_stuck[-1]), apart[""], apart["+bn"]))
        return out


def sweep_depth_init(
    data: Dataset,
    schemes: tuple[str, ...] = SWEEP_SCHEMES,
    depths: tuple[int, ...] = (2, 10, 30),
    seeds: tuple[int, ...] = (0, 1),
    *,
    width: int = 32,
    steps: int = 100,
    lr: float = 0.01,
    momentum: float = 0.9,
    progress: bool = False,
) -> Sweep:
    """Train a ReLU MLP for every (scheme, depth, seed) and record its tail_loss.

    Every cell uses the same data, optimiser and step budget, so only init (and
    BatchNorm) differ. One progress bar over all runs. Introduced in
    notebooks/09_init_in_training.ipynb.
    """
    bad = [s for s in schemes if s not in SWEEP_SCHEMES]
    if bad or not depths or not seeds or min(depths) < 1:
        raise ValueError(f"schemes must come from {SWEEP_SCHEMES} (got {bad}); depths >= 1 and "
                         f"seeds must be non-empty, got depths={depths}, seeds={seeds}")
    loss = torch.empty(len(schemes), len(depths), len(seeds), dtype=torch.float64)
    cells = [(i, j, k) for j in range(len(depths)) for i in range(len(schemes))
             for k in range(len(seeds))]
    with single_thread():
        for i, j, k in progress_bar(cells, total=len(cells), desc="depth x init sweep",
                                    enabled=progress):
            model = build_classifier(schemes[i], depths[j], width, data, seed=seeds[k])
            h = train(model, data, steps=steps, lr=lr, momentum=momentum, seed=seeds[k])
            loss[i, j, k] = tail_loss(h)
    return Sweep(tuple(schemes), tuple(depths), tuple(seeds), loss)


def update_ratios(
    model: nn.Module,
    data: Dataset,
    *,
    steps: int = 100,
    lr: float = 0.01,
    momentum: float = 0.0,
    seed: int = 0,
) -> tuple[History, torch.Tensor]:
    """Train and record Karpathy's update:data ratio log10(std(lr * grad) / std(W)) per step.

    One column per nn.Linear weight, one row per step. About -3 means each step moves a
    weight by a thousandth of its size; far below, the layer barely learns; far above, it
    thrashes. (With momentum the real step differs from lr * grad; this is the ratio
    Karpathy plots.) Introduced in notebooks/09_init_in_training.ipynb.
    """
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    rows: list[list[float]] = []

    def record(_model: nn.Module) -> None:
        with torch.no_grad():
            rows.append([math.log10(max(float((lr * w.grad).std() / w.std()), 1e-30))
                         for w in weights])

    with single_thread():
        history = train(model, data, steps=steps, lr=lr, momentum=momentum, seed=seed,
                        on_step=record)
    return history, torch.tensor(rows, dtype=torch.float64).reshape(-1, len(weights))
