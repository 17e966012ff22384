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
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

__all__ = ["Result", "Exercise", "ex", "register"]


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
    takes_value: bool = False

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
        except Exception as exc:  # noqa: BLE001 - the learner's code raised: say so, don't crash
            return Result("incorrect", f"{self.name}: your code raised {type(exc).__name__}: {exc}")
        return Result("correct", f"{self.name}: correct, all {len(self.cases)} cases pass.")

    def _evaluate(self, answer: Any, args: tuple) -> Any:
        if answer is None or answer is Ellipsis:
            raise _NotAttempted
        if self.takes_value:
            return answer
        if not callable(answer):
            raise TypeError(f"expected a function, got {type(answer).__name__}")
        try:
            got = answer(*args)
        except NotImplementedError:
            raise _NotAttempted from None
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


def register(exercise: Exercise) -> Exercise:
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

# --- 02 sums of products ---------------------------------------------------------------------

# --- 03 constant and random init --------------------------------------------------------------

# --- 04 signal propagation ----------------------------------------------------------------------

# --- 05 Xavier / 06 He --------------------------------------------------------------------------

# --- 07 / 08 zig-zag and fixes -----------------------------------------------------------------

# --- 09 / 10 training and cheat sheet -----------------------------------------------------------
