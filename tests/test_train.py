"""helpers.train: seeded data, the training loop, many runs at once, honest about blow-ups."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import compare, train

DATA8 = train.make_blobs(600, 8, 4, seed=0)


def test_make_clusters_labels_scattered_clusters():
    d = train.make_clusters(1000, 10, 2, clusters_per_class=4, seed=1)
    assert d.n_features == 10 and d.n_classes == 2
    assert set(d.y_train.tolist()) == {0, 1}
    with pytest.raises(ValueError, match="clusters_per_class"):
        train.make_clusters(clusters_per_class=0)


CLUSTERS = train.make_clusters(400, 10, 2, seed=0)


def test_train_many_matches_one_train_call_per_run():
    """Nets in one batched pass are train() calls, one per run: same init, minibatches, SGD.

    Only float rounding differs, so each run's test accuracy agrees within one test example.
    A run paired with the wrong minibatches or the wrong gradient would miss by far more.
    """
    runs = [(name, s) for name in compare.ARTICLE004_INITS for s in (0, 1, 2)]
    models = [compare.article004_net(name, s) for name, s in runs]
    histories = train.train_many(models, CLUSTERS, [s for _, s in runs], steps=25, lr=0.05, momentum=0.9,
                                 checkpoints=(0, 10, 25))
    one_example = 1 / len(CLUSTERS.y_test)
    for h_many, (name, s) in zip(histories, runs, strict=True):
        untrained = train.accuracy(compare.article004_net(name, s), CLUSTERS.x_test, CLUSTERS.y_test)
        h = train.train(compare.article004_net(name, s), CLUSTERS, steps=25, lr=0.05, momentum=0.9, seed=s)
        assert abs(h_many.test_accuracy_at[0] - untrained) <= one_example + 1e-9, (name, s, "at init")
        assert abs(h_many.test_accuracy_at[25] - h.test_accuracy) <= one_example + 1e-9, (name, s, "after 25")
        assert h_many.test_accuracy_at[25] == h_many.test_accuracy, "the last checkpoint is the end"
        assert h_many.loss == pytest.approx(h.loss, rel=1e-4), (name, s, "same losses step by step")
    assert torch.equal(models[0][0].weight, compare.article004_net(*runs[0])[0].weight), "models untouched"


def test_train_many_checkpoint_after_k_updates():
    """Checkpoint k is the test accuracy after k updates: train() for k steps gives the same."""
    net = compare.article004_net("xavier_uniform", 4)
    (h,) = train.train_many([net], CLUSTERS, [4], steps=12, lr=0.05, momentum=0.9, checkpoints=(3, 7))
    for k in (3, 7):
        alone = train.train(compare.article004_net("xavier_uniform", 4), CLUSTERS, steps=k, lr=0.05,
                            momentum=0.9, seed=4)
        assert abs(h.test_accuracy_at[k] - alone.test_accuracy) <= 1 / len(CLUSTERS.y_test) + 1e-9, k
    assert sorted(h.test_accuracy_at) == [3, 7]


def test_train_many_rejects_what_it_cannot_batch():
    nets = [compare.article004_net("xavier_uniform", 0)] * 2
    with pytest.raises(ValueError, match="one seed per model"):
        train.train_many(nets, CLUSTERS, [0], steps=5)
    with pytest.raises(ValueError, match="increasing"):
        train.train_many(nets, CLUSTERS, [0, 1], steps=5, checkpoints=(5, 2))
    tanh = train.build_classifier("he", 2, 20, CLUSTERS, activation="tanh")
    with pytest.raises(ValueError, match=r"nn.Linear and nn.ReLU"):
        train.train_many([tanh, tanh], CLUSTERS, [0, 1], steps=1)
    with pytest.raises(ValueError, match=r"in \[0, steps=5\]"):
        train.train_many(nets, CLUSTERS, [0, 1], steps=5, checkpoints=(0, 6))


@pytest.mark.parametrize("scheme", train.SWEEP_SCHEMES)
def test_every_sweep_scheme_builds_and_trains(scheme):
    model = train.build_classifier(scheme, 4, 16, DATA8, seed=0)
    n_bn = sum(isinstance(m, torch.nn.BatchNorm1d) for m in model)
    assert n_bn == (4 if scheme.endswith("+bn") else 0)
    h = train.train(model, DATA8, steps=5, lr=0.01)
    assert len(h.loss) == 5


def test_small_scheme_uses_small_std_and_lsuv_unit_variance():
    small = train.build_classifier("small", 3, 64, DATA8, small_std=0.01)
    assert abs(float(small[2].weight.detach().std()) - 0.01) < 0.002
    lsuv = train.build_classifier("lsuv", 3, 64, DATA8)
    with torch.no_grad():
        pre = lsuv[0](DATA8.x_train[:256])
    assert abs(float(pre.var()) - 1) < 0.05


def test_tail_loss_is_inf_after_a_blow_up():
    h = train.History(loss=[1.0, 2.0, float("nan")])
    assert train.tail_loss(h) == math.inf
    assert train.tail_loss(train.History(loss=[4.0] * 9 + [2.0]), 0.2) == 3.0


def test_on_step_runs_once_per_step_before_the_update():
    model = train.build_classifier("he", 2, 8, DATA8)
    seen = []
    train.train(model, DATA8, steps=3, on_step=lambda m: seen.append(m[0].weight.grad is not None))
    assert seen == [True, True, True]


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 5), st.integers(0, 1000))
def test_build_classifier_depth_counts_linear_layers(depth, seed):
    model = train.build_classifier("xavier", depth, 8, DATA8, seed=seed)
    assert sum(isinstance(m, torch.nn.Linear) for m in model) == depth


