"""Notebook 06's claims at small scale: He et al. 2015 Figure 3, and the speed measure it uses.

Protects: a 30-layer ReLU MLP stays at the chance loss under Xavier and learns under He
(SGD + momentum); steps_to_loss finds the first window whose mean reaches the threshold.
"""

import math

import pytest

from helpers import plots, train


def _history(losses):
    h = train.History()
    h.loss = list(losses)
    return h


def test_steps_to_loss_uses_the_running_mean():
    h = _history([3, 3, 1, 1, 0.2, 0.2])
    assert train.steps_to_loss(h, 2.0, window=2) == 3  # mean(3, 1) = 2 at steps 2..3
    assert train.steps_to_loss(h, 0.2, window=2) == 6
    assert train.steps_to_loss(h, 0.1, window=2) is None
    assert train.steps_to_loss(h, 3.0, window=1) == 1


def test_steps_to_loss_ignores_a_blow_up():
    assert train.steps_to_loss(_history([2, math.nan, 1]), 0.5, window=2) is None


@pytest.mark.parametrize("window,threshold", [(0, 1.0), (3, math.inf), (3, math.nan)])
def test_steps_to_loss_rejects_bad_input(window, threshold):
    with pytest.raises(ValueError, match="window >= 1"):
        train.steps_to_loss(_history([1, 2, 3]), threshold, window)


def test_he_trains_a_30_layer_relu_net_that_xavier_cannot():
    data = train.make_blobs(n_samples=3000, n_features=16, n_classes=8, separation=1.0, seed=0)
    chance = math.log(data.n_classes)
    final = {}
    with train.single_thread():
        for scheme in ("xavier", "he"):
            model = train.build_classifier(scheme, 30, 64, data, seed=0)
            h = train.train(model, data, steps=200, lr=0.01, momentum=0.9, seed=0)
            final[scheme] = train.tail_loss(h)
    assert abs(final["xavier"] - chance) < 0.02, "Xavier at depth 30 stays at the chance loss"
    assert final["he"] < 0.75 * chance, "He at depth 30 learns"


def test_loss_and_std_plots_draw_every_run():
    fig, (a, b) = plots.new_figure(1, 2)
    plots.plot_loss_curves(a, {"He": [2.0, 1.0, 0.5] * 10, "Xavier": [2.08] * 30}, chance=2.08, window=5)
    assert len(a.lines) == 3  # two runs and the chance line
    plots.plot_std_by_layer(b, {"He": [0.8, 0.8], "Xavier": [0.6, 0.4]}, ylabel="std", title="t")
    assert len(b.lines) == 2 and b.get_yscale() == "log"
