"""Notebook hygiene nbval cannot see: outputs stored and current, template followed, no leaks.

nbval compares stored outputs with a fresh run, but a notebook committed WITHOUT
outputs passes it silently; these tests close that hole and check the template of
style.md (title, goals, prerequisites, check cells, exercises, next notebook).
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATH = re.compile(r"((?<![:\w/])/(?:[A-Za-z0-9_.-]+/){2,}[A-Za-z0-9_.-]+|site-packages)")


def _cells(nb_path):
    return json.loads(nb_path.read_text(encoding="utf-8"))["cells"]


def _src(cell):
    return "".join(cell["source"])


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_name.ipynb found"


def test_names_are_two_digit_and_unique():
    numbers = [p.name[:2] for p in NOTEBOOKS]
    assert len(numbers) == len(set(numbers))
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in NOTEBOOKS)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_executed_in_order(nb):
    code = [c for c in _cells(nb) if c["cell_type"] == "code" and _src(c).strip()]
    counts = [c["execution_count"] for c in code]
    assert None not in counts, f"{nb.name}: cells without stored output; run `make notebooks`"
    assert counts == list(range(1, len(code) + 1)), f"{nb.name}: not run top to bottom once"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_no_errors_or_machine_paths_in_outputs(nb):
    for cell in _cells(nb):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{nb.name}: an error is stored"
            if out["output_type"] == "stream":
                assert out["name"] != "stderr" or not out["text"], f"{nb.name}: stderr output"
            text = json.dumps({k: v for k, v in out.get("data", {}).items() if k != "image/png"})
            text += json.dumps(out.get("text", ""))
            assert not MACHINE_PATH.search(text), f"{nb.name}: machine path {MACHINE_PATH.search(text)[0]}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_template(nb):
    cells = _cells(nb)
    md = "\n".join(_src(c) for c in cells if c["cell_type"] == "markdown")
    code = "\n".join(_src(c) for c in cells if c["cell_type"] == "code")
    number = nb.name[:2]
    assert _src(cells[0]).startswith(f"# {number} "), "first cell: '# NN Title'"
    for heading in ("You will learn", "Prerequisites", "Summary", "Next"):
        assert heading in md, f"{nb.name}: missing '{heading}'"
    if number not in ("00", "12"):
        assert "Exercises" in md and re.search(r"\bex\.\w+\.check\(", code), "auto-checked exercise"
        assert re.search(r"^\s*assert\b", code, re.M), "a check cell asserts the claim"
        assert re.search(r"[Pp]redict", md), "a predict-then-run prompt"
    assert "import *" not in code


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_light(nb):
    assert nb.stat().st_size < 3_000_000, f"{nb.name} is {nb.stat().st_size / 1e6:.1f} MB"
