"""The signal-propagation explorer of notebook 04, driven as a learner drives it.

Protects: the static figure at the defaults, that every control and preset redraws
and agrees with helpers.probe, that the std slider only matters for "fixed", that one
preset click is one redraw, that ReLU shows the zero fraction and the dead units as two
lines (and tanh only its saturated %), and, over hundreds of random settings of every
control, no exception, never a blank figure, and every overflow/underflow marked at its layer.
"""

import dataclasses
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from helpers import panels, probe, widgets
from helpers.init import INIT_SCHEMES
from helpers.nets import ACTIVATIONS


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)


def _not_blank(e) -> bool:
    """A PNG with real content, and a figure whose panels hold data or a blow-up marker."""
    px = _pixels(e.png)
    art_lines = e.fig.axes[1].get_lines()
    has_curve = any(np.isfinite(np.asarray(line.get_ydata(), dtype=float)).any()
                    for line in art_lines[:4])
    return px.std() > 20 and (has_curve or e.state["marked_layer"] is not None)


def _marked_at(e, layer: int) -> bool:
    """Every panel's vertical marker sits at `layer` and the message names it."""
    vlines = [line for ax in e.fig.axes[:3] for line in ax.get_lines()
              if line.get_linestyle() == "--" and line.get_visible()]
    texts = [t.get_text() for t in e.fig.axes[1].texts if t.get_visible()]
    return (len(vlines) == 3 and all(line.get_xdata()[0] == layer for line in vlines)
            and any(f"layer {layer}" in t for t in texts))


@pytest.fixture(scope="module")
def explorer():
    return widgets.propagation_explorer(batch=32)


def test_defaults_draw_the_static_figure_and_a_text_fallback():
    e = widgets.propagation_explorer()
    bundle = e._repr_mimebundle_()
    assert "image/png" in bundle and bundle["text/plain"].startswith("Explorer: std at layer 10")
    assert _not_blank(e) and "vanishing" in e.state["readout"]
    rec = probe.propagate(10, 500, "tanh", "fixed", std=0.01)
    assert probe.diagnose(rec) == e.state["readout"], "the readout is the probe's diagnosis"
    assert "tanh, std 0.01" in e.fig._suptitle.get_text()


def test_controls_redraw_and_std_is_only_for_fixed(explorer):
    e = explorer
    e.set(init="fixed", std=0.01, activation="tanh", depth=10, width=200, batchnorm=False)
    before = e.png
    e.controls["depth"].value = 12
    assert e.png != before and "layer 12" in e.state["readout"]
    e.controls["init"].value = "xavier"
    assert e.controls["std"].disabled
    readout = e.state["readout"]
    e.controls["std"].value = 0.5  # ignored by xavier
    assert e.state["readout"] == readout
    e.controls["init"].value = "fixed"
    assert not e.controls["std"].disabled


def test_batchnorm_toggle_restores_the_flow(explorer):
    e = explorer
    e.presets["tanh, std 0.01: vanishes"].click()
    assert "vanishing" in e.state["readout"]
    e.controls["batchnorm"].value = True
    assert "vanishing" not in e.state["readout"].split(";")[0]
    assert "BatchNorm" in e.fig._suptitle.get_text()


@pytest.mark.parametrize("name,expect", [
    ("tanh, std 0.01: vanishes", "vanishing"),
    ("tanh, std 1: saturates", "saturated"),
    ("ReLU + Xavier: decays", "vanishing"),
    ("ReLU + He: holds", "holds"),
    ("deep ReLU, std 10: overflows", "overflows to inf/NaN at layer"),
])
def test_each_preset_is_one_click_and_one_redraw(name, expect):
    e = widgets.propagation_explorer(width=100, batch=64)
    e.controls["batchnorm"].value = True
    before = e.redraws
    e.presets[name].click()
    assert e.redraws == before + 1, "a preset sets several controls but redraws once"
    assert expect in e.state["readout"] and not e.state["batchnorm"]
    for key, value in widgets.PROPAGATION_PRESETS[name].items():
        assert e.state[key] == value


def test_relu_panel_shows_zeros_and_dead_units_apart():
    e = widgets.propagation_explorer(width=100, batch=64)
    e.set(init="he", activation="relu", depth=30)
    rec = probe.propagate(30, 100, "relu", "he", batch=64)
    frac_line, dead_line = e.fig.axes[2].get_lines()[:2]
    np.testing.assert_allclose(frac_line.get_ydata(), 100 * rec.zero_fraction)
    np.testing.assert_allclose(dead_line.get_ydata(), 100 * rec.dead_units)
    assert np.all(np.abs(frac_line.get_ydata() - 50) < 15), "about half the values are 0"
    assert dead_line.get_ydata()[0] == 0 < dead_line.get_ydata()[-1] < 50, "few dead units, more with depth"
    assert e.fig.axes[2].get_legend().get_visible() and "of units dead" in e.state["readout"]
    e.presets["tanh, std 1: saturates"].click()
    frac_line, dead_line = e.fig.axes[2].get_lines()[:2]
    assert len(dead_line.get_xdata()) == 0 and not e.fig.axes[2].get_legend().get_visible()
    assert np.all(np.asarray(frac_line.get_ydata()) > 70) and "saturated" in e.fig.axes[2].get_ylabel()


def test_overflow_is_marked_at_its_layer():
    e = widgets.propagation_explorer(width=100, batch=64)
    e.presets["deep ReLU, std 10: overflows"].click()
    k = e.state["overflow_layer"]
    assert k is not None and e.state["marked_layer"] == k and _marked_at(e, k)
    nan_marks = e.fig.axes[1].get_lines()[3]
    assert k in set(nan_marks.get_xdata()), "layers past the overflow are drawn as markers"


def test_underflow_is_marked_at_its_layer(explorer):
    e = explorer
    e.set(init="fixed", std=0.001, activation="tanh", depth=50, width=100, batchnorm=False)
    k = e.state["underflow_layer"]
    assert k is not None and e.state["marked_layer"] == k and _marked_at(e, k)


@pytest.mark.parametrize("kwargs,match", [
    (dict(init="kaiming"), "init must be one of"),
    (dict(activation="gelu"), "activation must be one of"),
    (dict(width=300), "width must be one of"),
    (dict(depth=51), "depth must be an integer in 1..50"),
    (dict(std=100.0), r"std must be a finite number in \[0.001, 10\]"),
    (dict(batch=1), "batch must be an integer >= 2"),
])
def test_bad_arguments_name_the_choices(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.propagation_explorer(**kwargs)


def _expected_mark(state: dict) -> int | None:
    """The order written out here on purpose (not probe.EVENTS): forward before gradient."""
    for key in ("overflow_layer", "underflow_layer", "grad_overflow_layer", "grad_underflow_layer"):
        if state[key] is not None:
            return state[key]
    return None


def test_probe_event_order_is_forward_first():
    assert probe.EVENTS == ("overflow_layer", "underflow_layer", "grad_overflow_layer",
                            "grad_underflow_layer")
    rec = probe.propagate(50, 100, "tanh", "fixed", std=0.001)
    assert rec.first_event == ("underflow_layer", rec.underflow_layer)
    assert probe.propagate(3, 100, "tanh", "xavier").first_event is None
    assert rec.first_of(probe.FORWARD_EVENTS) == rec.first_event
    assert rec.first_of(probe.GRADIENT_EVENTS) == ("grad_underflow_layer", rec.grad_underflow_layer)
    assert rec.grad_underflow_layer is not None, "std 0.001 over 50 layers: both signals reach 0"


def test_diagnose_and_headline_name_the_gradient_event_when_the_forward_pass_is_fine():
    """A forward pass that neither overflows nor underflows: the gradient's own event is named."""
    healthy = probe.propagate(10, 100, "relu", "he")
    rec = dataclasses.replace(healthy, grad_overflow_layer=7, grad_underflow_layer=3)
    assert rec.first_of(probe.FORWARD_EVENTS) is None
    assert rec.first_event == rec.first_of(probe.GRADIENT_EVENTS) == ("grad_overflow_layer", 7)
    assert f"gradient overflows to inf/NaN at layer {rec.grad_overflow_layer}" in probe.diagnose(rec)
    assert f"gradient overflows at layer {rec.grad_overflow_layer}" in probe.headline(rec)


@pytest.fixture(scope="module")
def small_explorer():
    return widgets.propagation_explorer(batch=4)


@pytest.mark.slow  # 120 full redraws: about 40 s on 2 idle cores
@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    init=st.sampled_from(INIT_SCHEMES),
    log_std=st.floats(-3, 1),
    depth=st.integers(1, 50),
    activation=st.sampled_from(ACTIVATIONS),
    width=st.sampled_from(widgets.PROPAGATION_WIDTHS),
    batchnorm=st.booleans(),
)
def test_any_setting_draws_and_marks_every_blow_up(small_explorer, init, log_std, depth,
                                                   activation, width, batchnorm):
    e = small_explorer
    e.set(init=init, std=10**log_std, depth=depth, activation=activation, width=width,
          batchnorm=batchnorm)
    assert e.state["readout"] and _not_blank(e)
    mark = _expected_mark(e.state)
    assert e.state["marked_layer"] == mark
    if mark is not None:
        assert _marked_at(e, mark)


def test_blitted_frames_equal_a_full_redraw():
    """The fast path (cached background + data artists) must show exactly what a full draw shows."""
    import io

    from PIL import Image

    from helpers import widgets

    fast, full = widgets.propagation_explorer(), widgets.propagation_explorer()
    settings = [{"std": 0.02}, {"std": 0.03}, {"activation": "relu", "init": "he"},
                {"depth": 30, "init": "fixed", "std": 3.0}, {"batchnorm": True},
                {"activation": "tanh"}, {"activation": "leaky_relu"}]
    for setting in settings:
        for explorer in (fast, full):
            explorer.set(**setting)
        reference = full.full_png()
        a = np.asarray(Image.open(io.BytesIO(fast.png)))
        b = np.asarray(Image.open(io.BytesIO(reference)))
        assert a.shape == b.shape and (a != b).sum() == 0, f"blit differs from a full draw at {setting}"


def test_deeper_settings_use_part_of_the_batch_and_say_so():
    """The speed-up with depth is a smaller batch (whole to 5 layers, half to 10, a quarter
    beyond), never fewer than 64 inputs, and the figure is the probe at the batch it reports."""
    assert [widgets.explorer_batch(d, 256) for d in (1, 5, 6, 10, 11, 50)] == [256, 256, 128, 128, 64, 64]
    assert widgets.explorer_batch(50, 100) == 64 and widgets.explorer_batch(50, 40) == 40
    assert widgets.explorer_batch(8, 1000) == 500 and widgets.explorer_batch(30, 1000) == 250
    e = widgets.propagation_explorer(width=100, batch=256)
    e.set(init="he", activation="relu", depth=40)
    assert e.state["batch"] == 64
    rec = probe.propagate(40, 100, "relu", "he", batch=64)
    assert probe.diagnose(rec) == e.state["readout"], "the figure is the probe at the batch it reports"


def test_propagation_span_grows_in_steps_of_ten_layers():
    assert [panels.propagation_span(d) for d in (1, 7, 10, 11, 20, 21, 50)] == [1, 7, 10, 20, 20, 30, 50]


def test_a_depth_move_inside_a_span_blits_and_an_earlier_frame_is_reused():
    """Depth 12 -> 13 keeps the frame (span 20): a blit that equals a full redraw pixel for pixel.
    Back from span 30 to span 20, the cached frame is reused rather than redrawn."""
    e = widgets.propagation_explorer("he", 1.0, 12, "relu", 50, batch=8)
    e.set(depth=13)
    assert e.last_draw == "blit"
    blitted = e.png
    assert blitted == e.full_png(), "the blitted frame is the full figure"
    e.set(depth=25)
    assert e.last_draw == "full"
    e.set(depth=14)
    assert e.last_draw == "blit" and e.fig.axes[0].get_xlim() == (0.5, 20.5)
