"""Auto-checked exercises, in the manner of Kaggle's learntools.

In a notebook:

    from helpers.exercises import ex

    def uniform_bound_for_std(std):
        ...                               # the learner's code
    ex.uniform_bound.check(uniform_bound_for_std)
    ex.uniform_bound.hint()
    ex.uniform_bound.solution()

check() runs the answer on cases and prints exactly what is wrong. An untouched
starter (returns None or ..., or raises NotImplementedError) prints "not attempted"
and never raises, so the notebook still runs top to bottom in CI.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import torch

from helpers import stats

__all__ = ["Result", "Exercise", "Diagnosis", "OpenExercise", "ex", "register"]


@dataclass(frozen=True)
class Result:
    """The outcome of one check: status is "correct", "incorrect" or "not attempted"."""

    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "correct"


class _NotAttempted(Exception):
    pass


class _LearnerRaised(Exception):
    """The learner's own call raised (learntools' UserlandExceptionIncorrect): only that call
    is wrapped, so an error inside a checker surfaces as a bug, never as the learner's fault."""


def _close(got: Any, want: float, rel: float, abs_: float) -> bool:
    try:
        return math.isclose(float(got), want, rel_tol=rel, abs_tol=abs_)
    except (TypeError, ValueError):
        return False


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return repr(x)


@dataclass
class Exercise:
    """One exercise: a function (or value) is checked against `cases` of (args, expected).

    `explain(args, got, want)` returns the sentence shown when a case fails; it
    should say what the right answer means, not only what it is.
    """

    name: str
    cases: list[tuple[tuple, float]]
    explain: Callable[[tuple, Any, float], str]
    hint_text: str
    solution_text: str
    rel: float = 1e-3
    abs_: float = 1e-9

    def result(self, answer: Any) -> Result:
        """Check `answer` and return the Result (check() prints the same message)."""
        try:
            for args, want in self.cases:
                got = self._evaluate(answer, args)
                if not _close(got, want, self.rel, self.abs_):
                    return Result("incorrect", self.explain(args, got, want))
        except _NotAttempted:
            return Result(
                "not attempted",
                f"{self.name}: not attempted yet. Replace the `...` / `None` with your answer, "
                f"then run the check again (ex.{self.name}.hint() for a hint).",
            )
        except _LearnerRaised as raised:
            exc = raised.__cause__
            return Result("incorrect", f"{self.name}: your code raised {type(exc).__name__}: {exc}")
        return Result("correct", f"{self.name}: correct, all {len(self.cases)} cases pass.")

    def _evaluate(self, answer: Any, args: tuple) -> Any:
        if answer is None or answer is Ellipsis:
            raise _NotAttempted
        if not callable(answer):
            raise _LearnerRaised from TypeError(f"expected a function, got {type(answer).__name__}")
        try:
            got = answer(*args)
        except NotImplementedError:
            raise _NotAttempted from None
        except Exception as exc:  # noqa: BLE001 - the learner's code raised: say so, don't crash
            raise _LearnerRaised from exc
        if got is None or got is Ellipsis:
            raise _NotAttempted
        return got

    def check(self, answer: Any) -> None:
        """Print whether `answer` is right and, if not, what is wrong with it."""
        r = self.result(answer)
        mark = {"correct": "✔", "incorrect": "✘", "not attempted": "…"}[r.status]
        print(f"{mark} {r.message}")

    def hint(self) -> None:
        """Print a hint that points the way without giving the answer."""
        print(f"Hint ({self.name}): {self.hint_text}")

    def solution(self) -> None:
        """Print the reference solution (only when asked)."""
        print(f"Solution ({self.name}):\n{self.solution_text}")


ex = SimpleNamespace()
"""Every exercise of the series, by name: ex.uniform_bound, ..."""


def register(exercise: Exercise | Diagnosis | OpenExercise) -> Exercise | Diagnosis | OpenExercise:
    """Add an exercise to `ex` under its name (names must be unique)."""
    if hasattr(ex, exercise.name):
        raise ValueError(f"an exercise named {exercise.name!r} is already registered")
    setattr(ex, exercise.name, exercise)
    return exercise


# --- 01 uniform variance ---------------------------------------------------------------------

register(
    Exercise(
        name="uniform_bound",
        cases=[((s,), math.sqrt(3) * s) for s in (1.0, 0.5, 0.1, 2.0, 1 / math.sqrt(3))],
        explain=lambda args, got, want: (
            f"uniform_bound: for std={_fmt(args[0])} you returned {_fmt(got)}; U(-a, a) with that "
            f"std needs a = {want:.4g}, because Var U(-a, a) = a^2/3."
        ),
        hint_text="Var U(-a, a) = (a - (-a))^2 / 12 = a^2 / 3. Set that equal to std^2, solve for a.",
        solution_text="def uniform_bound_for_std(std):\n    return math.sqrt(3) * std",
    )
)

register(
    Exercise(
        name="uniform_variance",
        cases=[((a, b), (b - a) ** 2 / 12) for a, b in ((0, 1), (-1, 1), (2, 5), (-3, -2.5))],
        explain=lambda args, got, want: (
            f"uniform_variance: for a={_fmt(args[0])}, b={_fmt(args[1])} you returned {_fmt(got)}; "
            f"the variance of U(a, b) is (b - a)^2 / 12 = {want:.4g}."
            + (" Did you return the std instead of the variance?"
               if math.isclose(float(got), math.sqrt(want), rel_tol=1e-3) else "")
        ),
        hint_text="Var X = E[X^2] - E[X]^2 with E[X] = (a+b)/2 and E[X^2] = (a^2+ab+b^2)/3.",
        solution_text="def uniform_variance(a, b):\n    return (b - a) ** 2 / 12",
    )
)

# --- 02 sums of products ---------------------------------------------------------------------

register(
    Exercise(
        name="unit_output_std",
        cases=[((n, v), 1 / math.sqrt(n * v)) for n, v in ((100, 1.0), (10_000, 1 / 3), (3, 2.0))],
        explain=lambda args, got, want: (
            f"unit_output_std: for n={args[0]} inputs of variance {_fmt(args[1])} you returned "
            f"{_fmt(got)}; Var(sum w x) = n Var(w) Var(x) = 1 needs std(w) = {want:.4g}."
        ),
        hint_text="Solve n * std_w**2 * var_x = 1 for std_w.",
        solution_text="def unit_output_std(n, var_x):\n    return 1 / math.sqrt(n * var_x)",
    )
)

# --- 03 constant and random init --------------------------------------------------------------


def _default_var_explain(args: tuple, got: Any, want: float) -> str:
    fan_in = args[0]
    note = ""
    if _close(got, 1 / fan_in, 1e-3, 0):
        note = " 1/fan_in is the variance of the LeCun rule; U(-b, b) has variance b^2/3, not b^2."
    elif _close(got, 1 / math.sqrt(fan_in), 1e-3, 0):
        note = " That is the bound b = 1/sqrt(fan_in), not the variance b^2/3."
    return (
        f"pytorch_default_var: for fan_in={fan_in} you returned {_fmt(got)}; nn.Linear draws from "
        f"U(-1/sqrt(fan_in), 1/sqrt(fan_in)), whose variance is 1/(3 fan_in) = {want:.4g}.{note}"
    )


register(
    Exercise(
        name="pytorch_default_var",
        cases=[((n,), 1 / (3 * n)) for n in (1, 10, 100, 784, 4096)],
        explain=_default_var_explain,
        hint_text="kaiming_uniform_(a=sqrt(5)) gives the bound 1/sqrt(fan_in); "
        "Var U(-b, b) = b^2 / 3 (notebook 01).",
        solution_text="def pytorch_default_var(fan_in):\n    return 1 / (3 * fan_in)",
    )
)


# --- 04 signal propagation ----------------------------------------------------------------------


def _rms_gain_explain(args: tuple, got: Any, want: float) -> str:
    std, fan_in, activation = args
    note = ""
    if _close(got, std * math.sqrt(fan_in), 1e-3, 0) and activation == "relu":
        note = " ReLU zeroes half of a symmetric pre-activation, so it halves the second moment: /sqrt(2)."
    elif _close(got, std * fan_in, 1e-3, 0) or _close(got, std * fan_in / 2, 1e-3, 0):
        note = " The n variances add, so the rms grows with sqrt(fan_in), not fan_in."
    elif _close(got, std**2 * fan_in, 1e-3, 0) or _close(got, std**2 * fan_in / 2, 1e-3, 0):
        note = " That is the factor on the second moment; the rms is its square root."
    return (
        f"rms_gain: for std={_fmt(std)}, fan_in={fan_in}, {activation} you returned {_fmt(got)}; "
        f"one layer multiplies the rms of the activations by {want:.4g}.{note}"
    )


register(
    Exercise(
        name="rms_gain",
        cases=[
            ((s, n, act), s * math.sqrt(n / (2 if act == "relu" else 1)))
            for s, n, act in ((0.01, 500, "linear"), (0.01, 500, "relu"), (0.1, 10, "relu"),
                              (math.sqrt(2 / 500), 500, "relu"), (1 / math.sqrt(784), 784, "linear"),
                              (10.0, 500, "relu"))
        ],
        explain=_rms_gain_explain,
        hint_text="E[a^2] = fan_in * std^2 * E[h^2] for the pre-activation a of the next layer; "
        "ReLU keeps half of E[a^2]; the rms is the square root of the second moment.",
        solution_text="def rms_gain(std, fan_in, activation):\n"
        "    halve = 2 if activation == \"relu\" else 1\n"
        "    return std * math.sqrt(fan_in / halve)",
    )
)

# --- 05 Xavier / 06 He --------------------------------------------------------------------------


def _xavier_explain(args: tuple, got: Any, want: float) -> str:
    fan_in, fan_out, g = args
    note = ""
    if _close(got, g * math.sqrt(6 / fan_in), 1e-3, 0):
        note = " sqrt(6/fan_in) ignores fan_out: that is He uniform's bound, not Glorot's."
    elif _close(got, g * math.sqrt(2 / (fan_in + fan_out)), 1e-3, 0):
        note = " That is the std; the uniform bound is sqrt(3) times the std."
    elif _close(got, math.sqrt(6 / (fan_in + fan_out)), 1e-3, 0):
        note = " The gain multiplies the bound."
    return (
        f"xavier_bound: for fan_in={fan_in}, fan_out={fan_out}, gain={_fmt(g)} you returned "
        f"{_fmt(got)}; xavier_uniform_ uses gain * sqrt(6 / (fan_in + fan_out)) = {want:.4g}.{note}"
    )


register(
    Exercise(
        name="xavier_bound",
        cases=[
            ((fi, fo, g), g * math.sqrt(6 / (fi + fo)))
            for fi, fo, g in ((256, 256, 1.0), (784, 100, 1.0), (100, 10, 5 / 3), (3, 7, 2.0))
        ],
        explain=_xavier_explain,
        hint_text="Var(W) = gain^2 * 2 / (fan_in + fan_out), and U(-b, b) has Var = b^2 / 3.",
        solution_text="def xavier_bound(fan_in, fan_out, gain=1.0):\n"
        "    return gain * math.sqrt(6 / (fan_in + fan_out))",
    )
)


def _he_conv_explain(args: tuple, got: Any, want: float) -> str:
    c_in, k_h, k_w, a = args
    note = ""
    if _close(got, math.sqrt(2 / c_in), 1e-3, 0) or _close(
        got, math.sqrt(2 / ((1 + a * a) * c_in)), 1e-3, 0
    ):
        note = " A conv's fan_in counts the whole kernel: C_in * k_h * k_w."
    elif _close(got, math.sqrt(2 / (c_in * k_h * k_w)), 1e-3, 0):
        note = " The negative slope a changes the gain to sqrt(2 / (1 + a^2))."
    return (
        f"he_conv_std: for C_in={c_in}, kernel {k_h}x{k_w}, slope a={_fmt(a)} you returned "
        f"{_fmt(got)}; kaiming_normal_ (fan_in) gives sqrt(2 / ((1 + a^2) fan_in)) = {want:.4g}."
        f"{note}"
    )


register(
    Exercise(
        name="he_conv_std",
        cases=[
            ((c, kh, kw, a), math.sqrt(2 / ((1 + a * a) * c * kh * kw)))
            for c, kh, kw, a in ((64, 3, 3, 0.0), (3, 7, 7, 0.0), (16, 5, 5, 0.2), (128, 1, 1, 0.01))
        ],
        explain=_he_conv_explain,
        hint_text="fan_in of a conv weight (C_out, C_in, k_h, k_w) is C_in * k_h * k_w; "
        "the leaky ReLU gain is sqrt(2 / (1 + a^2)); std = gain / sqrt(fan_in).",
        solution_text="def he_conv_std(c_in, k_h, k_w, a=0.0):\n"
        "    return math.sqrt(2 / ((1 + a**2) * c_in * k_h * k_w))",
    )
)


# --- 07 / 08 zig-zag and fixes -----------------------------------------------------------------


def _max_stable_lr_explain(args: tuple, got: Any, want: float) -> str:
    curvature = args[0]
    note = ""
    if _close(got, 1 / curvature, 1e-3, 0):
        note = (" 1/L'' is where steps start to cross the minimum; they still shrink up to 2/L''."
                " The factor (1 - lr L'') only has to stay above -1.")
    elif _close(got, 2 * curvature, 1e-3, 0):
        note = " A sharper minimum (larger L'') needs a smaller step: divide, don't multiply."
    return (
        f"max_stable_lr: for L'' = {_fmt(curvature)} you returned {_fmt(got)}; near the minimum "
        f"a step maps w - w* to (1 - lr L'')(w - w*), which shrinks iff lr < 2 / L'' = {want:.4g}."
        f"{note}"
    )


register(
    Exercise(
        name="max_stable_lr",
        cases=[((c,), 2 / c) for c in (2.898, 1.0, 0.25, 20.81, 4.0)],
        explain=_max_stable_lr_explain,
        hint_text="Write w_{t+1} - w* = (1 - lr L'') (w_t - w*). For which lr is |1 - lr L''| < 1?",
        solution_text="def max_stable_lr(curvature):\n    return 2 / curvature",
    )
)


def _momentum_lr_explain(args: tuple, got: Any, want: float) -> str:
    lr, beta = args
    note = ""
    if _close(got, lr * (1 - beta), 1e-3, 0):
        note = " Momentum adds up past gradients, so it lengthens the step: divide by (1 - beta)."
    elif _close(got, lr * beta, 1e-3, 0) or _close(got, lr / beta, 1e-3, 0):
        note = " Sum the geometric series g (1 + beta + beta^2 + ...)."
    return (
        f"momentum_effective_lr: for lr={_fmt(lr)}, momentum={_fmt(beta)} you returned {_fmt(got)};"
        f" with a constant gradient the velocity grows to g / (1 - beta), so each step is "
        f"lr / (1 - beta) = {want:.4g} times the gradient.{note}"
    )


register(
    Exercise(
        name="momentum_effective_lr",
        cases=[((lr, b), lr / (1 - b)) for lr, b in ((1.0, 0.9), (0.1, 0.5), (0.01, 0.99),
                                                     (0.3, 0.0))],
        explain=_momentum_lr_explain,
        hint_text="torch's SGD: v = beta v + g, w -= lr v. If g never changes, what does v tend to?",
        solution_text="def momentum_effective_lr(lr, momentum):\n    return lr / (1 - momentum)",
    )
)


# --- 09 / 10 training and cheat sheet -----------------------------------------------------------


def _critical_std_explain(args: tuple, got: Any, want: float) -> str:
    width, activation = args
    note = ""
    if _close(got, 5 / 3 / math.sqrt(width), 1e-3, 0):
        note = " 5/3 is torch's tanh gain: a heuristic that sits on the chaotic side, not the edge."
    elif _close(got, math.sqrt(2 / width), 1e-3, 0) and activation != "relu":
        note = f" 2 is ReLU's critical value; {activation} has slope 1 at 0, so its value is 1."
    elif _close(got, math.sqrt(1 / width), 1e-3, 0) and activation == "relu":
        note = " ReLU zeroes half the signal, so the weights must double its variance: 2, not 1."
    elif _close(got, want**2, 1e-3, 0):
        note = " That is the variance; the question asks for the std."
    return (
        f"critical_weight_std: for width={width}, {activation} you returned {_fmt(got)}; the "
        f"critical line width * Var(W) = {want**2 * width:g} needs std = {want:.4g}.{note}"
    )


register(
    Exercise(
        name="critical_weight_std",
        cases=[
            ((n, act), math.sqrt((2.0 if act == "relu" else 1.0) / n))
            for n, act in ((128, "relu"), (128, "tanh"), (50, "linear"), (1000, "relu"), (10, "tanh"))
        ],
        explain=_critical_std_explain,
        hint_text="On the critical line width * Var(W) = 2 for ReLU and 1 for tanh or linear "
        "(zero bias). Solve for std = sqrt(Var(W)).",
        solution_text="def critical_weight_std(width, activation):\n"
        "    return math.sqrt((2.0 if activation == 'relu' else 1.0) / width)",
    )
)


# --- 10 attention and residual streams ---------------------------------------------------------


def _residual_var_explain(args: tuple, got: Any, want: float) -> str:
    depth, ratio = args
    note = ""
    if _close(got, 1 + depth * ratio, 1e-6, 0):
        note = (" That is linear growth: each branch adding the same fixed variance (pre-LN)."
                " Here each branch adds `ratio` times the variance the stream has by then.")
    elif _close(got, ratio**depth, 1e-6, 0):
        note = " The identity path carries x_l too: the block's output is x_l + f(x_l)."
    elif _close(got, (1 + ratio) ** (depth / 2), 1e-6, 0):
        note = " That is the std; the question asks for the variance."
    return (
        f"residual_stream_var: for depth={depth}, ratio={_fmt(ratio)} you returned {_fmt(got)}; "
        f"Var(x + f(x)) = Var(x) + Var(f(x)) = (1 + ratio) Var(x) per block, so after {depth} "
        f"blocks Var(x_L) / Var(x_0) = (1 + ratio)^{depth} = {want:.4g}.{note}"
    )


register(
    Exercise(
        name="residual_stream_var",
        cases=[((d, r), (1 + r) ** d) for d, r in ((50, 1.0), (10, 2.0), (12, 1 / 12), (100, 0.01),
                                                   (1, 0.5), (30, 0.0))],
        explain=_residual_var_explain,
        hint_text="The branch's weights are independent of x and have mean 0, so "
        "E[x f(x)] = 0 and the variances of x and f(x) add. Do it for one block, then repeat.",
        solution_text="def residual_stream_var(depth, ratio):\n    return (1 + ratio) ** depth",
        rel=1e-6,
    )
)


def _gpt2_std_explain(args: tuple, got: Any, want: float) -> str:
    n_layer = args[0]
    note = ""
    if _close(got, 0.02 / math.sqrt(n_layer), 1e-6, 0):
        note = " Each GPT-2 block writes into the stream twice (attention and MLP): 2 n_layer branches."
    elif _close(got, 0.02 / (2 * n_layer), 1e-6, 0):
        note = " Dividing the variance by 2 n_layer divides the std by sqrt(2 n_layer)."
    elif _close(got, 0.02, 1e-6, 0):
        note = " 0.02 is the std of every other Linear; the residual projections get less."
    return (
        f"gpt2_residual_std: for n_layer={n_layer} you returned {_fmt(got)}; nanoGPT draws each "
        f"residual projection with std 0.02 / sqrt(2 n_layer) = {want:.4g}.{note}"
    )


register(
    Exercise(
        name="gpt2_residual_std",
        cases=[((n,), 0.02 / math.sqrt(2 * n)) for n in (12, 24, 36, 48, 1)],
        explain=_gpt2_std_explain,
        hint_text="Count the branches that add into the stream: two per block. Their summed "
        "variance should stay O(1), so each branch's variance is divided by that count.",
        solution_text="def gpt2_residual_std(n_layer):\n    return 0.02 / math.sqrt(2 * n_layer)",
        rel=1e-6,
    )
)


# --- 11 width and depth at scale ----------------------------------------------------------------

_MUP_ADAM = {"input": lambda w, b: 1.0, "hidden": lambda w, b: b / w, "output": lambda w, b: b / w}


def _mup_adam_explain(args: tuple, got: Any, want: float) -> str:
    layer, width, base = args
    m = width / base
    note = ""
    sgd = {"input": m, "hidden": 1.0, "output": 1 / m}[layer]
    if layer == "hidden" and _close(got, 1.0, 1e-6, 0):
        note = " A hidden layer has fan_in = width: an Adam step moves its output ~ width x lr."
    elif _close(got, sgd, 1e-6, 0) and not _close(sgd, want, 1e-6, 0):
        note = " That is muP's SGD column: Adam normalises each gradient entry, so its rule differs."
    elif _close(got, 1 / width, 1e-6, 0):
        note = " The factor is relative to the base width: at width = base_width it is 1."
    elif layer == "input" and not _close(got, 1.0, 1e-6, 0):
        note = " The input layer's fan_in (the data's features) does not grow with width."
    return (
        f"mup_adam_lr_factor: for the {layer} layer at width {width} (base {base}) you returned "
        f"{_fmt(got)}; muP multiplies Adam's learning rate there by {want:.4g}.{note}"
    )


register(
    Exercise(
        name="mup_adam_lr_factor",
        cases=[((layer, n, b), _MUP_ADAM[layer](n, b))
               for layer, n, b in (("input", 4096, 64), ("hidden", 4096, 64), ("output", 1024, 64),
                                   ("hidden", 64, 64), ("output", 256, 128), ("input", 256, 64))],
        explain=_mup_adam_explain,
        hint_text="An Adam step changes every entry of W by about lr, with signs aligned to the "
        "layer's input h, so it changes W h by ~ lr x fan_in. Which layers have a fan_in that "
        "grows with width? Express the factor relative to base_width.",
        solution_text="def mup_adam_lr_factor(layer, width, base_width):\n"
        "    return 1.0 if layer == 'input' else base_width / width",
        rel=1e-6,
    )
)


# --- exercises answered by naming, and open ones with a worked solution ----------------------


@dataclass
class Diagnosis:
    """An exercise answered by naming, not by a function: a dict mapping each question to one
    of `choices`, e.g. {"lecun": "C", "saturates": "B", "vanishes": "A"}.

    `why[question]` says how to tell the right choice when the learner's is wrong; `table(seed)`
    (optional) returns the evidence to diagnose, as printed text. A starter whose values are
    all `...` reports "not attempted". `choices_for` gives a question its own choices (e.g. fixes
    numbered 1-4 next to causes lettered A-D, so the two lists cannot be confused); an int
    answer counts as its digits.
    """

    name: str
    want: dict[str, str]
    choices: tuple[str, ...]
    why: dict[str, str]
    hint_text: str
    solution_text: str
    table: Callable[[int], str] | None = None
    choices_for: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def _choices(self, key: str) -> tuple[str, ...]:
        return self.choices_for.get(key, self.choices)

    def result(self, answer: Any) -> Result:
        """Check `answer` and return the Result (check() prints the same message)."""
        keys = ", ".join(self.want)
        if answer is None or answer is Ellipsis or (
                isinstance(answer, dict) and all(v is None or v is Ellipsis for v in answer.values())):
            fill = (f"{keys} with one of {', '.join(self.choices)} each" if not self.choices_for else
                    "; ".join(f"{k} with one of {', '.join(self._choices(k))}" for k in self.want))
            return Result("not attempted", f"{self.name}: not attempted yet. Fill in {fill} "
                          f"(ex.{self.name}.hint() for a hint).")
        if not isinstance(answer, dict) or set(answer) != set(self.want):
            return Result("incorrect", f"{self.name}: expected a dict with the keys {keys}, "
                          f"got {answer!r}")
        for key, want in self.want.items():
            value = answer[key]
            is_text = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
            got = str(value).strip().upper() if is_text else value
            if got not in self._choices(key):
                return Result("incorrect", f"{self.name}: {key} = {value!r} is not one of "
                              f"{', '.join(self._choices(key))}")
            if got != want:
                return Result("incorrect", f"{self.name}: {key} is not {got}. {self.why[key]}")
        return Result("correct", f"{self.name}: correct, all {len(self.want)} named right.")

    def show(self, seed: int = 0) -> None:
        """Print the evidence the learner diagnoses from."""
        if self.table is None:
            raise ValueError(f"{self.name} has no table to show")
        print(self.table(seed))

    check = Exercise.check
    hint = Exercise.hint
    solution = Exercise.solution


@dataclass
class OpenExercise:
    """An open exercise (a measurement to make, a reason to give): no single value to check.

    check(answer) says "not attempted" for an untouched starter (`...` or None) and otherwise
    points to the worked solution; solution() prints it.
    """

    name: str
    hint_text: str
    solution_text: str

    def result(self, answer: Any) -> Result:
        if answer is None or answer is Ellipsis:
            return Result("not attempted", f"{self.name}: not attempted yet. Write your answer in "
                          f"place of the `...`, then compare it with ex.{self.name}.solution().")
        return Result("answered", f"{self.name}: noted. An open exercise has no single checkable "
                      f"value: compare your answer with ex.{self.name}.solution().")

    def check(self, answer: Any) -> None:
        """Print whether the exercise was attempted, and where the worked solution is."""
        r = self.result(answer)
        print(f"{'…' if r.status == 'not attempted' else '✎'} {r.message}")

    hint = Exercise.hint
    solution = Exercise.solution


# --- 01 / 02: the open exercises and the diagnosis ----------------------------------------------

register(
    OpenExercise(
        name="explorer_same_error",
        hint_text="numpy draws U(a, b) as a + (b - a) u with u ~ U(0, 1). What does that do to the "
        "sample variance, and to (b - a)^2 / 12?",
        solution_text=(
            "With a fixed seed the explorer draws the same u_1..u_N from U(0, 1) every time and\n"
            "returns x_i = a + (b - a) u_i. A shift does not change a variance and a factor (b - a)\n"
            "multiplies it by (b - a)^2, so the sample variance is (b - a)^2 s_u^2, where s_u^2 is\n"
            "the sample variance of the u's. The theory (b - a)^2 / 12 scales the same way, so\n"
            "their ratio s_u^2 / (1/12), and with it the relative error, does not depend on a and b.\n"
            "Section 3 predicts a typical relative error of sqrt(2/(N-1) - 1.2/N) = 32% at N = 10.\n"
            "A different sample needs a different seed: monte_carlo_explorer(seed=1), say."
        ),
    )
)


def _mystery_table(seed: int) -> str:
    """std(a) of three layers whose weight std follows a hidden rule, at four widths (inputs from
    U(-1, 1), 500 neurons per width)."""
    ns = (10, 100, 1_000, 10_000)
    lines = ["std(a) at n: " + "".join(f"{n:>9,}" for n in ns)]
    for letter, rule in _MYSTERY_RULES.items():
        stds = [stats.sample_weighted_sums(n, 500, "uniform", weight_std=rule(n), seed=seed + i).std()
                for i, n in enumerate(ns)]
        lines.append(f"     layer {letter}: " + "".join(f"{s:9.4f}" for s in stds))
    return "\n".join(lines)


_MYSTERY_RULES: dict[str, Callable[[int], float]] = {
    "A": lambda n: 1 / n,
    "B": lambda n: 0.05,
    "C": lambda n: n**-0.5,
}
"""Notebook 02's mystery layers: std(w) = 1/n, a fixed 0.05, and LeCun's 1/sqrt(n)."""

register(
    Diagnosis(
        name="name_the_rule",
        want={"lecun": "C", "saturates": "B", "vanishes": "A"},
        choices=("A", "B", "C"),
        why={
            "lecun": "LeCun's std(w) = 1/sqrt(n) keeps std(a) the same at every n: look for the "
            "flat row.",
            "saturates": "A weight std that does not shrink with n lets std(a) grow like sqrt(n): "
            "about x3.2 per x10 inputs, so as n grows more and more of it lands where tanh is "
            "flat (|a| > 2.65).",
            "vanishes": "A weight std that shrinks faster than 1/sqrt(n) makes std(a) fall as n "
            "grows: x0.32 per x10 inputs.",
        },
        hint_text="Read each row from left to right: per x10 inputs, does std(a) grow by about "
        "3.2 (= sqrt(10)), stay put, or shrink by about 3.2? Do not compare the rows at one n.",
        solution_text=(
            "answer = {\"lecun\": \"C\", \"saturates\": \"B\", \"vanishes\": \"A\"}\n"
            "C is flat (std(w) = 1/sqrt(n), so n Var(w) = 1). B grows by sqrt(10) per x10 inputs\n"
            "(a fixed std(w) = 0.05). A shrinks by sqrt(10) per x10 inputs (std(w) = 1/n, so\n"
            "n Var(w) = 1/n). At n = 10, B is below A: one column alone would mislead."
        ),
        table=_mystery_table,
    )
)

register(
    OpenExercise(
        name="uncentred_inputs",
        hint_text="Redo section 2's first line without assuming E[x] = 0: "
        "Var(w x) = E[w^2 x^2] - E[w x]^2, with E[w] = 0.",
        solution_text=(
            "x = torch.empty(2_000, 10_000).uniform_(0, 1)    # inputs from U(0, 1): not centred\n"
            "w = torch.empty(2_000, 10_000).uniform_(-1, 1)   # zero-mean weights\n"
            "print((w * x).sum(dim=1).std())                  # about 33.3\n"
            "With E[w] = 0, E[w x] = E[w] E[x] = 0, so Var(w x) = E[w^2] E[x^2] = Var(w) E[x^2]:\n"
            "the sqrt(n) law holds, with the second moment E[x^2] = 1/3 in place of\n"
            "Var(x) = 1/12. std(a) = sqrt(n Var(w) E[x^2]) = sqrt(10,000 / 9) = 33.3 here, twice\n"
            "what Var(x) would predict (16.7). LeCun's rule assumes standardised inputs: centre\n"
            "the data (or count E[x^2]) before choosing Var(w) = 1/n."
        ),
    )
)


# --- 09: which deep net will train, read from its init; open exercises --------------------------

_DEPTH16_RULES: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "A": lambda w, g: w.uniform_(-(w.shape[1] ** -0.5), w.shape[1] ** -0.5, generator=g),
    "B": lambda w, g: w.normal_(0.0, math.sqrt(2 / w.shape[1]), generator=g),
    "C": lambda w, g: w.normal_(0.0, math.sqrt(2 / (w.shape[0] + w.shape[1])), generator=g),
}
"""Notebook 09's three unnamed 16-layer nets: nn.Linear's default U(+-1/sqrt(fan_in)), He, Xavier."""


def _depth16_table(seed: int, depth: int = 16, width: int = 32) -> str:
    """std of the pre-activations, at init, of three ReLU nets whose weights follow a hidden rule."""
    shown = list(range(0, depth + 1, 4))
    lines = [f"std of the pre-activation at init, three ReLU nets of {depth} layers x {width} "
             f"(input std 1, zero biases)", "  layer: " + "".join(f"{d:>9}" for d in shown)]
    for i, rule in enumerate(_DEPTH16_RULES.values()):
        g = torch.Generator().manual_seed(seed * 101 + i)
        h = torch.randn(512, width, generator=g)
        stds = [float(h.std())]
        for _ in range(depth):
            a = h @ rule(torch.empty(width, width), g).T
            stds.append(float(a.std()))
            h = torch.relu(a)
        lines.append(f"  net {'ABC'[i]}: " + "".join(f"{stds[d]:9.2g}" for d in shown))
    return "\n".join(lines)


register(
    Diagnosis(
        name="which_net_trains",
        want={"trains": "B", "stuck at chance": "A"},
        choices=("A", "B", "C"),
        why={
            "trains": "Only a net whose std stays of order 1 from layer to layer gives every layer "
            "a signal and a gradient to learn from: fan_in Var(W) / 2 = 1, He's rule.",
            "stuck at chance": "The fastest fall is a variance factor of 1/6 per layer (std x0.41), "
            "nn.Linear's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with Var(W) = 1/(3 fan_in): "
            "after 16 layers almost nothing reaches the output, and the sweep finds it at chance "
            "in every run.",
        },
        hint_text="Divide each std by the one four layers before it: that is the factor per four "
        "layers. A ReLU layer multiplies the variance by fan_in Var(W) / 2; which of the sweep's "
        "schemes give 1, 1/2 and 1/6?",
        solution_text=(
            "answer = {\"trains\": \"B\", \"stuck at chance\": \"A\"}\n"
            "Per layer a ReLU net multiplies the pre-activation variance by fan_in Var(W) / 2:\n"
            "  B: x1   (std of order 1)       He, Var(W) = 2/fan_in: trains at depth 16\n"
            "  C: x1/2 (std x0.71 per layer)  Xavier on square layers: stuck in some runs\n"
            "  A: x1/6 (std x0.41 per layer)  nn.Linear's default: at chance in every run\n"
            "After 16 layers C's std is about 0.71^16 = 0.004 of the input's, A's about\n"
            "0.41^16 = 6e-7."
        ),
        table=_depth16_table,
    )
)

register(
    OpenExercise(
        name="he_vs_lsuv_full_sweep",
        hint_text="Compare the he and lsuv rows depth by depth, seed by seed (sweep.at('he', d)). "
        "LSUV rescales each layer on a real batch; He relies on the average over random weights.",
        solution_text=(
            "FULL_SWEEP = True trains depths 2, 5, 10, 15, 20, 25, 30 with 3 seeds and 300 steps.\n"
            "Compare sweep.at('he', d) with sweep.at('lsuv', d) depth by depth. With SEED = 0, up to\n"
            "depth 15 both train (final losses below 0.09, LSUV a little lower). At depth 20 a gap\n"
            "opens: He's three runs end at 0.12-0.68, LSUV's at 0.03-0.07. At 25 and 30 both become\n"
            "erratic from run to run (one He run reaches inf at depth 30, one LSUV run 2.18, near\n"
            "chance): at this learning rate and budget neither is reliable that deep.\n"
            "Why measuring can beat the formula: He sets Var(W) = 2/fan_in, which keeps the variance\n"
            "only on average over weight draws. One drawn layer of width 32 multiplies it by a random\n"
            "factor around 1, and over 20 layers those factors multiply, so some runs start with a\n"
            "signal far from 1. LSUV measures each layer's output on a real minibatch and divides it\n"
            "out, so every layer starts at variance 1 whatever the draw. It fixes the start only:\n"
            "what happens during training at depth 25-30 is another matter."
        ),
    )
)

register(
    OpenExercise(
        name="tanh_critical_edge",
        hint_text="Compare chi_1 = sigma_w^2 E[tanh'(sqrt(q) z)^2] at q ~ 1 and as q -> 0 "
        "(criticality.mean_field gives both).",
        solution_text=(
            "At width * Var(W) = 0.5 both lines fall in a straight line on the log axis: signal and\n"
            "gradient shrink geometrically (mean field: about 10^-7.7 over 50 layers).\n"
            "At 1 (the critical line) both fall only slowly, about 10^-1 over 50 layers. The\n"
            "gradient fades fastest in the first layers, next to the input: there the signal still\n"
            "has q ~ 1, where tanh bends and chi_1 = E[tanh'(z)^2] < 1. Deeper, q shrinks toward 0,\n"
            "tanh looks linear and chi_1 -> 1, so each further layer costs less.\n"
            "criticality.mean_field_profile('tanh', s, 50) puts the gradient's end near 0 at\n"
            "s = 1.4 (log10 growth -0.004): to the right of the critical line. At finite depth the\n"
            "signal never reaches q = 0, so a little extra gain is needed to balance the bend; the\n"
            "critical line is where the limit of infinite depth is balanced."
        ),
    )
)


# --- 10: predict a residual block's growth; the first step at a ten-fold lr ------------------------


def _block_var_explain(args: tuple, got: Any, want: float) -> str:
    g1, g2 = args
    note = ""
    if _close(got, g1**2 * g2**2 / 2, 1e-6, 0):
        note = " That is the branch alone: the identity path carries Var(x) too."
    elif _close(got, 1 + g1**2 * g2**2, 1e-6, 0):
        note = " ReLU zeroes half of a symmetric input: it halves the second moment."
    elif _close(got, math.sqrt(want), 1e-6, 0):
        note = " That is the factor on the std; the question asks for the variance."
    return (
        f"block_var_factor: for gain1={_fmt(g1)}, gain2={_fmt(g2)} you returned {_fmt(got)}; "
        f"W1 gives Var gain1^2 Var(x), ReLU halves it, W2 multiplies by gain2^2, and the identity "
        f"path adds Var(x): 1 + gain1^2 gain2^2 / 2 = {want:.4g}.{note}"
    )


register(
    Exercise(
        name="block_var_factor",
        cases=[((g1, g2), 1 + g1**2 * g2**2 / 2)
               for g1, g2 in ((math.sqrt(2), 1.0), (math.sqrt(2), math.sqrt(2)), (1.0, 1.0),
                              (math.sqrt(2), 1 / math.sqrt(50)), (2.0, 0.5), (math.sqrt(2), 0.0))],
        explain=_block_var_explain,
        hint_text="kaiming_normal_ with gain g on a square layer of width n draws Var(W) = g^2/n, so "
        "Var(W x) = g^2 Var(x). Follow Var through W1, the ReLU and W2, then add the identity path.",
        solution_text=(
            "def block_var_factor(gain1, gain2):\n"
            "    return 1 + gain1**2 * gain2**2 / 2\n"
            "# He branches (sqrt(2), 1): 2. Both gains sqrt(2): 3, so 50 blocks give 3^50 ~ 7e23 in\n"
            "# variance. Gains (sqrt(2), 1/sqrt(L)): 1 + 1/L, the 1/sqrt(L) init of section 2."
        ),
        rel=1e-6,
    )
)

register(
    OpenExercise(
        name="residual_first_step",
        hint_text="Build residual.residual_classifier('scaled', 50, 32, 10, 2) and the 'zero' one with "
        "the same seed, take 64 training examples, do one loss.backward() and p -= lr * p.grad.",
        solution_text=(
            "data = train.make_blobs(seed=0)\n"
            "idx = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(0))[:64]\n"
            "xb, yb = data.x_train[idx], data.y_train[idx]\n"
            "for b in ('scaled', 'zero'):\n"
            "    net = residual.residual_classifier(b, 50, 32, 10, 2, seed=0)\n"
            "    before = net(xb).detach()\n"
            "    torch.nn.functional.cross_entropy(net(xb), yb).backward()\n"
            "    with torch.no_grad():\n"
            "        for p in net.parameters():\n"
            "            p -= 0.1 * p.grad\n"
            "    print(b, float((net(xb).detach() - before).std() / before.std()))\n"
            "With seed 0 the 1/sqrt(L) net's logits move about 900 times their own std in one step\n"
            "(about 3.5 times at lr 0.01); the zero-gated net's move about 1.6 times (0.17 at lr 0.01).\n"
            "Why: in the 1/sqrt(L) net all 50 branches are live, so the first step changes 100 weight\n"
            "matrices at once and their changes compound through 50 blocks; its gradient norm is about\n"
            "6 times the zero-gated net's. In the zero-gated net the branches are switched off: the\n"
            "first step moves the 50 scalar gates (and the two end layers), and the branches switch on\n"
            "gradually. One step that large sends the next losses to inf."
        ),
    )
)


# --- 07 / 08: open exercises on the zig-zag and its fixes ----------------------------------------

register(
    OpenExercise(
        name="zigzag_half_centred",
        hint_text="Centring 0.5 subtracts half the inputs' mean. Look at the smallest input and at "
        "the same-sign share in the explorer's readout, or build the inputs with "
        "zigzag.make_inputs('sigmoid', centring=0.5, seed=SEED).",
        solution_text=(
            "inp = zigzag.make_inputs('sigmoid', centring=0.5, seed=SEED)\n"
            "run = zigzag.train_neuron(inp, lr=0.2, steps=400, seed=SEED)\n"
            "print(inp.x.min(), run.same_sign, run.steps_to_threshold, inp.condition_number)\n"
            "With half the mean removed some inputs turn negative (the smallest is about -0.34 at\n"
            "SEED = 0), so fewer steps are same-sign (about 74%, against 100% and 54%), and the\n"
            "valley widens (condition number about 3.9, against 12.4 and 1.0). The steps to 1e-3\n"
            "land in between: about 66, against 168 at centring 0 and 19 at centring 1. The\n"
            "zig-zag fades as the mean goes: the inputs' mean sets both the signs and the shape."
        ),
    )
)

register(
    OpenExercise(
        name="zigzag_forget_start",
        hint_text="Print abs(runs.weights[k, 0] - runs.weights[k, 1]) for k = 49, 99, 299 at each lr.",
        solution_text=(
            "for lr in (0.75, 1.0):\n"
            "    runs = zigzag.run_article002_from([0.2, 0.2 + 1e-6], lr=lr, steps=300)\n"
            "    gap = abs(runs.weights[:, 0] - runs.weights[:, 1])\n"
            "    print(lr, gap[49], gap[99], gap[299])\n"
            "At lr 0.75 the gap is 0 by step 50: both runs fall onto the same two-value bounce, so\n"
            "the start no longer matters and the late weights are predictable. At lr 1 the gap grows\n"
            "from 1e-6 to about 0.1 by step 50 and stays the size of the band the weight bounces in:\n"
            "a change of one part in a million in the start decides the weight at step 100. The\n"
            "band (0.11 to 0.31 for every start) can be predicted; a single late weight cannot."
        ),
    )
)

register(
    OpenExercise(
        name="fixes_batchnorm_tanh",
        hint_text="Train zigzag.article002_model(['batchnorm', 'tanh'], seed=ARTICLE_SEED) with "
        "torch.optim.SGD(model.parameters(), lr=1.0) for 100 steps and print model[0].weight, "
        "model[1].weight (gamma) and model[1].bias (beta) after the first step and at the end.",
        solution_text=(
            "model = zigzag.article002_model(['batchnorm', 'tanh'], seed=ARTICLE_SEED)\n"
            "x = torch.tensor(zigzag.ARTICLE002_X).unsqueeze(1)\n"
            "y = torch.tensor(zigzag.ARTICLE002_Y).unsqueeze(1)\n"
            "opt = torch.optim.SGD(model.parameters(), lr=1.0)\n"
            "for step in range(100):\n"
            "    opt.zero_grad(); (model(x) - y).pow(2).mean().backward(); opt.step()\n"
            "print(model[0].weight.item(), model[1].weight.item(), model[1].bias.item())\n"
            "BatchNorm's gamma and beta. BatchNorm divides the weight out, so only its sign counts:\n"
            "the first step flips the pinned start (-0.0075) to about +0.157 (BatchNorm's gradient\n"
            "on w grows like 1/|w| near 0), and after that the weight hardly moves (its gradient is\n"
            "0 but for BatchNorm's small eps). beta goes from 0 to about 1.57 and gamma from 1 to\n"
            "about 1.02: tanh of an affine function of x, with a loss near 5e-5, far below the best\n"
            "single sigmoid weight (0.038)."
        ),
    )
)


register(
    Diagnosis(
        name="momentum_lr_limit",
        want={"limit": "C", "set by": "A"},
        choices=("A", "B", "C"),
        why={
            "limit": "Lower the lr in the explorer (momentum 0.9, 100 steps from the pinned start) "
            "and read the final loss: the runs stay above 0.05 until far below heavy ball's local "
            "limit 1.31, yet still converge well above the 0.069 that plain SGD's limit times "
            "(1 - beta) predicts. The limit lies in neither place.",
            "set by": "Watch the weight during the first steps of the runs that fail: they coast "
            "far up the flat plateau, and from there 100 steps are not enough to slide back. A "
            "local analysis at the minimum (its curvature) cannot see the plateau, and momentum "
            "lengthens the step rather than shortening it.",
        },
        hint_text="Watch the weight's curve in the explorer as you lower the lr: where does it go in "
        "the first steps of a run that fails, and is it still moving at step 100?",
        solution_text=(
            "answer = {\"limit\": \"C\", \"set by\": \"A\"}\n"
            "Neither 1.31 nor 0.069: on a grid of learning rates (momentum 0.9, 100 steps from the\n"
            "pinned start) the final loss stays below 0.05 up to lr 0.13 and not from 0.14 on. The\n"
            "runs that fail are the ones whose first steps coast furthest up the plateau: at 0.14\n"
            "the weight climbs to about 2.4 and is still sliding back at step 100 (w* = 0.163), at\n"
            "0.13 it reaches about 2.1 and gets back. Heavy ball's limit 2(1 + beta)/L''(w*) holds\n"
            "only near the minimum, and momentum lengthens the step, so plain SGD's limit times\n"
            "(1 - beta) is too low."
        ),
    )
)


# --- 03: which starts leave clones; 04: name the init from a per-layer std table ----------------

_STARTS_03 = ("constant", "zero", "random")


def _clones_explain(args: tuple, got: Any, want: float) -> str:
    hidden, output = args
    if want == 1:
        why = ("every hidden unit starts with the same incoming and the same outgoing weights, so "
               "each gets the same gradient at every step: they stay clones.")
    elif hidden == "random":
        why = "the hidden units start with different incoming weights, and training keeps them apart."
    else:
        why = ("the units start with equal incoming weights, but their outgoing weights differ, so "
               "the error each receives, sum_m V_mj delta_m, differs: the first step splits them.")
    return (f"distinct_after_training: hidden {hidden}, output {output}: you returned {_fmt(got)}, "
            f"but {int(want)} of the 32 hidden units are distinct after training: {why}")


register(
    Exercise(
        name="distinct_after_training",
        cases=[((h, o), 1.0 if "random" not in (h, o) else 32.0)
               for h, o in (("constant", "constant"), ("constant", "random"), ("random", "zero"),
                            ("zero", "zero"), ("random", "random"), ("zero", "random"),
                            ("constant", "zero"), ("random", "constant"))],
        explain=_clones_explain,
        hint_text="The gradient dL/dW_jk = (sum_m V_mj delta_m) tanh'(z_j) x_k: two units "
        "get the same update only if they have the same incoming weights AND the same outgoing "
        "weights V_:j. Check both for each start.",
        solution_text=(
            "def distinct_after_training(hidden, output):\n"
            "    return 1 if 'random' not in (hidden, output) else 32\n"
            "Clones need equal incoming AND equal outgoing weights. Random hidden weights: the\n"
            "rows differ from the start. Random output weights: the columns V_:j differ, so\n"
            "each unit's error sum_m V_mj delta_m differs and the first step splits the rows.\n"
            "Constant or zero in both layers: every unit gets the same gradient for ever."
        ),
    )
)

register(
    OpenExercise(
        name="relu_constant",
        hint_text="Redo the argument of 'Why: identical units get identical gradients' with relu "
        "in place of tanh: what are h_j and V at c = 0?",
        solution_text=(
            "symmetry.symmetry_run(DATA, 'constant', c, activation='relu', steps=STEPS,\n"
            "                      dtype=torch.float64, seed=SEED).groups   # [32] for every c\n"
            "No constant gives more than one distinct unit: the gradient argument never used\n"
            "the shape of the activation, only that equal units compute equal values. At c = 0,\n"
            "z_j = 0, so h_j = relu(0) = 0 and V = 0: dL/dV = delta h = 0 and dL/dW has the\n"
            "factor sum_m V_mj delta_m = 0. Only the output bias learns, as with tanh."
        ),
    )
)


_INIT_MYSTERY = {"A": ("xavier", None), "B": ("fixed", 0.1), "C": ("he", None), "D": ("fixed", 0.01)}
"""Notebook 04's mystery stacks: 10 ReLU layers of 1000, each letter one init (a width the
notebook's own tables do not use, so the rows must be read, not matched)."""


def _init_table(seed: int) -> str:
    """Per-layer forward std of the four mystery ReLU stacks (width 1000, depth 10)."""
    from helpers import probe  # the probe is torch-heavy; only this table needs it

    rows = {letter: probe.propagate(10, 1000, "relu", init, std=std, batch=128, seed=seed).forward_std
            for letter, (init, std) in _INIT_MYSTERY.items()}
    return "\n".join(_stack_rows("forward std per layer of four ReLU stacks (width 1000, zero biases, "
                                 "N(0, 1) input)", rows, "9.3g"))


def _stack_rows(title: str, rows: dict[str, Any], fmt: str) -> list[str]:
    """The layout of the mystery-stack tables: a title, a layer header, one row of numbers per
    stack letter, every column as wide as `fmt` (e.g. "9.3g")."""
    width = int(fmt.split(".")[0])
    n_layers = len(next(iter(rows.values())))
    return [title, "layer:    " + "".join(f"{layer:>{width}d}" for layer in range(1, n_layers + 1))] + [
        f"stack {k}:  " + "".join(format(v, fmt) for v in values) for k, values in rows.items()]


register(
    Diagnosis(
        name="name_the_init",
        want={"he": "C", "xavier": "A", "std 0.01": "D", "std 0.1": "B"},
        choices=("A", "B", "C", "D"),
        why={
            "he": "He's std sqrt(2/1000) gives a ReLU layer the gain sigma sqrt(n/2) = 1: look for "
            "the row that stays level.",
            "xavier": "Xavier's std 1/sqrt(1000) (for square layers) has no ReLU factor 2: sigma "
            "sqrt(n/2) = 1/sqrt(2) = 0.71 per layer, a steady decay of about 30% a layer.",
            "std 0.01": "std 0.01 gives 0.01 sqrt(500) = 0.22 per layer: the row that falls "
            "about five-fold every layer.",
            "std 0.1": "std 0.1 gives 0.1 sqrt(500) = 2.2 per layer: the row that grows.",
        },
        hint_text="Divide each row's std at layer 10 by its std at layer 9 (or take the 9th root "
        "of layer 10 / layer 1): that is the gain sigma sqrt(n/2) of one ReLU layer. Solve for "
        "sigma with n = 1000 and compare with 0.01, 0.1, 1/sqrt(1000) (Xavier) and sqrt(2/1000) (He).",
        solution_text=(
            "answer = {\"he\": \"C\", \"xavier\": \"A\", \"std 0.01\": \"D\", \"std 0.1\": \"B\"}\n"
            "A ReLU layer multiplies the std by sigma sqrt(n/2) with n = 1000: He (sigma = 0.045)\n"
            "by 1.0, so C stays level; Xavier (0.032) by 0.71, so A loses ~30% a layer; std 0.01 by\n"
            "0.22, so D falls ~5x a layer; std 0.1 by 2.2, so B grows."
        ),
        table=_init_table,
    )
)

register(
    OpenExercise(
        name="relu_std_by_width",
        hint_text="The gain of a ReLU layer is sigma sqrt(n/2). Which sigma makes it 1 at n = 50? "
        "At n = 500? Then find those values on the slider.",
        solution_text=(
            "The forward std holds where sigma sqrt(n/2) = 1, i.e. sigma = sqrt(2/n): 0.2 at width\n"
            "50 and 0.063 at width 500 (the slider's 0.2 and 0.0631). Measured with\n"
            "probe.propagate(10, n, 'relu', 'fixed', std=s): std 0.2 keeps 0.68 of layer 1's std\n"
            "after 10 layers at width 50, but grows ~26,000x at width 500; std 0.0631 keeps 0.82\n"
            "at width 500 and loses ~50,000x at width 50. The right std depends on the width:\n"
            "that is why He's rule is written in terms of fan_in."
        ),
    )
)

register(
    OpenExercise(
        name="tanh_depth_50",
        hint_text="Try std = k / sqrt(500) for k = 1, 1.2, 5/3, 2 at depth 50, and read both the "
        "forward and the gradient line.",
        solution_text=(
            "probe.propagate(50, 500, 'tanh', 'fixed', std=k / math.sqrt(500)) for a few k:\n"
            "  k = 1 (Xavier/LeCun): forward std 0.63 -> 0.10 by layer 50, gradient x0.18\n"
            "  k = 1.2:              forward settles at 0.42 from layer 10, gradient x1.5\n"
            "  k = 5/3 (torch gain): forward settles at 0.65, gradient grows x96 to layer 1\n"
            "  k = 2:                forward settles at 0.73, gradient grows x1,800\n"
            "At k = 1 the forward std keeps shrinking (slowly: tanh is flatter than the identity).\n"
            "Any k a little above 1 stops the shrinking, but the larger k, the more the gradient\n"
            "grows toward the input: only a narrow band just above 1 keeps both roughly flat.\n"
            "Notebook 09 maps this edge for every std and depth."
        ),
    )
)


# --- 05 Xavier / 06 He: diagnoses and open exercises --------------------------------------------

_TANH_MYSTERY = {"A": 5 / 3 / math.sqrt(128), "B": 1 / math.sqrt(3 * 128), "C": 1.0}
"""Notebook 05's mystery tanh stacks (8 layers of 128): weight std of Xavier with torch's tanh gain
5/3, of the standard U(+-1/sqrt(n)) init, and a fixed 1 (a width and depth the notebook's own tables
do not use, so the rows must be read, not matched)."""


def _tanh_init_table(seed: int) -> str:
    """Per-layer activation std, gradient std and saturated share of the three mystery tanh stacks."""
    from helpers import probe  # the probe is torch-heavy; only this table needs it

    recs = {k: probe.propagate(8, 128, "tanh", "fixed", std=s, batch=256, seed=seed)
            for k, s in _TANH_MYSTERY.items()}
    lines = _stack_rows("activation std of three tanh stacks (8 layers of 128, zero biases, N(0, 1) input)",
                        {k: r.forward_std for k, r in recs.items()}, "8.3f")
    lines += ["gradient std dL/dh at layer 1 (layer 8's is about 1): "
              + ", ".join(f"{k} {r.grad_std[0]:.3g}" for k, r in recs.items()),
              "share of activations with |h| > 0.99 (saturated), layer 8: "
              + ", ".join(f"{k} {r.saturated[-1]:.0%}" for k, r in recs.items())]
    return "\n".join(lines)


register(
    Diagnosis(
        name="name_the_tanh_init",
        want={"standard": "B", "xavier_gain": "A", "std_1": "C"},
        choices=("A", "B", "C"),
        why={
            "standard": "The standard init has Var(W) = 1/(3n): each layer divides the variance by "
            "about 3, so look for the row whose activation std falls about 0.56x a layer and whose "
            "gradient shrinks the same way toward layer 1.",
            "xavier_gain": "Xavier with gain 5/3 keeps tanh's signal of order 1 without saturating "
            "it: the activation std settles near 0.65 and the gradient grows only a little toward "
            "layer 1.",
            "std_1": "A weight std of 1 at fan_in 128 gives pre-activations of std about 11: tanh "
            "is pinned at +-1 (most values saturated, activation std near 1), and the gradient "
            "grows hundreds of times toward layer 1.",
        },
        hint_text="Read three things per stack: does the activation std fall, settle, or sit near "
        "1? Does the gradient shrink or grow toward layer 1, and by how much? How much of layer 8 "
        "is saturated?",
        solution_text=(
            "answer = {\"standard\": \"B\", \"xavier_gain\": \"A\", \"std_1\": \"C\"}\n"
            "B: Var(W) = 1/(3n), a third of what the forward condition asks: activations and\n"
            "gradients shrink by about 0.56 a layer, to ~1% over 8 layers (section 1, deeper).\n"
            "A: Xavier x 5/3 settles at an activation std near 0.65 with no saturation; the\n"
            "gradient grows under 2x toward layer 1.\n"
            "C: std 1 makes each pre-activation a sum with std ~ sqrt(128) x 0.96 ~ 11, so tanh\n"
            "saturates (about 80% of the values beyond 0.99) and the activation std sits near 1.\n"
            "A flat activation std is not a healthy one: here the gradient grows ~2.5x a layer."
        ),
        table=_tanh_init_table,
    )
)

register(
    OpenExercise(
        name="xavier_relu_depth",
        hint_text="Notebook 06, section 2: with Var(W) = 1/n, one ReLU layer multiplies the variance "
        "by 1/2. What does that do to the std over 4 steps (layer 1 to 5), and over 29?",
        solution_text=(
            "for depth in (5, 30):\n"
            "    r = probe.propagate(depth, WIDTH, 'relu', 'xavier', seed=SEED)\n"
            "    print(depth, r.forward_ratio, r.grad_ratio)\n"
            "Prediction: ReLU halves the second moment, so with Var(W) = 1/n each layer multiplies\n"
            "the std by sqrt(1/2) = 0.707: over 5 layers layer 5 keeps 0.707^4 = 0.25 of layer 1's\n"
            "std, over 30 layers 0.707^29 ~ 4e-5. The measurement agrees (about 0.22 and 2e-5 at\n"
            "SEED = 0: one net sits a little below the average, notebook 06's first deep dive), and\n"
            "the gradients shrink the same way toward the input. Unlike tanh, ReLU never\n"
            "acts like the identity near 0: it always zeroes half the signal, whatever its size.\n"
            "So Xavier is not 'flat' for ReLU; He's Var(W) = 2/fan_in is (notebook 06)."
        ),
    )
)


def _stalled_net_table(seed: int) -> str:
    """Notebook 06's stalled 30-layer ReLU net (width 64, Xavier) at init: per-layer evidence."""
    from helpers import probe  # the probe is torch-heavy; only this table needs it

    r = probe.propagate(30, 64, "relu", "xavier", batch=256, seed=seed, weight_grads=True)
    lines = ["30 ReLU layers of width 64 (zero biases, weight std 0.125, N(0, 1) input) at initialisation",
             "layer   activation std   share of zeros   gradient std dL/dh   weight gradient std dL/dW"]
    for layer in (1, 10, 20, 30):
        i = layer - 1
        lines.append(f"{layer:5d}   {r.forward_std[i]:14.2e}   {r.zero_fraction[i]:14.0%}   "
                     f"{r.grad_std[i]:18.2e}   {r.weight_grad_std[i]:25.2e}")
    return "\n".join(lines)


register(
    Diagnosis(
        name="why_it_stalls",
        want={"cause": "B", "fix": "2"},
        choices=("A", "B", "C", "D"),
        choices_for={"fix": ("1", "2", "3", "4")},
        why={
            "cause": "Read the activation std: it falls by about 0.7 every layer, to ~1e-5 of "
            "layer 1's at layer 30, while about half of each layer's values are 0, as in any "
            "ReLU layer, so the units are not dead, and ReLU never saturates. Every weight gradient "
            "is the product of a vanished forward signal and a vanished backward one: ~1e-4, next "
            "to weights of std 0.125. The weights are too small for ReLU.",
            "fix": "The weights have Var(W) = 1/fan_in, and ReLU halves the second moment at every "
            "layer; kaiming_normal_(w, nonlinearity='relu') doubles it to 2/fan_in, a factor of "
            "exactly 1 per layer. A larger learning rate multiplies every step alike and cannot "
            "undo a 1e-5 scale; training longer moves nothing that does not move now; Xavier "
            "with gain 5/3 gives (25/9)/2 = 1.39 per layer on the variance, so the signal grows "
            "about 100x over 30 layers.",
        },
        hint_text="Go column by column. Is the activation std falling by a steady factor? What "
        "should the share of zeros be in a ReLU layer that works? Compare the weight gradients "
        "with the weights' own std, 0.125. Then ask which fix changes that factor to 1.",
        solution_text=(
            "answer = {\"cause\": \"B\", \"fix\": 2}\n"
            "The activation std falls ~0.7x a layer (Var(W) = 1/fan_in, halved by each ReLU),\n"
            "about half of every layer's values are 0 (a working ReLU layer, not a dead one), and\n"
            "the weight gradients are ~1e-4 against weights of std 0.125: the logits are ~1e-5 of\n"
            "an order-1 output, so the loss sits at ln 8 and nothing moves. Fix: He init,\n"
            "kaiming_normal_(w, nonlinearity='relu'), Var(W) = 2/fan_in (section 2)."
        ),
        table=_stalled_net_table,
    )
)

register(
    OpenExercise(
        name="he_depth30_lr",
        hint_text="Change the SETUPS line of section 1 and rerun its cells; the figure shows every "
        "start. Then build the Xavier nets alone and call train.train_many(models, DATA, SEEDS, "
        "momentum=0.9, lr=0.05, steps=300).",
        solution_text=(
            "SETUPS = {10: dict(lr=0.01, steps=200), 30: dict(lr=0.01, steps=300)}   # then rerun\n"
            "With SEED = 0 the He nets still reach half the chance loss at some step, but the\n"
            "curves spike far above the chance loss on the way and most nets end far above where\n"
            "lr 0.003 left them: the step is too large for the nets whose scale lies above the average (the\n"
            "first deep dive: one sd of log|h|^2 is ~1.5 at depth 30, width 64). Xavier at lr 0.05\n"
            "stays at the chance loss on every start, while He at lr 0.05 blows up (losses\n"
            "overflow to inf on several starts). A larger learning rate scales every step alike:\n"
            "it cannot make up for weight gradients ~1e-5 of He's, and the step that is too large\n"
            "for He is still far too small for Xavier. Fix the init, then tune the step."
        ),
    )
)

register(
    OpenExercise(
        name="leaky_xavier_depth",
        hint_text="Leaky ReLU with slope a keeps E[lrelu(z)^2] = (1 + a^2)/2 Var(z). In the loop of "
        "section 3 use torch.nn.functional.leaky_relu(h @ W.T, 0.2) and the stds "
        "init.scheme_std('he', (n, n), 'leaky_relu', param=0.2) and math.sqrt(1 / n).",
        solution_text=(
            "a = 0.2; he_std = init.scheme_std('he', (n, n), 'leaky_relu', param=a)   # sqrt(2/(1.04 n))\n"
            "for name, w_std in (('He', he_std), ('Xavier', math.sqrt(1 / n))):\n"
            "    gen = torch.Generator().manual_seed(SEED); h = torch.from_numpy(x)\n"
            "    for layer in range(30):\n"
            "        w = torch.randn(n, n, generator=gen) * w_std\n"
            "        h = torch.nn.functional.leaky_relu(h @ w.T, a)\n"
            "    print(name, float(h.std()))\n"
            "With the leaky gain sqrt(2/(1 + a^2)) He stays flat. Xavier's factor per layer is\n"
            "sqrt((1 + a^2)/2) = sqrt(0.52) = 0.721 on the std, a little above ReLU's 0.707: the\n"
            "negative side keeps a^2 = 4% of its second moment instead of 0. Over 29 steps that is\n"
            "~8e-5 instead of ~4e-5: still vanishing, only a little slower."
        ),
    )
)


# --- 12: read a checkup, and the cheat sheet's open exercises ------------------------------------

_CHECKUP_NETS_12 = {"A": "MLP, He, head x10", "B": "MLP + BatchNorm, He", "C": "MLP, std 0.01"}
"""Notebook 12's three mystery nets (6 weight layers of width 64 on 20 features, 10 classes):
A, He init with its last layer x10; B, He with a BatchNorm after every hidden Linear, fed its
features unstandardised (x100); C, every weight from N(0, 0.01^2)."""


def _checkup_nets_12(seed: int) -> dict:
    """{letter: (architecture, helpers.checkup.Checkup)} of notebook 12's three mystery nets."""
    from torch import nn

    from helpers import checkup  # torch-heavy; only this table needs it

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 20, generator=gen)
    y = torch.randint(0, 10, (64,), generator=gen)
    out = {}
    for letter, what in _CHECKUP_NETS_12.items():
        norm = "BatchNorm" in what
        layers, d = [], 20
        for _ in range(5):
            layers += [nn.utils.skip_init(nn.Linear, d, 64), *([nn.BatchNorm1d(64)] if norm else []),
                       nn.ReLU()]
            d = 64
        model = nn.Sequential(*layers, nn.utils.skip_init(nn.Linear, d, 10))
        linears = [m for m in model if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for m in linears:
                if "0.01" in what:
                    m.weight.normal_(0.0, 0.01, generator=gen)
                else:
                    torch.nn.init.kaiming_normal_(m.weight, generator=gen)
                m.bias.zero_()
            linears[-1].weight.mul_(10.0 if "x10" in what else 0.1)
        out[letter] = (what, checkup.run(model, 100 * x if norm else x, y))
    return out


def _checkup_table(seed: int) -> str:
    """The evidence of the read_the_checkup exercise: per net, the input's rms, the rms entering
    each weight layer, and the initial loss over ln 10 (from helpers.checkup.run)."""
    lines = ["rms of the signal entering weight layers 1-6, and the initial loss / ln 10",
             "net  architecture           " + "".join(f"{f'L{i}':>8}" for i in range(1, 7)) + "   loss/ln10"]
    for letter, (what, report) in _checkup_nets_12(seed).items():
        rms = [r.input_rms for r in report.layers if r.input_rms is not None]
        lines.append(f"{letter:<4} {what:<22} " + "".join(f"{v:8.2g}" for v in rms)
                     + f"   {report.loss / report.expected_loss:9.2f}")
    return "\n".join(lines)


register(
    Diagnosis(
        name="read_the_checkup",
        want={"standardise the input": "B", "use He init": "C", "shrink the last layer": "A"},
        choices=("A", "B", "C"),
        why={
            "standardise the input": "Look at L1, the raw input: one net receives rms ~100, where "
            "every init formula assumes 1. Its later layers sit at ~0.7 because a BatchNorm resets "
            "the scale after every Linear: that is not a vanishing signal, and the fix is to "
            "standardise the features, not to change the init.",
            "use He init": "Look for a row that falls by a steady factor from layer to layer (about "
            "0.01 x sqrt(64 / 2) = 0.06, i.e. ~18x down, per ReLU layer): the weights are far too small for "
            "ReLU, and He's std sqrt(2 / fan_in) keeps the rms level.",
            "shrink the last layer": "Look at the last column: an untrained classifier should "
            "score near ln 10. One net's signal is level but its loss is several times ln 10: its "
            "logits start large and confidently wrong, so scale the last layer down (x0.1) or "
            "start it at 0.",
        },
        hint_text="Read the L1 column first (what every init formula assumes: rms about 1), then "
        "each row from left to right (does the rms fall by a steady factor?), then the loss "
        "column (near 1 for an unsure classifier).",
        solution_text=(
            "answer = {\"standardise the input\": \"B\", \"use He init\": \"C\", "
            "\"shrink the last layer\": \"A\"}\n"
            "B: its input has rms ~100 (unstandardised features); BatchNorm brings every later layer\n"
            "back to order 1, so the init is fine and the input is the problem. C: the rms falls\n"
            "~18x per layer (std 0.01 on fan_in 64 under ReLU): He init. A: the signal is level but\n"
            "the loss is several times ln 10: the x10 last layer makes the logits confidently wrong.\n"
            "checkup.run names the same three: 'input scale', 'vanishing', 'initial loss'."
        ),
        table=_checkup_table,
    )
)

register(
    OpenExercise(
        name="fan_out_row",
        hint_text="kaiming_normal_(w, mode='fan_out', nonlinearity='relu') draws std sqrt(2 / fan_out); "
        "init.fans(shape) gives (fan_in, fan_out) for a Linear (out, in) and a conv (out, in, k, k).",
        solution_text=(
            "from helpers import init\n"
            "for shape in ((128, 512), (64, 32, 3, 3)):\n"
            "    fan_in, fan_out = init.fans(shape)\n"
            "    print(shape, math.sqrt(2 / fan_in), math.sqrt(2 / fan_out))\n"
            "Linear(512, 128): fan_in 512, fan_out 128, so fan_out mode draws twice the std\n"
            "(sqrt(2/128) = 0.125 against sqrt(2/512) = 0.0625). The 3x3 conv from 32 to 64 channels:\n"
            "fan_in 32*9 = 288, fan_out 64*9 = 576, so fan_out mode draws 1/sqrt(2) of fan_in's std.\n"
            "fan_out keeps the backward pass's variance (gradients flow through fan_out units);\n"
            "fan_in keeps the forward pass's. torch's own ResNets use mode='fan_out' for their convs."
        ),
    )
)

register(
    OpenExercise(
        name="fix_the_cnn",
        hint_text="Loop over bad_cnn.modules(): kaiming_normal_ every Conv2d's weight with "
        "nonlinearity='relu', the same for the Linear, then multiply the Linear's weight by 0.1; run "
        "checkup.run(bad_cnn, images, labels) and read its findings.",
        solution_text=(
            "with torch.no_grad():\n"
            "    for m in bad_cnn.modules():\n"
            "        if isinstance(m, nn.Conv2d | nn.Linear):\n"
            "            nn.init.kaiming_normal_(m.weight, nonlinearity='relu')\n"
            "    bad_cnn[-1].weight.mul_(0.1)\n"
            "report = checkup.run(bad_cnn, images, labels)\n"
            "print(report.table())\n"
            "The initial loss comes back to within a few per cent of ln 10 (the x0.1 head makes the\n"
            "logits small), and every weight layer's input stays within the 10x band of the image's\n"
            "rms: He's Var(W) = 2 / fan_in makes each conv + ReLU keep the signal's scale, where\n"
            "N(0, 1) multiplied it by about sqrt(fan_in / 2) per layer. 'no problem found'."
        ),
    )
)
