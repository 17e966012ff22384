"""Build the student edition of the course: `make student` (or `python tests/tools/student.py [OUT]`).

The committed notebooks are the instructor edition. The student edition, written to
build/student/ by default, holds the same notebooks with

- every cell tagged `answer` or `solution` removed (docs/authoring.md, "Student edition"),
- every output and execution count cleared (stored outputs print each prediction's answer),
- the `helpers` package beside them, with every worked solution's text replaced by a note
  that worked solutions are in the instructor edition (`ex.<name>.solution()` prints that note;
  checks, hints and quizzes work as before),

so a learner opens the folder in JupyterLab and runs any notebook top to bottom: the
notebooks import `helpers` from their own folder, before any installed copy.

Why a script and not nbgrader: nbgrader's release step also clears outputs and drops solution
regions, but it brings a database, a course directory layout and its own cell metadata, it
replaces solutions inside cells rather than removing whole cells, and it knows nothing of the
worked solutions that live in `helpers`. The edition needs three operations (drop tagged
cells, clear outputs, strip solution texts); this file does them with nbformat and ast.
"""

from __future__ import annotations

import ast
import shutil
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
REMOVED_TAGS = ("answer", "solution")
STUDENT_NOTE = ("Worked solutions are in the instructor edition of the course; "
                "compare your answer with your instructor's.")
MARKER = ".initlab-student"  # marks a folder this script wrote, so a rebuild may replace it


def strip_notebook(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """Drop the cells tagged `answer` or `solution` and clear every output, in place.
    Returns the notebook and the number of cells dropped."""
    kept = [c for c in nb.cells if not set(c.metadata.get("tags", [])) & set(REMOVED_TAGS)]
    dropped = len(nb.cells) - len(kept)
    for cell in kept:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.cells = kept
    nb.metadata.pop("widgets", None)
    nb.metadata.setdefault("initlab", {})["edition"] = "student"
    return nb, dropped


def strip_solutions(source: str) -> tuple[str, int]:
    """Replace the value of every `solution_text=...` keyword argument in a Python module's
    source by STUDENT_NOTE; everything else stays byte for byte. Returns the new source and
    the number of texts replaced."""
    tree = ast.parse(source)
    raw = source.encode("utf-8")
    starts = [0]  # byte offset of each line (ast's col_offset counts UTF-8 bytes)
    for line in raw.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "solution_text":
            v = node.value
            spans.append((starts[v.lineno - 1] + v.col_offset, starts[v.end_lineno - 1] + v.end_col_offset))
    for begin, end in sorted(spans, reverse=True):
        raw = raw[:begin] + repr(STUDENT_NOTE).encode("utf-8") + raw[end:]
    return raw.decode("utf-8"), len(spans)


def _requirements(root: Path) -> str:
    """The package's runtime dependencies, one per line (from pyproject.toml)."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return "\n".join(project.get("dependencies", [])) + "\n"


README = """# Weight initialisation: student edition

Notebooks on neural-network weight initialisation, without stored outputs and without worked
solutions. Start with `00_start_here.ipynb`.

Set up once (Python 3.11 or newer), then open this folder in JupyterLab:

    python -m venv .venv && .venv/bin/pip install -r requirements.txt jupyterlab
    .venv/bin/jupyter lab

The notebooks import the `helpers` folder beside them. Before you run a cell, predict what it will
print. Each exercise has a checker (`ex.<name>.check(...)`) and a hint (`ex.<name>.hint()`).
"""


def build(out: Path, root: Path = ROOT) -> dict[str, int]:
    """Write the student edition of `root` into `out` (replacing an earlier build there).
    Returns, per notebook, the number of tagged cells removed."""
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise ValueError(f"{out} exists and is not a student edition this script wrote; "
                             "choose an empty or new folder")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    removed: dict[str, int] = {}
    for path in sorted((root / "notebooks").iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix == ".ipynb":
            nb, removed[path.name] = strip_notebook(nbformat.read(path, as_version=4))
            nbformat.write(nb, out / path.name)
        else:  # anything a notebook reads from its own folder
            shutil.copy2(path, out / path.name)
    helpers = out / "helpers"
    helpers.mkdir()
    for path in sorted((root / "helpers").glob("*.py")):
        text, _ = strip_solutions(path.read_text(encoding="utf-8"))
        (helpers / path.name).write_text(text, encoding="utf-8")
    (out / "requirements.txt").write_text(_requirements(root), encoding="utf-8")
    (out / "README.md").write_text(README, encoding="utf-8")
    (out / MARKER).write_text("written by tests/tools/student.py\n", encoding="utf-8")
    return removed


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "build" / "student"
    removed = build(out)
    for name, n in removed.items():
        print(f"{name}: {n} tagged cell{'s' if n != 1 else ''} removed")
    where = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    print(f"student edition: {len(removed)} notebooks in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
