"""The class decks (make slides, book/slides.py) follow the teaching plans and read offline.

What this protects: an instructor presents a class from build/slides/class-50min.slides.html
or class-90min.slides.html, built from the notebooks' slide metadata and stored outputs for the
stops of docs/teaching.md's plans. So:
- the plan tables and exit questions are read as the guide writes them (the exit answers
  never reach a slide);
- every core notebook carries slide metadata, and no deep-dive or check cell is on a slide
  (the `slideshow` rule of book/slides.py, on a made-up notebook and on the real ones);
- each deck has its plan's stops in order (each notebook's title, then the sections the plan
  names), a title slide and the exit questions last, no folded code, and names no CDN or other
  remote script, style sheet or font;
- marked `book` (run by `make test-book`): each deck opens in headless Chromium from a server on
  127.0.0.1 with every other request aborted, reveal.js initialises, MathJax typesets, and no
  request fails and no console error appears.
Building needs nbconvert and MathJax from sphinx-mathjax-offline (the `slides` or `book` extra):
without them the build tests skip (fail under INITLAB_BROWSER_REQUIRED=1, as make test-book sets).
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import importlib.util
import json
import re
import sys
import threading
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_FLAGS, require

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))

import slides  # noqa: E402

TEACHING = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CORE = [p for p in NOTEBOOKS
        if json.loads(p.read_text(encoding="utf-8"))["metadata"].get("initlab", {}).get("path") == "core"]


def _md(text: str, **meta) -> dict:
    return {"cell_type": "markdown", "metadata": meta, "source": text}


def _code(text: str, png: bool = False, **meta) -> dict:
    outputs = [{"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"},
                "metadata": {}}] if png else []
    return {"cell_type": "code", "metadata": meta, "source": text, "outputs": outputs, "execution_count": 1}


SAMPLE = [
    _md("# 99 A sample\n*A question?*"),                                    # slide
    _md("**You will learn**\n1. this"),                                     # subslide
    _md("## Setup"),                                                        # skip
    _code("import torch\nSEED = 0"),                                        # skip
    _md("## 1. Break it first\nProse."),                                    # slide
    _md("**Predict, then run.** How large?"),                               # subslide
    _code('quiz.ask("99-size")', tags=["hide-input"]),                      # - (its buttons)
    _code("print(1)"),                                                      # fragment
    _code('assert quiz.agrees("99-size", 1)', tags=["hide-input"]),         # skip (a check)
    _code("plt.plot()", png=True),                                          # subslide
    _md("It was large."),                                                   # subslide (after code)
    _md("More prose."),                                                     # -
    _code("assert True", tags=["hide-input"]),                              # skip
    _md("## Deep dive: more\nText", tags=["deep-dive"]),                    # skip
    _code("x = 1", tags=["deep-dive"]),                                     # skip
    _md("## Summary\n- one"),                                               # slide
    _code("ex.thing.check(answer)"),                                        # skip
    _md("## References\n- a"),                                              # skip
    _md("Already typed", slideshow={"slide_type": "notes"}),                # kept: notes
]
WANTED = ["slide", "subslide", "skip", "skip", "slide", "subslide", "-", "fragment", "skip", "subslide",
          "subslide", "-", "skip", "skip", "skip", "slide", "skip", "skip", "notes"]


def test_slide_rule_on_a_made_up_notebook():
    assert slides.slide_types(SAMPLE) == WANTED
    assert [slides.slide_type_for(SAMPLE, i) for i in range(len(SAMPLE) - 1)] == WANTED[:-1]


def test_annotate_fills_only_missing_metadata_and_keeps_the_layout(tmp_path):
    nb = {"cells": SAMPLE, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    path = tmp_path / "99_sample.ipynb"
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert slides.annotate(path) == len(SAMPLE) - 1
    text = path.read_text(encoding="utf-8")
    got = json.loads(text)
    assert [c["metadata"]["slideshow"]["slide_type"] for c in got["cells"]] == WANTED
    assert text == json.dumps(got, indent=1, ensure_ascii=False) + "\n"
    assert slides.annotate(path) == 0 and path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.stem)
def test_core_notebook_has_slide_metadata_and_no_deep_dive_on_a_slide(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert slides.slide_type_of(cells[0]) == "slide", "the title opens the notebook's slides"
    for i, cell in enumerate(cells):
        kind = slides.slide_type_of(cell)
        assert kind is None or kind in slides.SLIDE_TYPES, (i, kind)
        tags = cell.get("metadata", {}).get("tags", [])
        if "deep-dive" in tags or ("hide-input" in tags and not slides._is_quiz(cell)):
            assert kind in (None, "skip"), f"cell {i}: a deep-dive or check cell on a slide"
    shown = [c for c, k in zip(cells, slides.slide_types(cells), strict=True) if k != "skip"]
    assert sum(c["cell_type"] == "code" for c in shown) >= 1 or path.stem.startswith("00_")


def test_plans_are_read_as_the_guide_writes_them():
    fifty = slides.read_plan(TEACHING, slides.CLASSES["class-50min"])
    ninety = slides.read_plan(TEACHING, slides.CLASSES["class-90min"])
    for plan in (fifty, ninety):
        assert [s.number for s in plan] == list(range(1, len(plan) + 1))
        assert plan[-1].is_exit and all(s.notebook for s in plan[:-1])
        for s in plan[:-1]:  # every stop names an existing section
            nb = json.loads(slides.notebook_path(s.notebook).read_text(encoding="utf-8"))
            assert slides.section_cells(nb, s.section)
    assert (fifty[0].notebook, fifty[0].section) == ("00", 1)
    with pytest.raises(ValueError, match="no heading"):
        slides.read_plan(TEACHING, "## A 20-minute plan")


def test_exit_questions_carry_no_answers():
    questions = slides.exit_questions(TEACHING)
    assert 5 <= len(questions) <= 6
    answers = TEACHING.split("## Exit questions", 1)[1].split("Answers:", 1)[1]
    first_answer = re.search(r"^1\.\s+(.{30})", answers, re.M).group(1)
    assert not any(first_answer in q for q in questions)
    assert all("?" in q for q in questions), questions


# --- the built decks -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    for module in ("nbconvert", "sphinx-mathjax-offline"):
        if importlib.util.find_spec(module) is None:
            require(f"{module} missing: pip install -e '.[slides]' (make slides does)")
    out = tmp_path_factory.mktemp("slides")
    return out, slides.build(out)


class _Headings(html.parser.HTMLParser):
    """The text of each h1 and h2 in a page, in order (the anchor's pilcrow dropped)."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2"):
            self._in, self._text = True, ""

    def handle_endtag(self, tag):
        if tag in ("h1", "h2") and self._in:
            self._in = False
            self.headings.append(" ".join(self._text.replace("\u00b6", "").split()))

    def handle_data(self, data):
        if self._in:
            self._text += data


def _expected_headings(stops: list[slides.Stop]) -> list[str]:
    """What a deck's h1/h2 sequence must contain, in order: each notebook's title when the class
    moves to it, then each stop's section heading (up to its first $ or `: typeset later)."""
    want, last_nb, last = [], None, None
    for s in stops:
        if not s.notebook or (s.notebook, s.section) == last:
            continue
        nb = json.loads(slides.notebook_path(s.notebook).read_text(encoding="utf-8"))
        if s.notebook != last_nb:
            want.append(slides._heading(nb["cells"][0])[1])
        want.append(slides._heading(nb["cells"][slides.section_cells(nb, s.section)[0]])[1])
        last_nb, last = s.notebook, (s.notebook, s.section)
    return [re.split(r"[$`]", w)[0].strip() for w in want]


@pytest.mark.parametrize("name", sorted(slides.CLASSES))
def test_deck_has_the_plans_stops_in_order(decks, name):
    out, written = decks
    page = written[name].path.read_text(encoding="utf-8")
    parser = _Headings()
    parser.feed(page)
    got = parser.headings
    assert got[0].startswith("initlab: a ") and got[-1] == "Exit questions"
    at = 0
    for want in _expected_headings(slides.read_plan(TEACHING, slides.CLASSES[name])):
        found = next((i for i in range(at, len(got)) if got[i].startswith(want)), None)
        assert found is not None, f"{name}: {want!r} missing or out of order"
        at = found + 1
    assert "Deep dive:" not in page and "How we know:" not in page.replace("how we know: see below", "")
    assert "quiz.ask(" not in page, "a folded cell's code (a quiz's buttons) is shown"


@pytest.mark.parametrize("name", sorted(slides.CLASSES))
def test_deck_loads_nothing_from_the_network(decks, name):
    out, written = decks
    page = written[name].path.read_text(encoding="utf-8")
    remote = re.findall(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=[\"']((?:https?:)?//[^\"']+)",
                        page)
    assert not remote, remote
    assert not re.findall(r"@import\s+url\(\s*[\"']?(?:https?:)?//", page)
    assert "unpkg.com" not in page and "cdnjs" not in page and "cdn.jsdelivr" not in page
    for local in re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", page):
        assert (out / local).is_file(), f"{local} is not beside the deck"
    assert "application/vnd.jupyter.widget-view+json" not in page


# --- in a real browser, offline (make test-book) ---------------------------------------------------
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(decks):
    out, written = decks
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", written
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.mark.book
@pytest.mark.parametrize("name", sorted(slides.CLASSES))
def test_deck_opens_offline_and_reveal_initialises(served, playwright, name):
    base, written = served
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
    blocked, errors, failed = [], [], []
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 800})

        def route(r):
            if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(base + written[name].path.name, wait_until="load")
        page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=30_000)
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
        page.evaluate("MathJax.startup.promise")
        state = page.evaluate("""() => ({
            total: Reveal.getTotalSlides(),
            leaves: document.querySelectorAll('.reveal .slides section:not(:has(> section))').length,
            math: document.querySelectorAll('mjx-container').length,
            mathErrors: document.querySelectorAll('mjx-merror').length,
            title: document.querySelector('.reveal .slides section h1').textContent})""")
        page.evaluate("Reveal.slide(Reveal.getHorizontalSlides().length - 1)")
        last = page.evaluate("Reveal.getCurrentSlide().textContent")
    finally:
        browser.close()
    assert not blocked, f"requests that needed the network: {blocked}"
    assert not failed, failed
    assert not errors, errors
    assert state["total"] == state["leaves"] == written[name].slides > 20, state
    assert state["math"] > 10 and state["mathErrors"] == 0, state
    assert state["title"].startswith("initlab: a "), state
    assert "Exit questions" in last
