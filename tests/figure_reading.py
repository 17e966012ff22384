"""Reading back what a figure drew: shared by the tests of the static plots (test_plots.py) and
of the explorers' panels (test_panels.py), which check a figure by its artists' data."""

from __future__ import annotations

import numpy as np


def legend_texts(ax) -> list[str]:
    """The labels of an axes' legend, in order ([] without one)."""
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def xy(line) -> tuple[np.ndarray, np.ndarray]:
    """A line's x and y data as float arrays."""
    return (np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float))


def hlines(ax) -> dict[float, object]:
    """Horizontal lines (axhline) by their y: x data is (0, 1) in axes coordinates."""
    out = {}
    for line in ax.get_lines():
        x, y = xy(line)
        if len(y) == 2 and y[0] == y[1] and list(x) == [0, 1]:
            out[float(y[0])] = line
    return out


def vlines(ax) -> list[float]:
    """x of every vertical line (axvline): y data (0, 1), equal x."""
    out = []
    for line in ax.get_lines():
        x, y = xy(line)
        if len(x) == 2 and x[0] == x[1] and list(y) == [0, 1]:
            out.append(float(x[0]))
    return out
