"""helpers.init against torch.nn.init: fans, gains, and the std/bound of every scheme."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import init as tinit

from helpers import init

SHAPES = [(3, 5), (500, 1000), (64, 3, 3, 3), (16, 8, 5), (4, 2, 3, 3, 3), (1, 1)]
shapes = st.lists(st.integers(1, 9), min_size=2, max_size=5).map(tuple)


@given(shapes)
def test_fans_equal_torch(shape):
    assert init.fans(shape) == tinit._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_conv_fans():
    """A 3x3 conv 64 -> 128 channels: fan_in = 64*9, fan_out = 128*9."""
    assert init.fans((128, 64, 3, 3)) == (576, 1152)


@pytest.mark.parametrize("name", init.NONLINEARITIES)
def test_gain_equals_torch_for_every_name(name):
    assert init.gain(name) == pytest.approx(tinit.calculate_gain(name))


@given(st.floats(-10, 10, allow_nan=False))
def test_leaky_relu_gain_equals_torch(slope):
    assert init.gain("leaky_relu", slope) == pytest.approx(tinit.calculate_gain("leaky_relu", slope))


def test_a_name_torch_rejects_is_rejected():
    for name in ("gelu", "softmax", "ReLU"):
        with pytest.raises(ValueError):
            tinit.calculate_gain(name)
        with pytest.raises(ValueError, match="nonlinearity must be one of"):
            init.gain(name)


def _measured_std(fill, shape, n_min=200_000):
    """Std of many draws of `fill` on `shape` (repeated until >= n_min values)."""
    gen = torch.Generator().manual_seed(0)
    reps = max(1, math.ceil(n_min / math.prod(shape)))
    values = torch.cat([fill(torch.empty(shape), gen).flatten() for _ in range(reps)])
    return float(values.std()), float(values.abs().max())


def _torch_fill(scheme, dist, nonlinearity, mode, param):
    if scheme == "xavier":
        g = 1.0 if nonlinearity is None else tinit.calculate_gain(nonlinearity, param)
        f = tinit.xavier_normal_ if dist == "normal" else tinit.xavier_uniform_
        return lambda w, gen: f(w, gain=g, generator=gen)
    if scheme == "he":
        f = tinit.kaiming_normal_ if dist == "normal" else tinit.kaiming_uniform_
        nl = nonlinearity or "leaky_relu"
        return lambda w, gen: f(w, a=param or 0, mode=mode, nonlinearity=nl, generator=gen)
    if scheme == "lecun":
        f = tinit.kaiming_normal_ if dist == "normal" else tinit.kaiming_uniform_
        return lambda w, gen: f(w, mode=mode, nonlinearity="linear", generator=gen)
    return lambda w, gen: tinit.kaiming_uniform_(w, a=math.sqrt(5), mode=mode, generator=gen)


CASES = [
    ("lecun", None, "fan_in", None),
    ("lecun", None, "fan_out", None),
    ("xavier", None, "fan_in", None),
    ("xavier", "tanh", "fan_in", None),
    ("xavier", "relu", "fan_in", None),
    ("he", None, "fan_in", None),
    ("he", "relu", "fan_out", None),
    ("he", "leaky_relu", "fan_in", 0.2),
    ("he", "tanh", "fan_in", None),
    ("pytorch_default", None, "fan_in", None),
]


@pytest.mark.parametrize("shape", SHAPES[:4])
@pytest.mark.parametrize("scheme,nonlinearity,mode,param", CASES)
def test_scheme_std_and_bound_equal_torch(shape, scheme, nonlinearity, mode, param):
    """Sampled std of torch's normal initialiser = scheme_std; its uniform max = scheme_bound."""
    std = init.scheme_std(scheme, shape, nonlinearity, mode, param)
    bound = init.scheme_bound(scheme, shape, nonlinearity, mode, param)
    if scheme != "pytorch_default":
        got, _ = _measured_std(_torch_fill(scheme, "normal", nonlinearity, mode, param), shape)
        assert got == pytest.approx(std, rel=0.01)
    got, top = _measured_std(_torch_fill(scheme, "uniform", nonlinearity, mode, param), shape)
    assert got == pytest.approx(std, rel=0.01)
    assert top <= bound * (1 + 1e-6) and top == pytest.approx(bound, rel=0.01)


def test_closed_forms():
    fan_in, fan_out = 300, 100
    shape = (fan_out, fan_in)
    assert init.scheme_bound("xavier", shape) == pytest.approx(math.sqrt(6 / (fan_in + fan_out)))
    assert init.scheme_std("he", shape, "relu") == pytest.approx(math.sqrt(2 / fan_in))
    assert init.scheme_std("he", shape, "relu", "fan_out") == pytest.approx(math.sqrt(2 / fan_out))
    assert init.scheme_bound("pytorch_default", shape) == pytest.approx(1 / math.sqrt(fan_in))
    assert init.scheme_std("pytorch_default", shape) ** 2 == pytest.approx(1 / (3 * fan_in))
    assert init.scheme_std("lecun", shape) == pytest.approx(1 / math.sqrt(fan_in))


def test_pytorch_default_is_what_nn_linear_does():
    torch.manual_seed(0)
    layer = torch.nn.Linear(400, 2000)
    w = layer.weight.detach()
    assert float(w.abs().max()) == pytest.approx(init.scheme_bound("pytorch_default", (2000, 400)), rel=1e-3)
    assert float(w.var()) == pytest.approx(1 / (3 * 400), rel=0.02)


@settings(max_examples=50)
@given(shapes, st.sampled_from(init.SCHEMES), st.sampled_from(init.MODES))
def test_bound_is_sqrt3_std(shape, scheme, mode):
    assert init.scheme_bound(scheme, shape, mode=mode) == pytest.approx(
        math.sqrt(3) * init.scheme_std(scheme, shape, mode=mode)
    )


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: init.fans((5,)), "at least 2 dims"),
        (lambda: init.fans((0, 3)), ">= 1"),
        (lambda: init.fans((3, -2)), ">= 1"),
        (lambda: init.scheme_std("glorot", (2, 2)), "lecun"),
        (lambda: init.scheme_std("he", (2, 2), mode="fan_avg"), "fan_in"),
        (lambda: init.scheme_std("xavier", (2, 2), "swish"), "nonlinearity must be one of"),
        (lambda: init.scheme_std("lecun", (2, 2), "tanh"), "takes no nonlinearity"),
        (lambda: init.gain("leaky_relu", True), "negative slope"),
        (lambda: init.initialize_(torch.empty(3, 3), "fixed"), "std > 0"),
        (lambda: init.initialize_(torch.empty(3, 3), "fixed", std=-1.0), "std > 0"),
        (lambda: init.initialize_(torch.empty(3, 3), "zeros"), "orthogonal"),
        (lambda: init.initialize_(torch.empty(3, 3), "he", distribution="cauchy"), "uniform"),
    ],
)
def test_bad_input_names_the_valid_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("scheme", init.INIT_SCHEMES)
def test_initialize_is_seeded_and_has_the_scheme_std(scheme):
    shape = (300, 200)
    kw = {"std": 0.05} if scheme == "fixed" else {}
    draws = [
        init.initialize_(torch.empty(shape), scheme, generator=torch.Generator().manual_seed(3), **kw)
        for _ in range(2)
    ]
    assert torch.equal(draws[0], draws[1])
    if scheme == "fixed":
        want = 0.05
    elif scheme == "orthogonal":
        # 200 orthonormal columns: the squares of all 300 * 200 entries sum to 200
        want = math.sqrt(min(shape) / (shape[0] * shape[1]))
    else:
        want = init.scheme_std(scheme, shape)
    if scheme == "orthogonal":  # (300 x 200): the 200 columns are orthonormal, W^T W = I
        gram = draws[0].T.double() @ draws[0].double()
        assert torch.allclose(gram, torch.eye(shape[1], dtype=torch.float64), atol=1e-5)
        assert float(draws[0].std()) == pytest.approx(want, rel=0.02)
    else:
        assert float(draws[0].std()) == pytest.approx(want, rel=0.02)
