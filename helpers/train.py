"""A small, seeded training loop on synthetic data made in-process (nothing is downloaded).

Used where a notebook asks what init changes once the network actually learns:
symmetry under constant init (03), deep ReLU nets (06), the sweeps of 09.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from helpers import validate
from helpers.progress import progress as progress_bar

__all__ = [
    "Dataset",
    "History",
    "make_blobs",
    "accuracy",
    "train",
    "train_side_by_side",
    "single_thread",
    "make_clusters",
    "ARTICLE004_INITS",
    "article004_net",
    "train_stacked",
    "PairedCurves",
    "article004_curves",
    "PairedDifference",
    "paired_difference",
    "SWEEP_SCHEMES",
    "build_classifier",
    "tail_loss",
    "Sweep",
    "sweep_depth_init",
    "update_ratios",
    "steps_to_loss",
]


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
    if not lr > 0 or not 0 <= momentum < 1:
        raise ValueError(f"need lr > 0 and 0 <= momentum < 1, got lr={lr}, momentum={momentum}")
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


def train_side_by_side(
    models: list[nn.Sequential],
    data: Dataset,
    seeds: list[int],
    *,
    steps: int = 300,
    lr: float = 0.1,
    momentum: float = 0.0,
    batch_size: int = 128,
) -> list[History]:
    """train() for several Linear/ReLU MLPs of one shape at once: one History per model.

    Run i is train(models[i], data, seed=seeds[i], steps=..., lr=..., momentum=...,
    batch_size=...): the same SGD (+momentum) on cross-entropy and the same minibatches,
    computed as one batched pass (a leading run axis, torch.baddbmm). The runs stay
    independent: the summed loss gives each run its own gradient and SGD acts elementwise,
    so only float rounding differs from train() (tests/test_he_figure.py compares). A run
    whose loss turns non-finite stops there, as in train(): its loss list ends with that
    value and its accuracies are measured at that point. The models are left untouched.
    Six 30-layer nets of width 64 train in about the time two take one by one, which lets
    notebook 06 follow three seeds per init. Introduced in notebooks/06_he_kaiming.ipynb.
    """
    if not models or len(seeds) != len(models):
        raise ValueError(f"need one seed per model, got {len(models)} models, {len(seeds)} seeds")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be >= 1, got {steps}, {batch_size}")
    if not lr > 0 or not 0 <= momentum < 1:
        raise ValueError(f"need lr > 0 and 0 <= momentum < 1, got lr={lr}, momentum={momentum}")
    kinds = {tuple(type(m).__name__ for m in model) for model in models}
    shapes = {tuple(tuple(m.weight.shape) for m in model if isinstance(m, nn.Linear)) for model in models}
    if len(kinds) != 1 or len(shapes) != 1 or not set(next(iter(kinds))) <= {"Linear", "ReLU"}:
        raise ValueError("train_side_by_side needs models of one shape built from nn.Linear and "
                         "nn.ReLU only")
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
            return (forward(x.expand(len(models), *x.shape)).argmax(2) == y).float().mean(1).tolist()

    histories = [History() for _ in models]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    opt = torch.optim.SGD(weights + biases, lr=lr, momentum=momentum)
    n = data.x_train.shape[0]
    running = list(range(len(models)))
    for _ in range(steps):
        idx = torch.stack([torch.randint(0, n, (min(batch_size, n),), generator=g) for g in gens])
        logits = forward(data.x_train[idx])
        per_run = nn.functional.cross_entropy(logits.flatten(0, 1), data.y_train[idx].flatten(),
                                              reduction="none").view(len(models), -1).mean(1)
        values = per_run.tolist()
        for i in running:
            histories[i].loss.append(values[i])
        stopped = [i for i in running if not math.isfinite(values[i])]
        if stopped:  # measured now, as train() measures a run that stops
            train_acc, test_acc = (accuracies(data.x_train, data.y_train),
                                   accuracies(data.x_test, data.y_test))
            for i in stopped:
                histories[i].train_accuracy, histories[i].test_accuracy = train_acc[i], test_acc[i]
            running = [i for i in running if i not in stopped]
            if not running:
                return histories
        opt.zero_grad()
        per_run[running].sum().backward()
        opt.step()
    train_acc, test_acc = accuracies(data.x_train, data.y_train), accuracies(data.x_test, data.y_test)
    for i in running:
        histories[i].train_accuracy, histories[i].test_accuracy = train_acc[i], test_acc[i]
    return histories


# --- 09: init in training: seed 004's comparison, depth x init sweep, update:data ratios ------


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block, then restore the previous setting.

    Nets this small spend their time in per-op overhead; on a shared 2-core machine two
    threads contend and a sweep runs several times slower than on one.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


ARTICLE004_INITS: tuple[str, ...] = ("xavier_uniform", "uniform_0.1")
"""Seed 004's two weight inits: torch's xavier_uniform_ and uniform_(-0.1, 0.1)."""


def article004_net(weight_init: str, seed: int = 0) -> nn.Sequential:
    """Seed 004's 10-20-2 ReLU net: nn.Linear's own bias init, weights re-drawn by `weight_init`.

    "xavier_uniform" is nn.init.xavier_uniform_ (bound sqrt(6 / (fan_in + fan_out)),
    0.45 and 0.52 here); "uniform_0.1" is nn.init.uniform_(w, -0.1, 0.1), as the article wrote.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    validate.one_of("weight_init", weight_init, ARTICLE004_INITS)
    from helpers.nets import mlp

    model = mlp([10, 20, 2], "relu", "pytorch_default", seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    for layer in (model[0], model[2]):
        if weight_init == "xavier_uniform":
            nn.init.xavier_uniform_(layer.weight, generator=gen)
        else:
            nn.init.uniform_(layer.weight, -0.1, 0.1, generator=gen)
    return model


def train_stacked(
    models: list[nn.Sequential],
    data: Dataset,
    seeds: list[int],
    *,
    checkpoints: tuple[int, ...],
    lr: float = 0.05,
    momentum: float = 0.9,
    batch_size: int = 128,
) -> torch.Tensor:
    """Train many small Linear/ReLU MLPs at once; test accuracy of each at each checkpoint.

    Run i is train(models[i], data, seed=seeds[i], ...) done in one batched pass: the
    same SGD (+momentum) on cross-entropy, the same minibatches (drawn from seeds[i]
    exactly as train() draws them), so two runs with one seed pair up. Summing the runs'
    mean losses gives each run its own gradient, and SGD acts elementwise, so the runs stay
    independent; only float rounding differs from train() (tests/test_train.py compares).
    Forty 10-20-2 nets train about as fast as one: what lets notebook 09 follow 20 seeds
    for a thousand steps. Returns [run, checkpoint]; checkpoint k is after k updates (0:
    at init). The models are left untouched. Introduced in notebooks/09_init_in_training.ipynb.
    """
    if not models or len(seeds) != len(models):
        raise ValueError(f"need one seed per model, got {len(models)} models, {len(seeds)} seeds")
    if not checkpoints or min(checkpoints) < 0 or list(checkpoints) != sorted(set(checkpoints)):
        raise ValueError(f"checkpoints must be increasing step counts >= 0, got {checkpoints}")
    if not lr > 0 or not 0 <= momentum < 1 or batch_size < 1:
        raise ValueError(f"need lr > 0, 0 <= momentum < 1, batch_size >= 1; got {lr}, {momentum}, "
                         f"{batch_size}")
    kinds = {tuple(type(m).__name__ for m in model) for model in models}
    shapes = {tuple(tuple(m.weight.shape) for m in model if isinstance(m, nn.Linear)) for model in models}
    if len(kinds) != 1 or len(shapes) != 1 or not set(next(iter(kinds))) <= {"Linear", "ReLU"}:
        raise ValueError("train_stacked needs models of one shape built from nn.Linear and nn.ReLU only")
    layers = [i for i, m in enumerate(models[0]) if isinstance(m, nn.Linear)]
    params = [torch.stack([model[i].weight.detach() for model in models]).requires_grad_()
              for i in layers] + [torch.stack([model[i].bias.detach() for model in models])
                                  .requires_grad_() for i in layers]
    weights, biases = params[:len(layers)], params[len(layers):]

    def forward(x: torch.Tensor) -> torch.Tensor:  # x: [run, batch, features]
        for j, (w, b) in enumerate(zip(weights, biases, strict=True)):
            x = torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))
            x = x.relu() if j < len(weights) - 1 else x
        return x

    def test_accuracy() -> torch.Tensor:
        with torch.no_grad():
            x = data.x_test.expand(len(models), *data.x_test.shape)
            return (forward(x).argmax(2) == data.y_test).double().mean(1)

    distinct = sorted(set(seeds))
    gens = {s: torch.Generator().manual_seed(s) for s in distinct}
    row = torch.tensor([distinct.index(s) for s in seeds])
    n, b = data.x_train.shape[0], min(batch_size, data.x_train.shape[0])
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    result = torch.empty(len(models), len(checkpoints), dtype=torch.float64)
    with single_thread():
        for step in range(checkpoints[-1] + 1):
            if step in checkpoints:
                result[:, checkpoints.index(step)] = test_accuracy()
            if step == checkpoints[-1]:
                break
            idx = torch.stack([torch.randint(0, n, (b,), generator=gens[s]) for s in distinct])[row]
            logits = forward(data.x_train[idx])
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               data.y_train[idx].reshape(-1), reduction="sum") / b
            opt.zero_grad()
            loss.backward()
            opt.step()
    return result


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
        raise ValueError(f"seed 004's net needs 10 features and 2 classes, got "
                         f"{data.n_features} and {data.n_classes}")
    seeds = list(seeds)
    models = [article004_net(name, s) for name in ARTICLE004_INITS for s in seeds]
    acc = train_stacked(models, data, seeds * len(ARTICLE004_INITS), checkpoints=tuple(checkpoints),
                        lr=lr, momentum=momentum)
    per_init = dict(zip(ARTICLE004_INITS, acc.split(len(seeds)), strict=True))
    return PairedCurves(tuple(checkpoints), tuple(seeds), per_init)


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
    from helpers.lsuv import lsuv_
    from helpers.nets import mlp

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
