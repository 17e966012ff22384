"""helpers.validate: the one wording of "bad input" (style.md: name the valid choices or range)."""

import numpy as np
import pytest

from helpers import validate


def test_one_of_names_every_choice_and_the_bad_value():
    validate.one_of("activation", "tanh", ("tanh", "relu"))
    with pytest.raises(ValueError, match=r"activation must be one of \('tanh', 'relu'\), got 'gelu'"):
        validate.one_of("activation", "gelu", ("tanh", "relu"))
    with pytest.raises(ValueError, match=r"must be one of \('a', 'b'\)"):
        validate.one_of("key", "c", {"a": 1, "b": 2})  # a dict's keys, shown as a tuple


@pytest.mark.parametrize("value", [1, 5, np.int64(3)])
def test_integer_in_accepts_ints_in_range(value):
    validate.integer_in("depth", value, 1, 5)


@pytest.mark.parametrize("value, message", [
    (0, r"depth must be an integer in 1\.\.5, got 0"),
    (6, r"in 1\.\.5, got 6"),
    (2.0, r"got 2\.0"),
    (True, r"got True"),
    ("3", r"got '3'"),
])
def test_integer_in_rejects_and_says_the_range(value, message):
    with pytest.raises(ValueError, match=message):
        validate.integer_in("depth", value, 1, 5)


def test_integer_in_without_upper_bound():
    validate.integer_in("width", 10**6, 2)
    with pytest.raises(ValueError, match=r"width must be an integer >= 2, got 1"):
        validate.integer_in("width", 1, 2)


@pytest.mark.parametrize("value", [0.01, 1, 2.5, np.float32(0.5), np.int64(2)])
def test_number_accepts_finite_reals_in_a_closed_range(value):
    validate.number("lr", value, 0.01, 2.5)


@pytest.mark.parametrize("value, message", [
    (3.0, r"lr must be a finite number in \[0\.01, 2\.5\], got 3\.0"),
    (0.005, r"in \[0\.01, 2\.5\], got 0\.005"),
    (float("nan"), r"got nan"),
    (float("inf"), r"got inf"),
    (True, r"got True"),
    ("1", r"got '1'"),
    (None, r"got None"),
])
def test_number_rejects_and_says_the_range(value, message):
    with pytest.raises(ValueError, match=message):
        validate.number("lr", value, 0.01, 2.5)


def test_number_open_ends_and_one_sided_ranges_say_so():
    validate.number("momentum", 0.0, 0, 1, high_open=True)
    with pytest.raises(ValueError, match=r"momentum must be a finite number in \[0, 1\), got 1\.0"):
        validate.number("momentum", 1.0, 0, 1, high_open=True)
    with pytest.raises(ValueError, match=r"x must be a finite number in \(0, 1\], got 0"):
        validate.number("x", 0, 0, 1, low_open=True)
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0, got 0\.0"):
        validate.number("lr", 0.0, 0, low_open=True)
    with pytest.raises(ValueError, match=r"x must be a finite number >= 2, got 1"):
        validate.number("x", 1, 2)
    with pytest.raises(ValueError, match=r"x must be a finite number < 2, got 2"):
        validate.number("x", 2, high=2, high_open=True)
    with pytest.raises(ValueError, match=r"x must be a finite number, got nan"):
        validate.number("x", float("nan"))
    validate.number("x", -1e300)


@pytest.mark.parametrize("lr, momentum, message", [
    (0.0, 0.0, r"lr must be a finite number > 0, got 0\.0"),
    (-1.0, 0.5, r"lr must be a finite number > 0"),
    (float("nan"), 0.0, r"lr must be a finite number > 0, got nan"),
    (0.1, 1.0, r"momentum must be a finite number in \[0, 1\), got 1\.0"),
    (0.1, -0.1, r"momentum must be a finite number in \[0, 1\)"),
])
def test_sgd_is_the_one_rule_lr_positive_momentum_below_one(lr, momentum, message):
    """train.train, train.train_many and zigzag's runs all refuse through this one rule."""
    validate.sgd(1e-6, 0.0)
    validate.sgd(10.0, 0.999)
    with pytest.raises(ValueError, match=message):
        validate.sgd(lr, momentum)
