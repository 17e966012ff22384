"""What a reader of the static book sees of a notebook: its stored outputs, made static.

The book (`make book`) renders the committed notebooks without executing them. A stored output
made for a live kernel does not always read well without one, so before myst-nb parses a
notebook (Sphinx's ``source-read`` event) this module rewrites its JSON in memory; the files
in notebooks/ are never touched:

- a widget output keeps its static figure (the ``image/png`` the explorers store next to the
  widget view) and loses the widget view, which would render as an empty placeholder;
- a widget output with nothing but its text repr beside the view (a tqdm bar frozen at its
  first frame, "  0%|          | 0/12", or "VBox(children=...)") is dropped;
- a stream is shown as a terminal shows it: a carriage return overwrites its line, so a
  console progress bar shows its last state, not every frame;
- every figure gets alt text: the cell's ``# figure:`` comment, else the output's own text
  (an explorer's repr describes its figure), else the figure's place in the notebook;
- a "Launch" note under the title says how to run the notebook live.

Also the heading slugs: JupyterLab's (a heading's text with spaces turned into hyphens), so
the cheat sheet's links with JupyterLab #anchors land on the right section in the book too.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FIGURE_COMMENT = re.compile(r"^\s*#\s*figure:\s*(.+?)\s*$", re.MULTILINE)
MATPLOTLIB_REPR = re.compile(r"^<Figure size [^>]*>$")
ALT_MAX_CHARS = 300
# Where the landing page (the README, included by book/index.md) says how to run without make.
WITHOUT_MAKE = "../index.md#Without-make"

LAUNCH_NOTE = """\
```{{admonition}} Launch: run this notebook live
:class: tip

This page shows the outputs stored in `notebooks/{filename}`, exactly as the tests check them;
widgets show their figure for the default values. To run it yourself, from a clone of the
repository: `make lab` sets up `.venv` and opens JupyterLab on `notebooks/` (open
`{filename}` and run all cells: the sliders then redraw), and `make test` runs this notebook,
with every other, as a test. Binder and Colab work from your clone too: see
[Without make]({without_make}).
```"""


def jupyterlab_slug(title: str) -> str:
    """A heading's anchor as JupyterLab and nbconvert write it: spaces become hyphens.

    Case and punctuation are kept ("1. Break it first" -> "1.-Break-it-first"), which is what
    the notebooks' own links with #anchors use. Passed to MyST as ``myst_heading_slug_func``.
    """
    return title.strip().replace(" ", "-")


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def overwrite_carriage_returns(text: str) -> str:
    """The text as a terminal leaves it: on each line only what follows the last ``\\r``.

    A console progress bar writes ``\\r`` before each frame, so only its last frame is kept.
    """
    lines = []
    for line in text.split("\n"):
        frames = [frame for frame in line.split("\r") if frame]
        lines.append(frames[-1] if frames else "")
    return "\n".join(lines)


def static_output(output: dict[str, Any]) -> dict[str, Any] | None:
    """One stored output as a static page should show it, or None where nothing is worth showing."""
    output = copy.deepcopy(output)
    if output.get("output_type") == "stream":
        output["text"] = overwrite_carriage_returns(_text(output.get("text", "")))
        return output
    data = output.get("data")
    if not data or WIDGET_VIEW not in data:
        return output
    del data[WIDGET_VIEW]
    output.get("metadata", {}).pop(WIDGET_VIEW, None)
    if set(data) <= {"text/plain"}:
        return None  # only the widget's repr is left: a frozen progress bar or "VBox(...)"
    return output


def figure_alt(cell: dict[str, Any], outputs: list[dict[str, Any]], where: str) -> str:
    """Alt text for the figures of a code cell (see the module docstring for the order)."""
    comment = FIGURE_COMMENT.search(_text(cell.get("source", "")))
    if comment:
        return f"Figure: {comment.group(1)}"
    for output in outputs:
        plain = _text(output.get("data", {}).get("text/plain", "")).strip()
        if "image/png" in output.get("data", {}) and plain and not MATPLOTLIB_REPR.match(plain):
            return " ".join(plain.split())[:ALT_MAX_CHARS]
    return f"Figure of {where}"


def launch_cell(filename: str, with_id: bool) -> dict[str, Any]:
    """The markdown cell with the "Launch" note for notebooks/<filename>.

    `with_id`: the notebook's format (nbformat 4.5 on) gives every cell an id.
    """
    text = LAUNCH_NOTE.format(filename=filename, without_make=WITHOUT_MAKE)
    cell = {"cell_type": "markdown", "metadata": {}, "source": text}
    return {"id": "initlab-book-launch", **cell} if with_id else cell


def static_notebook(nb: dict[str, Any], filename: str) -> dict[str, Any]:
    """The notebook as the book renders it; `nb` itself is left unchanged."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        outputs = [out for out in map(static_output, cell.get("outputs", [])) if out is not None]
        cell["outputs"] = outputs
        if any("image/png" in out.get("data", {}) for out in outputs):
            alt = figure_alt(cell, outputs, f"cell {index} of {filename}")
            cell.setdefault("metadata", {}).setdefault("mystnb", {})["image"] = {"alt": alt}
    cells = nb.get("cells", [])
    title_first = cells and cells[0].get("cell_type") == "markdown" and _text(
        cells[0].get("source", "")).startswith("# ")
    with_id = (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5)
    cells.insert(1 if title_first else 0, launch_cell(filename, with_id))
    return nb


def _on_source_read(app, docname: str, source: list[str]) -> None:
    if not docname.startswith("notebooks/"):
        return
    filename = docname.split("/", 1)[1] + ".ipynb"
    source[0] = json.dumps(static_notebook(json.loads(source[0]), filename))


def setup(app) -> dict[str, Any]:
    """Sphinx extension: rewrite each notebook's stored outputs for a static reader."""
    app.connect("source-read", _on_source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
