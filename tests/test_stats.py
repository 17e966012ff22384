"""helpers.stats: closed forms against calculus, Monte Carlo and torch's own samplers."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import stats

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@given(finite, st.floats(1e-3, 1e3))
def test_uniform_moments_are_consistent(a, width):
    """Var = E[X^2] - E[X]^2 = (b-a)^2/12: the derivation of notebook 01, for any interval."""
    b = a + width
    var = stats.uniform_second_moment(a, b) - stats.uniform_mean(a, b) ** 2
    assert var == pytest.approx(stats.uniform_variance(a, b), rel=1e-6, abs=1e-9 * (1 + a * a))


@pytest.mark.parametrize("a,b", [(0, 1), (-1, 1), (-3, 5), (10, 10.5)])
def test_uniform_variance_matches_monte_carlo(a, b):
    """200k draws land within 1% of (b-a)^2/12."""
    assert stats.monte_carlo_variance(a, b, 200_000, seed=1) == pytest.approx(
        stats.uniform_variance(a, b), rel=0.01
    )


@given(st.floats(0, 100))
def test_uniform_bound_gives_target_std(std):
    """U(-a, a) with a = uniform_bound(std) has exactly that std."""
    a = stats.uniform_bound(std)
    assert math.sqrt(a * a / 3) == pytest.approx(std, rel=1e-12, abs=1e-15)


def test_uniform_bound_against_torch_samples():
    gen = torch.Generator().manual_seed(0)
    a = stats.uniform_bound(0.3)
    x = torch.empty(400_000).uniform_(-a, a, generator=gen)
    assert float(x.std()) == pytest.approx(0.3, rel=0.005)


def test_truncated_normal_factor_matches_keras_constant_and_torch():
    """0.87962566103423978 is the constant Keras divides by; torch's trunc_normal_ shows it."""
    assert stats.truncated_normal_std_factor(2.0) == pytest.approx(0.87962566103423978, abs=1e-12)
    gen = torch.Generator().manual_seed(0)
    x = torch.nn.init.trunc_normal_(torch.empty(400_000), std=1.0, a=-2.0, b=2.0, generator=gen)
    assert float(x.std()) == pytest.approx(0.8796, rel=0.005)


@given(st.floats(0.05, 8))
def test_truncation_factor_in_unit_interval_and_increasing(k):
    f = stats.truncated_normal_std_factor(k)
    assert 0 < f < 1
    assert stats.truncated_normal_std_factor(k * 1.1) >= f


@pytest.mark.parametrize("n", [1, 10, 1000])
def test_sum_of_products_std_matches_samples(n):
    """Var(sum w_i x_i) = n Var(w) Var(x), with w, x ~ U(-1, 1) (Var 1/3 each)."""
    a = stats.sample_weighted_sums(n, 20_000, "uniform", seed=0)
    assert a.std() == pytest.approx(stats.sum_of_products_std(n, 1 / 3, 1 / 3), rel=0.03)


def test_weight_distributions():
    n = 10_000
    normal = stats.sample_weighted_sums(n, 2000, "normal", seed=0).std()
    trunc = stats.sample_weighted_sums(n, 2000, "truncated_normal", seed=0).std()
    assert normal == pytest.approx(math.sqrt(n / 3), rel=0.05)  # ~58
    assert trunc == pytest.approx(math.sqrt(n / 3) * stats.truncated_normal_std_factor(), rel=0.05)
    scaled = stats.sample_weighted_sums(n, 2000, "uniform", weight_std=1 / math.sqrt(n), seed=0)
    assert scaled.std() == pytest.approx(math.sqrt(1 / 3), rel=0.05)


def test_saturated_fraction():
    assert stats.saturated_fraction(np.array([0.0, 3.0, -3.0, 1.0]), "tanh") == 0.5
    assert stats.saturated_fraction(np.array([0.0, 5.0, -5.0, 1.0e4]), "sigmoid") == 0.75


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: stats.uniform_variance(1, 1), "a < b"),
        (lambda: stats.uniform_variance(2, 1), "a < b"),
        (lambda: stats.uniform_variance(0, math.inf), "finite"),
        (lambda: stats.uniform_bound(-1), ">= 0"),
        (lambda: stats.truncated_normal_std_factor(0), "> 0"),
        (lambda: stats.monte_carlo_variance(0, 1, 1), ">= 2"),
        (lambda: stats.sum_of_products_std(0, 1, 1), ">= 1"),
        (lambda: stats.sample_weighted_sums(10, 10, "cauchy"), "uniform"),
        (lambda: stats.saturated_fraction(np.zeros(2), "relu"), "tanh"),
    ],
)
def test_bad_input_names_the_valid_range(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@settings(max_examples=30)
@given(st.integers(0, 10_000))
def test_seeded_sampling_is_reproducible(seed):
    assert stats.monte_carlo_variance(0, 1, 100, seed) == stats.monte_carlo_variance(0, 1, 100, seed)
