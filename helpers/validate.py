"""Argument checks shared by every module: one wording for "bad input" across the series.

Every public function checks its arguments before it computes anything and raises a
ValueError that names the valid choices or range (style.md). The functions here own the wording
of the common shapes: a choice among names (one_of), an integer in a range (integer_in), a
finite number in a range (number) and SGD's lr and momentum (sgd); a module checks those through
them. A rule particular to one function (a tensor's shape, a list of widths, arguments that must
agree with each other) raises its own ValueError beside it, in the same form: what must hold,
then "got ...". Introduced in notebooks/01_uniform_variance.ipynb (any call with a bad argument
reaches them; nothing in a notebook calls them directly).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from numbers import Integral, Real
from typing import Any

__all__ = ["one_of", "integer_in", "number", "sgd"]


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


def _bound(value: float) -> str:
    """A range's end as a reader writes it: 3 rather than 3.0, 0.01 rather than 1e-02."""
    return f"{value:g}"


def number(name: str, value: Any, low: float | None = None, high: float | None = None, *,
           low_open: bool = False, high_open: bool = False) -> None:
    """Raise ValueError "NAME must be a finite number in [LOW, HIGH], got VALUE" unless value is
    a finite real number (a Python or numpy int or float, not a bool) inside the range.

    low_open / high_open leave that end out: "(0, 3]" is low_open, "[0, 1)" high_open. A missing
    end is unbounded and the message says "> LOW", ">= LOW", "< HIGH" or "<= HIGH" instead.
    """
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if ok:
        return
    if low is not None and high is not None:
        where = (f"in {'(' if low_open else '['}{_bound(low)}, {_bound(high)}"
                 f"{')' if high_open else ']'}")
    elif low is not None:
        where = f"{'>' if low_open else '>='} {_bound(low)}"
    elif high is not None:
        where = f"{'<' if high_open else '<='} {_bound(high)}"
    else:
        where = ""
    raise ValueError(f"{name} must be a finite number{' ' if where else ''}{where}, got {value!r}")


def sgd(lr: Any, momentum: Any) -> None:
    """The rule every SGD run of the series shares: lr > 0 and 0 <= momentum < 1 (momentum 1 or
    more never forgets a step: the velocity grows without bound). train, zigzag and the
    explorers' wider checks all come through here or through number."""
    number("lr", lr, 0, low_open=True)
    number("momentum", momentum, 0, 1, high_open=True)
