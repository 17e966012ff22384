"""A progress bar that leaves a clean line behind: live in Jupyter, finished in the stored notebook.

tqdm's notebook bar stores its first frame ("0%| 0/48") as the output's plain-text
fallback, which is what GitHub, nbviewer and any reader without a kernel see, for ever.
Here the bar runs as a live widget while the loop runs and, when it ends, its output is
replaced by one finished line without timings ("depth x init sweep: 48/48 done"), so the
stored output tells the truth and stays the same from run to run (nbval compares it).
Outside a Jupyter kernel the bar is tqdm's console bar on stderr, removed when done.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from IPython import get_ipython
from IPython.display import display
from tqdm import tqdm
from tqdm.notebook import tqdm as notebook_tqdm

__all__ = ["finished_line", "progress"]

T = TypeVar("T")


def finished_line(desc: str, total: int, unit: str = "runs") -> str:
    """The one line a finished bar leaves: '<desc>: <total>/<total> <unit> done'."""
    return f"{desc}: {total}/{total} {unit} done"


def _in_kernel() -> bool:
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def progress(items: Iterable[T], *, total: int, desc: str, unit: str = "runs",
             enabled: bool = True) -> Iterator[T]:
    """Yield `items`, showing a bar of `total` steps labelled `desc` while they are consumed.

    In a Jupyter kernel the bar is tqdm's widget, displayed with a display handle whose
    plain-text fallback is already the finished line; when the loop ends the handle is
    updated to that line alone (the widget goes, no timings stay). enabled=False yields
    the items untouched. Introduced in notebooks/09_init_in_training.ipynb.
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
    bar = notebook_tqdm(total=total, desc=desc, leave=False, display=False)
    bundle = bar.container._repr_mimebundle_()
    bundle["text/plain"] = line
    handle = display(bundle, raw=True, display_id=True)
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        done = bar.n
        bar.close()
        end = line if done == total else f"{desc}: stopped after {done}/{total} {unit}"
        handle.update({"text/plain": end}, raw=True)
