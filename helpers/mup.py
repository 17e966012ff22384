"""The maximal update parametrisation (muP): how to scale init and learning rates with width.

Under the standard parametrisation (SP: every layer initialised with Var(W) ~ 1/fan_in and
trained at one learning rate), a wider network takes larger steps: after the same few
updates, its output logits (and the features of its n x n layers) move further the wider it
is, so the best learning rate shrinks with width. muP (Yang & Hu 2021; Yang et al. 2022,
"Tensor Programs V", Table 3) rescales each layer's init and learning rate with the width
multiplier m = width / base_width so that every layer's update stays the same size at any
width, and hyperparameters tuned on a narrow net transfer to a wide one. At the base width
muP and SP coincide (up to the readout's init, see layer_rules).

Written out here in a few lines (no dependency on the `mup` package), for a bias-free MLP
(tanh or ReLU): input layer (d_in -> width), `hidden_layers` layers width -> width, readout
(width -> d_out).
Introduced in notebooks/11_width_and_isometry.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from helpers import validate
from helpers.criticality import critical_gain
from helpers.exercises import OpenExercise, register
from helpers.nets import activation_function
from helpers.threads import single_thread
from helpers.train import Dataset

__all__ = [
    "PARAMETRISATIONS",
    "OPTIMIZERS",
    "LAYERS",
    "ACTIVATIONS",
    "GAINS",
    "BASE_WIDTH",
    "LayerRule",
    "layer_rules",
    "effective_rules",
    "ScaledMLP",
    "build",
    "make_optimizer",
    "CoordCheck",
    "coord_check",
    "fit_slope",
    "LrSweep",
    "train_stacked",
    "lr_sweep",
]

PARAMETRISATIONS: tuple[str, ...] = ("sp", "mup")
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
ACTIVATIONS: tuple[str, ...] = ("tanh", "relu")
GAINS = {act: critical_gain(act) for act in ACTIVATIONS}
"""Init std = gain / sqrt(fan_in) before each activation, the critical gain (helpers.criticality):
LeCun for tanh, He for ReLU."""
LAYERS: tuple[str, ...] = ("input", "hidden", "output")
BASE_WIDTH = 64
"""The width at which muP's multipliers are all 1 (the mup package's "base shapes")."""


@dataclass(frozen=True)
class LayerRule:
    """How one layer is parametrised: it computes (multiplier * w) @ h with w ~ N(0, init_std^2)
    (init_std 0: w starts at zero) and w is trained at learning rate lr_scale * lr."""

    multiplier: float
    init_std: float
    lr_scale: float


def _check(parametrisation: str, optimizer: str, width: int, base_width: int,
           activation: str = "tanh") -> None:
    validate.one_of("activation", activation, ACTIVATIONS)
    validate.one_of("parametrisation", parametrisation, PARAMETRISATIONS)
    validate.one_of("optimizer", optimizer, OPTIMIZERS)
    validate.integer_in("width", width, 1)
    validate.integer_in("base_width", base_width, 1)


def layer_rules(parametrisation: str, optimizer: str, width: int, *, d_in: int,
                base_width: int = BASE_WIDTH, activation: str = "tanh") -> dict[str, LayerRule]:
    """The rule of each layer ("input", "hidden", "output") at this width; m = width / base_width.

    SP: std gain / sqrt(fan_in) before each activation (GAINS), 1 / sqrt(fan_in) for the
    readout, one lr for all. muP, in the form the `mup` package implements (MuReadout, MuSGD,
    MuAdam), with the same init for the input and hidden layers:
      input  : lr x m (SGD) or x 1 (Adam)
      hidden : lr x 1 (SGD) or x 1/m (Adam)
      output : multiplier 1/m, lr x m (SGD) or x 1 (Adam), and zero init: muP only bounds the
               readout's init (Var <~ 1/width^2); a random one adds an init-time part to the
               output that fades like 1/sqrt(width), a transient the coordinate check would show
               (the mup README recommends `readout_zero_init=True` for this reason).
    effective_rules shows that this is Table 3 of Tensor Programs V.
    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    _check(parametrisation, optimizer, width, base_width, activation)
    validate.integer_in("d_in", d_in, 1)
    he_in, he_hidden = GAINS[activation] / math.sqrt(d_in), GAINS[activation] / math.sqrt(width)
    if parametrisation == "sp":
        return {"input": LayerRule(1.0, he_in, 1.0), "hidden": LayerRule(1.0, he_hidden, 1.0),
                "output": LayerRule(1.0, 1 / math.sqrt(width), 1.0)}
    m, sgd = width / base_width, optimizer == "sgd"
    return {"input": LayerRule(1.0, he_in, m if sgd else 1.0),
            "hidden": LayerRule(1.0, he_hidden, 1.0 if sgd else 1 / m),
            "output": LayerRule(1 / m, 0.0, m if sgd else 1.0)}


def effective_rules(parametrisation: str, optimizer: str, width: int, *, d_in: int,
                    base_width: int = BASE_WIDTH,
                    activation: str = "tanh") -> dict[str, tuple[float, float]]:
    """(std, lr factor) of each layer's effective weight W = multiplier * w.

    A multiplier a scales W's init by a and, since dL/dw = a dL/dW, an SGD step on W by a^2
    (an Adam step, which normalises the gradient, by a). In these terms muP is Tensor
    Programs V's Table 3: SGD lr x m, x 1, x 1/m and Adam lr x 1, x 1/m, x 1/m for the input,
    hidden and output layers. Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    rules = layer_rules(parametrisation, optimizer, width, d_in=d_in, base_width=base_width,
                        activation=activation)
    power = 2 if optimizer == "sgd" else 1
    return {k: (r.multiplier * r.init_std, r.multiplier**power * r.lr_scale) for k, r in rules.items()}


class ScaledMLP(nn.Module):
    """A bias-free tanh or ReLU MLP whose layers carry a forward multiplier (see LayerRule).

    weights[i] is layer i's w, of shape (fan_out, fan_in); kinds[i] names its role ("input",
    "hidden", "output"). features(x) returns every layer's output: the activations of the input
    and hidden layers, then the logits; features(x, pre=True) the same layers before their
    activation (the logits unchanged). Introduced in notebooks/11_width_and_isometry.ipynb.
    """

    def __init__(self, rules: dict[str, LayerRule], d_in: int, width: int, d_out: int,
                 hidden_layers: int, generator: torch.Generator, activation: str = "tanh",
                 draws: list[torch.Tensor] | None = None):
        super().__init__()
        self.phi = activation_function(activation)
        self.kinds = ("input", *["hidden"] * hidden_layers, "output")
        dims = [d_in, *[width] * (hidden_layers + 1), d_out]
        self.multipliers = [rules[k].multiplier for k in self.kinds]
        # every layer is drawn, even a zero-initialised one, so SP and muP share the other draws;
        # `draws` (standard normal, one per layer) reuses another model's draws without redrawing
        if draws is None:
            draws = [torch.randn(b, a, generator=generator) for a, b in zip(dims[:-1], dims[1:], strict=True)]
        self.weights = nn.ParameterList(nn.Parameter(d * rules[kind].init_std)
                                        for d, kind in zip(draws, self.kinds, strict=True))

    def features(self, x: torch.Tensor, *, pre: bool = False) -> list[torch.Tensor]:
        out, h = [], x
        for i, (w, a) in enumerate(zip(self.weights, self.multipliers, strict=True)):
            z = (h if a == 1 else a * h) @ w.T
            h = self.phi(z) if i < len(self.weights) - 1 else z
            out.append(z if pre else h)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[-1]


def build(parametrisation: str, width: int, *, d_in: int, d_out: int, optimizer: str = "adam",
          activation: str = "tanh", hidden_layers: int = 1, base_width: int = BASE_WIDTH,
          seed: int = 0, draws: list[torch.Tensor] | None = None) -> ScaledMLP:
    """A ScaledMLP under `parametrisation` at `width` (the rules depend on the optimizer too).

    Same seed, same draws: an SP and a muP model differ only in their rules (pass `draws`, the
    standard-normal draws of each layer, to skip drawing them again).
    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    validate.integer_in("hidden_layers", hidden_layers, 0)
    validate.integer_in("d_out", d_out, 1)
    rules = layer_rules(parametrisation, optimizer, width, d_in=d_in, base_width=base_width,
                        activation=activation)
    model = ScaledMLP(rules, d_in, width, d_out, hidden_layers, torch.Generator().manual_seed(seed),
                      activation, draws)
    model.rules = rules
    return model


def make_optimizer(model: ScaledMLP, lr: float, optimizer: str = "adam") -> torch.optim.Optimizer:
    """SGD or Adam with one parameter group per layer, at lr x that layer's lr_scale.

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    validate.one_of("optimizer", optimizer, OPTIMIZERS)
    validate.number("lr", lr, 0, low_open=True)
    groups = [{"params": [w], "lr": lr * model.rules[kind].lr_scale}
              for w, kind in zip(model.weights, model.kinds, strict=True)]
    if optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr)
    return torch.optim.Adam(groups, lr=lr, fused=True)  # one kernel per step: ~3x faster on CPU


def fit_slope(widths, values) -> float:
    """Least-squares slope of log(values) against log(widths): the exponent p in value ~ width^p.

    nan if any value is not finite and > 0. Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    w, v = np.asarray(widths, dtype=float), np.asarray(values, dtype=float)
    if w.shape != v.shape or w.size < 2:
        raise ValueError(f"need >= 2 widths and one value per width, got {w.shape} and {v.shape}")
    if not (np.isfinite(v).all() and (v > 0).all()):
        return math.nan
    return float(np.polyfit(np.log(w), np.log(v), 1)[0])


@dataclass(frozen=True)
class CoordCheck:
    """change[p][i, j]: RMS change per coordinate of layer i's output (names[i]) at widths[j]
    after `steps` updates under parametrisation p, on a fixed batch of inputs.

    pre_change[p][i, j]: the same for layer i's pre-activation (W h, before tanh or ReLU; the
    logits have none, so their row equals change's). A bounded activation (tanh) caps the change
    of its output once its pre-activations saturate, so the two can grow at different rates.
    saturated[p][i, j]: fraction of layer i's outputs with |tanh| > 0.97 after training
    (nan for the logits and for ReLU). Empty when not recorded."""

    widths: tuple[int, ...]
    names: tuple[str, ...]
    change: dict[str, np.ndarray]
    pre_change: dict[str, np.ndarray] = field(default_factory=dict)
    saturated: dict[str, np.ndarray] = field(default_factory=dict)

    def slope(self, parametrisation: str, layer: str = "logits", *, pre: bool = False) -> float:
        """The exponent p in change ~ width^p for one layer (fit over every width); pre=True
        fits the pre-activation's change instead of the output's."""
        table = self.pre_change if pre else self.change
        return fit_slope(self.widths, table[parametrisation][self.names.index(layer)])


def _check_widths(widths) -> tuple[int, ...]:
    widths = tuple(widths)
    if len(widths) < 2 or any(not isinstance(n, int) or n < 1 for n in widths):
        raise ValueError(f"widths must list >= 2 integers >= 1, got {widths}")
    return widths


def _train_steps(model: ScaledMLP, opt: torch.optim.Optimizer, data: Dataset, steps: int,
                 batch_size: int, seed: int) -> list[float]:
    """`steps` minibatch updates on cross-entropy; minibatches from their own generator."""
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, len(data.y_train), (batch_size,), generator=gen)
        loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return losses


def coord_check(data: Dataset, widths=(64, 128, 256, 512, 1024, 2048, 4096), *, lr: float,
                steps: int = 5, optimizer: str = "adam", activation: str = "tanh",
                batch_size: int = 32, eval_size: int = 64, hidden_layers: int = 1,
                base_width: int = BASE_WIDTH, seed: int = 0) -> CoordCheck:
    """The coordinate check of Tensor Programs V (and the `mup` package): for each width and
    parametrisation, train `steps` updates at one lr and measure how far each layer's output
    moved, RMS over a fixed batch of `eval_size` test inputs and over coordinates; the same for
    each layer's pre-activation, and the saturated fraction of each tanh layer after training.

    SP and muP models at one width share their random draws and their minibatches (paired).
    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    widths = _check_widths(widths)
    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_size", eval_size)):
        validate.integer_in(name, value, 1)
    x_eval = data.x_test[:eval_size]
    names = (*[f"hidden {i + 1}" for i in range(hidden_layers + 1)], "logits")
    change = {p: np.empty((len(names), len(widths))) for p in PARAMETRISATIONS}
    pre_change = {p: np.empty((len(names), len(widths))) for p in PARAMETRISATIONS}
    saturated = {p: np.full((len(names), len(widths)), np.nan) for p in PARAMETRISATIONS}
    with single_thread():
        for j, width in enumerate(widths):
            gen = torch.Generator().manual_seed(seed)
            dims = [data.n_features, *[width] * (hidden_layers + 1), data.n_classes]
            draws = [torch.randn(b, a, generator=gen) for a, b in zip(dims[:-1], dims[1:], strict=True)]
            for p in PARAMETRISATIONS:
                model = build(p, width, d_in=data.n_features, d_out=data.n_classes,
                              optimizer=optimizer, activation=activation, hidden_layers=hidden_layers,
                              base_width=base_width, seed=seed, draws=draws)
                with torch.no_grad():
                    before, pre_before = model.features(x_eval), model.features(x_eval, pre=True)
                _train_steps(model, make_optimizer(model, lr, optimizer), data, steps, batch_size,
                             seed + 1)
                with torch.no_grad():
                    after, pre_after = model.features(x_eval), model.features(x_eval, pre=True)
                for i in range(len(names)):
                    change[p][i, j] = float((after[i] - before[i]).pow(2).mean().sqrt())
                    pre_change[p][i, j] = float((pre_after[i] - pre_before[i]).pow(2).mean().sqrt())
                    if activation == "tanh" and i < len(names) - 1:
                        saturated[p][i, j] = float((after[i].abs() > 0.97).double().mean())
    return CoordCheck(widths, names, change, pre_change, saturated)


@dataclass(frozen=True)
class LrSweep:
    """loss[p][j, k]: training loss (on a fixed batch) after training at widths[j] with lrs[k]
    under parametrisation p; inf where the run blew up."""

    widths: tuple[int, ...]
    lrs: tuple[float, ...]
    loss: dict[str, np.ndarray]

    def best_lr(self, parametrisation: str) -> np.ndarray:
        """The lr of the grid with the lowest loss, per width."""
        return np.asarray(self.lrs)[np.argmin(self.loss[parametrisation], axis=1)]

    def best_log2_lr(self, parametrisation: str) -> np.ndarray:
        """log2 of the best lr per width, between grid points: the vertex of the parabola through
        the lowest loss and its two neighbours in log2(lr) (the grid point itself at an edge).
        Less jumpy than best_lr when two neighbours are nearly tied."""
        x, out = np.log2(self.lrs), []
        for row in self.loss[parametrisation]:
            k = int(np.argmin(row))
            if 0 < k < len(row) - 1 and np.isfinite(row[k - 1:k + 2]).all():
                a, b, c = row[k - 1:k + 2]
                curv = a - 2 * b + c
                out.append(x[k] + 0.5 * (a - c) / curv * (x[k + 1] - x[k]) if curv > 0 else x[k])
            else:
                out.append(x[k])
        return np.asarray(out)


def train_stacked(models: list[ScaledMLP], lrs: list[float], data: Dataset, *, steps: int,
                  optimizer: str = "adam", batch_size: int = 32, seed: int = 0) -> list[torch.Tensor]:
    """Train several ScaledMLPs of one shape side by side, model k at base lr lrs[k] (times each
    layer's lr_scale), all on the same minibatches; returns the trained weights, stacked per layer.

    The same updates as make_optimizer + `steps` separate steps (torch's SGD, or Adam with its
    default betas and eps, written out here so one batched matmul serves every model).
    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    validate.one_of("optimizer", optimizer, OPTIMIZERS)
    shapes = {tuple(tuple(w.shape) for w in m.weights) for m in models}
    if len(shapes) != 1 or len(lrs) != len(models):
        raise ValueError(f"need models of one shape and one lr each, got {len(shapes)} shapes, "
                         f"{len(models)} models, {len(lrs)} lrs")
    n_layers, phi = len(models[0].weights), models[0].phi
    weights = [torch.stack([m.weights[i].detach() for m in models]).requires_grad_()
               for i in range(n_layers)]
    mult = [torch.tensor([m.multipliers[i] for m in models]).view(-1, 1, 1) for i in range(n_layers)]
    step_lr = [torch.tensor([lr * m.rules[m.kinds[i]].lr_scale for m, lr in zip(models, lrs, strict=True)])
               .view(-1, 1, 1) for i in range(n_layers)]
    moments = [(torch.zeros_like(w), torch.zeros_like(w)) for w in weights]
    gen, n = torch.Generator().manual_seed(seed), len(data.y_train)
    for t in range(1, steps + 1):
        idx = torch.randint(0, n, (batch_size,), generator=gen)
        h = data.x_train[idx].expand(len(models), -1, -1)
        for i, (w, a) in enumerate(zip(weights, mult, strict=True)):
            h = torch.bmm(a * h, w.transpose(1, 2))
            h = phi(h) if i < n_layers - 1 else h
        loss = nn.functional.cross_entropy(h.reshape(-1, h.shape[-1]), data.y_train[idx].repeat(len(models)))
        grads = torch.autograd.grad(loss * len(models), weights)  # sum over models of each one's mean
        with torch.no_grad():
            for w, g, lr, (m1, m2) in zip(weights, grads, step_lr, moments, strict=True):
                if optimizer == "sgd":
                    w.sub_(lr * g)
                    continue
                # w -= lr * (m1 / bc1) / (sqrt(m2 / bc2) + eps), in as few passes as possible
                m1.lerp_(g, 0.1)
                m2.mul_(0.999).addcmul_(g, g, value=0.001)
                root_bc2 = math.sqrt(1 - 0.999**t)
                denom = m2.sqrt().add_(1e-8 * root_bc2)
                w.addcdiv_(m1 * (lr * (root_bc2 / (1 - 0.9**t))), denom, value=-1.0)
    return [w.detach() for w in weights]


def lr_sweep(data: Dataset, widths=(64, 256, 512), lrs=tuple(2.0**k for k in range(-12, -3)), *,
             steps: int = 30, optimizer: str = "adam", activation: str = "tanh",
             batch_size: int = 32, eval_size: int = 256, hidden_layers: int = 1,
             base_width: int = BASE_WIDTH, seed: int = 0) -> LrSweep:
    """Train every (parametrisation, width, lr) from the same draws and minibatches and record
    the cross-entropy on `eval_size` training examples: where is each width's best lr?

    Introduced in notebooks/11_width_and_isometry.ipynb.
    """
    widths, lrs = _check_widths(widths), tuple(lrs)
    if not lrs:
        raise ValueError("lrs must list at least one learning rate, got none")
    for lr in lrs:
        validate.number("each of lrs", lr, 0, low_open=True)
    validate.integer_in("steps", steps, 1)
    lrs = tuple(float(lr) for lr in lrs)
    x_eval, y_eval = data.x_train[:eval_size], data.y_train[:eval_size]
    loss = {p: np.full((len(widths), len(lrs)), np.inf) for p in PARAMETRISATIONS}
    with single_thread():
        for j, width in enumerate(widths):
            models = [build(p, width, d_in=data.n_features, d_out=data.n_classes, optimizer=optimizer,
                            activation=activation, hidden_layers=hidden_layers,
                            base_width=base_width, seed=seed)
                      for p in PARAMETRISATIONS for _ in lrs]
            trained = train_stacked(models, list(lrs) * len(PARAMETRISATIONS), data, steps=steps,
                                    optimizer=optimizer, batch_size=batch_size, seed=seed + 1)
            with torch.no_grad():
                for k, model in enumerate(models):
                    for i, w in enumerate(trained):
                        model.weights[i].copy_(w[k])
                    value = float(nn.functional.cross_entropy(model(x_eval), y_eval))
                    p, col = PARAMETRISATIONS[k // len(lrs)], k % len(lrs)
                    loss[p][j, col] = value if math.isfinite(value) else np.inf
    return LrSweep(widths, lrs, loss)


# --- notebook 11's open exercise on this module, with its worked solution (ex.coord_check_sgd) ---

register(
    OpenExercise(
        name="coord_check_sgd",
        hint_text="Under SGD a weight moves by lr x its gradient, not by lr x its sign as under Adam. "
        "How large is dL/dh for a unit of the first hidden layer, when the readout's weights have "
        "std 1/sqrt(n)?",
        solution_text=(
            "cc_sgd = mup.coord_check(data, WIDTHS, lr=0.05, steps=STEPS, optimizer='sgd', seed=SEED)\n"
            "for p in mup.PARAMETRISATIONS:\n"
            "    print(p, {name: round(cc_sgd.slope(p, name), 2) for name in cc_sgd.names})\n"
            "At SEED = 0 this gave SP exponents hidden 1 -0.66, hidden 2 +0.23, logits +0.73 (Adam:\n"
            "-0.08, +0.56, +0.92), and muP's stay flat (-0.02, -0.04, -0.08). Every SP exponent\n"
            "falls, the first layer's below 0. Adam moves each entry by about lr whatever the\n"
            "gradient's size; SGD moves it by lr x gradient. The gradient reaching a first-layer\n"
            "unit comes back through the readout and the n x n layer, whose entries are ~1/sqrt(n):\n"
            "dL/dh_1 is a sum of n random-sign terms of size 1/n, so O(1/sqrt(n)). Its update\n"
            "-lr (dL/dh_1) x^T, with fan_in 16 at every width, changes h_1 by O(1/sqrt(n)): an\n"
            "exponent near -0.5 (tanh's slope takes it lower). muP's SGD column gives the input\n"
            "layer lr x m, which makes up for exactly that."
        ),
    )
)

