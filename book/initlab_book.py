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
- a "Launch" note under the title says how to run the notebook live;
- the book folds what JupyterLab folds (docs/authoring.md says how a notebook is marked up):
  a code cell whose source JupyterLab hides (``jupyter.source_hidden``, a check cell) gets the
  ``hide-input`` tag, which myst-nb renders as a toggle above the cell's outputs (the "✓ ..."
  lines stay in view); in a core notebook a collapsed heading (``jp-MarkdownHeadingCollapsed``,
  or a ``deep-dive`` heading "Deep dive: ..." / "How we know: ...") stays in view, heading cell
  and all, and the cells under it, up to the next heading of the same or a higher level, are
  folded behind one toggle that says how many cells it hides, as JupyterLab's button does;
- a notebook that is a deep dive as a whole is shown unfolded, with a "Deep dive" note under
  its title, and the book's table of contents adds "(deep dive)" to its entry.

The fold is made in two steps, because Sphinx allows no heading inside a directive and a
deep dive may have subsections: the source rewrite ends the heading cell with an empty
``initlab-fold`` directive (a marker that carries the cell count), and once the page is parsed
(``doctree-read``) everything after the marker in its section, subsections included, moves into
one ``<details>`` element.

Also the heading slugs: JupyterLab's (a heading's text with spaces turned into hyphens), so
the cheat sheet's links with JupyterLab #anchors land on the right section in the book too.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

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


DEEP_DIVE_NOTE = """\
```{admonition} Deep dive
:class: note

This notebook is a deep dive: off the core path, reached from it where it helps, never needed
to follow it. [The map](../index.md) shows the core path.
```"""
DEEP_DIVE_TOC_LABEL = " (deep dive)"
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
DEEP_DIVE_HEADING = re.compile(r"^(##|###)\s+(Deep dive:|How we know:)")
COLLAPSED = "jp-MarkdownHeadingCollapsed"
NOTEBOOK_GLOB = "notebooks/[0-9][0-9]_*"


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


def is_deep_dive_notebook(nb: dict[str, Any]) -> bool:
    """True for a notebook that is a deep dive as a whole (metadata initlab.path)."""
    return nb.get("metadata", {}).get("initlab", {}).get("path") == "deep-dive"


def heading_level(cell: dict[str, Any]) -> int | None:
    """The level of a markdown cell's first heading (outside code fences), as JupyterLab
    reads a cell's heading when it folds; None for a cell without one."""
    if cell.get("cell_type") != "markdown":
        return None
    in_fence = False
    for line in _text(cell.get("source", "")).splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (m := HEADING.match(line)):
            return len(m.group(1))
    return None


def folds_here(cell: dict[str, Any]) -> bool:
    """A heading cell whose section the book folds: JupyterLab's collapsed heading, or a
    deep-dive heading ("Deep dive: ..." / "How we know: ...") tagged deep-dive."""
    if heading_level(cell) is None:
        return False
    meta = cell.get("metadata", {})
    return bool(meta.get(COLLAPSED)) or ("deep-dive" in meta.get("tags", []) and bool(
        DEEP_DIVE_HEADING.match(_text(cell.get("source", "")).lstrip())))


def folded_runs(cells: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(heading cell, end) index pairs: the cells heading+1 .. end-1 are what JupyterLab hides
    under the collapsed heading (up to the next heading of the same or a higher level)."""
    runs = []
    for start, cell in enumerate(cells):
        if not folds_here(cell):
            continue
        level = heading_level(cell)
        end = start + 1
        while end < len(cells) and not ((lv := heading_level(cells[end])) is not None and lv <= level):
            end += 1
        runs.append((start, end))
    return runs


def fold_marker(hidden_cells: int) -> str:
    """The ``initlab-fold`` directive the heading cell ends with (see the module docstring)."""
    return f"\n\n```{{initlab-fold}}\n:cells: {hidden_cells}\n```\n"


def with_fold_marker(heading_cell: str, hidden_cells: int) -> str:
    """The heading cell's text with the fold marker after its prose: at its end, or before a
    second heading in it (that one's section is folded too, as the marker must stand in the
    section the fold closes, not in a subsection of it)."""
    lines = heading_cell.splitlines(keepends=True)
    in_fence, seen = False, 0
    for i, line in enumerate(lines):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and HEADING.match(line):
            seen += 1
            if seen == 2:
                return "".join(lines[:i]).rstrip("\n") + fold_marker(hidden_cells) + "\n" + "".join(lines[i:])
    return heading_cell.rstrip("\n") + fold_marker(hidden_cells)


def _markdown_cell(cell_id: str, text: str, with_id: bool) -> dict[str, Any]:
    cell = {"cell_type": "markdown", "metadata": {}, "source": text}
    return {"id": cell_id, **cell} if with_id else cell


def static_notebook(nb: dict[str, Any], filename: str) -> dict[str, Any]:
    """The notebook as the book renders it; `nb` itself is left unchanged."""
    nb = copy.deepcopy(nb)
    deep_notebook = is_deep_dive_notebook(nb)
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.setdefault("metadata", {})
        hidden = meta.get("jupyter", {})
        tags = meta.setdefault("tags", [])
        for lab_key, tag in (("source_hidden", "hide-input"), ("outputs_hidden", "hide-output")):
            if hidden.get(lab_key) and tag not in tags:
                tags.append(tag)
        outputs = [out for out in map(static_output, cell.get("outputs", [])) if out is not None]
        cell["outputs"] = outputs
        if any("image/png" in out.get("data", {}) for out in outputs):
            alt = figure_alt(cell, outputs, f"cell {index} of {filename}")
            cell.setdefault("metadata", {}).setdefault("mystnb", {})["image"] = {"alt": alt}
    cells = nb.get("cells", [])
    if not deep_notebook:
        for start, end in folded_runs(cells):
            if end > start + 1:
                cells[start]["source"] = with_fold_marker(_text(cells[start]["source"]), end - start - 1)
    title_first = cells and cells[0].get("cell_type") == "markdown" and _text(
        cells[0].get("source", "")).startswith("# ")
    with_id = (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5)
    at = 1 if title_first else 0
    cells.insert(at, launch_cell(filename, with_id))
    if deep_notebook:
        cells.insert(at, _markdown_cell("initlab-book-deep-dive", DEEP_DIVE_NOTE, with_id))
    return nb


def notebook_title(nb: dict[str, Any]) -> str | None:
    """The "# NN Title" of a notebook's first cell, without the hashes."""
    cells = nb.get("cells", [])
    first = _text(cells[0].get("source", "")).lstrip() if cells else ""
    return first.splitlines()[0][2:].strip() if first.startswith("# ") else None


def labelled_toctree(index_md: str, notebooks: list[tuple[str, str | None, bool]]) -> str:
    """The landing page with its notebook glob (`NOTEBOOK_GLOB`) replaced by one entry per
    notebook in the same order, a deep dive's entry titled "<title> (deep dive)".

    `notebooks`: (docname, title, deep dive as a whole) in reading order. Only a toctree with
    ``:glob:`` and that pattern is changed; its ``:glob:`` option goes (the entries are names).
    """
    def entry(docname: str, title: str | None, deep: bool) -> str:
        return f"{title}{DEEP_DIVE_TOC_LABEL} <{docname}>" if deep and title else docname

    def rewrite(block: re.Match) -> str:
        lines = block.group(0).splitlines(keepends=True)
        if not any(ln.strip() == ":glob:" for ln in lines) or not any(
                ln.strip() == NOTEBOOK_GLOB for ln in lines):
            return block.group(0)
        out = []
        for ln in lines:
            if ln.strip() == ":glob:":
                continue
            if ln.strip() == NOTEBOOK_GLOB:
                out += [entry(*nb) + "\n" for nb in notebooks]
                continue
            out.append(ln)
        return "".join(out)

    return re.sub(r"```\{toctree\}.*?```", rewrite, index_md, flags=re.S)


class fold(nodes.General, nodes.Element):
    """Cells folded behind one toggle (HTML: <details>), as JupyterLab folds a collapsed heading."""


class fold_marker_node(nodes.General, nodes.Element):
    """Where a fold starts: replaced by a `fold` of everything after it in its section."""


class FoldDirective(SphinxDirective):
    """``initlab-fold``: marks the end of a collapsed heading cell (written by static_notebook)."""

    option_spec = {"cells": directives.nonnegative_int}

    def run(self) -> list[nodes.Node]:
        return [fold_marker_node(cells=self.options.get("cells", 0))]


def fold_sections(doctree: nodes.Node) -> int:
    """Move everything after each fold marker in its parent into a `fold` node; returns how many."""
    count = 0
    for marker in list(doctree.findall(fold_marker_node)):
        parent = marker.parent
        at = parent.index(marker)
        folded = fold(cells=marker["cells"])
        for child in parent.children[at + 1:]:
            folded.append(child)
        del parent.children[at:]
        if len(folded.children):
            parent.append(folded)
        count += 1
    return count


def fold_summary(cells: int) -> str:
    """The toggle's words, closed and open (JupyterLab's button says "N cells hidden")."""
    noun = "cell" if cells == 1 else "cells"
    return f"{cells} {noun} hidden: show them", f"Hide these {cells} {noun}"


def _visit_fold_html(self, node: fold) -> None:
    closed, opened = fold_summary(node["cells"])
    self.body.append('<details class="initlab-fold">'
                     f'<summary><span class="collapsed">{closed}</span>'
                     f'<span class="expanded">{opened}</span></summary>\n'
                     '<div class="initlab-fold-body">\n')


def _depart_fold_html(self, node: fold) -> None:
    self.body.append("</div></details>\n")


def _pass(self, node) -> None:
    pass


def _notebooks_in(app) -> list[tuple[str, str | None, bool]]:
    """(docname, title, deep dive) of every notebook."""
    out = []
    for path in sorted(Path(app.srcdir).glob(NOTEBOOK_GLOB + ".ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        out.append((f"notebooks/{path.stem}", notebook_title(nb), is_deep_dive_notebook(nb)))
    return out


def _on_source_read(app, docname: str, source: list[str]) -> None:
    if docname == app.config.root_doc:
        source[0] = labelled_toctree(source[0], _notebooks_in(app))
    if not docname.startswith("notebooks/"):
        return
    filename = docname.split("/", 1)[1] + ".ipynb"
    source[0] = json.dumps(static_notebook(json.loads(source[0]), filename))


def _on_doctree_read(app, doctree: nodes.document) -> None:
    fold_sections(doctree)


def _landing_page_always(app, env, added, changed, removed) -> list[str]:
    """The landing page's contents name the deep-dive notebooks, which Sphinx does not know it
    depends on: an incremental build re-reads it every time (one page)."""
    return [app.config.root_doc]


def _all_pages_when_labels_change(app, env) -> list[str]:
    """Every page's sidebar shows the contents: when a notebook's "(deep dive)" label comes or
    goes, an incremental build writes every page again, not only the changed ones."""
    labels = [(docname, deep) for docname, _, deep in _notebooks_in(app)]
    if getattr(env, "initlab_toc_labels", None) == labels:
        return []
    env.initlab_toc_labels = labels
    return sorted(env.found_docs)


def setup(app) -> dict[str, Any]:
    """Sphinx extension: rewrite each notebook's stored outputs for a static reader, and fold
    what JupyterLab folds."""
    app.connect("source-read", _on_source_read)
    app.connect("doctree-read", _on_doctree_read)
    app.connect("env-get-outdated", _landing_page_always)
    app.connect("env-get-updated", _all_pages_when_labels_change)
    app.add_directive("initlab-fold", FoldDirective)
    skip = (_pass, _pass)
    app.add_node(fold, html=(_visit_fold_html, _depart_fold_html), latex=skip, text=skip,
                 man=skip, texinfo=skip)
    app.add_node(fold_marker_node, html=skip, latex=skip, text=skip, man=skip, texinfo=skip)
    app.add_css_file("initlab.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
