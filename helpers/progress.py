"""A progress bar that leaves a clean line behind: live in Jupyter, finished in the stored notebook.

tqdm's notebook bar stores its first frame ("0%| 0/48") as the output's plain-text
fallback, which is what GitHub, nbviewer and any reader without a kernel see, for ever.
Here the bar runs as a live widget while the loop runs and, when it ends, its output is
replaced by one finished line without timings ("depth x init sweep: 48/48 done"), so the
stored output tells the truth and stays the same from run to run (nbval compares it).
Outside a Jupyter kernel the bar is tqdm's console bar on stderr, removed when done.
Where the widget cannot be drawn (ipywidgets missing or older than 8, as on Colab, whose
ipywidgets 7 widgets have no _repr_mimebundle_), the bar is a line of text updated in place,
ending on the same finished line.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import TypeVar

from IPython import get_ipython
from IPython.display import display
from tqdm import tqdm
from tqdm.notebook import tqdm as notebook_tqdm

__all__ = ["finished_line", "text_bar", "widgets_usable", "progress"]

T = TypeVar("T")


def finished_line(desc: str, total: int, unit: str = "runs") -> str:
    """The one line a finished bar leaves: '<desc>: <total>/<total> <unit> done'."""
    return f"{desc}: {total}/{total} {unit} done"


def text_bar(desc: str, done: int, total: int, unit: str = "runs", width: int = 20) -> str:
    """The text fallback's line while running: '<desc>: [#####     ] 12/48 <unit>'.

    Introduced in notebooks/09_init_in_training.ipynb.
    """
    filled = width * done // total if total else width
    return f"{desc}: [{'#' * filled}{' ' * (width - filled)}] {done}/{total} {unit}"


def widgets_usable() -> bool:
    """True if ipywidgets 8 or newer is importable: tqdm's widget bar needs its _repr_mimebundle_.

    ipywidgets 7 (Colab) draws widgets another way, and without ipywidgets tqdm cannot
    build the bar at all; progress then falls back to text_bar. Introduced in
    notebooks/09_init_in_training.ipynb.
    """
    try:
        ipywidgets = importlib.import_module("ipywidgets")
    except ImportError:
        return False
    major = str(getattr(ipywidgets, "__version__", "0")).split(".")[0]
    return major.isdigit() and int(major) >= 8


def _in_kernel() -> bool:
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def progress(items: Iterable[T], *, total: int, desc: str, unit: str = "runs",
             enabled: bool = True) -> Iterator[T]:
    """Yield `items`, showing a bar of `total` steps labelled `desc` while they are consumed.

    In a Jupyter kernel the bar is tqdm's widget, displayed with a display handle whose
    plain-text fallback is already the finished line; when the loop ends the handle is
    updated to that line alone (the widget goes, no timings stay). Without ipywidgets 8
    (widgets_usable) the bar is text_bar, updated in place, and ends on the same line.
    enabled=False yields the items untouched. Introduced in notebooks/09_init_in_training.ipynb.
    """
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    if not enabled:
        yield from items
        return
    if not _in_kernel():
        yield from tqdm(items, total=total, desc=desc, leave=False)
        return
    line = finished_line(desc, total, unit)
    if not widgets_usable():
        yield from _text_progress(items, total=total, desc=desc, unit=unit)
        return
    bar = notebook_tqdm(total=total, desc=desc, leave=False, display=False)
    to_bundle = getattr(bar.container, "_repr_mimebundle_", None)
    if to_bundle is None:  # an ipywidgets 7 widget that says it is 8: draw text instead
        bar.close()
        yield from _text_progress(items, total=total, desc=desc, unit=unit)
        return
    bundle = to_bundle()
    bundle["text/plain"] = line
    handle = display(bundle, raw=True, display_id=True)
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        done = bar.n
        bar.close()
        handle.update({"text/plain": _end_line(desc, done, total, unit)}, raw=True)


def _end_line(desc: str, done: int, total: int, unit: str) -> str:
    """The line a bar leaves: the finished line, or where the loop stopped early."""
    if done == total:
        return finished_line(desc, total, unit)
    return f"{desc}: stopped after {done}/{total} {unit}"


def _text_progress(items: Iterable[T], *, total: int, desc: str, unit: str) -> Iterator[T]:
    """progress without widgets: one text line, updated in place, ending on the finished line."""
    handle = display({"text/plain": text_bar(desc, 0, total, unit)}, raw=True, display_id=True)
    done = 0
    try:
        for item in items:
            yield item
            done += 1
            handle.update({"text/plain": text_bar(desc, done, total, unit)}, raw=True)
    finally:
        handle.update({"text/plain": _end_line(desc, done, total, unit)}, raw=True)
