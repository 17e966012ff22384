"""The explorers of notebooks 01 and 02: driven by setting control values, as a learner would.

Protects: the figure is drawn at construction (the headless fallback), every change
redraws it, the readout agrees with the compute functions, and invalid slider
combinations give a message instead of an exception or a blank figure.
"""

import base64

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import criticality, stats, widgets

PNG_MAGIC = b"\x89PNG"


def _is_png(data: bytes) -> bool:
    return data.startswith(PNG_MAGIC) and len(data) > 2_000


def test_monte_carlo_explorer_draws_at_defaults_and_offers_a_png_fallback():
    e = widgets.monte_carlo_explorer()
    assert _is_png(e.png) and e.image.value == e.png
    bundle = e._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == e.png
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Explorer: N = 1,000")


def test_monte_carlo_readout_matches_the_formula():
    e = widgets.monte_carlo_explorer(a=-1.0, b=1.0, n=100_000)
    assert "theory 0.3333" in e.state["readout"]
    before = e.png
    e.controls["b"].value = 2.0
    assert e.png != before and "theory 0.7500" in e.state["readout"]


def test_monte_carlo_invalid_interval_is_a_message_not_an_error():
    e = widgets.monte_carlo_explorer()
    e.controls["a"].value = 1.5
    assert "needs a < b" in e.state["readout"] and _is_png(e.png)
    e.controls["a"].value = -1.0
    assert "sample variance" in e.state["readout"]


def test_monte_carlo_a_float_step_short_of_b_is_no_interval():
    """Ten slider steps of 0.1 from 0 give a = 0.9999999999999999: that is a = b = 1, not a
    range too narrow for numpy's histogram (which raised deep inside numpy)."""
    e = widgets.monte_carlo_explorer(a=0.0, b=1.0)
    a = 0.0
    for _ in range(10):
        a += 0.1
    assert a < 1.0
    e.controls["a"].value = a
    assert "needs a < b" in e.state["readout"] and "a = 1.0, b = 1.0" in e.state["readout"]


@pytest.fixture(scope="module")
def mc_explorer():
    return widgets.monte_carlo_explorer()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(
    st.floats(-3, 3).map(lambda x: round(x, 1)),
    st.floats(-3, 3).map(lambda x: round(x, 1)),
    st.sampled_from(widgets.MC_SIZES[:6]),
)
def test_monte_carlo_any_setting_draws(mc_explorer, a, b, n):
    e = mc_explorer
    e.controls["n"].value = n
    e.controls["a"].value = a
    e.controls["b"].value = b
    assert _is_png(e.png) and e.state["readout"]


def test_preactivation_explorer_shows_the_sqrt_n_law():
    e = widgets.preactivation_explorer()
    assert "theory 33.3" in e.state["readout"] and "saturated under tanh" in e.state["readout"]
    e.controls["weight_std"].value = 0.01
    assert "0.0% of units saturated" in e.state["readout"]
    e.controls["activation"].value = "sigmoid"
    assert "under sigmoid" in e.state["readout"]


def test_preactivation_saturation_falls_as_weights_shrink():
    e = widgets.preactivation_explorer(n=1_000, trials=300)
    fractions = []
    for std in (1.0, 0.1, 0.01):
        e.controls["weight_std"].value = std
        a = std * widgets._unit_sums(1_000, 300, 0)
        fractions.append(stats.saturated_fraction(a, "tanh"))
    assert fractions[0] > fractions[1] > fractions[2] == 0.0
    assert np.isfinite(fractions).all()


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: widgets.monte_carlo_explorer(n=7), "n must be one of"),
        (lambda: widgets.preactivation_explorer(n=3), "n must be one of"),
        (lambda: widgets.preactivation_explorer(activation="relu"), "activation must be one of"),
    ],
)
def test_bad_arguments_name_the_choices(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_criticality_explorer_depth_moves_inside_a_block_blit_the_same_measurement():
    """Depth 31 -> 33 stays in the block 31-35: the lines move over the cached frame, and the
    drawn curve is the measurement of layers 1..35 cut at 33 (what the readout reports too)."""
    e = widgets.criticality_explorer("relu", 2.0, 31, seed=3)
    e.set(depth=33)
    assert e.last_draw == "blit" and e.png == e.full_png()
    fwd, bwd = criticality.propagation_map("relu", [2.0], list(range(1, 36)), width=128, batch=64, seed=3)
    drawn = next(ln for ln in e.fig.axes[0].lines if ln.get_label() == "input gradient (measured)")
    assert np.allclose(drawn.get_ydata(), bwd[0][:33])
    assert f"input gradient x{10 ** bwd[0][32]:.3g}" in e.state["readout"]
