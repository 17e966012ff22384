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
