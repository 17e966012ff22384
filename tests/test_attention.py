"""helpers.attention: the written-out attention equals torch's, and the softmax measurements
(entropy, Jacobian size) equal independent references, so notebook 10's claims rest on them.

References: torch.nn.functional.scaled_dot_product_attention, torch.autograd's Jacobian of
softmax in float64, torch.distributions.Categorical's entropy, and closed forms (uniform
and two-key softmax, Var(q . k) = d_k).
"""

import math

import pytest
import torch
import torch.nn.functional as F

from helpers import attention


def _qkv(seed=0, d_k=16, d_v=8, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(3, 5, d_k, generator=g, dtype=dtype),
            torch.randn(3, 7, d_k, generator=g, dtype=dtype),
            torch.randn(3, 7, d_v, generator=g, dtype=dtype))


def test_attention_equals_torch_sdpa_scaled_and_unscaled():
    q, k, v = _qkv()
    ours = attention.attention(q, k, v)
    assert torch.allclose(ours, F.scaled_dot_product_attention(q, k, v), atol=1e-12)
    raw = attention.attention(q, k, v, scaled=False)
    assert torch.allclose(raw, F.scaled_dot_product_attention(q, k, v, scale=1.0), atol=1e-12)
    assert not torch.allclose(ours, raw, atol=1e-3), "scaling must change the result"


@pytest.mark.parametrize("scale", [0.1, 1.0, 5.0])
def test_jacobian_norm_equals_autograd(scale):
    g = torch.Generator().manual_seed(1)
    logits = scale * torch.randn(6, 9, generator=g, dtype=torch.float64)
    ref = torch.stack([torch.autograd.functional.jacobian(lambda s: s.softmax(-1), row).norm()
                       for row in logits])
    assert torch.allclose(attention.softmax_jacobian_norm(logits), ref, rtol=1e-10)


@pytest.mark.parametrize("gap", [1.0, 20.0, 60.0, 300.0])
def test_jacobian_norm_two_keys_closed_form_even_when_nearly_one_hot(gap):
    """Two keys: J = p1 p2 [[1, -1], [-1, 1]], ||J|| = 2 p1 p2. At gap 60, 1 - p1 ~ 1e-26 is
    below float64's resolution near 1: a naive p1 - p1^2 would lose it."""
    p2 = 1 / (1 + math.exp(gap))
    want = 2 * (1 - p2) * p2
    got = float(attention.softmax_jacobian_norm(torch.tensor([[gap, 0.0]], dtype=torch.float64)))
    assert got == pytest.approx(want, rel=1e-9)


def test_uniform_softmax_entropy_and_jacobian():
    n = 64
    logits = torch.zeros(2, n)
    assert torch.allclose(attention.softmax_entropy(logits), torch.full((2,), math.log(n),
                                                                        dtype=torch.float64))
    want = math.sqrt(1 / n - 1 / n**2)
    assert torch.allclose(attention.softmax_jacobian_norm(logits),
                          torch.full((2,), want, dtype=torch.float64))


def test_entropy_equals_categorical():
    g = torch.Generator().manual_seed(2)
    logits = 4 * torch.randn(10, 12, generator=g, dtype=torch.float64)
    ref = torch.distributions.Categorical(logits=logits).entropy()
    assert torch.allclose(attention.softmax_entropy(logits), ref, atol=1e-12)


def test_logit_variance_is_d_k():
    raw = attention.attention_logits(256, seed=3)
    assert raw.shape == (16, 64, 64)
    assert abs(float(raw.double().var()) / 256 - 1) < 0.1
    assert torch.equal(raw, attention.attention_logits(256, seed=3)), "seeded"
    assert not torch.equal(raw, attention.attention_logits(256, seed=4))


def test_sweep_pairs_raw_and_scaled_and_shows_saturation():
    s = attention.saturation_sweep((8, 64, 1024), seed=0)
    ratio = s.logit_std["raw"] / s.logit_std["scaled"]
    assert ratio == pytest.approx([math.sqrt(8), 8.0, 32.0], rel=1e-5), "same q, k in both"
    assert (s.entropy["scaled"] > s.entropy["raw"]).all()
    assert s.entropy["raw"][-1] < 0.1 * math.log(64) < s.entropy["scaled"].min()
    assert s.jacobian_median["raw"][-1] < 0.01 * s.jacobian_median["scaled"][-1]
    assert s.one_hot["scaled"].max() == 0 and s.one_hot["raw"][-1] > 0.5


@pytest.mark.parametrize("call,match", [
    (lambda: attention.attention_logits(0), "integers >= 1"),
    (lambda: attention.saturation_sweep(()), "non-empty"),
    (lambda: attention.saturation_sweep((8, 2.5)), "integers >= 1"),
    (lambda: attention.attention(torch.zeros(2, 4), torch.zeros(3, 5), torch.zeros(3, 2)),
     "need q"),
])
def test_bad_input_is_a_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
