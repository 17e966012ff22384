"""Mean-field theory of signal propagation (Poole et al. 2016) against closed forms and
against measured random networks; and notebook 09's criticality explorer."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import criticality as crit
from helpers import widgets


def test_critical_values():
    assert crit.critical_weight_var("relu") == 2.0
    assert crit.critical_weight_var("tanh") == crit.critical_weight_var("linear") == 1.0
    with pytest.raises(ValueError, match="activation must be one of"):
        crit.critical_weight_var("gelu")


@given(st.floats(0.1, 10))
def test_relu_and_linear_chi_closed_forms(s):
    assert crit.mean_field("relu", s, layers=1)[1] == pytest.approx(s / 2)
    assert crit.mean_field("linear", s, layers=1)[1] == pytest.approx(s)


def test_critical_gain_is_the_one_table_isometry_and_mup_read():
    # one owner for "the critical gain per activation": He's sqrt 2 for ReLU, LeCun's 1 otherwise
    from helpers import isometry, mup

    assert crit.critical_gain("relu") == math.sqrt(2) and crit.critical_gain("tanh") == 1.0
    assert all(crit.critical_gain(a) ** 2 == pytest.approx(crit.critical_weight_var(a))
               for a in crit.CRITICAL_ACTIVATIONS)
    assert mup.GAINS == {a: crit.critical_gain(a) for a in mup.ACTIVATIONS}
    assert set(isometry.ACTIVATIONS) == set(crit.CRITICAL_ACTIVATIONS)
    with pytest.raises(ValueError, match="activation must be one of"):
        crit.critical_gain("sigmoid")


def test_tanh_phases():
    """Below 1: q* = 0 and chi_1 = sigma_w^2 (ordered); above 1: q* > 0 and chi_1 > 1 (chaotic)."""
    q, chi = crit.mean_field("tanh", 0.5)
    assert q < 1e-12 and chi == pytest.approx(0.5)
    q, chi = crit.mean_field("tanh", (5 / 3) ** 2)
    assert q > 1 and 1.15 < chi < 1.25, "torch's tanh gain 5/3 lies on the chaotic side"


def test_tanh_fixed_point_satisfies_its_equation():
    q, _ = crit.mean_field("tanh", 2.0)
    z = np.random.default_rng(0).standard_normal(2_000_000)
    assert q == pytest.approx(2.0 * np.mean(np.tanh(math.sqrt(q) * z) ** 2), rel=5e-3)


@pytest.mark.parametrize("activation,s", [("tanh", 0.5), ("tanh", 2.78), ("relu", 1.0),
                                          ("relu", 4.0), ("linear", 1.5)])
def test_measured_random_nets_follow_the_mean_field_profile(activation, s):
    depths = [1, 5, 10]
    fwd, bwd = crit.propagation_map(activation, [s], depths, width=256, batch=256, seed=1)
    mf_fwd, mf_bwd = crit.mean_field_profile(activation, s, 10)
    idx = [d - 1 for d in depths]
    assert fwd[0] == pytest.approx(mf_fwd[idx], abs=0.12)
    assert bwd[0] == pytest.approx(mf_bwd[idx], abs=0.12)


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError, match="sigma_w2"):
        crit.propagation_map("relu", [0.0], [1])
    with pytest.raises(ValueError, match="depths"):
        crit.propagation_map("relu", [1.0], [])
    with pytest.raises(ValueError, match="depth"):
        crit.mean_field_profile("tanh", 1.0, 0)


def test_explorer_defaults_draw_and_controls_redraw():
    e = widgets.criticality_explorer()
    assert e.png and "tanh" in e.state["readout"] and "chaotic" in e.state["readout"]
    e.controls["activation"].value = "relu"
    e.controls["sigma_w2"].value = 2.0
    assert "critical" in e.state["readout"] and e.state["activation"] == "relu"
    e.controls["sigma_w2"].value = 0.5
    assert "ordered" in e.state["readout"]
    with pytest.raises(ValueError, match="activation"):
        widgets.criticality_explorer("sigmoid")


@settings(max_examples=5, deadline=None)
@given(st.sampled_from([0.3, 1.0, 3.0, 7.5]), st.integers(2, 12))
def test_explorer_never_crashes_over_its_range(s, depth):
    e = widgets.criticality_explorer("relu", s, depth)
    assert f"after {depth} layers" in e.state["readout"]


@pytest.mark.parametrize("activation,s,want", [
    ("relu", 2.0, "critical"), ("relu", 1.0, "ordered"), ("relu", 4.0, "chaotic"),
    ("tanh", 1.0, "critical"), ("tanh", 0.5, "ordered"), ("tanh", (5 / 3) ** 2, "chaotic"),
    ("linear", 1.02, "critical"), ("linear", 1.2, "chaotic"), ("relu", 2.1, "chaotic"),
])
def test_phase_names_the_side_of_the_critical_line(activation, s, want):
    """Within 3% of the critical line: critical; else chi_1 > 1 is chaotic, < 1 ordered."""
    assert crit.phase(activation, s) == want
    assert crit.phase(activation, s) in crit.PHASES


def test_phase_rejects_bad_input():
    with pytest.raises(ValueError, match="relu"):
        crit.phase("gelu", 1.0)
    with pytest.raises(ValueError, match="tolerance"):
        crit.phase("tanh", 1.0, tolerance=1.5)

