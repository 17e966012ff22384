"""Interactive explorers: each builder returns a widget; callbacks call compute, then plot.

Every builder draws its figure for the default values straight away, into an
ipywidgets.Image. When the widget is displayed it also offers that figure as a
plain PNG, so a notebook executed headless (nbval, nbconvert, GitHub's preview)
still shows a meaningful picture. Live, a change re-renders only that image.
Tests drive a widget by setting a control's .value and reading `.png` or `.state`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import ipywidgets as w
from matplotlib.figure import Figure

from helpers.plots import fig_to_png

__all__ = ["Explorer"]


class Explorer(w.VBox):
    """A VBox of controls, a figure (as a PNG Image) and a one-line readout.

    `render` is called with the controls' current values (a dict); it must draw on
    `self.fig` (in place) and return the readout text. Subclass-free: builders
    below make an Explorer with their own controls and render function.
    """

    def __init__(self, controls: dict[str, w.ValueWidget], fig: Figure,
                 render: Callable[[dict], str], *, dpi: float | None = None):
        self.controls = controls
        self.fig = fig
        self._render = render
        self._dpi = dpi
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.readout = w.HTML()
        self.state: dict = {}
        self.png: bytes = b""
        box = w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap"))
        super().__init__([box, self.image, self.readout])
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict:
        """The controls' current values, by name."""
        return {name: c.value for name, c in self.controls.items()}

    def update(self) -> None:
        """Recompute and redraw for the current values (what every control change calls)."""
        values = self.values()
        text = self._render(values)
        self.png = fig_to_png(self.fig, self._dpi)
        self.image.value = self.png
        self.readout.value = f"<b>{text}</b>" if text else ""
        self.state = {**values, "readout": text}

    def _on_change(self, _change: dict) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["image/png"] = base64.b64encode(self.png).decode("ascii")
        text = self.state.get("readout", "")
        data["text/plain"] = f"{type(self).__name__}: {text}" if text else type(self).__name__
        return data


# --- 01 uniform variance: Monte Carlo explorer --------------------------------------------

# --- 02 sums of products: pre-activation explorer -----------------------------------------

# --- 04 signal propagation: the explorer --------------------------------------------------

# --- 07/08 zig-zag: learning rate, centring, momentum, fixes -------------------------------

# --- 09 init in training --------------------------------------------------------------------
