"""helpers.widgets.Explorer itself: one redraw per set(), nested holds, bad control names.

Protects the contract every explorer relies on: a preset or a test that changes several
controls redraws once, with all of them applied; a name that is not a control is refused.
"""

import ipywidgets as w
import pytest
from matplotlib.figure import Figure

from helpers.widgets import Explorer


def _counting_explorer():
    calls = []

    def render(values):
        calls.append(dict(values))
        return f"a={values['a']} b={values['b']}"

    controls = {"a": w.IntSlider(value=1, min=0, max=10), "b": w.IntSlider(value=2, min=0, max=10)}
    return Explorer(controls, Figure(figsize=(1, 1), dpi=20), render), calls


def test_set_applies_all_values_with_one_redraw():
    e, calls = _counting_explorer()
    calls.clear()
    e.set(a=5, b=7)
    assert calls == [{"a": 5, "b": 7}]
    assert e.state["readout"] == "a=5 b=7" and e.png.startswith(b"\x89PNG")


def test_nested_holds_redraw_once_at_the_outermost_exit():
    e, calls = _counting_explorer()
    calls.clear()
    with e.hold():
        e.controls["a"].value = 3
        with e.hold():
            e.controls["b"].value = 4
        assert calls == [], "the inner exit must not redraw"
    assert calls == [{"a": 3, "b": 4}]


def test_a_single_change_redraws_at_once():
    e, calls = _counting_explorer()
    calls.clear()
    e.controls["a"].value = 9
    assert calls == [{"a": 9, "b": 2}]


def test_set_refuses_unknown_controls_and_names_the_real_ones():
    e, calls = _counting_explorer()
    calls.clear()
    with pytest.raises(ValueError, match=r"unknown control\(s\) \['c'\].*\['a', 'b'\]"):
        e.set(a=1, c=2)
    assert calls == [] and e.controls["a"].value == 1
