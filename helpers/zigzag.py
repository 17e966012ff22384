"""The sigmoid "zig-zag": the one-weight experiment of the source article on the sigmoid sawtooth
(由sigmod权重曲线存在锯齿的探索, "exploring the sawtooth in a sigmoid weight curve"), what really
causes its oscillation, and the genuine zig-zag of a neuron fed all-positive inputs (LeCun et al.
1998, CS231n).

Two demos, kept apart:

- the source article's run (1-D): Linear(1, 1, bias=False) -> Sigmoid on four points, MSE, SGD.
  With one weight nothing can zig-zag *between* weights; its late oscillation is the step size against
  the curvature, lr * L''(w) > 2 near the minimum.
- the 2-D neuron: y = w . x trained example by example. If every input x_i > 0 (sigmoid
  outputs), the gradient 2 (w . x - y) x has components that all share the sign of the error,
  so each step moves both weights the same way and the path zig-zags down a narrow valley.

Computing only: figures live in helpers.plots, widgets in helpers.widgets.
Introduced in notebooks/07_sigmoid_zigzag.ipynb; the fixes in notebooks/08_fixes.ipynb.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from helpers import validate
from helpers.nets import make_activation
from helpers.threads import single_thread

__all__ = [
    "ARTICLE002_X",
    "ARTICLE002_Y",
    "FIXES",
    "MOMENTUM",
    "INPUT_ACTIVATIONS",
    "W0",
    "W_STAR",
    "parse_fix",
    "article002_initial_weight",
    "article002_model",
    "Article002Run",
    "run_article002",
    "Article002Runs",
    "run_article002_from",
    "run_article002_many",
    "FLIP_TOL",
    "direction_flips",
    "article002_loss",
    "curvature_closed_form",
    "curvature_autograd",
    "article002_minimum",
    "critical_lr",
    "article002_loss_at",
    "article002_best_affine_loss",
    "Inputs",
    "make_inputs",
    "Trajectory",
    "train_neuron",
    "loss_grid",
    "best_run",
    "run_neuron",
]

ARTICLE002_X: tuple[float, ...] = (10.0, 2.0, 11.0, 21.0)
ARTICLE002_Y: tuple[float, ...] = (0.9, 0.2, 0.92, 0.987)
"""The source article's four training points (x, y), exactly as the article has them."""

FIXES: tuple[str, ...] = ("batchnorm", "momentum", "tanh")
"""The fixes the source article proposes: BatchNorm1d between the layers, SGD momentum, tanh for sigmoid."""

MOMENTUM = 0.9
"""The momentum the source article uses with its "momentum" fix."""

FLIP_TOL = 1e-6
"""Moves shorter than this (float32 rounding once a run has converged) are not directions."""


# --- the source article's run: one weight ---------------------------------------------------


def parse_fix(fix: str | Sequence[str] | None) -> tuple[str, ...]:
    """Normalise `fix` (None, one name or a list of names from FIXES) to a sorted tuple."""
    names = () if fix is None else (fix,) if isinstance(fix, str) else tuple(fix)
    bad = [f for f in names if f not in FIXES]
    if bad:
        raise ValueError(f"fix must be None, one of {FIXES} or a list of them, got {bad[0]!r}")
    return tuple(sorted(set(names)))


def _check_run_args(steps: int, lr: float, momentum: float) -> None:
    validate.integer_in("steps", steps, 1)
    validate.sgd(lr, momentum)


def article002_initial_weight(seed: int = 0) -> float:
    """The weight nn.Linear(1, 1, bias=False) starts from after torch.manual_seed(seed).

    nn.Linear's default init is kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) = U(-1, 1) here, drawn from the default generator. A fresh
    torch.Generator seeded with `seed` yields the same number without touching global state:
    seed 0 gives -0.00749, the start of the curriculum's quick run.
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    gen = torch.Generator().manual_seed(seed)
    weight = torch.empty(1, 1)
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=gen)
    return float(weight)


def article002_model(fix: str | Sequence[str] | None = None, seed: int = 0) -> nn.Sequential:
    """The source article's model: Linear(1, 1, bias=False) [-> BatchNorm1d(1)] -> Sigmoid (or Tanh).

    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    fixes = parse_fix(fix)
    linear = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        linear.weight.fill_(article002_initial_weight(seed))
    layers: list[nn.Module] = [linear]
    if "batchnorm" in fixes:
        layers.append(nn.BatchNorm1d(1))
    layers.append(make_activation("tanh" if "tanh" in fixes else "sigmoid"))
    return nn.Sequential(*layers)


def direction_flips(path: np.ndarray, tol: float = FLIP_TOL) -> int:
    """How often a path reverses: consecutive moves with a negative dot product.

    `path` is (T,) for one weight or (T, d) for d weights. Moves shorter than `tol` are
    ignored (no direction). For one weight this counts the sign changes of w[t+1] - w[t].
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    moves = np.diff(np.asarray(path, dtype=float).reshape(len(path), -1), axis=0)
    real = np.linalg.norm(moves, axis=1) > tol
    dots = np.einsum("ti,ti->t", moves[1:], moves[:-1])
    return int(np.sum((dots < 0) & real[1:] & real[:-1]))


@dataclass(frozen=True)
class Article002Run:
    """One training run of the source article's model: the weight and loss after each step."""

    weights: np.ndarray
    losses: np.ndarray
    flips: int
    initial_weight: float
    fix: tuple[str, ...]
    lr: float
    momentum: float

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    def steps_to(self, threshold: float) -> int | None:
        """First step (1-based) after which the loss is <= threshold; None if never."""
        hit = np.flatnonzero(self.losses <= threshold)
        return int(hit[0]) + 1 if hit.size else None

    def late_swing(self, last: int = 20) -> float:
        """max - min of the last `last` weights: ~0 once converged, large if it oscillates."""
        tail = self.weights[-last:]
        return float(tail.max() - tail.min())


def run_article002(fix: str | Sequence[str] | None = None, *, steps: int = 100, lr: float = 1.0,
                seed: int = 0, momentum: float = MOMENTUM) -> Article002Run:
    """The source article's experiment exactly: X = [10, 2, 11, 21], Y = [0.9, 0.2, 0.92, 0.987],
    MSE, torch.optim.SGD on the whole batch, float32.

    fix: None, "batchnorm", "momentum", "tanh" or a list of them; `momentum` is the SGD
    momentum used when "momentum" is among them (the article: 0.9). The weight and loss are
    recorded after each step; flips counts direction changes of the recorded weights (the
    curve the article plots). Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    fixes = parse_fix(fix)
    _check_run_args(steps, lr, momentum)
    model = article002_model(fixes, seed)
    x = torch.tensor(ARTICLE002_X).unsqueeze(1)
    y = torch.tensor(ARTICLE002_Y).unsqueeze(1)
    beta = momentum if "momentum" in fixes else 0.0
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=beta)
    weights, losses = np.empty(steps), np.empty(steps)
    with single_thread():  # four numbers: one thread avoids the contention of two
        for t in range(steps):
            opt.zero_grad()
            (model(x) - y).pow(2).mean().backward()
            opt.step()
            weights[t] = model[0].weight.item()
            with torch.no_grad():
                losses[t] = float((model(x) - y).pow(2).mean())
    return Article002Run(weights, losses, direction_flips(weights), article002_initial_weight(seed),
                      fixes, lr, beta)


@dataclass(frozen=True)
class Article002Runs:
    """The source article's experiment from many starts at once: weights and losses are (steps, runs)."""

    initial_weights: np.ndarray
    weights: np.ndarray
    losses: np.ndarray
    fix: tuple[str, ...]
    lrs: np.ndarray
    momentum: float

    @property
    def final_weights(self) -> np.ndarray:
        return self.weights[-1]

    @property
    def final_losses(self) -> np.ndarray:
        return self.losses[-1]

    def first(self, steps: int) -> Article002Runs:
        """The same runs cut after `steps` steps (a shorter run is a prefix of a longer one)."""
        return replace(self, weights=self.weights[:steps], losses=self.losses[:steps])

    def subset(self, which: np.ndarray) -> Article002Runs:
        """The runs selected by a boolean mask or index array over runs."""
        return replace(self, initial_weights=self.initial_weights[which],
                       weights=self.weights[:, which], losses=self.losses[:, which],
                       lrs=self.lrs[which])

    def distinct_late(self, last: int = 40, decimals: int = 4) -> np.ndarray:
        """How many different values each run's last `last` weights take, rounded to
        `decimals`: 1 once settled, 2 for a two-step bounce, 4 for a four-step one, and up to
        `last` when the bouncing never repeats."""
        tail = np.round(self.weights[-last:], decimals)
        return np.array([len(np.unique(tail[:, k])) for k in range(tail.shape[1])])

    def flips(self, last: int | None = None) -> np.ndarray:
        """Direction flips of each run's weight curve (of its last `last` weights if given)."""
        tail = self.weights if last is None else self.weights[-last:]
        return np.array([direction_flips(tail[:, k]) for k in range(tail.shape[1])])

    def late_swing(self, last: int = 20) -> np.ndarray:
        """max - min of each run's last `last` weights (Article002Run.late_swing, per run)."""
        tail = self.weights[-last:]
        return tail.max(0) - tail.min(0)


def run_article002_from(starts: Sequence[float], fix: str | Sequence[str] | None = None, *,
                     steps: int = 100, lr: float | Sequence[float] = 1.0,
                     momentum: float = MOMENTUM) -> Article002Runs:
    """The source article's experiment from each weight in `starts`, as one batch of independent models.

    lr is one learning rate for all runs or one per start. The step is torch.optim.SGD's
    (v = beta v + g, w -= lr v, v = 0 before the first step); BatchNorm's statistics are taken
    over each model's own four points, as BatchNorm1d does in training. One batched float32
    computation is ~50x faster than separate runs and agrees with run_article002 up to float32
    rounding. Where a run is chaotic (lr = 1 in the valley) those differences grow, so single
    late weights differ from run_article002's while the band they stay in does not.
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    fixes = parse_fix(fix)
    w0 = np.asarray(starts, dtype=float).ravel()
    lrs = np.broadcast_to(np.asarray(lr, dtype=float), w0.shape).copy() if w0.size else w0
    if not w0.size or not np.all(np.isfinite(w0)):
        raise ValueError("starts must list at least one finite weight")
    for value in np.unique(lrs):
        _check_run_args(steps, float(value), momentum)
    x, y = torch.tensor(ARTICLE002_X), torch.tensor(ARTICLE002_Y)
    params = [torch.tensor(w0, dtype=torch.float32).unsqueeze(1).requires_grad_()]
    if "batchnorm" in fixes:  # BatchNorm1d(1)'s scale and shift, one pair per model
        params += [torch.ones(len(w0), 1, requires_grad=True),
                   torch.zeros(len(w0), 1, requires_grad=True)]
    act = torch.tanh if "tanh" in fixes else torch.sigmoid
    beta = momentum if "momentum" in fixes else 0.0
    lr_t = torch.tensor(lrs, dtype=torch.float32).unsqueeze(1)
    velocity = [torch.zeros_like(p) for p in params]

    def losses() -> torch.Tensor:
        z = params[0] * x
        if "batchnorm" in fixes:
            mean, var = z.mean(1, keepdim=True), z.var(1, unbiased=False, keepdim=True)
            z = params[1] * (z - mean) / torch.sqrt(var + 1e-5) + params[2]
        return (act(z) - y).pow(2).mean(1)

    weights, out = np.empty((steps, len(w0))), np.empty((steps, len(w0)))
    with single_thread():
        for t in range(steps):
            grads = torch.autograd.grad(losses().sum(), params)  # independent models
            with torch.no_grad():
                for p, v, g in zip(params, velocity, grads, strict=True):
                    v.mul_(beta).add_(g)
                    p.sub_(lr_t * v)
                weights[t] = params[0][:, 0].numpy()
                out[t] = losses().numpy()
    return Article002Runs(w0, weights, out, fixes, lrs, beta)


def run_article002_many(seeds: Sequence[int], fix: str | Sequence[str] | None = None, *,
                     steps: int = 100, lr: float | Sequence[float] = 1.0,
                     momentum: float = MOMENTUM) -> Article002Runs:
    """run_article002 for every seed in `seeds` at once: each start is the weight nn.Linear
    draws under torch.manual_seed(seed), a draw of U(-1, 1). See run_article002_from.

    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    return run_article002_from([article002_initial_weight(int(s)) for s in seeds], fix, steps=steps,
                            lr=lr, momentum=momentum)


def article002_loss(w: np.ndarray | float, activation: str = "sigmoid") -> np.ndarray:
    """L(w) = mean_i (act(w x_i) - y_i)^2 of the source article's data, for an array of weights (float64).

    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    validate.one_of("activation", activation, ("sigmoid", "tanh"))
    act = torch.sigmoid if activation == "sigmoid" else torch.tanh
    w = torch.as_tensor(np.asarray(w, dtype=float)).unsqueeze(-1)
    x = torch.tensor(ARTICLE002_X, dtype=torch.float64)
    y = torch.tensor(ARTICLE002_Y, dtype=torch.float64)
    return (act(w * x) - y).pow(2).mean(-1).numpy()


def curvature_closed_form(w: np.ndarray | float) -> np.ndarray:
    """L''(w) of the source article's sigmoid loss, by hand: with s_i = sigmoid(w x_i),

    L''(w) = mean_i 2 x_i^2 [ (s_i (1 - s_i))^2 + (s_i - y_i) s_i (1 - s_i)(1 - 2 s_i) ].
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    w = np.asarray(w, dtype=float)[..., None]
    x, y = np.array(ARTICLE002_X), np.array(ARTICLE002_Y)
    s = 1 / (1 + np.exp(-w * x))
    ds = s * (1 - s)
    return np.mean(2 * x**2 * (ds**2 + (s - y) * ds * (1 - 2 * s)), axis=-1)


def curvature_autograd(w: float, activation: str = "sigmoid") -> float:
    """L''(w) of the source article's loss by differentiating twice with torch.autograd (float64).

    The check on curvature_closed_form; with activation="tanh", the curvature of the tanh
    variant (notebook 08). Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    validate.one_of("activation", activation, ("sigmoid", "tanh"))
    act = torch.sigmoid if activation == "sigmoid" else torch.tanh
    wt = torch.tensor(float(w), dtype=torch.float64, requires_grad=True)
    x = torch.tensor(ARTICLE002_X, dtype=torch.float64)
    y = torch.tensor(ARTICLE002_Y, dtype=torch.float64)
    loss = (act(wt * x) - y).pow(2).mean()
    (grad,) = torch.autograd.grad(loss, wt, create_graph=True)
    (second,) = torch.autograd.grad(grad, wt)
    return float(second)


def article002_minimum(activation: str = "sigmoid") -> tuple[float, float, float]:
    """(w*, L(w*), L''(w*)) of the source article's loss: grid search, then Newton steps.

    activation="tanh" gives the minimum of the tanh variant (notebook 08).
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    grid = np.linspace(-1.0, 3.0, 4001)
    w = float(grid[np.argmin(article002_loss(grid, activation))])
    act = torch.sigmoid if activation == "sigmoid" else torch.tanh

    def curvature(v: float) -> float:
        if activation == "sigmoid":
            return float(curvature_closed_form(v))
        return curvature_autograd(v, activation)

    for _ in range(20):
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        x = torch.tensor(ARTICLE002_X, dtype=torch.float64)
        loss = (act(wt * x) - torch.tensor(ARTICLE002_Y, dtype=torch.float64)).pow(2).mean()
        (grad,) = torch.autograd.grad(loss, wt)
        w -= float(grad) / curvature(w)
    return w, float(article002_loss(w, activation)), curvature(w)


def critical_lr(curvature: float) -> float:
    """The largest stable learning rate for a minimum of curvature L'': 2 / L''.

    Near the minimum gradient descent maps w - w* to (1 - lr L'') (w - w*): it converges iff
    |1 - lr L''| < 1, i.e. lr < 2 / L''; below 1 / L'' it approaches without crossing.
    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    if not curvature > 0:
        raise ValueError(f"curvature must be > 0 (a minimum), got {curvature!r}")
    return 2.0 / curvature


def article002_loss_at(weight: float, fix: str | Sequence[str] | None = None) -> float:
    """The source article's loss with the first layer's weight set to `weight`, everything else at init.

    With "batchnorm" the layer's output is normalised over the batch, so any weight of the same
    sign gives (almost) the same loss: BatchNorm makes the loss blind to the weight's scale.
    Introduced in notebooks/08_fixes.ipynb.
    """
    model = article002_model(fix)
    with torch.no_grad():
        model[0].weight.fill_(weight)
        x = torch.tensor(ARTICLE002_X).unsqueeze(1)
        return float((model(x) - torch.tensor(ARTICLE002_Y).unsqueeze(1)).pow(2).mean())


def article002_best_affine_loss(steps: int = 200) -> tuple[float, float, float]:
    """(a, b, loss): the best fit sigmoid(a x + b) of the source article's data, by L-BFGS in float64.

    BatchNorm followed by its learnable scale and shift turns w x into gamma (w x - mean) / std
    + beta, an affine function of x: it adds the bias the source article's layer lacks. This is the lowest
    loss that model can reach. Introduced in notebooks/08_fixes.ipynb.
    """
    params = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(ARTICLE002_X, dtype=torch.float64)
    y = torch.tensor(ARTICLE002_Y, dtype=torch.float64)
    opt = torch.optim.LBFGS([params], max_iter=steps, tolerance_grad=1e-12,
                            tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (torch.sigmoid(params[0] * x + params[1]) - y).pow(2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    a, b = params.detach().tolist()
    return a, b, float((torch.sigmoid(a * x + b) - y).pow(2).mean())


# --- the real zig-zag: a neuron with two weights ----------------------------------------------

INPUT_ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh")
"""What the previous layer applies before the 2-D neuron: sigmoid (outputs > 0) or tanh."""

W0: tuple[float, float] = (-1.0, 1.5)
W_STAR: tuple[float, float] = (1.0, -1.0)
"""Start and target weights of the 2-D neuron: reaching W_STAR needs w1 up and w2 down."""


@dataclass(frozen=True)
class Inputs:
    """Inputs x (n, 2) of the 2-D neuron, its targets y = x . W_STAR and how they were made."""

    x: np.ndarray
    y: np.ndarray
    activation: str
    centring: float
    batchnorm: bool

    @property
    def hessian(self) -> np.ndarray:
        """Hessian of the loss mean((w . x - y)^2): 2 E[x x^T]."""
        return 2 * self.x.T @ self.x / len(self.x)

    @property
    def condition_number(self) -> float:
        """Largest over smallest curvature: how narrow the valley is."""
        eig = np.linalg.eigvalsh(self.hessian)
        return float(eig[-1] / eig[0])

    def loss(self, weights: np.ndarray) -> np.ndarray:
        """mean_i (w . x_i - y_i)^2 for each row of `weights` (..., 2), via the Hessian."""
        d = np.asarray(weights, dtype=float) - np.array(W_STAR)
        return 0.5 * np.einsum("...i,ij,...j->...", d, self.hessian, d)


def make_inputs(activation: str = "sigmoid", *, centring: float = 0.0, batchnorm: bool = False,
                spread: float = 1.0, n: int = 256, seed: int = 0) -> Inputs:
    """Two inputs per example: a previous layer's outputs, activation(z) with z ~ N(0, spread^2).

    centring c in [0, 1] subtracts c times the inputs' mean and rescales them to their former
    mean square E[x^2], so a given lr means the same step size and only their direction
    changes (c = 1: centred). batchnorm passes them through nn.BatchNorm1d(2) in training
    mode (mean 0, variance 1 over the data). Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    validate.one_of("activation", activation, INPUT_ACTIVATIONS)
    if not 0.0 <= centring <= 1.0:
        raise ValueError(f"centring must be in [0, 1], got {centring!r}")
    if not (spread > 0 and n >= 2):
        raise ValueError(f"need spread > 0 and n >= 2, got spread={spread!r}, n={n!r}")
    z = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    out = make_activation(activation)(z * spread)
    x = out - centring * out.mean(0)
    x = x * torch.sqrt(out.pow(2).mean() / x.pow(2).mean())
    if batchnorm:
        x = nn.BatchNorm1d(2, dtype=torch.float64)(x).detach()
    x = x.numpy()
    return Inputs(x, x @ np.array(W_STAR), activation, centring, batchnorm)


@dataclass(frozen=True)
class Trajectory:
    """The 2-D neuron's weights and loss after each step (row 0: the start)."""

    weights: np.ndarray
    losses: np.ndarray
    same_sign: float
    flips: int
    steps_to_threshold: int | None
    diverged_at: int | None
    lr: float
    momentum: float

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])


def _sgd_path(x: np.ndarray, y: np.ndarray, order: np.ndarray, lr: float, momentum: float,
              w0: Sequence[float]) -> tuple[list[tuple[float, float]], int, int]:
    """Per-example SGD (torch.optim.SGD's momentum rule: v = beta v + g; w -= lr v) in plain
    floats, which is ~20x faster than tensors for two weights. Stops if |w| passes 1e6.
    Returns the path, how many gradients had both components non-zero and how many of those
    shared a sign."""
    w1, w2 = float(w0[0]), float(w0[1])
    v1 = v2 = 0.0
    path, nonzero, same = [(w1, w2)], 0, 0
    for i in order:
        a1, a2 = x[i]
        err = 2.0 * (w1 * a1 + w2 * a2 - y[i])
        g1, g2 = err * a1, err * a2
        if g1 != 0.0 and g2 != 0.0:
            nonzero += 1
            same += (g1 > 0) == (g2 > 0)
        v1, v2 = momentum * v1 + g1, momentum * v2 + g2
        w1, w2 = w1 - lr * v1, w2 - lr * v2
        path.append((w1, w2))
        if not abs(w1) + abs(w2) < 1e6:
            break
    return path, nonzero, same


def train_neuron(inputs: Inputs, *, lr: float = 0.2, momentum: float = 0.0, steps: int = 400,
                 threshold: float = 1e-3, w0: Sequence[float] = W0, seed: int = 0) -> Trajectory:
    """Train y = w . x from w0 with SGD, one example per step (the order shuffled by `seed`).

    same_sign is the fraction of steps (with a non-zero gradient) whose two gradient components
    share a sign: 1 exactly when every input is positive. A run whose weights pass 1e6 stops
    there (diverged_at) and its final loss is inf. Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    _check_run_args(steps, lr, momentum)
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    rng = np.random.default_rng(seed)
    n = len(inputs.x)
    order = np.concatenate([rng.permutation(n) for _ in range(steps // n + 1)])[:steps]
    path, nonzero, same = _sgd_path(inputs.x.tolist(), inputs.y.tolist(), order.tolist(), lr,
                                    momentum, w0)
    weights = np.array(path)
    diverged = len(path) - 1 if not np.abs(weights[-1]).sum() < 1e6 else None
    with np.errstate(over="ignore", invalid="ignore"):
        losses = inputs.loss(weights)
    if diverged is not None:
        losses[-1] = np.inf
    hit = np.flatnonzero(losses <= threshold)
    return Trajectory(weights, losses, same / nonzero if nonzero else float("nan"),
                      direction_flips(weights), int(hit[0]) if hit.size else None, diverged,
                      lr, momentum)


def loss_grid(inputs: Inputs, extent: tuple[float, float, float, float] = (-2.0, 2.5, -2.0, 2.5),
              n: int = 121) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W1, W2, L) on an n x n grid over extent (w1_min, w1_max, w2_min, w2_max), for contours.

    Introduced in notebooks/07_sigmoid_zigzag.ipynb.
    """
    w1, w2 = np.meshgrid(np.linspace(*extent[:2], n), np.linspace(*extent[2:], n))
    return w1, w2, inputs.loss(np.stack([w1, w2], axis=-1))


def best_run(inputs: Inputs, lrs: Sequence[float], *, momentum: float = 0.0, steps: int = 2000,
             threshold: float = 1e-3, seed: int = 0) -> Trajectory:
    """The run that reaches `threshold` in the fewest steps over the learning rates `lrs`.

    A fair race between optimisers: each gets its own best lr. Runs that never reach the
    threshold rank last. Introduced in notebooks/08_fixes.ipynb.
    """
    if not lrs:
        raise ValueError("lrs must list at least one learning rate")
    runs = [train_neuron(inputs, lr=lr, momentum=momentum, steps=steps, threshold=threshold,
                         seed=seed) for lr in lrs]
    return min(runs, key=lambda r: (r.steps_to_threshold is None, r.steps_to_threshold or 0))


def run_neuron(fix: str | Sequence[str] | None = None, *, lr: float = 0.2, steps: int = 400,
               seed: int = 0, momentum: float = MOMENTUM, centring: float = 0.0,
               spread: float = 1.0, threshold: float = 1e-3) -> Trajectory:
    """The 2-D neuron fed sigmoid outputs, with the source article's fixes applied to it.

    "tanh": the previous layer uses tanh; "batchnorm": BatchNorm1d on the neuron's inputs;
    "momentum": SGD momentum `momentum`. The counterpart of run_article002 for the real zig-zag.
    Introduced in notebooks/08_fixes.ipynb.
    """
    fixes = parse_fix(fix)
    inputs = make_inputs("tanh" if "tanh" in fixes else "sigmoid", centring=centring,
                         batchnorm="batchnorm" in fixes, spread=spread, seed=seed)
    return train_neuron(inputs, lr=lr, momentum=momentum if "momentum" in fixes else 0.0,
                        steps=steps, threshold=threshold, seed=seed)
