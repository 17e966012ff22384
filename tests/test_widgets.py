"""The explorers of notebooks 01 and 02, driven by setting control values as a learner would,
and every explorer's declared controls.

Protects: the figure is drawn at construction (the headless fallback), every change
redraws it, the readout agrees with the compute functions, and invalid slider
combinations give a message instead of an exception or a blank figure. Every explorer builds
its controls from one declaration (widgets.Control), so it refuses, with the valid range or
choices, any argument its controls cannot show, instead of a slider clamping it in silence.
"""

import base64
import inspect
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import criticality, plots, stats, widgets

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
    """The explorer's own readout (not a recomputation) reports the saturated share of the sums
    it drew, and that share falls to 0 as the weights shrink."""
    e = widgets.preactivation_explorer(n=1_000, trials=300)
    shown = []
    for std in (1.0, 0.1, 0.01):
        e.controls["weight_std"].value = std
        match = re.search(r"([\d.]+)% of units saturated under tanh", e.state["readout"])
        assert match, e.state["readout"]
        shown.append(float(match.group(1)) / 100)
        a = std * stats.sample_weighted_sums(1_000, 300, "uniform", weight_std=1.0, seed=0)
        assert shown[-1] == pytest.approx(stats.saturated_fraction(a, "tanh"), abs=5e-4)
        assert e.state["weight_std"] == std
    assert shown[0] > shown[1] > shown[2] == 0.0


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


# --- every explorer: one declaration per control ---------------------------------------------

CONTROLS = [(explorer, control) for explorer, declared in widgets.EXPLORER_CONTROLS.items()
            for control in declared.values()]


def _cannot_show(c: widgets.Control) -> list:
    """Values a control cannot show: past either end of its range, a fraction for an integer
    slider, something not among its options."""
    if c.kind in ("float", "log"):
        pad = (c.high - c.low) / 100
        return [c.high + pad, c.low - pad if c.kind == "float" else c.low / 1.01, float("nan")]
    if c.kind == "int":
        return [c.high + 1, c.low - 1, c.low + 0.5]
    if c.kind == "toggle":
        return ["yes", 2]
    between = next((x for x in (15, 3, 0.5) if x not in c.options), None)
    return ["no such option"] + ([between] if c.kind == "steps" else [])


def _range_words(c: widgets.Control) -> str:
    if c.kind in ("float", "log"):
        return f"{c.name} must be a finite number in [{c.low:g}, {c.high:g}]"
    if c.kind == "int":
        return f"{c.name} must be an integer in {c.low}..{c.high}"
    return f"{c.name} must be one of"


@pytest.mark.parametrize("explorer, control", CONTROLS, ids=[f"{e}-{c.name}" for e, c in CONTROLS])
def test_every_explorer_refuses_what_its_control_cannot_show(explorer, control, monkeypatch):
    """Before drawing anything (a figure made first fails the test), every bad value of every
    control is refused with the control's range or choices in the message."""
    def no_figure(*_args, **_kwargs):
        raise AssertionError("a figure was made before the arguments were checked")

    monkeypatch.setattr(plots, "new_figure", no_figure)
    for value in _cannot_show(control):
        with pytest.raises(ValueError) as refused:
            getattr(widgets, explorer)(**{control.name: value})
        assert _range_words(control) in str(refused.value), (value, str(refused.value))


@pytest.mark.parametrize("explorer, control", CONTROLS, ids=[f"{e}-{c.name}" for e, c in CONTROLS])
def test_every_control_shows_both_ends_of_its_range_as_given(explorer, control):
    """What the check lets through, the widget shows unchanged: both ends of a range, every
    option, both states of a toggle; and the label is the declared one."""
    if control.kind in ("float", "log", "int"):
        values = [control.low, control.high, control.default]
    elif control.kind == "toggle":
        values = [False, True]
    else:
        values = list(control.options)
    for value in values:
        control.check(value)
        shown = control.widget(value)
        assert shown.value == value and shown.description == control.label


@pytest.fixture(scope="module")
def built():
    """Every explorer at its defaults (what a notebook's `widgets.x_explorer()` shows)."""
    return {name: getattr(widgets, name)() for name in widgets.EXPLORER_CONTROLS}


def test_every_explorer_is_declared_and_builds_its_declared_controls_at_their_defaults(built):
    """EXPLORER_CONTROLS lists every builder; each builder's signature defaults are the declared
    defaults and its controls are the declared ones, in order, at those values and limits."""
    builders = {n for n in widgets.__all__ if n.endswith("_explorer")}
    assert builders == set(widgets.EXPLORER_CONTROLS)
    for name, declared in widgets.EXPLORER_CONTROLS.items():
        params = inspect.signature(getattr(widgets, name)).parameters
        assert {c.name: params[c.name].default for c in declared.values()} == \
            {c.name: c.default for c in declared.values()}, name
        e = built[name]
        assert list(e.controls) == list(declared), name
        for c in declared.values():
            shown = e.controls[c.name]
            assert shown.value == c.default and shown.description == c.label, (name, c.name)
            if c.kind in ("float", "int"):
                assert (shown.min, shown.max) == (c.low, c.high), (name, c.name)
            elif c.kind == "log":
                assert (c.base ** shown.min, c.base ** shown.max) == (c.low, c.high), (name, c.name)
            elif c.kind in ("steps", "menu"):
                assert tuple(shown.options) == tuple(c.options), (name, c.name)
        assert _is_png(e.png) and e.state["readout"], name


def test_an_argument_the_slider_would_clamp_is_refused_not_shown_as_another_value():
    """The bug a twice-written range made: fixes_explorer(lr=3.0, momentum=0.99) was accepted and
    then showed lr 2.512 and momentum 0.95; zigzag_explorer(lr=2.0, momentum=0.99) likewise."""
    with pytest.raises(ValueError, match=r"momentum must be a finite number in \[0, 0\.95\], got 0\.99"):
        widgets.fixes_explorer(lr=2.0, momentum=0.99)
    with pytest.raises(ValueError, match=r"lr must be a finite number in \[0\.01, 2\.5\], got 3\.0"):
        widgets.fixes_explorer(lr=3.0, momentum=0.5)
    with pytest.raises(ValueError, match=r"momentum must be a finite number in \[0, 0\.95\]"):
        widgets.zigzag_explorer(lr=2.0, momentum=0.99)
    e = widgets.zigzag_explorer(lr=2.0, momentum=0.95, steps=50)
    assert e.controls["lr"].value == 2.0 and e.controls["momentum"].value == 0.95
    assert e.state["readout"].startswith("lr 2.000, centring 0.0, momentum 0.95:")
