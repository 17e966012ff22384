"""Notebook 06's claims at small scale: He et al. 2015 Figure 3, and the tools it uses.

Protects: section 3's visible loop is the probe's forward pass; a 30-layer ReLU MLP stays near
the chance loss under Xavier and learns under He (SGD + momentum, two seeds side by side);
train_many is train() once per run (same losses, runs independent, a blow-up stops only its
own run); steps_to_loss finds the first window whose mean reaches the threshold; the seed-curve
plot draws every seed and a median.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import plots, probe, train

SMALL = train.make_blobs(n_samples=400, n_features=6, n_classes=3, seed=0)


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


@pytest.mark.slow  # 4 nets of 30 layers x 300 steps, ~15 s of CPU: make test-slow runs it
def test_he_trains_a_30_layer_relu_net_that_xavier_cannot():
    """Notebook 06's setup (lr 0.003, momentum 0.9, 300 steps) on two seeds of its own."""
    data = train.make_blobs(n_samples=3000, n_features=16, n_classes=8, separation=1.0, seed=5)
    chance = math.log(data.n_classes)
    seeds = [5, 6]
    models = [train.build_classifier(s, 30, 64, data, seed=k) for s in ("xavier", "he") for k in seeds]
    xavier, he = np.split(np.array(train.train_many(models, data, seeds * 2, steps=300,
                                                            lr=0.003, momentum=0.9)), 2)
    for x, h in zip(xavier, he, strict=True):
        assert train.tail_loss(x) > 0.9 * chance, "Xavier at depth 30 stays near the chance loss"
        assert train.steps_to_loss(h, chance / 2) is not None, "He at depth 30 halves the chance loss"
        assert train.tail_loss(x) - train.tail_loss(h) > 0.5, "He ends far below Xavier"


def _small_models(seeds, depth=3, width=16):
    return [train.build_classifier("he", depth, width, SMALL, seed=s) for s in seeds]


def test_train_many_is_train_once_per_run():
    """Same init, minibatches and SGD as train(); a wrong pairing would miss by far more."""
    seeds = [0, 1, 2]
    together = train.train_many(_small_models(seeds), SMALL, seeds, steps=40, lr=0.05,
                                        momentum=0.9)
    for s, h in zip(seeds, together, strict=True):
        alone = train.train(_small_models([s])[0], SMALL, steps=40, lr=0.05, momentum=0.9, seed=s)
        assert len(h.loss) == 40 and np.allclose(h.loss, alone.loss, rtol=0, atol=1e-4), s
        assert abs(h.test_accuracy - alone.test_accuracy) <= 1 / len(SMALL.y_test) + 1e-9, s
        assert abs(h.train_accuracy - alone.train_accuracy) <= 1 / len(SMALL.y_train) + 1e-9, s


def test_train_many_runs_do_not_see_each_other():
    """A run's losses do not depend on which other runs share the batch."""
    (alone,) = train.train_many(_small_models([4]), SMALL, [4], steps=30, lr=0.05)
    with_others = train.train_many(_small_models([4, 7, 9]), SMALL, [4, 7, 9], steps=30, lr=0.05)
    assert np.allclose(alone.loss, with_others[0].loss, rtol=0, atol=1e-6)
    assert not np.allclose(with_others[0].loss, with_others[1].loss, rtol=0, atol=1e-3)


def test_a_blow_up_stops_only_its_own_run():
    models = _small_models([0, 1], depth=6)
    with torch.no_grad():
        for p in models[1].parameters():
            p.mul_(1e12)  # logits overflow float32 at the first step
    ok, blown = train.train_many(models, SMALL, [0, 1], steps=20, lr=0.05, checkpoints=(0, 10, 20))
    assert len(ok.loss) == 20 and all(math.isfinite(v) for v in ok.loss)
    assert len(blown.loss) == 1 and not math.isfinite(blown.loss[0])
    assert 0 <= blown.test_accuracy <= 1 and train.tail_loss(blown) == math.inf
    assert blown.test_accuracy_at == {0: blown.test_accuracy, 10: blown.test_accuracy,
                                      20: blown.test_accuracy}, "a stopped run keeps its accuracy at the stop"
    assert ok.test_accuracy_at[20] == ok.test_accuracy
    (alone,) = train.train_many(_small_models([0], depth=6), SMALL, [0], steps=20, lr=0.05)
    assert np.allclose(ok.loss, alone.loss, rtol=0, atol=1e-6), "the blow-up leaked into run 0"


def test_train_many_refuses_what_it_cannot_batch():
    with pytest.raises(ValueError, match="one seed per model"):
        train.train_many(_small_models([0, 1]), SMALL, [0], steps=5)
    with pytest.raises(ValueError, match="nn.Linear and nn.ReLU"):
        train.train_many(_small_models([0]) + _small_models([1], depth=4), SMALL, [0, 1], steps=5)
    tanh = [train.build_classifier("xavier", 3, 16, SMALL, activation="tanh", seed=0)]
    with pytest.raises(ValueError, match="nn.Linear and nn.ReLU"):
        train.train_many(tanh, SMALL, [0], steps=5)
    with pytest.raises(ValueError, match="momentum"):
        train.train_many(_small_models([0]), SMALL, [0], steps=5, momentum=1.0)


def test_loss_and_std_plots_draw_every_run():
    fig, (a, b) = plots.new_figure(1, 2)
    plots.plot_loss_curves(a, {"He": [2.0, 1.0, 0.5] * 10, "Xavier": [2.08] * 30}, chance=2.08, window=5)
    assert len(a.lines) == 3  # two runs and the chance line
    plots.plot_std_by_layer(b, {"He": [0.8, 0.8], "Xavier": [0.6, 0.4]}, ylabel="std", title="t")
    assert len(b.lines) == 2 and b.get_yscale() == "log"


def test_seed_curves_draw_each_seed_and_the_median():
    fig, ax = plots.new_figure()
    runs = {"He": [[2.0, 1.0, 0.5] * 10, [2.0, 1.5, 1.0] * 10, [3.0, math.nan]],
            "Xavier": [[2.08] * 30] * 3}
    plots.plot_seed_curves(ax, runs, chance=2.08, window=5)
    assert len(ax.lines) == 2 * (3 + 1) + 1  # every seed, a median per init, the chance line
    smooth = [np.convolve(r, np.ones(5) / 5, mode="valid") for r in runs["He"][:2]]
    median = ax.lines[3].get_ydata()
    assert np.allclose(median, np.maximum(*smooth)), "a stopped run counts as an infinite loss"
    assert "median of 3 seeds" in ax.get_legend_handles_labels()[1][0]


def _notebook_cell(marker: str) -> str:
    """The source of notebook 06's code cell that contains `marker`."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / "06_he_kaiming.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells
                if c["cell_type"] == "code" and marker in "".join(c["source"]))


@pytest.mark.parametrize("seed", [0, 3])
def test_section_3_loop_is_the_probes_forward_pass(seed, capsys):
    """The plain-torch loop a learner reads in section 3 computes what probe.propagate (the
    figure and the checks) computes: same draws, same activation std per layer, He and Xavier."""
    ns = {"math": math, "np": np, "torch": torch, "probe": probe, "SEED": seed}
    exec(_notebook_cell("loop_std[name].append"), ns)  # noqa: S102 - the notebook's own cell
    for name in ("He", "Xavier"):
        rec = probe.propagate(30, 256, "relu", name.lower(), seed=seed)
        np.testing.assert_allclose(ns["loop_std"][name], rec.forward_std, rtol=1e-4)
    assert "per layer x" in capsys.readouterr().out
