"""plots.use_style: the "classroom" variant is readable on a projector, and switching back works.

Measured on rendered figures, not read off rcParams: the text a room must read (title, axis
labels, tick labels) in screen pixels, and the figure's pixel width against a 1280-px-wide
projector, for a pyplot-style figure and for a widget's fixed-size figure.
"""

import struct

import matplotlib as mpl
import numpy as np
import pytest

from helpers import plots, widgets

PROJECTOR_WIDTH_PX = 1280  # a common projector; JupyterLab's output area is narrower still
MIN_TEXT_PX = 20  # text height that stays legible from the back of a room


@pytest.fixture(autouse=True)
def _restore_rcparams():
    with mpl.rc_context():
        yield


def _text_heights(variant: str) -> dict[str, float]:
    """Pixel heights of a figure's title, x label and smallest tick label under `variant`."""
    plots.use_style(variant)
    fig, ax = plots.new_figure()
    ax.plot(np.arange(10), np.arange(10) ** 2, label="measured")
    ax.set(title="ReLU + He: std stays flat", xlabel="layer", ylabel="activation std")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks = [t for t in ax.get_xticklabels() if t.get_text()]
    return {
        "title": ax.title.get_window_extent(renderer).height,
        "xlabel": ax.xaxis.label.get_window_extent(renderer).height,
        "ticks": min(t.get_window_extent(renderer).height for t in ticks),
        "width": fig.bbox.width,
    }


def _png_width(png: bytes) -> int:
    return struct.unpack(">I", png[16:20])[0]


def test_classroom_text_is_projector_sized():
    default, classroom = _text_heights("default"), _text_heights("classroom")
    for part in ("title", "xlabel", "ticks"):
        assert classroom[part] >= MIN_TEXT_PX, f"classroom {part} only {classroom[part]:.0f} px"
        assert classroom[part] >= 1.6 * default[part], f"classroom {part} not clearly larger"
    assert classroom["width"] <= PROJECTOR_WIDTH_PX, f"{classroom['width']:.0f} px too wide"


def test_classroom_enlarges_widget_figures_too():
    widths = {}
    for variant in ("default", "classroom"):
        plots.use_style(variant)
        widths[variant] = _png_width(widgets.monte_carlo_explorer().png)
    assert widths["classroom"] >= 1.5 * widths["default"], widths
    assert widths["classroom"] <= PROJECTOR_WIDTH_PX, widths


def test_switching_back_restores_the_default_style():
    plots.use_style("classroom")
    plots.use_style("default")
    expected = {**mpl.rcParamsDefault, **mpl.RcParams(plots.STYLES["default"])}
    for key in plots.STYLES["classroom"]:  # classroom-only keys fall back to matplotlib's
        assert mpl.rcParams[key] == expected[key], key


def test_unknown_variant_names_the_choices():
    with pytest.raises(ValueError, match="classroom"):
        plots.use_style("projector")


def test_projector_mode_comes_from_the_environment(monkeypatch):
    """`make lab-classroom`: INITLAB_STYLE=classroom restyles a notebook's plain use_style()."""
    monkeypatch.setenv(plots.STYLE_ENV, "classroom")
    plots.use_style()
    assert mpl.rcParams["figure.dpi"] == plots.STYLES["classroom"]["figure.dpi"]
    monkeypatch.setenv(plots.STYLE_ENV, "poster")
    with pytest.raises(ValueError, match="classroom"):
        plots.use_style()
    monkeypatch.delenv(plots.STYLE_ENV)
    plots.use_style()
    assert mpl.rcParams["figure.dpi"] == plots.STYLES["default"]["figure.dpi"]


def test_stored_outputs_are_made_in_the_default_style():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
    from reference import reference_env

    assert reference_env({plots.STYLE_ENV: "classroom"})[plots.STYLE_ENV] == "default"
