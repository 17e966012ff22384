"""Notebook 10's cheat sheet: every printed formula equals what the printed torch call does,
and every myth links to a notebook of the series."""

import json
import re
from pathlib import Path

import pytest

from helpers import cheatsheet

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SERIES = ("00_start_here", "01_uniform_variance", "02_sums_of_products",
          "03_constant_and_random_init", "04_signal_propagation", "05_xavier_glorot",
          "06_he_kaiming", "07_sigmoid_zigzag", "08_fixes", "09_init_in_training",
          "12_cheat_sheet")


def _id(c):
    return f"{c.scheme}-{c.call}-{c.quantity}-{c.shape}"


@pytest.mark.parametrize("check", cheatsheet.check_against_torch(), ids=_id)
def test_formula_equals_torch(check):
    if check.quantity == "bound":
        assert check.measured <= check.formula * (1 + 1e-6), "no draw beyond the bound"
        assert check.rel_error < 0.002, "the largest of many draws sits just below the bound"
    else:
        assert check.rel_error < 0.015, f"std formula vs torch: {check}"


def test_every_torch_row_is_checked_on_a_conv_shape_too():
    checked = {(c.scheme, len(c.shape)) for c in cheatsheet.check_against_torch()}
    for row in cheatsheet.ROWS:
        if row.torch_normal or row.torch_uniform:
            assert (row.scheme, 2) in checked and (row.scheme, 4) in checked


def test_a_wrong_formula_would_be_caught():
    """Seed 004's sqrt(6 / fan_in) for GlorotUniform misses torch's bound by far."""
    xavier = next(c for c in cheatsheet.check_against_torch()
                  if c.scheme.startswith("Xavier") and c.quantity == "bound")
    wrong = (6 / xavier.shape[1]) ** 0.5
    assert abs(xavier.measured / wrong - 1) > 0.1


def test_table_has_every_column_and_row():
    table = cheatsheet.markdown_table()
    lines = table.splitlines()
    assert len(lines) == 2 + len(cheatsheet.ROWS)
    assert all(line.count(" | ") == 6 for line in lines if not line.startswith("|---"))
    for col in ("PyTorch", "Keras", "default fan mode", "when to use"):
        assert col in lines[0]


def test_myths_link_to_notebooks_of_the_series():
    md = cheatsheet.myths_markdown()
    links = re.findall(r"\]\(([^)#]+)(?:#([^)]*))?\)", md)
    assert len(links) == len(cheatsheet.MYTHS)
    for target, anchor in links:
        assert target.removesuffix(".ipynb") in SERIES, target
        path = NOTEBOOKS / target
        if anchor and path.exists():
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            headings = [line.lstrip("#").strip() for c in cells if c["cell_type"] == "markdown"
                        for line in "".join(c["source"]).splitlines() if line.startswith("#")]
            assert anchor in {cheatsheet.jupyter_anchor(h) for h in headings}, (target, anchor)


def test_seed_001_myth_is_corrected_not_repeated():
    m = next(m for m in cheatsheet.MYTHS if m.seed == "001")
    assert "still exactly equal" in m.measurement
