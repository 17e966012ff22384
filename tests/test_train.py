"""helpers.train's experiments for notebook 09: seeded, paired, honest about blow-ups."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import train

DATA8 = train.make_blobs(600, 8, 4, seed=0)


def test_single_thread_restores_the_setting():
    before = torch.get_num_threads()
    with train.single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_make_clusters_labels_scattered_clusters():
    d = train.make_clusters(1000, 10, 2, clusters_per_class=4, seed=1)
    assert d.n_features == 10 and d.n_classes == 2
    assert set(d.y_train.tolist()) == {0, 1}
    with pytest.raises(ValueError, match="clusters_per_class"):
        train.make_clusters(clusters_per_class=0)


def test_article004_nets_draw_what_the_article_wrote():
    """xavier_uniform_: bound sqrt(6 / (10 + 20)); uniform_0.1: bound 0.1; same bias init."""
    xav, uni = train.article004_net("xavier_uniform", 3), train.article004_net("uniform_0.1", 3)
    assert xav[0].weight.abs().max() <= math.sqrt(6 / 30) and xav[0].weight.abs().max() > 0.4
    assert xav[2].weight.abs().max() <= math.sqrt(6 / 22)
    assert uni[0].weight.abs().max() <= 0.1 and uni[0].weight.abs().max() > 0.09
    assert torch.equal(xav[0].bias, uni[0].bias), "only the weights differ, as in the article"
    with pytest.raises(ValueError, match="xavier_uniform"):
        train.article004_net("glorot")


CLUSTERS = train.make_clusters(400, 10, 2, seed=0)


def test_train_stacked_matches_one_train_call_per_run():
    """Forty nets in one batched pass are forty train() calls: same init, minibatches, SGD.

    Only float rounding differs, so each run's test accuracy agrees within one test example.
    A run paired with the wrong minibatches or the wrong gradient would miss by far more.
    """
    runs = [(name, s) for name in train.ARTICLE004_INITS for s in (0, 1, 2)]
    models = [train.article004_net(name, s) for name, s in runs]
    acc = train.train_stacked(models, CLUSTERS, [s for _, s in runs], checkpoints=(0, 25))
    one_example = 1 / len(CLUSTERS.y_test)
    for k, (name, s) in enumerate(runs):
        untrained = train.accuracy(train.article004_net(name, s), CLUSTERS.x_test, CLUSTERS.y_test)
        h = train.train(train.article004_net(name, s), CLUSTERS, steps=25, lr=0.05, momentum=0.9, seed=s)
        assert abs(acc[k, 0].item() - untrained) <= one_example + 1e-9, (name, s, "at init")
        assert abs(acc[k, 1].item() - h.test_accuracy) <= one_example + 1e-9, (name, s, "after 25")
    assert torch.equal(models[0][0].weight, train.article004_net(*runs[0])[0].weight), "models untouched"


def test_train_stacked_rejects_what_it_cannot_batch():
    nets = [train.article004_net("xavier_uniform", 0)] * 2
    with pytest.raises(ValueError, match="one seed per model"):
        train.train_stacked(nets, CLUSTERS, [0], checkpoints=(5,))
    with pytest.raises(ValueError, match="increasing"):
        train.train_stacked(nets, CLUSTERS, [0, 1], checkpoints=(5, 2))
    tanh = train.build_classifier("he", 2, 20, CLUSTERS, activation="tanh")
    with pytest.raises(ValueError, match=r"nn.Linear and nn.ReLU"):
        train.train_stacked([tanh, tanh], CLUSTERS, [0, 1], checkpoints=(1,))


def test_article004_curves_pair_the_inits_and_check_the_task():
    c = train.article004_curves(CLUSTERS, range(3), checkpoints=(0, 10))
    assert set(c.accuracy) == set(train.ARTICLE004_INITS) and c.seeds == (0, 1, 2)
    assert all(v.shape == (3, 2) for v in c.accuracy.values())
    again = train.article004_curves(CLUSTERS, range(3), checkpoints=(0, 10))
    assert all(torch.equal(c.accuracy[k], again.accuracy[k]) for k in c.accuracy), "deterministic"
    assert torch.equal(c.at("uniform_0.1", 10), c.accuracy["uniform_0.1"][:, 1])
    with pytest.raises(ValueError, match="10 features"):
        train.article004_curves(DATA8, range(2))


def test_paired_difference_against_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.9, 0.02, 12), rng.normal(0.88, 0.02, 12)
    d = train.paired_difference(torch.tensor(a), torch.tensor(b))
    diff = a - b
    assert d.mean == pytest.approx(diff.mean()) and d.n == 12
    assert d.se == pytest.approx(diff.std(ddof=1) / np.sqrt(12))
    assert d.t == pytest.approx(diff.mean() / (diff.std(ddof=1) / np.sqrt(12)))
    assert d.wins == int((diff > 0).sum())
    assert d.interval(3) == pytest.approx((d.mean - 3 * d.se, d.mean + 3 * d.se))
    same = train.paired_difference(torch.ones(4), torch.ones(4))
    assert same.t == 0.0 and same.wins == 0
    with pytest.raises(ValueError, match="length >= 2"):
        train.paired_difference(torch.ones(3), torch.ones(4))


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


def test_sweep_shape_determinism_and_bad_input():
    kw = dict(schemes=("he", "small"), depths=(2, 3), seeds=(0,), width=8, steps=5)
    s = train.sweep_depth_init(DATA8, **kw)
    assert s.loss.shape == (2, 2, 1) and torch.equal(s.loss, train.sweep_depth_init(DATA8, **kw).loss)
    assert torch.equal(s.at("small", 3), s.loss[1, 1]) and s.mean().shape == (2, 2)
    with pytest.raises(ValueError, match="schemes must come from"):
        train.sweep_depth_init(DATA8, schemes=("he", "kaiming"))


def test_update_ratios_match_a_hand_computation():
    """The first row equals log10(std(lr * grad) / std(W)) computed by hand on step 1."""
    lr = 0.05
    model = train.build_classifier("he", 3, 16, DATA8, seed=0)
    hand = train.build_classifier("he", 3, 16, DATA8, seed=0)
    history, ratios = train.update_ratios(model, DATA8, steps=4, lr=lr, seed=5)
    assert ratios.shape == (4, 3) and len(history.loss) == 4
    idx = torch.randint(0, DATA8.x_train.shape[0], (128,), generator=torch.Generator().manual_seed(5))
    torch.nn.functional.cross_entropy(hand(DATA8.x_train[idx]), DATA8.y_train[idx]).backward()
    want = [math.log10(float((lr * m.weight.grad).std() / m.weight.detach().std()))
            for m in hand if isinstance(m, torch.nn.Linear)]
    assert ratios[0].tolist() == pytest.approx(want, rel=1e-5)


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


def test_plot_paired_curves_draws_means_and_the_paired_gap():
    """The drawn mean lines are the seed means, and the gap panel is first minus second."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import plots

    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.5, 1, (5, 4)), rng.uniform(0.5, 1, (5, 4))
    fig, axes = plt.subplots(1, 2)
    plots.plot_paired_curves(axes, (0, 10, 20, 40), {"a": a, "b": b})
    means = [ln for ln in axes[0].lines if ln.get_label().endswith("(mean ± 2 SE)")]
    assert [list(ln.get_xdata()) for ln in means] == [[10, 20, 40]] * 2, "step 0 is left off the log axis"
    assert np.allclose(means[0].get_ydata(), a[:, 1:].mean(0))
    gap = next(ln for ln in axes[1].lines if ln.get_label().startswith("paired difference"))
    assert np.allclose(gap.get_ydata(), (a - b)[:, 1:].mean(0))
    plt.close(fig)
