"""`make reading-time`: how long the series takes to read and run, core path and deep dives apart.

One fixed rule, so that every notebook's "Time" line and the README's totals are measured the
same way (docs/authoring.md says what is core):

    prose          120 words a minute (markdown, LaTeX included)
    code           3 s a visible code line (a check cell's hidden input does not count)
    output         4 s a printed line (stream or text result; a check cell's ✓ lines count)
    figure         45 s an image output
    explorer       3 min a cell that builds a `widgets.` explorer (its figure not counted again)
    predict        30 s a "Predict" prompt (its quiz cell, `quiz.ask(...)`, adds nothing: the
                   prompt's 30 s is the time to answer it, and its code is hidden)
    run            1 min a notebook, to run it

Also the share of core prose sentences that are bookkeeping (tolerances, standard errors,
seeds, rounding, kernels): docs/authoring.md asks for under 3%.

    python tests/tools/reading_time.py [NOTEBOOK ...]
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECONDS = {"word": 60 / 120, "code": 3.0, "output": 4.0, "figure": 45.0, "explorer": 180.0,
           "predict": 30.0}
RUN_SECONDS = 60.0
EXPLORER_CALL = re.compile(r"\bwidgets\.\w+\(")
PREDICT = re.compile(r"\bpredict\b", re.I)
QUIZ_CALL = re.compile(r"\bquiz\.ask\(")
BOOKKEEPING = re.compile(
    r"\b(tolerances?|standard errors?|SE\b|t[- ]statistics?|t = [+-]?\d|seeds?\b|SEED|rounding|"
    r"rounds?\b|float32 steps?|ulps?\b|kernels?\b|SIMD|AVX|threads?\b|margins?\b|paired|"
    r"sweeps?\b|noise level)", re.I)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(*$])")


def _src(cell: dict) -> str:
    return "".join(cell["source"])


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def is_deep_notebook(nb: dict) -> bool:
    return nb.get("metadata", {}).get("initlab", {}).get("path") == "deep-dive"


def is_hidden_input(cell: dict) -> bool:
    jupyter = cell.get("metadata", {}).get("jupyter", {})
    return "hide-input" in _tags(cell) or bool(jupyter.get("source_hidden"))


def is_quiz(cell: dict) -> bool:
    """A quiz cell (docs/authoring.md): a code cell whose code asks a `helpers.quiz` question."""
    return cell.get("cell_type") == "code" and bool(QUIZ_CALL.search(_src(cell)))


def prose(text: str) -> str:
    """Markdown without code blocks, HTML tags and link targets: what a reader reads as words."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\]\([^)]*\)", "]", text)


def sentences(text: str) -> list[str]:
    out = []
    for para in re.split(r"\n\s*\n", prose(text)):
        if para.lstrip().startswith("#") or para.lstrip().startswith("|"):
            continue  # headings and table rows are not sentences
        out += [s for s in SENTENCE.split(" ".join(para.split())) if len(s.split()) >= 3]
    return out


@dataclass
class Part:
    words: int = 0
    code: int = 0
    output: int = 0
    figures: int = 0
    explorers: int = 0
    predicts: int = 0
    sentences: list[str] = field(default_factory=list)

    def seconds(self) -> float:
        return (self.words * SECONDS["word"] + self.code * SECONDS["code"]
                + self.output * SECONDS["output"] + self.figures * SECONDS["figure"]
                + self.explorers * SECONDS["explorer"] + self.predicts * SECONDS["predict"])


def _add_cell(part: Part, cell: dict) -> None:
    text = _src(cell)
    if cell["cell_type"] == "markdown":
        part.words += len(prose(text).split())
        part.predicts += len(PREDICT.findall(text)) > 0
        part.sentences += sentences(text)
        return
    if cell["cell_type"] != "code" or is_quiz(cell):
        return  # a quiz is the predict prompt above it, already counted
    explorer = bool(EXPLORER_CALL.search(text)) and any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.get("outputs", []))
    if not is_hidden_input(cell):
        part.code += sum(1 for line in text.splitlines() if line.strip())
    part.explorers += explorer
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "image/png" in data and not explorer:
            part.figures += 1
        elif out["output_type"] == "stream":
            part.output += len([ln for ln in "".join(out["text"]).splitlines() if ln.strip()])
        elif "text/plain" in data and "image/png" not in data and not explorer:
            part.output += len("".join(data["text/plain"]).splitlines())


def measure(path: Path) -> tuple[Part, Part]:
    """(core, deep dive) parts of one notebook, by the tags of docs/authoring.md."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    core, deep = Part(), Part()
    whole_deep = is_deep_notebook(nb)
    for cell in nb["cells"]:
        _add_cell(deep if whole_deep or "deep-dive" in _tags(cell) else core, cell)
    return core, deep


def bookkeeping(part: Part) -> list[str]:
    return [s for s in part.sentences if BOOKKEEPING.search(s)]


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    head = (f"{'notebook':<32}{'path':>10}{'core min':>9}{'deep min':>9}{'core words':>11}"
            f"{'deep words':>11}{'figs':>5}{'expl':>5}{'bookkeeping':>12}")
    print(head)
    total_core = total_deep = 0.0
    words = booked = 0
    for path in paths:
        core, deep = measure(path)
        nb = json.loads(path.read_text(encoding="utf-8"))
        whole_deep = is_deep_notebook(nb)
        core_min = 0.0 if whole_deep else (core.seconds() + RUN_SECONDS) / 60
        deep_min = (deep.seconds() + (RUN_SECONDS if whole_deep else 0)) / 60
        book = bookkeeping(core)
        share = len(book) / max(1, len(core.sentences))
        total_core += core_min
        total_deep += deep_min
        words += len(core.sentences)
        booked += len(book)
        print(f"{path.name:<32}{'deep' if whole_deep else 'core':>10}{core_min:>9.0f}{deep_min:>9.0f}"
              f"{core.words:>11}{deep.words:>11}{core.figures + deep.figures:>5}"
              f"{core.explorers + deep.explorers:>5}{share:>11.1%}")
    print(f"core path: {total_core:.0f} min; deep dives: {total_deep:.0f} min; all: "
          f"{total_core + total_deep:.0f} min")
    print(f"bookkeeping in core prose: {booked} of {words} sentences ({booked / max(1, words):.1%})")
    if "--show-bookkeeping" in sys.argv:
        for path in paths:
            for s in bookkeeping(measure(path)[0]):
                print(f"  {path.name[:2]}: {s[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main([a for a in sys.argv[1:] if not a.startswith("--")]))
