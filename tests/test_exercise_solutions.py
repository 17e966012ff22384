"""helpers.exercises: every checked exercise's worked solution, executed, passes its own checker.

The registry (helpers.exercises.ex) holds three kinds of checked exercise: a formula (Exercise:
the solution is a function), a diagnosis (Diagnosis: the solution opens with `answer = {...}`)
and a repair (capstone's RepairExercise: the solution is a function repaired(seed)). A learner
who types in the worked solution that .solution() prints must see "correct"; a solution that
drifted from its checker (a renamed argument, a changed case) fails here. The code is the
longest opening of solution_text that Python parses; the prose after it explains the answer.
Open exercises have no checkable value: tests/test_exercises.py covers those.
"""

import ast
import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers import capstone, init, isometry, mup, stats  # noqa: F401  (each registers its own)
from helpers.exercises import Diagnosis, Exercise, OpenExercise, ex

CHECKED = sorted(n for n, e in vars(ex).items() if not isinstance(e, OpenExercise))


def _code(text: str) -> str:
    """The longest run of opening lines of `text` that parses as Python."""
    lines = text.splitlines()
    for k in range(len(lines), 0, -1):
        try:
            ast.parse("\n".join(lines[:k]))
        except SyntaxError:
            continue
        return "\n".join(lines[:k])
    return ""


def _answer(exercise):
    """What the worked solution gives the checker: the dict `answer` for a diagnosis, else the
    one function it defines."""
    code = _code(exercise.solution_text)
    assert code.strip(), f"{exercise.name}: the worked solution opens with no code"
    names = {"math": math, "np": np, "torch": torch, "nn": nn, "capstone": capstone, "init": init,
             "stats": stats}
    before = set(names)
    exec(compile(code, f"<solution of {exercise.name}>", "exec"), names)  # noqa: S102
    if isinstance(exercise, Diagnosis):
        return names["answer"]
    defined = [v for k, v in names.items() if k not in before and callable(v) and k != "__builtins__"]
    assert len(defined) == 1, f"{exercise.name}: expected one function, got {defined}"
    return defined[0]


def test_every_kind_of_checked_exercise_is_found():
    kinds = {type(getattr(ex, n)).__name__ for n in CHECKED}
    assert {"Exercise", "Diagnosis", "RepairExercise"} <= kinds, kinds
    assert sum(isinstance(getattr(ex, n), Exercise) for n in CHECKED) >= 15, CHECKED
    assert sum(isinstance(getattr(ex, n), Diagnosis) for n in CHECKED) >= 6, CHECKED


@pytest.mark.parametrize("name", CHECKED)
def test_the_worked_solution_passes_its_own_checker(name, capsys):
    exercise = getattr(ex, name)
    result = exercise.result(_answer(exercise))
    assert result.status == "correct", result.message
    exercise.solution()
    assert _code(exercise.solution_text) in capsys.readouterr().out


def test_a_wrong_worked_solution_would_be_caught():
    """The test above can fail: the same route with one constant changed says "incorrect"."""
    wrong = Exercise(name="uniform_bound", cases=ex.uniform_bound.cases, explain=ex.uniform_bound.explain,
                     hint_text="", solution_text=ex.uniform_bound.solution_text.replace("3", "2"))
    assert wrong.result(_answer(wrong)).status == "incorrect"
    diagnosis = next(getattr(ex, n) for n in CHECKED if isinstance(getattr(ex, n), Diagnosis))
    flipped = {k: next(c for c in diagnosis.choices if c != v) for k, v in diagnosis.want.items()}
    assert diagnosis.result(flipped).status == "incorrect"
