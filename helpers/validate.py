"""Argument checks shared by every module: one wording for "bad input" across the series.

Every public function checks its arguments before it computes anything and raises a
ValueError that names the valid choices or range (style.md). These two functions are the
only place that wording lives. Introduced in notebooks/01_uniform_variance.ipynb (any call
with a bad argument reaches them; nothing in a notebook calls them directly).
"""

from __future__ import annotations

from collections.abc import Collection
from numbers import Integral
from typing import Any


def one_of(name: str, value: Any, choices: Collection) -> None:
    """Raise ValueError "NAME must be one of (...), got VALUE" unless value is in choices."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def integer_in(name: str, value: Any, low: int, high: int | None = None) -> None:
    """Raise ValueError unless value is an integer (a Python or numpy int, not a bool) with
    low <= value, and value <= high when high is given."""
    ok = isinstance(value, Integral) and not isinstance(value, bool) and value >= low
    if not ok or (high is not None and value > high):
        where = f"in {low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {where}, got {value!r}")
