"""Every explorer's fast path shows what a full drawing shows.

An explorer draws its moving artists over a cached frame (Explorer's `dynamic` and `frame`).
What this protects: a stale frame. If a builder forgets an artist that a control moves (a
new contour set, a legend that follows a dropdown, an axis whose limits change), the
blitted PNG keeps the old pixels while a fresh explorer drawn once at the same values shows
the new ones. Each case walks some controls through several values, then compares pixel by
pixel with a second explorer set straight to the final values and drawn in full.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from helpers import widgets

CASES = {
    "monte_carlo": (lambda: widgets.monte_carlo_explorer(a=0.0, b=1.0),
                    [{"a": -0.5}, {"b": 2.0}, {"n": 10_000}, {"a": 1.5}, {"a": -2.0, "n": 300}]),
    "preactivation": (lambda: widgets.preactivation_explorer(),
                      [{"n": 100}, {"weight_std": 0.05}, {"activation": "sigmoid"}, {"n": 1_000}]),
    "zigzag": (lambda: widgets.zigzag_explorer(steps=100),
               [{"lr": 0.5}, {"centring": 1.0}, {"momentum": 0.5}, {"centring": 0.3, "lr": 0.05}]),
    "fixes": (lambda: widgets.fixes_explorer(steps=40),
              [{"lr": 0.3}, {"momentum": 0.5}, {"tanh": True}, {"batchnorm": True, "lr": 2.0}]),
    "criticality": (lambda: widgets.criticality_explorer(depth=12),
                    [{"sigma_w2": 1.0}, {"depth": 20}, {"activation": "relu", "sigma_w2": 2.0}]),
    "residual": (lambda: widgets.residual_explorer(depth=20),
                 [{"depth": 21}, {"depth": 22}, {"layernorm": True}, {"branch_init": "zero"}, {"depth": 60}]),
    "isometry": (lambda: widgets.isometry_explorer(depth=10, width=32),
                 [{"depth": 20}, {"weight_scale": 1.5}, {"weights": "gaussian", "input_std": 1.0}]),
}


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_step_equals_a_full_drawing_of_the_same_values(name):
    build, steps = CASES[name]
    walked = build()
    draws = []
    for step in steps:
        walked.set(**step)
        draws.append(walked.last_draw)
        fresh = build()
        fresh.set(**walked.values())
        a, b = _pixels(walked.png), _pixels(fresh.full_png())
        assert a.shape == b.shape and (a != b).sum() == 0, f"{name}: stale pixels after {step}"
    assert "blit" in draws, f"{name}: no step took the fast path, so this test checked nothing"
