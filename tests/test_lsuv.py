"""LSUV (Mishkin & Matas 2016): every layer's output variance ends at 1 on the batch used."""

import pytest
import torch

from helpers.lsuv import lsuv_
from helpers.nets import mlp


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_every_layer_output_has_unit_variance(activation):
    model = mlp([20, 64, 64, 64, 5], activation, "xavier", seed=0)
    x = torch.randn(512, 20, generator=torch.Generator().manual_seed(1))
    variances = lsuv_(model, x, generator=torch.Generator().manual_seed(2))
    assert len(variances) == 4 and all(abs(v - 1) < 0.02 for v in variances)
    seen = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: seen.append(float(out.var())))
             for m in model if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    assert seen == pytest.approx(variances, rel=1e-6)


def test_starts_orthogonal_and_leaves_no_hooks():
    model = mlp([32, 32, 32], "relu", "pytorch_default", seed=0)
    x = torch.randn(256, 32, generator=torch.Generator().manual_seed(0))
    lsuv_(model, x)
    w = model[2].weight
    gram = w @ w.T / (w.norm(dim=1, keepdim=True) @ w.norm(dim=1, keepdim=True).T)
    assert torch.allclose(gram, torch.eye(32), atol=1e-5), "rows stay orthogonal, only rescaled"
    assert all(not m._forward_hooks for m in model.modules())
    assert all(float(m.bias.detach().abs().max()) == 0 for m in model if isinstance(m, torch.nn.Linear))


def test_bad_input_is_a_value_error():
    model = mlp([4, 4], "relu", seed=0)
    with pytest.raises(ValueError, match="tol"):
        lsuv_(model, torch.randn(8, 4), tol=0)
    with pytest.raises(ValueError, match="batch"):
        lsuv_(model, torch.randn(4))
    with pytest.raises(ValueError, match="nn.Linear"):
        lsuv_(torch.nn.ReLU(), torch.randn(8, 4))


@pytest.mark.parametrize("training", [True, False])
def test_restores_the_models_train_or_eval_mode(training):
    """lsuv_ measures in eval mode (BatchNorm's running statistics untouched) and hands the model
    back in the mode it was given, every submodule included."""
    model = mlp([16, 32, 32, 4], "relu", "he", batchnorm=True, seed=0)
    model.train(training)
    running = [m.running_mean.clone() for m in model if isinstance(m, torch.nn.BatchNorm1d)]
    x = torch.randn(128, 16, generator=torch.Generator().manual_seed(0)) + 3.0
    lsuv_(model, x, generator=torch.Generator().manual_seed(1))
    assert model.training is training
    assert all(m.training is training for m in model.modules())
    after = [m.running_mean for m in model if isinstance(m, torch.nn.BatchNorm1d)]
    assert all(torch.equal(a, b) for a, b in zip(running, after, strict=True)), \
        "no forward pass in training mode: BatchNorm's running mean never moved"
