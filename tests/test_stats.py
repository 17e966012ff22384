"""helpers.stats: closed forms against calculus, Monte Carlo and torch's own samplers."""

import json
import math
from pathlib import Path

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


@pytest.mark.parametrize("n", [2, 10, 1000])
def test_variance_relative_se_normal_closed_form(n):
    """Kurtosis 3 (a normal) gives the textbook sqrt(2 / (n - 1))."""
    assert stats.variance_relative_se(n, kurtosis=3.0) == pytest.approx(math.sqrt(2 / (n - 1)), rel=1e-12)


@pytest.mark.parametrize("n", [10, 100])
def test_variance_relative_se_matches_uniform_monte_carlo(n):
    """RMS relative error of 40,000 uniform sample variances: sqrt(2/(n-1) - 1.2/n), not sqrt(0.8/n)."""
    rng = np.random.default_rng(5)
    var = rng.uniform(-1, 1, size=(40_000, n)).var(axis=1, ddof=1)
    rms = float(np.sqrt(np.mean((var * 3 - 1) ** 2)))
    assert rms == pytest.approx(stats.variance_relative_se(n), rel=0.02)
    if n == 10:  # the large-n form is 12% off here, so the check can tell them apart
        assert abs(rms / math.sqrt(0.8 / n) - 1) > 0.08


@pytest.mark.parametrize("draw", ["normal", "product"])
def test_std_relative_se_matches_the_spread_of_sample_stds(draw):
    """Estimated from one sample, it matches the spread of the std over 4,000 independent samples."""
    rng = np.random.default_rng(11)
    if draw == "normal":
        samples = rng.standard_normal((4_000, 500))
    else:  # n = 1 products w * x of a normal and a uniform: kurtosis 5.4, heavier than normal
        samples = rng.standard_normal((4_000, 500)) * rng.uniform(-1, 1, (4_000, 500))
    stds = samples.std(axis=1)
    spread = float(stds.std() / stds.mean())
    estimates = np.array([stats.std_relative_se(s) for s in samples[:200]])
    assert float(np.median(estimates)) == pytest.approx(spread, rel=0.08)
    if draw == "normal":
        assert spread == pytest.approx(1 / math.sqrt(2 * 500), rel=0.05)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: stats.variance_relative_se(1), ">= 2"),
        (lambda: stats.variance_relative_se(10, kurtosis=0.5), ">= 1"),
        (lambda: stats.std_relative_se(np.ones(5)), "at least 10"),
        (lambda: stats.std_relative_se(np.ones(50)), "all equal"),
        (lambda: stats.std_relative_se(np.array([np.nan] * 20)), "finite"),
    ],
)
def test_error_helpers_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- monte_carlo_error and sample_same_std (notebook 01) ----------------------------------------


def test_monte_carlo_error_matches_the_closed_form_standard_error():
    """The RMS relative error of 8,000 sample variances per n is variance_relative_se(n), the
    closed form, within 5% (about 4 Monte Carlo standard errors of an RMS over 8,000 repeats);
    n = 4 and 10 tell it from sqrt(0.8 / n) and from a ddof=0 variance (both >= 5% off there)."""
    sizes = [4, 10, 30, 100, 1000]
    errors = stats.monte_carlo_error(-1.0, 3.0, sizes, repeats=8000, seed=3)
    expected = [math.sqrt(2 / (n - 1) - 1.2 / n) for n in sizes]  # uniform kurtosis 9/5
    np.testing.assert_allclose(errors, expected, rtol=0.05)
    np.testing.assert_allclose(expected, [stats.variance_relative_se(n) for n in sizes], rtol=1e-12)
    assert errors[0] / math.sqrt(0.8 / 4) > 1.3, "the large-n form is far off at n = 4"


def test_monte_carlo_error_shrinks_like_one_over_sqrt_n():
    """Fitted log-log slope over n = 100..10,000 is -1/2, and error * sqrt(n) -> sqrt(0.8)."""
    sizes = [100, 1000, 10_000]
    errors = stats.monte_carlo_error(0.0, 1.0, sizes, repeats=2000, seed=0)
    slope = np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    assert abs(slope + 0.5) < 0.05, slope
    np.testing.assert_allclose(errors * np.sqrt(sizes), math.sqrt(0.8), rtol=0.1)


def test_monte_carlo_error_is_seeded_and_scale_free():
    """Same seed, same errors; another seed, other errors; U(a, b) and U(0, 1) share relative errors
    (a + (b - a) u is the same draw)."""
    a = stats.monte_carlo_error(0.0, 1.0, [5, 50], repeats=50, seed=7)
    np.testing.assert_array_equal(a, stats.monte_carlo_error(0.0, 1.0, [5, 50], repeats=50, seed=7))
    assert not np.array_equal(a, stats.monte_carlo_error(0.0, 1.0, [5, 50], repeats=50, seed=8))
    np.testing.assert_allclose(stats.monte_carlo_error(-4.0, 6.0, [5, 50], repeats=50, seed=7), a,
                               rtol=1e-9)


@pytest.mark.parametrize("kwargs", [dict(sizes=[10, 1]), dict(sizes=[10], repeats=1)])
def test_monte_carlo_error_rejects_tiny_samples(kwargs):
    with pytest.raises(ValueError, match=">= 2"):
        stats.monte_carlo_error(0.0, 1.0, **kwargs)


def _truncated_std_by_quadrature(k: float = 2.0) -> float:
    """std of N(0, 1) cut at +-k: sqrt(int z^2 phi / int phi over [-k, k]), by the trapezoid rule
    (independent of stats.truncated_normal_std_factor's closed form)."""
    z = np.linspace(-k, k, 200_001)
    phi = np.exp(-z * z / 2)
    return math.sqrt(np.trapezoid(z * z * phi, z) / np.trapezoid(phi, z))


def test_sample_same_std_gives_the_std_except_truncation_which_gives_088():
    """200k draws each: uniform and normal have std `std` (within 1%, ~6 standard errors);
    the truncated normal has 0.8796 std, the truncated-normal variance by quadrature."""
    std = 0.3
    draws = stats.sample_same_std(std, 200_000, seed=4)
    assert set(draws) == {"uniform", "normal", "truncated normal"}
    assert all(v.shape == (200_000,) for v in draws.values())
    factor = _truncated_std_by_quadrature(2.0)
    assert factor == pytest.approx(0.87962566103423978, abs=1e-9)
    assert float(draws["uniform"].std()) == pytest.approx(std, rel=0.01)
    assert float(draws["normal"].std()) == pytest.approx(std, rel=0.01)
    assert float(draws["truncated normal"].std()) == pytest.approx(factor * std, rel=0.01)
    assert all(abs(float(v.mean())) < 0.01 * std for v in draws.values()), "zero mean"


def test_sample_same_std_respects_each_distributions_bounds():
    """Uniform within +-sqrt(3) std, truncated within +-2 std; the plain normal does go past 2 std
    (so the truncation is real)."""
    std = 0.05
    draws = stats.sample_same_std(std, 50_000, seed=1)
    assert np.abs(draws["uniform"]).max() <= math.sqrt(3) * std * (1 + 1e-6)
    assert np.abs(draws["uniform"]).max() > 0.99 * math.sqrt(3) * std
    assert np.abs(draws["truncated normal"]).max() <= 2 * std * (1 + 1e-6)
    assert np.mean(np.abs(draws["normal"]) > 2 * std) == pytest.approx(0.0455, abs=0.005)


def test_sample_same_std_is_seeded_and_rejects_bad_input():
    a, b = stats.sample_same_std(1.0, 100, seed=2), stats.sample_same_std(1.0, 100, seed=2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["normal"], stats.sample_same_std(1.0, 100, seed=3)["normal"])
    for std, n in ((0.0, 10), (-1.0, 10), (math.nan, 10), (1.0, 1)):
        with pytest.raises(ValueError, match="std > 0 and n >= 2"):
            stats.sample_same_std(std, n)


# --- notebook 02's visible lines and the helper behind its sweeps --------------------------------

NB02 = Path(__file__).resolve().parents[1] / "notebooks" / "02_sums_of_products.ipynb"
MARK = "a = (w * x).sum(dim=1)"


def _visible_lines_of_02() -> str:
    """The lines of notebook 02's section 1 cell up to the sum, exactly as a learner reads them."""
    cells = json.loads(NB02.read_text(encoding="utf-8"))["cells"]
    sources = ("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    src = next(s for s in sources if MARK in s)
    lines = src.splitlines()
    return "\n".join(lines[: next(i for i, line in enumerate(lines) if MARK in line) + 1])


@pytest.mark.parametrize("seed, n, trials", [(0, 10_000, 20), (3, 100, 50), (7, 1, 200)])
def test_notebook_02_visible_lines_equal_sample_weighted_sums(seed, n, trials):
    """02 shows the mechanism in four lines of torch and sweeps n with the helper: both must draw the
    same neurons, so the table of section 3 is section 1's experiment at other widths."""
    ns = {"torch": torch, "SEED": seed, "N": n, "TRIALS": trials}
    exec(_visible_lines_of_02(), ns)  # noqa: S102 - the notebook's own cell
    np.testing.assert_array_equal(ns["a"].double().numpy(),
                                  stats.sample_weighted_sums(n, trials, "uniform", seed=seed))


def test_truncated_weights_stay_within_two_std_and_normal_ones_do_not():
    """n = 1: a = w x with |x| <= 1, so |a| <= 2 std exactly when every weight was redrawn into +-2 std."""
    trunc = stats.sample_weighted_sums(1, 200_000, "truncated_normal", weight_std=0.5, seed=2)
    normal = stats.sample_weighted_sums(1, 200_000, "normal", weight_std=0.5, seed=2)
    assert np.abs(trunc).max() <= 1.0 and np.abs(normal).max() > 1.0


def test_uncentred_inputs_solution_holds():
    """02's open exercise: with zero-mean weights and x ~ U(0, 1), std(a) = sqrt(n Var(w) E[x^2]),
    E[x^2] = 1/3, twice what Var(x) = 1/12 would give (the worked solution's numbers)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.empty(2_000, 1_000).uniform_(0, 1, generator=gen)
    w = torch.empty(2_000, 1_000).uniform_(-1, 1, generator=gen)
    a = (w * x).sum(dim=1).double().numpy()
    assert a.std() == pytest.approx(math.sqrt(1_000 / 9), rel=0.05)
    assert abs(a.std() / math.sqrt(1_000 / 36) - 2) < 0.1
