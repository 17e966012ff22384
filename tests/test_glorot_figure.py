"""Notebook 05's Glorot & Bengio (2010) Figures 6-7 claims at small scale, and their plot.

Protects: section 1's visible loop is the probe's forward pass; with the standard
U(+-1/sqrt(n)) variance a 5-layer tanh net's activation std shrinks layer by layer and its
input-side activation gradient is ~10x smaller than the output side, while its weight gradients
stay level (Glorot & Bengio's eq. 14); Xavier is far flatter; the panels draw one curve per
layer and refuse a record without values.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import init, plots, probe


def _run(init_name, **kw):
    return probe.propagate(5, 128, "tanh", init_name, batch=256, seed=0, **kw)


def test_standard_init_shrinks_and_xavier_is_flatter():
    std = init.scheme_std("pytorch_default", (128, 128))
    assert std == pytest.approx(1 / math.sqrt(3 * 128))
    standard, xavier = _run("fixed", std=std), _run("xavier")
    assert np.all(np.diff(standard.forward_std) < 0)
    assert standard.forward_std[-1] < 0.2 * standard.forward_std[0]
    assert standard.grad_std[0] < 0.2 * standard.grad_std[-1]
    assert xavier.forward_std[-1] / xavier.forward_std[0] > 0.4
    assert xavier.grad_std[0] / xavier.grad_std[-1] > 0.4


def test_standard_init_weight_gradients_stay_level():
    """dL/dW_l = dL/dy_l^T h_(l-1): small gradient times large input near the input, the reverse
    near the output; the product is the same in every layer (linear regime, square layers)."""
    std = init.scheme_std("pytorch_default", (128, 128))
    rec = _run("fixed", std=std, weight_grads=True)
    assert rec.grad_std.max() / rec.grad_std.min() > 5
    assert rec.weight_grad_std.max() / rec.weight_grad_std.min() < 1.2


def test_glorot_panels_draw_one_curve_per_layer():
    fig, axes = plots.new_figure(1, 2)
    plots.plot_glorot_panels(axes, _run("xavier", keep_values=True), "Xavier")
    assert all(len(ax.patches) == 5 for ax in axes)  # one Stairs per layer
    assert "→" in axes[0].get_title() and "layer 1" in axes[1].get_title()


def test_glorot_panels_need_the_values():
    fig, axes = plots.new_figure(1, 2)
    with pytest.raises(ValueError, match="keep_values=True"):
        plots.plot_glorot_panels(axes, _run("xavier"), "Xavier")


def _notebook_cell(marker: str) -> str:
    """The source of notebook 05's code cell that contains `marker`."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / "05_xavier_glorot.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells
                if c["cell_type"] == "code" and marker in "".join(c["source"]))


@pytest.mark.parametrize("seed,width", [(0, 256), (3, 64)])
def test_section_1_loop_is_the_probes_forward_pass(seed, width, capsys):
    """The plain-torch loop a learner reads in section 1 computes what probe.propagate (the
    figures and checks) computes: same draws, same activation std per layer."""
    ns = {"math": math, "np": np, "torch": torch, "SEED": seed, "DEPTH": 5, "WIDTH": width}
    exec(_notebook_cell("loop_std.append"), ns)  # noqa: S102 - the notebook's own cell
    rec = probe.propagate(5, width, "tanh", "fixed", std=1 / math.sqrt(3 * width), batch=512, seed=seed)
    np.testing.assert_allclose(ns["loop_std"], rec.forward_std, rtol=1e-5)
    assert "activation std, layers 1-5" in capsys.readouterr().out
