"""Slide decks from the notebooks' own cells: one per class of docs/teaching.md's plans.

`make slides` writes build/slides/class-50min.slides.html and class-90min.slides.html: for each
stop of "A 50-minute plan" and "A 90-minute variant" ("NN §k"), the core cells of that section
of notebook NN with their stored outputs (never executed), a title slide that lists the stops
and a last slide with the exit questions (their answers stay in the guide). Each cell's place in
a deck comes from its `slideshow` metadata, the same metadata jupyterlab-rise (the `slides`
extra) presents live in JupyterLab. reveal.js (book/vendor/reveal.js, MIT) and MathJax 3 (from
sphinx-mathjax-offline) are copied beside the decks, so they read offline; an explorer shows the
picture stored with it (a static page has no kernel).

`python book/slides.py --annotate notebooks/NN_x.ipynb` gives every cell of a notebook that has
no `slideshow` metadata yet the type `slide_type_for` chooses (existing metadata is kept):
- skip: deep-dive and check cells, the Setup, Exercises, References and Next sections, and
  exercise calls (`ex.<name>.check` / `.show`);
- "-" for a prompt's answer buttons (`quiz.ask(...)`, folded code): on the prompt's slide;
- slide: the notebook's title and each `##` heading;
- subslide: a "Predict, then run" prompt, a figure, prose after code output, "You will learn";
- fragment: the code cell that answers a prompt, after its buttons if any (its output appears
  on the next key press);
- "-" (same slide): everything else.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TEACHING = ROOT / "docs" / "teaching.md"
OUT = ROOT / "build" / "slides"
VENDOR = Path(__file__).resolve().parent / "vendor" / "reveal.js"
TEMPLATES = Path(__file__).resolve().parent / "slides_template"

SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")
CLASSES = {"class-50min": "## A 50-minute plan", "class-90min": "## A 90-minute variant"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SKIPPED_SECTIONS = ("Setup", "Exercises", "References", "Next")
PREDICT = "**Predict, then run.**"
EXERCISE_CALL = re.compile(r"\bex\.\w+\.(check|show)\(")
QUIZ_CALL = re.compile(r"\bquiz\.ask\(")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _heading(cell: dict) -> tuple[int, str] | None:
    """(level, text) of a markdown cell whose first line is a heading."""
    if cell["cell_type"] != "markdown":
        return None
    m = HEADING.match(_source(cell).lstrip().split("\n", 1)[0])
    return (len(m.group(1)), m.group(2)) if m else None


def _has_figure(cell: dict) -> bool:
    return any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def slide_types(cells: list[dict]) -> list[str]:
    """Each cell's slide type: its metadata's where it has one, else the series' rule (module
    docstring), read top to bottom."""
    kinds: list[str] = []
    section: tuple[int, str] | None = None
    for cell in cells:
        head = _heading(cell)
        if head and head[0] <= 2:
            section = head
        kinds.append(slide_type_of(cell) or _rule(cell, section, cells, kinds))
    return kinds


def slide_type_for(cells: list[dict], i: int) -> str:
    """The slide type the series' rule gives cell i of a notebook (module docstring)."""
    kinds = slide_types(cells[:i])
    head = next((h for h in map(_heading, reversed(cells[:i + 1])) if h and h[0] <= 2), None)
    return _rule(cells[i], head, cells[:i], kinds)


def _is_quiz(cell: dict) -> bool:
    return cell["cell_type"] == "code" and bool(QUIZ_CALL.search(_source(cell)))


def _rule(cell: dict, section: tuple[int, str] | None, cells: list[dict], kinds: list[str]) -> str:
    tags = cell.get("metadata", {}).get("tags", [])
    if "deep-dive" in tags or (section and section[0] == 2 and section[1] in SKIPPED_SECTIONS):
        return "skip"
    if _is_quiz(cell):  # the prompt's answer buttons: on the prompt's slide (its code is folded)
        return "-"
    if "hide-input" in tags:
        return "skip"
    if cell["cell_type"] == "code" and EXERCISE_CALL.search(_source(cell)):
        return "skip"
    head = _heading(cell)
    if head and head[0] <= 2:
        return "slide"
    before = next((c for c, k in zip(reversed(cells[:len(kinds)]), reversed(kinds), strict=True)
                   if k != "skip" and not _is_quiz(c)), None)
    if cell["cell_type"] == "markdown":
        text = _source(cell)
        if PREDICT in text or text.lstrip().startswith("**You will learn**"):
            return "subslide"
        return "subslide" if before is not None and before["cell_type"] == "code" else "-"
    if before is not None and before["cell_type"] == "markdown" and PREDICT in _source(before):
        return "fragment"
    return "subslide" if _has_figure(cell) else "-"


def slide_type_of(cell: dict) -> str | None:
    """The slide type stored in a cell's metadata, or None."""
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type")


def annotate(path: Path) -> int:
    """Give every cell of the notebook at `path` without slide metadata its slide type; keep the
    file's JSON layout (indent 1, as nbformat writes it). Returns how many cells changed."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    changed = 0
    for cell, kind in zip(nb["cells"], slide_types(nb["cells"]), strict=True):
        if slide_type_of(cell) is None:
            cell.setdefault("metadata", {})["slideshow"] = {"slide_type": kind}
            changed += 1
    if changed:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


@dataclass(frozen=True)
class Stop:
    """One row of a plan: its stop number, notebook ("02") and section (2), or an exit stop."""

    number: int
    notebook: str | None
    section: int | None
    what: str

    @property
    def is_exit(self) -> bool:
        return self.notebook is None and "exit question" in self.what.lower()


_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(?:(\d\d)\s*§\s*(\d+))?\s*\|\s*(.*?)\s*\|\s*\d*\s*\|\s*$")


def _part(text: str, heading: str) -> list[str]:
    """The lines of a Markdown document under `heading` (to the next heading of its level)."""
    lines = text.splitlines()
    try:
        start = lines.index(heading)
    except ValueError as err:
        raise ValueError(f"docs/teaching.md has no heading {heading!r}") from err
    level = heading.split(" ", 1)[0]
    out = []
    for line in lines[start + 1:]:
        if line.startswith("#") and line.split(" ", 1)[0] in {"#" * n for n in range(1, len(level) + 1)}:
            break
        out.append(line)
    return out


def read_plan(text: str, heading: str) -> list[Stop]:
    """The stops of the plan under `heading` in docs/teaching.md, in order."""
    stops = [Stop(int(m.group(1)), m.group(2), int(m.group(3)) if m.group(3) else None, m.group(4))
             for m in map(_ROW.match, _part(text, heading)) if m]
    if not stops:
        raise ValueError(f"no stops found under {heading!r}")
    return stops


def exit_questions(text: str) -> list[str]:
    """The exit questions of docs/teaching.md (numbered items before "Answers:"), without answers."""
    questions: list[str] = []
    for line in _part(text, "## Exit questions"):
        if line.strip() == "Answers:":
            break
        m = re.match(r"^\d+\.\s+(.*)", line)
        if m:
            questions.append(m.group(1).strip())
        elif questions and line.startswith("   ") and line.strip():
            questions[-1] += " " + line.strip()
    return questions


def notebook_path(prefix: str, notebooks: Path = NOTEBOOKS) -> Path:
    found = sorted(notebooks.glob(f"{prefix}_*.ipynb"))
    if len(found) != 1:
        raise ValueError(f"no single notebook {prefix}_*.ipynb in {notebooks}")
    return found[0]


def section_cells(nb: dict, section: int) -> list[int]:
    """Indices of the cells of section `section` ("## k. ..." to the next ## heading)."""
    cells = nb["cells"]
    start = next((i for i, c in enumerate(cells)
                  if (h := _heading(c)) and h[0] == 2 and h[1].startswith(f"{section}. ")), None)
    if start is None:
        raise ValueError(f"no section '## {section}. ...' in {nb['metadata'].get('title', 'the notebook')}")
    end = next((j for j in range(start + 1, len(cells))
                if (h := _heading(cells[j])) and h[0] <= 2), len(cells))
    return list(range(start, end))


def _md(text: str, slide_type: str, cell_id: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {"slideshow": {"slide_type": slide_type}},
            "source": text}


def _static(cell: dict, slide_type: str, cell_id: str) -> dict:
    """A copy of a cell for a static deck: its slide type set, no execution count shown, and a
    widget output shown by its stored picture (the view needs a kernel)."""
    cell = copy.deepcopy(cell)
    cell.setdefault("id", cell_id)
    cell.setdefault("metadata", {})["slideshow"] = {"slide_type": slide_type}
    for out in cell.get("outputs", []):
        out.get("data", {}).pop(WIDGET_VIEW, None)
    return cell


def compose(stops: list[Stop], title: str, questions: list[str],
            notebooks: Path = NOTEBOOKS) -> dict:
    """One notebook holding a class's deck: a title slide, then each stop's section (the
    notebook's title slide first when the class moves to another notebook; a stop on the same
    section as the one before adds nothing), then the exit questions."""
    sections = [s for s in stops if s.notebook]
    items = "\n".join(f"{s.number}. {s.notebook} §{s.section}" for s in sections)
    cells = [_md(f"# {title}\n\n{items}", "slide", "deck-title")]
    loaded: dict[str, dict] = {}
    last_nb, last = None, None
    for stop in stops:
        if stop.is_exit and questions:
            cells.append(_md("## Exit questions\n\n" + "\n".join(
                f"{n}. {q}" for n, q in enumerate(questions, 1)), "slide", "exit-questions"))
            continue
        if not stop.notebook or (stop.notebook, stop.section) == last:
            continue
        nb = loaded.setdefault(stop.notebook, json.loads(
            notebook_path(stop.notebook, notebooks).read_text(encoding="utf-8")))
        nb_cells, kinds = nb["cells"], slide_types(nb["cells"])
        if stop.notebook != last_nb:
            cells.append(_static(nb_cells[0], "slide", f"nb{stop.notebook}-0"))
        for n, i in enumerate(section_cells(nb, stop.section)):
            kind = kinds[i]
            if kind != "skip":
                cells.append(_static(nb_cells[i], "slide" if n == 0 else kind, f"nb{stop.notebook}-{i}"))
        last_nb, last = stop.notebook, (stop.notebook, stop.section)
    meta = copy.deepcopy(next(iter(loaded.values()))["metadata"]) if loaded else {}
    meta.pop("widgets", None)
    meta["title"] = title
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def mathjax_dir() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("MathJax for the decks comes from sphinx-mathjax-offline: "
                         "pip install -e '.[slides]' (make slides does)")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax"


def copy_assets(out: Path) -> None:
    """reveal.js and the parts of MathJax 3 a deck loads (tex-chtml and its fonts) beside the decks."""
    shutil.copytree(VENDOR, out / "reveal.js", dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md"))
    src, dst = mathjax_dir(), out / "mathjax"
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "tex-chtml.js", dst / "tex-chtml.js")
    fonts = Path("output", "chtml", "fonts", "woff-v2")
    shutil.copytree(src / fonts, dst / fonts, dirs_exist_ok=True)


@dataclass(frozen=True)
class Deck:
    """A written deck: its file, its slides (horizontal and vertical) and its fragments."""

    path: Path
    slides: int
    fragments: int


def build(out: Path = OUT, teaching: Path = TEACHING, notebooks: Path = NOTEBOOKS) -> dict[str, Deck]:
    """Write one deck per class of the plans into `out`; returns {class name: deck}."""
    import nbformat
    from nbconvert import SlidesExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    text = teaching.read_text(encoding="utf-8")
    questions = exit_questions(text)
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    exporter = SlidesExporter(template_name="initlab_reveal", extra_template_basedirs=[str(TEMPLATES)],
                              reveal_url_prefix="reveal.js", reveal_theme="white",
                              reveal_transition="none", reveal_width="1280", reveal_height="800",
                              mathjax_url="mathjax/tex-chtml.js",
                              exclude_input_prompt=True, exclude_output_prompt=True)
    # a folded cell (a quiz's buttons) shows its output only, as in JupyterLab
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"hide-input"}), enabled=True)
    written = {}
    for name, heading in CLASSES.items():
        minutes = name.split("-")[1].removesuffix("min")
        deck = compose(read_plan(text, heading), f"initlab: a {minutes}-minute class", questions, notebooks)
        body, _ = exporter.from_notebook_node(nbformat.reads(json.dumps(deck), as_version=4))
        path = out / f"{name}.slides.html"
        path.write_text(body, encoding="utf-8")
        kinds = [c["metadata"]["slideshow"]["slide_type"] for c in deck["cells"]]
        written[name] = Deck(path, sum(k in ("slide", "subslide") for k in kinds), kinds.count("fragment"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotate", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="add slide metadata to the cells of these notebooks that have none")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.annotate:
        for path in args.annotate:
            print(f"{path.name}: slide metadata added to {annotate(path)} cells")
        return 0
    for deck in build(args.out).values():
        path = deck.path
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}: {deck.slides} slides, "
              f"{deck.fragments} fragments, {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
