"""The one-page handout (make handout, book/handout.py) holds the cheat sheet and fits its page.

What this protects: the handout an instructor prints is built from helpers/cheatsheet.py's ROWS
(the table notebook 12 prints), so its rows must be the cheat sheet's, in its order, with none
dropped but the ones the handout names; and it must print: one page per PDF, at the paper's
size, every line of text inside the margins and inside its table column (no cell running into
the next), at a readable size. The page checks are a plain function (page_problems), shown to
catch a text pushed off the page on purpose.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))

import handout  # noqa: E402

from helpers import cheatsheet  # noqa: E402


def page_problems(fig, cells, paper: str) -> list[str]:
    """Every text of the figure that leaves the page's margins, or a table text that leaves
    its column (each measured by the renderer, in points)."""
    renderer = fig.canvas.get_renderer()
    scale = fig.dpi / 72
    width, height = (v * 72 for v in handout.PAPERS[paper])
    m = handout.MARGIN * 72
    columns = {id(t): x for t, x in cells}
    problems = []
    for t in fig.texts:
        box = t.get_window_extent(renderer)
        x0, x1 = box.x0 / scale, box.x1 / scale
        top, bottom = height - box.y1 / scale, height - box.y0 / scale
        if x0 < m - 0.01 or x1 > width - m + 0.01 or top < m - 0.01 or bottom > height - m + 0.01:
            problems.append(f"outside the margins: {t.get_text()[:50]!r}")
        lo, hi = columns.get(id(t), (m, width - m))
        if x0 < lo - 0.01 or x1 > hi + 0.01:
            problems.append(f"outside its column: {t.get_text()[:50]!r}")
    return problems


def test_rows_are_the_cheat_sheets():
    rows = handout.table_rows()
    kept = [r for r in cheatsheet.ROWS if r.scheme not in handout.LEFT_OUT]
    assert handout.LEFT_OUT <= {r.scheme for r in cheatsheet.ROWS}, "LEFT_OUT names a row that is gone"
    assert [r.scheme for r in rows] == [r.scheme for r in kept]
    for mine, theirs in zip(rows, kept, strict=True):
        assert (mine.std, mine.bound) == (theirs.std, theirs.bound), mine.scheme
        assert theirs.when.startswith(mine.when) and mine.when, mine.scheme
        assert theirs.pytorch.startswith(mine.pytorch) and mine.pytorch, mine.scheme
    assert {"LeCun", "Xavier / Glorot", "He / Kaiming"} <= {r.scheme for r in rows}


def test_first_sentence_and_clause():
    first = handout.first_sentence
    assert first("tanh, gain 1 (09). torch's g = 5/3 holds") == "tanh, gain 1 (09)"
    assert first("deep ReLU nets. He") == "deep ReLU nets"
    assert first("std 0.02 on every weight, Yang et al. 2022") == "std 0.02 on every weight, Yang et al. 2022"
    assert first("no full stop") == "no full stop"
    assert handout.first_clause("`zeros_(w)`; Fixup-style `x`") == "`zeros_(w)`"


def test_gains_come_from_helpers_init():
    line = handout.gains_line()
    assert "tanh 1.667" in line and "ReLU 1.414" in line and "SELU 0.75" in line, line


@pytest.fixture(scope="module", params=sorted(handout.PAPERS))
def page(request):
    fig, size, cells = handout.fit(request.param)
    return request.param, fig, size, cells


def test_page_fits_inside_its_margins_and_columns(page):
    paper, fig, size, cells = page
    assert size >= handout.MIN_FONTSIZE
    assert not page_problems(fig, cells, paper)


def test_every_row_and_check_is_printed(page):
    _, fig, _, _ = page
    text = " ".join(t.get_text() for t in fig.texts)
    for row in handout.table_rows():
        assert " ".join(row.scheme.split()) in text, row.scheme
    for check in ("1. Initial loss", "2. Forward std", "3. Gradients"):
        assert check in text


def test_pdf_has_one_page_of_the_papers_size(tmp_path):
    written = handout.build(tmp_path)
    assert set(written) == set(handout.PAPERS)
    for paper, (path, _) in written.items():
        assert path.name == f"initlab-handout-{paper}.pdf"
        pdf = path.read_bytes()
        assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1, f"{paper}: not one page"
        box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
        assert box, f"{paper}: no page size"
        want = tuple(v * 72 for v in handout.PAPERS[paper])
        assert (float(box.group(1)), float(box.group(2))) == pytest.approx(want, abs=0.5)


def test_checks_catch_a_text_off_the_page(page):
    paper, fig, _, cells = page
    stray = fig.text(0.99, 0.5, "a line that runs off the page", fontsize=8)
    try:
        assert any("outside the margins" in p for p in page_problems(fig, cells, paper))
        t, (x0, x1) = cells[0]
        assert any("outside its column" in p for p in page_problems(fig, [(t, (x0, x0 + 1))], paper))
    finally:
        stray.remove()


def test_fit_says_when_the_page_is_too_small(monkeypatch):
    monkeypatch.setitem(handout.PAPERS, "postcard", (4.0, 3.0))
    with pytest.raises(ValueError, match="postcard"):
        handout.fit("postcard")
