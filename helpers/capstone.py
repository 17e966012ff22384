"""The capstone: a real data set bundled in a package, and the checks around fixing one network.

Notebook 13 fixes a small MLP on scikit-learn's 8x8 handwritten digits one `checkup` finding at a
time; the model, the loss and the training loop are plain torch in the notebook. This module
holds what is not the point there: the data split, the loss log's table, and the fix-it
exercise (`ex.repair_relu_net`: a broken ReLU net to repair until checkup finds no problem).
Nothing is downloaded: the digits ship inside scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from sklearn.datasets import load_digits as _sk_load_digits
from torch import nn
from torch.nn import functional as F

from helpers import checkup
from helpers.exercises import OpenExercise, Result, register
from helpers.train import Dataset

__all__ = [
    "N_CLASSES",
    "load_digits",
    "log_table",
    "log_row",
    "broken_relu_net",
    "repair_findings",
    "HE_FACTOR_BAND",
    "relu_factor_findings",
    "is_untouched",
    "RepairExercise",
]

N_CLASSES = 10
_BROKEN_WIDTHS = (64, 128, 128, 128, 128, N_CLASSES)
_LOG_COLUMNS = (("initial", "initial loss"), ("first50", "mean loss, steps 1-50"),
                ("train", "train loss"), ("test", "test loss"), ("accuracy", "test accuracy"))


def load_digits(seed: int = 0, test_fraction: float = 0.25) -> Dataset:
    """The 1,797 8x8 digits bundled with scikit-learn (Alpaydin & Kaynak 1998), 64 pixel values
    0-16 each, split at random (torch.Generator(seed)) into train and test, and standardised with
    the training set's per-pixel mean and std (pixels constant in the training set, such as the
    always-blank corners, become 0). Why standardise: every init rule of the series assumes
    inputs of mean 0 and variance about 1.

    Introduced in notebooks/13_capstone_digits.ipynb.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    bunch = _sk_load_digits()
    x = torch.tensor(bunch.data, dtype=torch.float32)
    y = torch.tensor(bunch.target, dtype=torch.long)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]
    mean, std = x[train].mean(0), x[train].std(0)
    std[std == 0] = 1.0
    return Dataset((x[train] - mean) / std, y[train], (x[test] - mean) / std, y[test])


def log_table(log: list[dict[str, Any]]) -> str:
    """The loss log as aligned text: a header (with ln 10 in it), then one row per fix: its "fix"
    name, initial loss, mean loss over the first 50 steps, final train and test loss, test accuracy.

    Introduced in notebooks/13_capstone_digits.ipynb.
    """
    missing = [(i, key) for i, row in enumerate(log) for key, _ in (("fix", ""), *_LOG_COLUMNS)
               if key not in row]
    if missing:
        raise ValueError(f"each log row needs the keys fix, {', '.join(k for k, _ in _LOG_COLUMNS)}; "
                         f"row {missing[0][0]} has no {missing[0][1]!r}")
    width = max([len(f"fix (ln {N_CLASSES} = 2.303)"), *(len(str(row["fix"])) for row in log)])
    head = (f"fix (ln {N_CLASSES} = {math.log(N_CLASSES):.3f})".ljust(width)
            + "".join(f"  {title:>{len(title)}}" for _, title in _LOG_COLUMNS))
    lines = [head]
    for row in log:
        cells = [f"{row[key]:.1%}" if key == "accuracy" else f"{row[key]:.3f}" for key, _ in _LOG_COLUMNS]
        lines.append(str(row["fix"]).ljust(width) + "".join(
            f"  {c:>{len(title)}}" for c, (_, title) in zip(cells, _LOG_COLUMNS, strict=True)))
    return "\n".join(lines)


def log_row(fix: str, initial: float, losses: list[float], model: nn.Module, data: Dataset) -> dict[str, Any]:
    """One row of notebook 13's loss log: the fix's name, the loss before training (`initial`), the
    mean loss of the first 50 training steps, and after training the cross-entropy on the whole
    training and test sets and the test accuracy (model in eval mode, no gradients).

    Introduced in notebooks/13_capstone_digits.ipynb.
    """
    if len(losses) < 50:
        raise ValueError(f"need the losses of at least 50 steps, got {len(losses)}")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        train_logits, test_logits = model(data.x_train), model(data.x_test)
    model.train(was_training)
    return dict(fix=fix, initial=float(initial), first50=sum(losses[:50]) / 50,
                train=F.cross_entropy(train_logits, data.y_train).item(),
                test=F.cross_entropy(test_logits, data.y_test).item(),
                accuracy=(test_logits.argmax(1) == data.y_test).float().mean().item())


def broken_relu_net(seed: int = 0) -> nn.Sequential:
    """The exercise's network: 64 -> 128 -> 128 -> 128 -> 128 -> 10 with ReLU, every weight drawn
    from N(0, 0.3^2) and every bias 0. Its signal grows about 2.4x per layer and its logits start
    far from unsure; checkup says so.

    Introduced in notebooks/13_capstone_digits.ipynb.
    """
    gen = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(_BROKEN_WIDTHS[:-1], _BROKEN_WIDTHS[1:], strict=True):
        linear = nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.normal_(0.0, 0.3, generator=gen)
            linear.bias.zero_()
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _shape(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(type(m).__name__, tuple(getattr(m, "weight", torch.empty(0)).shape))
            for m in model.modules() if next(m.children(), None) is None]


def repair_findings(model: Any, seed: int = 0, batch: int = 256) -> list[str]:
    """What is still wrong with a repaired broken_relu_net: a different architecture (the task is to
    repair the init), checkup's findings on `batch` training digits of load_digits(seed), and
    every hidden ReLU layer whose per-layer factor is not He's (relu_factor_findings). An empty
    list: repaired.

    Introduced in notebooks/13_capstone_digits.ipynb.
    """
    if not isinstance(model, nn.Module):
        return [f"expected the repaired nn.Module, got {type(model).__name__}"]
    if _shape(model) != _shape(broken_relu_net(seed)):
        return ["the layers changed: keep broken_relu_net's layers and sizes, repair only the "
                "initial weights and biases"]
    data = load_digits(seed)
    report = checkup.run(model, data.x_train[:batch], data.y_train[:batch])
    return report.problem_lines + relu_factor_findings(model)


HE_FACTOR_BAND: tuple[float, float] = (0.8, 1.25)
"""The per-layer factor fan_in * Var(W) / 2 a hidden ReLU layer must keep within to count as He:
He's 2/fan_in gives 1; Xavier or 1/fan_in give 0.5, torch's default 1/6."""


def relu_factor_findings(model: nn.Module) -> list[str]:
    """One line per hidden Linear of `model` (every Linear but the last, each followed by a ReLU)
    whose per-layer factor fan_in * Var(W) / 2 lies outside HE_FACTOR_BAND. Why: checkup allows
    10x of drift, so four layers of factor 0.5 (rms x0.71 a layer) pass it; the exercise asks for
    He, which keeps the rms of a ReLU net's signal from layer to layer. Var(W) is the mean square.

    Introduced in notebooks/13_capstone_digits.ipynb.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    lo, hi = HE_FACTOR_BAND
    out = []
    for i, layer in enumerate(linears[:-1]):
        factor = layer.in_features * float(layer.weight.detach().pow(2).mean()) / 2
        if not lo <= factor <= hi:
            trend = "fades" if factor < lo else "grows"
            out.append(f"hidden layer {i} (Linear {layer.in_features} -> {layer.out_features}): "
                       f"fan_in * Var(W) / 2 = {factor:.2f}, not within {lo} to {hi}: the rms "
                       f"{trend} by about {math.sqrt(factor):.2f}x per ReLU layer (checkup's 10x "
                       "band lets a few layers pass; a deeper net would not); He's Var(W) = "
                       "2 / fan_in gives 1")
    return out


def is_untouched(model: Any, seed: int = 0) -> bool:
    """True if `model` is broken_relu_net(seed) as built: the exercise's starter, returned unrepaired.

    Introduced in notebooks/13_capstone_digits.ipynb.
    """
    if not isinstance(model, nn.Module) or _shape(model) != _shape(broken_relu_net(seed)):
        return False
    mine = broken_relu_net(seed).state_dict()
    return all(torch.equal(v, mine[k]) for k, v in model.state_dict().items())


@dataclass
class RepairExercise:
    """A fix-it exercise: the answer is a function `repaired(seed)` returning a repaired model;
    `findings(model, seed)` lists what is still wrong (repair_findings). Checked on several seeds;
    an untouched starter (returns None, ..., or a model `untouched(model, seed)` recognises as the
    broken one itself) reports "not attempted" and never raises.
    Introduced in notebooks/13_capstone_digits.ipynb.
    """

    name: str
    findings: Callable[[Any, int], list[str]]
    hint_text: str
    solution_text: str
    untouched: Callable[[Any, int], bool] | None = None
    seeds: tuple[int, ...] = (0, 1, 2)

    def result(self, answer: Any) -> Result:
        """Check `answer` and return the Result (check() prints the same message)."""
        not_attempted = Result("not attempted", f"{self.name}: not attempted yet. Replace the `...` "
                               f"with your repair, then run the check again (ex.{self.name}.hint() "
                               "for a hint).")
        if answer is None or answer is Ellipsis:
            return not_attempted
        if not callable(answer):
            return Result("incorrect", f"{self.name}: expected a function repaired(seed), got "
                          f"{type(answer).__name__}")
        for seed in self.seeds:
            try:
                model = answer(seed)
            except NotImplementedError:
                return not_attempted
            except Exception as exc:  # noqa: BLE001 - the learner's code raised: say so, don't crash
                return Result("incorrect", f"{self.name}: your code raised {type(exc).__name__}: {exc}")
            if model is None or model is Ellipsis or (self.untouched and self.untouched(model, seed)):
                return not_attempted
            wrong = self.findings(model, seed)
            if wrong:
                return Result("incorrect", f"{self.name}: with seed={seed} still wrong: "
                              + " | ".join(wrong))
        return Result("correct", f"{self.name}: correct, checkup finds no problem and every hidden "
                      f"ReLU layer keeps the rms (He) on seeds "
                      f"{', '.join(map(str, self.seeds))}.")

    def check(self, answer: Any) -> None:
        """Print whether `answer` is right and, if not, what checkup still finds."""
        r = self.result(answer)
        print({"correct": "✔", "incorrect": "✘", "not attempted": "…"}[r.status], r.message)

    def hint(self) -> None:
        """Print a hint that points the way without giving the answer."""
        print(f"Hint ({self.name}): {self.hint_text}")

    def solution(self) -> None:
        """Print the reference solution (only when asked)."""
        print(f"Solution ({self.name}):\n{self.solution_text}")


register(RepairExercise(
    name="repair_relu_net",
    findings=repair_findings,
    untouched=is_untouched,
    hint_text="Run checkup.run(broken_relu_net(seed), x, y) and read its findings one at a time. "
    "The hidden layers use ReLU, not tanh: which variance keeps a ReLU layer's output at its "
    "input's scale? And what should the last layer's logits look like before any training?",
    solution_text=(
        "def repaired(seed):\n"
        "    net = capstone.broken_relu_net(seed)\n"
        "    linears = [m for m in net if isinstance(m, nn.Linear)]\n"
        "    with torch.no_grad():\n"
        "        for layer in linears[:-1]:   # ReLU layers: He, Var(W) = 2 / fan_in\n"
        "            layer.weight.normal_(0, (2 / layer.in_features) ** 0.5)\n"
        "        linears[-1].weight.mul_(0.01)  # unsure logits: initial loss ~ ln 10\n"
        "    return net\n"
        "He's std sqrt(2 / fan_in) keeps each ReLU layer's output at its input's scale (ReLU\n"
        "zeroes half of it); 0.3 was 2.4x that at fan_in 128, so the signal grew ~2.4x a layer.\n"
        "Shrinking the last layer (or zeroing it) starts every logit near 0: loss ~ ln 10."
    ),
))


register(OpenExercise(
    name="last_layer_scale",
    hint_text="Copy section 4's cell and change only the last entry of the std list: 0, 0.1 and 1. "
    "Compare the new rows of the log column by column with the row of std 0.01.",
    solution_text=(
        "for last in (0.0, 0.1, 1.0):\n"
        "    net = make_net([GAIN / math.sqrt(f) for f in SIZES[:-2]] + [last])\n"
        "    train_and_log(f\"3, last layer std {last}\", net)\n"
        "At SEED = 0 this gave (initial loss, mean of the first 50 steps, test loss, test accuracy):\n"
        "  std 0:    2.303, 0.71, 0.120, 96.7%   (every logit 0: the loss is exactly ln 10)\n"
        "  std 0.01: 2.306, 0.71, 0.126, 96.2%\n"
        "  std 0.1:  2.40,  0.50, 0.137, 96.2%   (1.05x ln 10: checkup still finds no problem)\n"
        "  std 1:    6.82,  0.99, 0.270, 96.2%   (3x ln 10: checkup flags the initial loss)\n"
        "With healthy hidden layers the accuracy hardly moved: here 400 steps made up for a bad\n"
        "last layer. What moved is the start (the first steps are spent shrinking confident\n"
        "logits) and the test loss, which punishes confident mistakes. Zero is a fine start for\n"
        "the last layer alone: the hidden layers are random, so its units still get different\n"
        "gradients."
    ),
))
