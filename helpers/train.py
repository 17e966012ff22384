"""A small, seeded training loop on synthetic data made in-process (nothing is downloaded).

Used where a notebook asks what init changes once the network actually learns:
symmetry under constant init (03), deep ReLU nets (06), the sweeps of 09.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["Dataset", "History", "make_blobs", "accuracy", "train"]


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors of a classification task."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(torch.cat([self.y_train, self.y_test]).max()) + 1


def make_blobs(
    n_samples: int = 2000,
    n_features: int = 10,
    n_classes: int = 2,
    separation: float = 1.5,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> Dataset:
    """Gaussian blobs: one N(centre, I) cloud per class, centres ~ N(0, separation^2 I).

    A task a shallow net learns in seconds, with overlap so accuracy stays below 1.
    Inputs are standardised with the training set's mean and std.
    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    if n_samples < 4 or n_features < 1 or n_classes < 2:
        raise ValueError(
            "need n_samples >= 4, n_features >= 1, n_classes >= 2; got "
            f"{n_samples}, {n_features}, {n_classes}"
        )
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    gen = torch.Generator().manual_seed(seed)
    centres = separation * torch.randn(n_classes, n_features, generator=gen)
    y = torch.randint(0, n_classes, (n_samples,), generator=gen)
    x = centres[y] + torch.randn(n_samples, n_features, generator=gen)
    n_test = max(1, int(round(test_fraction * n_samples)))
    x_train, x_test = x[n_test:], x[:n_test]
    mean, std = x_train.mean(0), x_train.std(0)
    return Dataset((x_train - mean) / std, y[n_test:], (x_test - mean) / std, y[:n_test])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows of x whose argmax logit is the label y (model in eval mode, no grad)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        acc = float((model(x).argmax(1) == y).float().mean())
    model.train(was_training)
    return acc


@dataclass
class History:
    """What train() measured: loss per step, and accuracies at the end."""

    loss: list[float] = field(default_factory=list)
    train_accuracy: float = math.nan
    test_accuracy: float = math.nan

    @property
    def final_loss(self) -> float:
        return self.loss[-1] if self.loss else math.nan


def train(
    model: nn.Module,
    data: Dataset,
    *,
    steps: int = 300,
    lr: float = 0.1,
    momentum: float = 0.0,
    batch_size: int = 128,
    seed: int = 0,
    progress: bool = False,
) -> History:
    """Train `model` with SGD (+momentum) on cross-entropy for `steps` minibatch steps.

    Minibatches are drawn with their own generator from `seed`, so two calls with
    the same model init and seed give the same History. A non-finite loss is
    recorded and training stops there (a blow-up is a result, not a crash).
    progress=True shows a tqdm bar. Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be >= 1, got {steps}, {batch_size}")
    if not lr > 0 or not 0 <= momentum < 1:
        raise ValueError(f"need lr > 0 and 0 <= momentum < 1, got lr={lr}, momentum={momentum}")
    from tqdm.auto import trange

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loss_fn = nn.CrossEntropyLoss()
    history = History()
    n = data.x_train.shape[0]
    model.train()
    for _ in trange(steps, disable=not progress, leave=False):
        idx = torch.randint(0, n, (min(batch_size, n),), generator=gen)
        loss = loss_fn(model(data.x_train[idx]), data.y_train[idx])
        history.loss.append(float(loss))
        if not math.isfinite(history.loss[-1]):
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    history.train_accuracy = accuracy(model, data.x_train, data.y_train)
    history.test_accuracy = accuracy(model, data.x_test, data.y_test)
    return history
