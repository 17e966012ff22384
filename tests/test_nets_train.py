"""helpers.nets and helpers.train: the models every experiment builds, and the seeded loop."""

import math

import pytest
import torch

from helpers import init, nets, train


def test_mlp_layout_and_final_activation():
    m = nets.mlp([4, 8, 3], "tanh", "xavier")
    assert [type(x).__name__ for x in m] == ["Linear", "Tanh", "Linear"]
    m = nets.mlp([4, 8, 3], "relu", "he", batchnorm=True, final_activation=True)
    assert [type(x).__name__ for x in m] == ["Linear", "BatchNorm1d", "ReLU"] * 2


@pytest.mark.parametrize("scheme", ["lecun", "xavier", "he"])
def test_mlp_weights_have_the_scheme_std(scheme):
    m = nets.mlp([400, 400, 400], "relu", scheme, seed=1)
    nl = {"he": {"nonlinearity": "relu"}}.get(scheme, {})
    for layer in (m[0], m[2]):
        want = init.scheme_std(scheme, tuple(layer.weight.shape), **nl)
        assert float(layer.weight.detach().std()) == pytest.approx(want, rel=0.02)
        assert float(layer.bias.detach().abs().max()) == 0.0


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_mlp_mode_sets_which_fan_he_scales_by(mode):
    m = nets.mlp([100, 400, 25], "relu", "he", mode=mode, seed=0)
    for layer in (m[0], m[2]):
        want = init.scheme_std("he", tuple(layer.weight.shape), "relu", mode)
        assert float(layer.weight.detach().std()) == pytest.approx(want, rel=0.03)


def test_mlp_pytorch_default_matches_nn_linear_bounds():
    m = nets.mlp([300, 50], "linear", "pytorch_default")
    bound = 1 / math.sqrt(300)
    w, b = m[0].weight.detach(), m[0].bias.detach()
    assert float(w.abs().max()) <= bound and float(b.abs().max()) <= bound


def test_mlp_is_seeded():
    a, b = nets.mlp([5, 5, 5], seed=3), nets.mlp([5, 5, 5], seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"widths": [5]}, "widths"),
        ({"widths": [5, 0]}, "widths"),
        ({"widths": [5, 5], "activation": "gelu"}, "activation must be one of"),
        ({"widths": [5, 5], "init": "glorot"}, "init must be one of"),
        ({"widths": [5, 5], "init": "fixed"}, "std > 0"),
        ({"widths": [5, 5], "init": "he", "mode": "fan_avg"}, "mode must be one of"),
    ],
)
def test_mlp_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nets.mlp(**kwargs)


def test_training_learns_blobs_and_is_reproducible():
    data = train.make_blobs(600, 5, 3, seed=0)
    runs = [train.train(nets.mlp([5, 32, 3], "relu", "he", seed=0), data, steps=150, lr=0.1, seed=0)
            for _ in range(2)]
    assert runs[0].loss == runs[1].loss
    assert runs[0].final_loss < runs[0].loss[0] / 2
    assert runs[0].test_accuracy > 0.8


def test_training_stops_at_the_first_non_finite_loss_without_raising():
    data = train.make_blobs(200, 5, 2, seed=0)
    model = nets.mlp([5, 64, 64, 2], "relu", "fixed", std=1000.0, seed=0)  # logits ~1e10
    hist = train.train(model, data, steps=50, lr=10.0, seed=0)
    finite = [math.isfinite(v) for v in hist.loss]
    assert not finite[-1], "this setting blows up: the last recorded loss is inf or nan"
    assert all(finite[:-1]), "training stops at the first non-finite loss, which is recorded"
    assert len(hist.loss) < 50


def test_mlp_leaves_the_global_rng_alone():
    before = torch.random.get_rng_state()
    for scheme in ("pytorch_default", "he", "orthogonal"):
        nets.mlp([8, 16, 4], "relu", scheme, batchnorm=True, seed=1)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_mlp_draws_every_parameter_from_its_seed():
    a, b = (nets.mlp([8, 16, 4], "tanh", "pytorch_default", seed=5) for _ in range(2))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    c = nets.mlp([8, 16, 4], "tanh", "xavier", seed=5)
    assert torch.count_nonzero(c[0].bias) == 0 and torch.isfinite(c[0].weight).all()


@pytest.mark.parametrize(
    "kwargs,match",
    [({"steps": 0}, "steps"), ({"lr": 0.0}, "lr must be a finite number > 0"),
     ({"momentum": 1.0}, r"momentum must be a finite number in \[0, 1\)")],
)
def test_train_bad_input(kwargs, match):
    data = train.make_blobs(40, 2, 2)
    with pytest.raises(ValueError, match=match):
        train.train(nets.mlp([2, 2]), data, **kwargs)


@pytest.mark.parametrize("training", [True, False])
def test_accuracy_of_a_hand_set_linear_layer(training):
    """Identity weights: the predicted class is the larger coordinate. Points (1,0), (0,1), (2,1),
    (0,3) predict 0, 1, 0, 1 against labels 0, 1, 1, 1: 3 of 4 right. A Dropout(0.99) after it
    would scramble that unless accuracy runs in eval mode; the mode is restored afterwards."""
    linear = torch.nn.Linear(2, 2)
    with torch.no_grad():
        linear.weight.copy_(torch.eye(2))
        linear.bias.zero_()
    model = torch.nn.Sequential(linear, torch.nn.Dropout(0.99)).train(training)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    y = torch.tensor([0, 1, 1, 1])
    assert train.accuracy(model, x, y) == 0.75
    assert model.training is training and model[1].training is training
    assert train.accuracy(model, x, torch.tensor([0, 1, 0, 1])) == 1.0


@pytest.mark.parametrize("name", nets.ACTIVATIONS)
def test_activation_function_computes_what_make_activation_does(name):
    # criticality, isometry and mup apply activations through this one table; a wrong entry
    # would make their nets differ from the probe's and train's.
    h = torch.linspace(-4, 4, 81)
    assert torch.equal(nets.activation_function(name, 0.2)(h), nets.make_activation(name, 0.2)(h))
    assert torch.equal(nets.activation_function(name)(h), nets.make_activation(name)(h))


def test_activation_function_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="activation must be one of"):
        nets.activation_function("gelu")
