"""helpers.compare: notebook 09's experiments are seeded, paired, and compute what they say."""

import math

import matplotlib
import numpy as np
import pytest
import torch

from helpers import compare, plots, train

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DATA8 = train.make_blobs(600, 8, 4, seed=0)
CLUSTERS = train.make_clusters(400, 10, 2, seed=0)


def test_article004_nets_draw_what_the_article_wrote():
    """xavier_uniform_: bound sqrt(6 / (10 + 20)); uniform_0.1: bound 0.1; same bias init."""
    xav, uni = compare.article004_net("xavier_uniform", 3), compare.article004_net("uniform_0.1", 3)
    assert xav[0].weight.abs().max() <= math.sqrt(6 / 30) and xav[0].weight.abs().max() > 0.4
    assert xav[2].weight.abs().max() <= math.sqrt(6 / 22)
    assert uni[0].weight.abs().max() <= 0.1 and uni[0].weight.abs().max() > 0.09
    assert torch.equal(xav[0].bias, uni[0].bias), "only the weights differ, as in the article"
    with pytest.raises(ValueError, match="xavier_uniform"):
        compare.article004_net("glorot")


def test_article004_curves_pair_the_inits_and_check_the_task():
    c = compare.article004_curves(CLUSTERS, range(3), checkpoints=(0, 10))
    assert set(c.accuracy) == set(compare.ARTICLE004_INITS) and c.seeds == (0, 1, 2)
    assert all(v.shape == (3, 2) for v in c.accuracy.values())
    again = compare.article004_curves(CLUSTERS, range(3), checkpoints=(0, 10))
    assert all(torch.equal(c.accuracy[k], again.accuracy[k]) for k in c.accuracy), "deterministic"
    assert torch.equal(c.at("uniform_0.1", 10), c.accuracy["uniform_0.1"][:, 1])
    with pytest.raises(ValueError, match="10 features"):
        compare.article004_curves(DATA8, range(2))


def test_paired_difference_against_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.9, 0.02, 12), rng.normal(0.88, 0.02, 12)
    d = compare.paired_difference(torch.tensor(a), torch.tensor(b))
    diff = a - b
    assert d.mean == pytest.approx(diff.mean()) and d.n == 12
    assert d.se == pytest.approx(diff.std(ddof=1) / np.sqrt(12))
    assert d.t == pytest.approx(diff.mean() / (diff.std(ddof=1) / np.sqrt(12)))
    assert d.wins == int((diff > 0).sum())
    assert d.interval(3) == pytest.approx((d.mean - 3 * d.se, d.mean + 3 * d.se))
    same = compare.paired_difference(torch.ones(4), torch.ones(4))
    assert same.t == 0.0 and same.wins == 0
    with pytest.raises(ValueError, match="length >= 2"):
        compare.paired_difference(torch.ones(3), torch.ones(4))


def test_sweep_shape_determinism_and_bad_input():
    kw = dict(schemes=("he", "small"), depths=(2, 3), seeds=(0,), width=8, steps=5)
    s = compare.sweep_depth_init(DATA8, **kw)
    assert s.loss.shape == (2, 2, 1) and torch.equal(s.loss, compare.sweep_depth_init(DATA8, **kw).loss)
    assert torch.equal(s.at("small", 3), s.loss[1, 1]) and s.mean().shape == (2, 2)
    with pytest.raises(ValueError, match="schemes must come from"):
        compare.sweep_depth_init(DATA8, schemes=("he", "kaiming"))


def test_update_ratios_match_a_hand_computation():
    """The first row equals log10(std(lr * grad) / std(W)) computed by hand on step 1."""
    lr = 0.05
    model = train.build_classifier("he", 3, 16, DATA8, seed=0)
    hand = train.build_classifier("he", 3, 16, DATA8, seed=0)
    history, ratios = compare.update_ratios(model, DATA8, steps=4, lr=lr, seed=5)
    assert ratios.shape == (4, 3) and len(history.loss) == 4
    idx = torch.randint(0, DATA8.x_train.shape[0], (128,), generator=torch.Generator().manual_seed(5))
    torch.nn.functional.cross_entropy(hand(DATA8.x_train[idx]), DATA8.y_train[idx]).backward()
    want = [math.log10(float((lr * m.weight.grad).std() / m.weight.detach().std()))
            for m in hand if isinstance(m, torch.nn.Linear)]
    assert ratios[0].tolist() == pytest.approx(want, rel=1e-5)


def test_plot_paired_curves_draws_means_and_the_paired_gap():
    """The drawn mean lines are the seed means, and the gap panel is first minus second."""
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


def test_sweep_per_seed_against_a_hand_made_sweep():
    """Gaps, stuck counts and the small-vs-He distances, computed on a 4 x 2 x 2 sweep by hand."""
    schemes, depths, seeds = ("small", "he", "small+bn", "he+bn"), (2, 8), (0, 1)
    loss = torch.tensor([[[1.0, 1.1], [2.0, 2.1]],    # small
                         [[0.9, 1.0], [0.5, 0.6]],    # he
                         [[0.8, 0.8], [0.7, 0.7]],    # small+bn
                         [[0.8, 0.8], [0.6, 0.9]]],   # he+bn
                        dtype=torch.float64)
    s = compare.Sweep(schemes, depths, seeds, loss)
    first, second = s.per_seed(stuck=1.9)
    assert (first.seed, second.seed) == (0, 1)
    assert first.gap_shallow == pytest.approx(0.1) and first.gap_deeper == pytest.approx(1.5)
    assert (first.stuck_shallow, first.stuck_deepest) == (0, 1), "only small at depth 8 is above 1.9"
    assert first.small_vs_he == pytest.approx(1.5) and first.small_vs_he_bn == pytest.approx(0.1)
    assert second.small_vs_he_bn == pytest.approx(0.2)
    with pytest.raises(ValueError, match="per_seed needs"):
        compare.Sweep(("small", "he"), depths, seeds, loss[:2]).per_seed(stuck=1.0)
