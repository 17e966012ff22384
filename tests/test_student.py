"""The student edition (`make student`, tests/tools/student.py) gives no answer away and still works.

Protects: that a learner handed build/student/ gets every notebook without stored outputs, without
the cells tagged `answer` or `solution`, and without any worked solution from helpers (so
`ex.<name>.solution()` cannot print one), while every notebook still runs top to bottom and every
exercise checker reports "not attempted" on its untouched starter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))
import student  # noqa: E402
from reference import REFERENCE_ENV, available, reference_env  # noqa: E402

from helpers import capstone, isometry, mup  # noqa: E402,F401  (each registers exercises of its own)
from helpers.exercises import ex  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"\bex\.\w+\.check\(")
THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND")
PRINTED_ANSWER = re.compile(r"Answer to exercise|^Solution \(", re.M)


def _lecture_text() -> str:
    """All the instructor edition shows outside its tagged cells (the lecture itself)."""
    return "\n".join(cell.source for path in NOTEBOOKS for cell in nbformat.read(path, as_version=4).cells
                     if not set(cell.metadata.get("tags", [])) & set(student.REMOVED_TAGS))


def _solution_lines() -> dict[str, list[str]]:
    """Per registered exercise, the distinctive lines of its worked solution (the instructor's):
    30 characters or more, not a `def` line (the starter's own) and not part of what the lecture shows."""
    lecture = _lecture_text()
    out = {}
    for e in vars(ex).values():
        text = getattr(e, "solution_text", "")
        lines = [line.strip() for line in text.splitlines() if len(line.strip()) >= 30
                 and not line.strip().startswith("def ") and line.strip() not in lecture]
        if lines:
            out[e.name] = lines
    return out


SOLUTIONS = _solution_lines()


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student") / "student"
    student.build(out)
    return out


def _text_of_outputs(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        parts.append(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"]))
        for kind, value in o.get("data", {}).items():
            if kind.startswith("text/") or kind == "application/json":
                parts.append(value if isinstance(value, str) else json.dumps(value))
    return "\n".join(parts)


def _assert_no_solution_text(where: str, text: str) -> None:
    for name, lines in SOLUTIONS.items():
        for line in lines:
            assert line not in text, f"{where}: a line of ex.{name}'s worked solution survives: {line!r}"


def test_every_exercise_has_a_worked_solution_in_the_instructor_edition(capsys):
    """Open, auto-checked and diagnoses alike: .solution() prints a worked solution here (and without
    solution texts to look for, the checks below would pass vacuously)."""
    for e in vars(ex).values():
        e.solution()
        printed = capsys.readouterr().out
        assert e.solution_text.strip() and e.solution_text in printed and student.STUDENT_NOTE not in printed
    assert len(SOLUTIONS) >= 30


def test_every_notebook_is_there_without_outputs_or_tagged_cells(edition):
    assert sorted(p.name for p in edition.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        nb = nbformat.read(edition / path.name, as_version=4)
        for cell in nb.cells:
            assert not set(cell.metadata.get("tags", [])) & set(student.REMOVED_TAGS), path.name
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: an output is stored"
        _assert_no_solution_text(path.name, "\n".join(c.source for c in nb.cells))
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert not PRINTED_ANSWER.search(prose), f"{path.name}: a written answer survives"


def test_predict_prompts_and_starters_are_kept(edition):
    """Only tagged cells go, and no tagged cell holds a predict prompt or an untouched starter's
    checker (one whose stored output in the instructor edition says "not attempted")."""
    for path in NOTEBOOKS:
        full = nbformat.read(path, as_version=4).cells
        kept = nbformat.read(edition / path.name, as_version=4).cells
        untagged = [c for c in full if not set(c.metadata.get("tags", [])) & set(student.REMOVED_TAGS)]
        assert [c.source for c in kept] == [c.source for c in untagged], path.name
        prompts = [c.source.count("**Predict") for c in full]
        starters = [c.source for c in full if "not attempted" in _text_of_outputs(c)]
        assert sum(c.source.count("**Predict") for c in kept) == sum(prompts), f"{path.name}: prompt removed"
        assert all(s in [c.source for c in kept] for s in starters), f"{path.name}: a starter was removed"


def test_08_exercise_2_is_answered_through_its_checker(edition):
    def source(path):
        return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)

    full, kept = source(ROOT / "notebooks" / "08_fixes.ipynb"), source(edition / "08_fixes.ipynb")
    assert "ex.momentum_lr_limit.check(" in kept and "Answer to exercise" not in full
    assert "grid_lrs" in full and "grid_lrs" not in kept, "the measurement is the worked solution"


def test_helpers_keep_no_worked_solution(edition):
    for path in sorted((edition / "helpers").glob("*.py")):
        _assert_no_solution_text(f"helpers/{path.name}", path.read_text(encoding="utf-8"))


def test_solution_prints_the_note_and_checks_still_work(edition):
    """Run from the edition's folder, as its notebooks are: `helpers` is the stripped copy there."""
    code = ("import helpers; from helpers import capstone, isometry, mup; from helpers.exercises import ex\n"
            "print(helpers.__file__)\n"
            "for e in vars(ex).values(): e.solution()\n"
            "ex.uniform_bound.check(lambda s: 3 ** 0.5 * s); ex.name_the_rule.check({'lecun': 'C', "
            "'saturates': 'B', 'vanishes': 'A'}); ex.uniform_bound.hint()")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=edition, env=env, capture_output=True,
                         text=True, check=True).stdout
    first, rest = out.split("\n", 1)
    assert Path(first).resolve().is_relative_to(edition.resolve()), "notebooks import the edition's helpers"
    assert rest.count(student.STUDENT_NOTE) == len(vars(ex)), "every exercise's solution() prints the note"
    for said in ("uniform_bound: correct", "name_the_rule: correct", "Hint (uniform_bound)"):
        assert said in rest
    _assert_no_solution_text("solution()", rest)


def test_strip_solutions_replaces_only_the_solution_texts():
    source = ('x = "keep"\nE(name="a", hint_text="h",\n'
              '  solution_text=("line one\\n"\n  "line two"), rel=1)\n'
              'F(solution_text="\u00e9t\u00e9", b=2)\n')
    stripped, n = student.strip_solutions(source)
    assert n == 2 and "line one" not in stripped and "\u00e9t\u00e9" not in stripped
    for kept in ('x = "keep"', 'hint_text="h"', "rel=1)", "b=2)"):
        assert kept in stripped
    assert stripped.count(repr(student.STUDENT_NOTE)) == 2


def test_build_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a student edition"):
        student.build(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep"


# --- the edition runs: every notebook top to bottom, as a learner would ---------------------------


def _execute(path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # under the reference configuration where it runs; elsewhere its thread count and backend only
    # (nothing here compares outputs digit by digit)
    env = reference_env() if available()[0] else {**os.environ, **{k: REFERENCE_ENV[k] for k in THREADS}}
    env.pop("PYTHONPATH", None)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   store_widget_state=False).execute(env=env)
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_student_notebook_runs_and_gives_nothing_away(edition, name):
    """One notebook per test, so `make test-slow` (pytest -n JOBS) runs them side by side."""
    nb = _execute(edition / name)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        text = _text_of_outputs(cell)
        assert not any(o.output_type == "error" for o in cell.outputs), f"{name} cell {i}: error"
        assert not PRINTED_ANSWER.search(text), f"{name} cell {i}: prints an answer: {text[:200]}"
        _assert_no_solution_text(f"{name} cell {i}", text)
        checks = len(CHECK_CALL.findall(cell.source))
        if checks:
            assert text.count("not attempted") == checks, \
                f"{name} cell {i}: every untouched starter's checker should say 'not attempted': {text[:300]}"
