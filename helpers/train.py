"""A small, seeded training loop on synthetic data made in-process (nothing is downloaded).

Used where a notebook asks what init changes once the network actually learns:
symmetry under constant init (03), deep ReLU nets (06), the experiments of 09
(helpers.compare). train() trains one net; train_many() trains many of one shape at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from helpers import validate
from helpers.lsuv import lsuv_
from helpers.nets import mlp
from helpers.progress import progress as progress_bar

__all__ = [
    "Dataset",
    "History",
    "make_blobs",
    "make_clusters",
    "accuracy",
    "train",
    "train_many",
    "SWEEP_SCHEMES",
    "build_classifier",
    "tail_loss",
    "steps_to_loss",
]


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors of a classification task (make_blobs, make_clusters build them).

    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """

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
    test_accuracy_at: dict[int, float] = field(default_factory=dict)
    """Test accuracy after k updates, at the checkpoints train_many was given."""

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
    on_step: Callable[[nn.Module], None] | None = None,
) -> History:
    """Train `model` with SGD (+momentum) on cross-entropy for `steps` minibatch steps.

    Minibatches are drawn with their own generator from `seed`, so two calls with
    the same model init and seed give the same History. A non-finite loss is
    recorded and training stops there (a blow-up is a result, not a crash).
    progress=True shows a progress bar (helpers.progress). on_step(model), if given, runs
    after each backward pass, before the update (where notebooks/09_init_in_training.ipynb
    reads the gradients).
    Introduced in notebooks/03_constant_and_random_init.ipynb.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be >= 1, got {steps}, {batch_size}")
    validate.sgd(lr, momentum)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loss_fn = nn.CrossEntropyLoss()
    history = History()
    n = data.x_train.shape[0]
    model.train()
    for _ in progress_bar(range(steps), total=steps, desc="training", unit="steps",
                          enabled=progress):
        idx = torch.randint(0, n, (min(batch_size, n),), generator=gen)
        loss = loss_fn(model(data.x_train[idx]), data.y_train[idx])
        history.loss.append(loss.item())
        if not math.isfinite(history.loss[-1]):
            break
        opt.zero_grad()
        loss.backward()
        if on_step is not None:
            on_step(model)
        opt.step()
    history.train_accuracy = accuracy(model, data.x_train, data.y_train)
    history.test_accuracy = accuracy(model, data.x_test, data.y_test)
    return history


def train_many(
    models: list[nn.Sequential],
    data: Dataset,
    seeds: list[int],
    *,
    steps: int = 300,
    lr: float = 0.1,
    momentum: float = 0.0,
    batch_size: int = 128,
    checkpoints: tuple[int, ...] = (),
) -> list[History]:
    """train() for many Linear/ReLU MLPs of one shape at once: one History per model.

    Run i is train(models[i], data, seed=seeds[i], steps=..., lr=..., momentum=...,
    batch_size=...): the same SGD (+momentum) on cross-entropy and the same minibatches,
    computed as one batched pass (a leading run axis, torch.baddbmm). The runs stay
    independent: the summed loss gives each run its own gradient and SGD acts elementwise,
    so only float rounding differs from train() (tests/test_train.py and
    tests/test_he_figure.py compare). A run whose loss turns non-finite stops there, as in
    train(): its loss list ends with that value and its accuracies are measured at that
    point. checkpoints lists step counts k (0 <= k <= steps) at which every run's test
    accuracy is also recorded, after k updates, in History.test_accuracy_at[k] (a run
    that stopped earlier keeps its accuracy at the stop). The models are left untouched.
    Six 30-layer nets of width 64 train in about the time two take one by one (notebook
    06 follows three seeds per init); forty 10-20-2 nets train about as fast as one
    (notebook 09 follows 20 seeds for 1920 steps). Introduced in notebooks/06_he_kaiming.ipynb.
    """
    if not models or len(seeds) != len(models):
        raise ValueError(f"need one seed per model, got {len(models)} models, {len(seeds)} seeds")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be >= 1, got {steps}, {batch_size}")
    validate.sgd(lr, momentum)
    if list(checkpoints) != sorted(set(checkpoints)) or any(not 0 <= k <= steps for k in checkpoints):
        raise ValueError(f"checkpoints must be increasing step counts in [0, steps={steps}], "
                         f"got {checkpoints}")
    kinds = {tuple(type(m).__name__ for m in model) for model in models}
    shapes = {tuple(tuple(m.weight.shape) for m in model if isinstance(m, nn.Linear)) for model in models}
    if len(kinds) != 1 or len(shapes) != 1 or not set(next(iter(kinds))) <= {"Linear", "ReLU"}:
        raise ValueError("train_many needs models of one shape built from nn.Linear and nn.ReLU only")
    layers = [[m for m in model if isinstance(m, nn.Linear)] for model in models]
    weights = [torch.stack([run[j].weight.detach().t() for run in layers]).contiguous().requires_grad_()
               for j in range(len(layers[0]))]  # [run, in, out]
    biases = [torch.stack([run[j].bias.detach() for run in layers]).unsqueeze(1).requires_grad_()
              for j in range(len(layers[0]))]  # [run, 1, out]

    def forward(x: torch.Tensor) -> torch.Tensor:  # x: [run, batch, features] -> logits
        for j, (w, b) in enumerate(zip(weights, biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            x = x.relu() if j < len(weights) - 1 else x
        return x

    def accuracies(x: torch.Tensor, y: torch.Tensor) -> list[float]:
        with torch.no_grad():
            return (forward(x.expand(len(models), *x.shape)).argmax(2) == y).double().mean(1).tolist()

    def finish(runs: list[int]) -> None:  # a run's accuracies where it ends
        train_acc, test_acc = accuracies(data.x_train, data.y_train), accuracies(data.x_test, data.y_test)
        for i in runs:
            histories[i].train_accuracy, histories[i].test_accuracy = train_acc[i], test_acc[i]
            histories[i].test_accuracy_at.update({k: test_acc[i] for k in checkpoints
                                                  if k not in histories[i].test_accuracy_at})

    histories = [History() for _ in models]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    opt = torch.optim.SGD(weights + biases, lr=lr, momentum=momentum)
    n = data.x_train.shape[0]
    running = list(range(len(models)))
    for step in range(steps):
        if step in checkpoints:
            test_acc = accuracies(data.x_test, data.y_test)
            for i in running:
                histories[i].test_accuracy_at[step] = test_acc[i]
        idx = torch.stack([torch.randint(0, n, (min(batch_size, n),), generator=g) for g in gens])
        logits = forward(data.x_train[idx])
        per_run = nn.functional.cross_entropy(logits.flatten(0, 1), data.y_train[idx].flatten(),
                                              reduction="none").view(len(models), -1).mean(1)
        values = per_run.tolist()
        for i in running:
            histories[i].loss.append(values[i])
        stopped = [i for i in running if not math.isfinite(values[i])]
        if stopped:  # measured now, as train() measures a run that stops
            finish(stopped)
            running = [i for i in running if i not in stopped]
            if not running:
                return histories
        opt.zero_grad()
        per_run[running].sum().backward()
        opt.step()
    finish(running)
    return histories


def make_clusters(
    n_samples: int = 2000,
    n_features: int = 10,
    n_classes: int = 2,
    clusters_per_class: int = 4,
    separation: float = 1.5,
    seed: int = 0,
) -> Dataset:
    """make_blobs with several Gaussian clusters per class (cluster k has class k mod n_classes).

    A class made of scattered clusters is not linearly separable, so the hidden layer
    has work to do. Introduced in notebooks/09_init_in_training.ipynb.
    """
    if clusters_per_class < 1:
        raise ValueError(f"clusters_per_class must be >= 1, got {clusters_per_class}")
    d = make_blobs(n_samples, n_features, n_classes * clusters_per_class, separation, seed=seed)
    return Dataset(d.x_train, d.y_train % n_classes, d.x_test, d.y_test % n_classes)


SWEEP_SCHEMES: tuple[str, ...] = (
    "small", "xavier", "pytorch_default", "orthogonal", "he", "lsuv", "small+bn", "he+bn",
)
"""Schemes of the depth sweep: "small" is N(0, small_std^2); "+bn" adds BatchNorm1d."""


def build_classifier(
    scheme: str,
    depth: int,
    width: int,
    data: Dataset,
    *,
    activation: str = "relu",
    small_std: float = 0.01,
    seed: int = 0,
) -> nn.Sequential:
    """An MLP of `depth` Linear layers (depth - 1 hidden layers of `width`) for `data`.

    scheme is one of SWEEP_SCHEMES; "lsuv" runs lsuv_ on the first 256 training rows.
    Introduced in notebooks/06_he_kaiming.ipynb.
    """
    validate.one_of("scheme", scheme, SWEEP_SCHEMES)
    if depth < 1 or width < 1:
        raise ValueError(f"need depth >= 1 and width >= 1, got depth={depth}, width={width}")

    base, batchnorm = scheme.removesuffix("+bn"), scheme.endswith("+bn")
    init = {"small": "fixed", "lsuv": "orthogonal"}.get(base, base)
    widths = [data.n_features] + [width] * (depth - 1) + [data.n_classes]
    model = mlp(widths, activation, init, std=small_std if base == "small" else None,
                batchnorm=batchnorm, seed=seed)
    if base == "lsuv":
        lsuv_(model, data.x_train[:256], generator=torch.Generator().manual_seed(seed))
    return model


def tail_loss(history: History, fraction: float = 0.1) -> float:
    """Mean training loss over the last `fraction` of steps; inf if training blew up.

    Smoother than the last minibatch's loss. Introduced in notebooks/06_he_kaiming.ipynb.
    """
    if not history.loss or not math.isfinite(history.loss[-1]):
        return math.inf
    k = max(1, int(len(history.loss) * fraction))
    return sum(history.loss[-k:]) / k


def steps_to_loss(history: History, threshold: float, window: int = 20) -> int | None:
    """First step at which the running mean of `window` losses is <= threshold; None if never.

    "How fast does it train": one number per run, robust to minibatch noise.
    Introduced in notebooks/06_he_kaiming.ipynb.
    """
    if window < 1 or not math.isfinite(threshold):
        raise ValueError(f"need window >= 1 and a finite threshold, got {window}, {threshold}")
    loss = history.loss
    for end in range(window, len(loss) + 1):
        if sum(loss[end - window:end]) / window <= threshold:
            return end
    return None
