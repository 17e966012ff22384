"""The static book reads right in a real browser with the network cut (make test-book).

What this protects: a reader without a kernel meets the series as build/book/ (`make book`:
the committed notebooks and their stored outputs, never executed). Each page is opened in
Debian's headless Chromium from a server on 127.0.0.1 while every other request is aborted,
and must show
- no console error and no request that needed the network;
- typeset math: MathJax ran (its elements are there, no MathJax error, no backslash left in a
  formula) and no raw $...$, \\( or \\[ is left in the prose;
- every <img> loaded, with alt text of its own (not the file name);
- every internal link resolving: its file exists and its #anchor is an id on that page;
- the notebook's own title ("# NN Title") as page title and heading;
- no output that only makes sense with a kernel: "Loading widget...", a widget model id, a
  progress bar frozen below 100% ("  0%|") (prose may name them: the README does);
and each notebook page: one figure per stored image output (a widget's PNG, not its view),
previous/next links in reading order, a page table of contents and the "Launch" note. The
book folds what JupyterLab folds (docs/authoring.md): on a core notebook's page each deep-dive
heading is shown and the cells under it are folded, closed, behind one toggle; a check cell's
code (`hide-input`) is folded while its "✓ ..." lines are shown; a deep-dive notebook is shown
unfolded, with a "Deep dive" note under its title and "(deep dive)" in the table of contents.
The expectations come from each notebook's own markup, so they hold for the notebooks as they
are converted; a small book of made-up notebooks (`sample_book`) has every kind of markup now,
and a reader clicks its toggles (test_deep_dive_opens_on_click, test_check_cell_code_opens_on_click).

The checks are plain functions of what the page reports (page_problems), so they are tested
on a page broken on purpose (test_checks_catch_a_broken_page). Marked `book`: left out of
`make test`'s unit run. Without playwright, chromium or Sphinx the tests skip, unless
INITLAB_BROWSER_REQUIRED=1 (set by `make test-book`). INITLAB_BOOK_SCREENSHOT=docs/book.png
saves the README's picture of the book, and test-artifacts/ gets pictures of the folds:
book-fold-sample.png (the made-up book's folded deep-dive part), book-fold-sample-open.png (the
same, opened) and, for each notebook page with a folded part, book-fold-<notebook>.png.
"""

from __future__ import annotations

import copy
import functools
import html.parser
import http.server
import importlib.util
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_FLAGS, require

# The Sphinx extensions' own deprecation notices (raised while the book builds) are not ours.
pytestmark = [pytest.mark.book, pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SCREENSHOT_PAGE = "notebooks/05_xavier_glorot.html"
SCREENSHOT_SECTION = "2.-Derive-it:-forward,-backward,-compromise"


def _title(markdown: str) -> str:
    return markdown.lstrip().splitlines()[0].removeprefix("# ").strip()


def _notebook_cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


# docs/authoring.md's markup, read here on its own (not through book/initlab_book.py, whose
# work these tests check)
DEEP_DIVE_HEADING = re.compile(r"^(##|###)\s+(?:Deep dive|How we know):")
HEADING_LINE = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
CHECK_LINE = "\u2713 "  # "✓ "


def _heading_level(cell: dict) -> int | None:
    if cell["cell_type"] != "markdown":
        return None
    m = HEADING_LINE.match("".join(cell["source"]).lstrip().split("\n", 1)[0])
    return len(m.group(1)) if m else None


def _fold_heading(cell: dict) -> tuple[int, str] | None:
    """(level, words) of a heading JupyterLab opens collapsed: its cell has the metadata
    jp-MarkdownHeadingCollapsed, or it is a "Deep dive:" / "How we know:" heading tagged deep-dive."""
    if cell["cell_type"] != "markdown":
        return None
    first = "".join(cell["source"]).lstrip().split("\n", 1)[0]
    m = HEADING_LINE.match(first)
    meta = cell.get("metadata", {})
    if m and (meta.get("jp-MarkdownHeadingCollapsed") or (
            DEEP_DIVE_HEADING.match(first) and "deep-dive" in meta.get("tags", []))):
        return len(m.group(1)), m.group(2)
    return None


def _plain(markdown: str) -> str:
    """A heading's words as a reader sees them: no emphasis, code marks or link targets."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    return " ".join(re.sub(r"\*\*|`", "", text).split())


def _folds(nb: dict) -> list[str]:
    """The headings of the deep-dive parts JupyterLab folds in a core notebook (a collapsed
    deep-dive heading with at least one cell under it), in page order."""
    if nb.get("metadata", {}).get("initlab", {}).get("path") == "deep-dive":
        return []
    cells, heads = nb["cells"], []
    for i, cell in enumerate(cells):
        fold = _fold_heading(cell)
        if fold:
            nxt = _heading_level(cells[i + 1]) if i + 1 < len(cells) else 0
            if nxt is None or nxt > fold[0]:  # a cell under it that is not a heading of its rank
                heads.append(_plain(fold[1]))
    return heads


def _checks(nb: dict) -> list[dict]:
    """Each code cell JupyterLab shows without its code (check cells): its "✓ ..." lines and
    whether a folded deep-dive part holds it."""
    out, fold_level = [], None
    deep_notebook = nb.get("metadata", {}).get("initlab", {}).get("path") == "deep-dive"
    for cell in nb["cells"]:
        level = _heading_level(cell)
        if level is not None and fold_level is not None and level <= fold_level:
            fold_level = None
        fold = _fold_heading(cell)
        if fold and not deep_notebook and fold_level is None:
            fold_level = fold[0]
            continue
        meta = cell.get("metadata", {})
        if cell["cell_type"] != "code" or not (
                "hide-input" in meta.get("tags", []) or meta.get("jupyter", {}).get("source_hidden")):
            continue
        text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream")
        out.append({"lines": [ln.strip() for ln in text.splitlines() if ln.startswith(CHECK_LINE)],
                    "in_fold": fold_level is not None})
    return out


def _expected_pages(readme: Path, notebooks: list[Path], teaching: Path | None) -> list[dict]:
    """Every page in reading order: its path, its title and, for a notebook, its figure count,
    its folded deep-dive parts, its check cells and whether it is a deep dive as a whole."""
    pages = [{"page": "index.html", "title": _title(readme.read_text())}]
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
        figures = sum("image/png" in out.get("data", {})
                      for cell in cells for out in cell.get("outputs", []))
        pages.append({"page": f"notebooks/{path.stem}.html", "title": _title("".join(cells[0]["source"])),
                      "figures": figures, "notebook": path.name, "folds": _folds(nb), "checks": _checks(nb),
                      "deep_dive": nb.get("metadata", {}).get("initlab", {}).get("path") == "deep-dive"})
    if teaching is not None:
        pages.append({"page": "docs/teaching.html", "title": _title(teaching.read_text())})
    for i, page in enumerate(pages):
        page["prev"] = pages[i - 1]["page"] if i else None
        page["next"] = pages[i + 1]["page"] if i + 1 < len(pages) else None
    return pages


PAGES = _expected_pages(ROOT / "README.md", NOTEBOOKS, ROOT / "docs/teaching.md")


# --- the checks: plain functions of what a page reported ---------------------------------------

RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\)|\\\[|\\\]|\$\$")
FROZEN_BAR = re.compile(r"(?<![\d.])\d{1,2}(?:\.\d+)?%\|")  # tqdm below 100%: "  0%|", " 42%|"
NOT_FOR_A_STATIC_READER = ("Loading widget", "model_id", "Error displaying widget", WIDGET_VIEW)


class _Ids(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


@functools.cache
def ids_on(path: Path) -> frozenset[str]:
    """The fragment targets (id and name attributes) of an HTML file."""
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def link_problems(href: str, base_url: str, out: Path) -> list[str]:
    """What is wrong with one link on a page of the book served at base_url (nothing if external)."""
    if not href.startswith(base_url):
        return []
    parts = urllib.parse.urlsplit(href)
    rel = urllib.parse.unquote(parts.path[len(urllib.parse.urlsplit(base_url).path):]) or "index.html"
    target = out / rel
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return [f"link to a missing file: {rel}"]
    fragment = urllib.parse.unquote(parts.fragment)
    if fragment and target.suffix == ".html" and fragment not in ids_on(target):
        return [f"link to a missing anchor: {rel}#{fragment}"]
    return []


def page_problems(report: dict, expected: dict, base_url: str, out: Path) -> list[str]:
    """Everything a static reader would see broken on one page (see the module docstring)."""
    problems = [f"console error: {m}" for m in report["console_errors"]]
    problems += [f"needed the network: {u}" for u in report["blocked"]]
    if report["math_nodes"] and report["mathjax"] < report["math_nodes"]:
        problems.append(f"math not typeset: {report['mathjax']} of {report['math_nodes']} formulas")
    problems += [f"MathJax error: {e}" for e in report["math_errors"]]
    problems += [f"TeX left in a formula: {t[:80]!r}" for t in report["math_with_backslash"]]
    raw = RAW_TEX.search(report["prose"])
    if raw:
        at = raw.start()
        problems.append(f"raw TeX in the text: {report['prose'][max(0, at - 40):at + 40]!r}")
    for img in report["images"]:
        name = img["src"].rsplit("/", 1)[-1]
        if not img["loaded"]:
            problems.append(f"image did not load: {name}")
        alt = (img["alt"] or "").strip()
        if not alt or alt.rsplit("/", 1)[-1] == name:
            problems.append(f"image without alt text: {name}")
    for href in report["links"]:
        problems += link_problems(href, base_url, out)
    if report["title"].split(" \u2014 ")[0] != expected["title"]:
        problems.append(f"page title {report['title']!r}, expected {expected['title']!r}")
    if report["h1"] != expected["title"]:
        problems.append(f"heading {report['h1']!r}, expected {expected['title']!r}")
    for text in NOT_FOR_A_STATIC_READER:
        if text in report["outputs_text"] or text in report["outputs_html"]:
            problems.append(f"shows {text!r}")
    bar = FROZEN_BAR.search(report["outputs_text"])
    if bar:
        problems.append(f"progress bar frozen at {bar.group(0)!r}")
    for side in ("prev", "next"):
        want = expected.get(side)
        got = report[side]
        got = got[len(base_url):].split("#")[0] if got and got.startswith(base_url) else got
        if got != want:
            problems.append(f"{side} link goes to {got!r}, expected {want!r}")
    if "notebook" in expected:
        if report["output_images"] != expected["figures"]:
            problems.append(f"{report['output_images']} figures in the outputs, the notebook stores "
                            f"{expected['figures']}")
        if not report["page_toc"]:
            problems.append("no page table of contents")
        launch = report["launch"]
        if not launch or not all(w in launch for w in ("make lab", "make test", "Binder", "Colab")):
            problems.append(f"no Launch note with make lab, make test, Binder and Colab: {launch!r}")
        problems += fold_problems(report, expected)
    return problems


def _same_heading(expected: str, shown: str) -> bool:
    """A heading's text as the page shows it: compared without emphasis or code marks, quotes
    (the page curls them) or spaces, and math (typeset by MathJax) only up to its first $."""
    def bare(text: str) -> str:
        return re.sub(r"[\s*_`'\"\u2018\u2019\u201c\u201d]", "", text)
    return bare(shown).startswith(bare(expected.split("$", 1)[0]))


def fold_problems(report: dict, expected: dict) -> list[str]:
    """What JupyterLab folds and the page does not (see the module docstring)."""
    problems = []
    folds = report["folds"]
    if expected.get("deep_dive"):
        if folds:
            problems.append(f"a deep-dive notebook shown folded: {len(folds)} folds")
        if not report["deep_dive_note"]:
            problems.append("no Deep dive note on a deep-dive notebook")
        if "(deep dive)" not in (report["nav_label"] or ""):
            problems.append(f"table of contents does not mark the deep dive: {report['nav_label']!r}")
    else:
        if report["deep_dive_note"]:
            problems.append("a Deep dive note on a core notebook")
        if len(folds) != len(expected["folds"]):
            problems.append(f"{len(folds)} folded deep-dive parts, the notebook has {len(expected['folds'])}")
        for want, got in zip(expected["folds"], folds, strict=False):
            if not got["heading"] or not _same_heading(want, got["heading"]):
                problems.append(f"deep dive not folded: {want!r} (a fold under {got['heading']!r})")
            elif not got["heading_visible"]:  # (hidden inside a closed outer fold is fine)
                problems.append(f"deep-dive heading hidden: {want!r}")
            if got["open"] or got["body_visible"]:
                problems.append(f"deep dive shown unfolded: {want!r}")
            if not got["text"]:
                problems.append(f"deep-dive fold is empty: {want!r}")
    checks = report["checks"]
    if len(checks) != len(expected["checks"]):
        problems.append(f"{len(checks)} check cells with folded code, "
                        f"the notebook has {len(expected['checks'])}")
    for i, (want, got) in enumerate(zip(expected["checks"], checks, strict=False)):
        if got["code_visible"]:
            problems.append(f"check cell {i + 1} shows its code")
        if want["in_fold"] or not want["lines"]:
            continue
        shown = {" ".join(ln.split()) for ln in got["output_text"].splitlines()}
        missing = [ln for ln in want["lines"] if " ".join(ln.split()) not in shown]
        if missing:
            problems.append(f"check cell {i + 1} does not show its line {missing[0][:60]!r}")
    return problems


# --- the browser -------------------------------------------------------------------------------

# Waits for MathJax (if the page loads it), then reports what page_problems checks.
JS_REPORT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, new Promise((r) => setTimeout(r, 20000))]);
  }
  const article = document.querySelector('article.bd-article') || document.body;
  const visible = (el, drop) => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll(drop).forEach((e) => e.remove());
    return copy.textContent;
  };
  const mjx = [...document.querySelectorAll('mjx-container')];
  const outputs = [...article.querySelectorAll('.cell_output')];
  const h1 = article.querySelector('h1');
  const launch = [...article.querySelectorAll('.admonition')].find(
      (a) => (a.querySelector('.admonition-title') || {}).textContent?.startsWith('Launch'));
  const heading = (section) => {
    const h = section && section.querySelector(':scope > h1, :scope > h2, :scope > h3, :scope > h4');
    return h ? {text: visible(h, '.headerlink').trim(), visible: h.checkVisibility()} : null;
  };
  const folds = [...article.querySelectorAll('details.initlab-fold')].map((d) => {
    const h = heading(d.parentElement.closest('section'));
    const body = d.querySelector(':scope > .initlab-fold-body');
    const outer = d.parentElement.closest('details.initlab-fold');
    return {heading: h && h.text, heading_visible: !!h && (h.visible || (!!outer && !outer.open)),
            open: d.open, body_visible: !!body && body.checkVisibility(),
            text: body ? body.textContent.trim().length : 0};
  });
  const checks = [...article.querySelectorAll('div.cell.tag_hide-input')].map((c) => {
    const input = c.querySelector('.cell_input');
    const out = c.querySelector('.cell_output');
    const shown = !!out && out.checkVisibility();
    return {code_visible: !!input && input.checkVisibility(), output_text: shown ? out.innerText : ''};
  });
  const note = [...article.querySelectorAll('.admonition')].find(
      (a) => (a.querySelector('.admonition-title') || {}).textContent?.trim() === 'Deep dive');
  const navCurrent = document.querySelector('.bd-sidebar-primary a.current');
  const prev = document.querySelector('.prev-next-area a.left-prev');
  const next = document.querySelector('.prev-next-area a.right-next');
  return {
    title: document.title,
    h1: h1 ? visible(h1, '.headerlink').trim() : null,
    outputs_text: outputs.map((o) => o.innerText).join('\\n'),
    outputs_html: outputs.map((o) => o.innerHTML).join('\\n'),
    prose: visible(article, 'mjx-container, pre, code, script, style, .MathJax'),
    math_nodes: article.querySelectorAll('span.math, div.math').length,
    mathjax: mjx.length,
    math_errors: [...document.querySelectorAll('mjx-merror')].map(
        (e) => e.getAttribute('data-mjx-error') || e.textContent),
    math_with_backslash: mjx.map((c) => visible(c, 'mjx-assistive-mml')).filter((t) => t.includes('\\\\')),
    images: [...document.images].map((i) => ({src: i.src, alt: i.getAttribute('alt'),
                                              loaded: i.complete && i.naturalWidth > 0})),
    output_images: article.querySelectorAll('.cell_output img').length,
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    prev: prev ? prev.href : null,
    next: next ? next.href : null,
    page_toc: document.querySelectorAll('.bd-sidebar-secondary .toc-entry a').length,
    launch: launch ? launch.textContent : null,
    folds: folds,
    checks: checks,
    deep_dive_note: note ? note.textContent : null,
    nav_label: navCurrent ? navCurrent.textContent.trim() : null,
  };
}"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test reports problems itself
        pass


@pytest.fixture(scope="module")
def book():
    """The freshly built book (book/build_book.py, as `make book` runs it): its output folder."""
    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_nb") is None:
        require("Sphinx or myst-nb missing: run `make book-deps`")
    import build_book as book_build

    t0 = time.perf_counter()
    status = book_build.build()
    seconds = time.perf_counter() - t0
    assert status == 0, "the book did not build without warnings (see Sphinx's messages above)"
    print(f"\nbook built in {seconds:.1f} s: {len(book_build.pages_of())} pages")
    return book_build.OUT


def _serve(directory: Path):
    """`directory` served on 127.0.0.1 (free port); yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(book):
    """build/book/ served on 127.0.0.1 (free port); yields its base URL."""
    yield from _serve(book)


# --- a small book of made-up notebooks with every kind of markup docs/authoring.md defines ------

PNG_4X4 = ("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGNoUFCAIwbiOAA+QwwBV0erQgAAAABJ"
           "RU5ErkJggg==")
FOLDED_PROSE = "FOLDED-PROSE-7431"
FOLDED_OUTPUT = "FOLDED-OUTPUT-2917"
NESTED = "NESTED-4410"
CHECK_SHOWN = "\u2713 x is one: margin 0.0"
CHECK_IN_FOLD = "\u2713 the folded check holds: margin 1.0"


def _md(source: str, tags: tuple[str, ...] = (), collapsed: bool = False) -> dict:
    meta = {"tags": list(tags)} if tags else {}
    if collapsed:
        meta["jp-MarkdownHeadingCollapsed"] = True
    return {"cell_type": "markdown", "metadata": meta, "source": source}


def _code(source: str, text: str, tags: tuple[str, ...] = (), png: bool = False) -> dict:
    meta = {"tags": list(tags)} if tags else {}
    if "hide-input" in tags:
        meta["jupyter"] = {"source_hidden": True}
    outputs = [{"output_type": "stream", "name": "stdout", "text": text}]
    if png:
        outputs.append({"output_type": "display_data", "metadata": {},
                        "data": {"image/png": PNG_4X4, "text/plain": "<Figure size 40x40 with 1 Axes>"}})
    return {"cell_type": "code", "metadata": meta, "source": source, "execution_count": 1,
            "outputs": outputs}


def _sample_notebook(path: str, cells: list[dict]) -> dict:
    for i, cell in enumerate(cells):
        cell["id"] = f"c{i}"
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells, "metadata": {
        "initlab": {"path": path},
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}


SAMPLE_CORE = _sample_notebook("core", [
    _md("# 90 A made-up core notebook\n*What does the book fold?*"),
    _md("## 1. Core section\nCore prose the reader sees."),
    _code("x = 1.0\nprint(x)", "1.0\n"),
    _code("assert x == 1.0, 'x is one'\nprint('" + CHECK_SHOWN + "')", CHECK_SHOWN + "\n",
          tags=("hide-input",)),
    _md("## How we know: the folded part\nThe words of the heading cell stay in view.",
        tags=("deep-dive",), collapsed=True),
    _md(f"Folded prose: {FOLDED_PROSE}, with math $x^2$.\n\n### A subsection in the fold\nMore words.",
        tags=("deep-dive",)),
    _code(f"# figure: a made-up figure in the fold\nprint('{FOLDED_OUTPUT}')", FOLDED_OUTPUT + "\n",
          tags=("deep-dive",), png=True),
    _code("assert x > 0, 'x is positive'\nprint('" + CHECK_IN_FOLD + "')", CHECK_IN_FOLD + "\n",
          tags=("deep-dive", "hide-input")),
    _md("### Deep dive: a nested part\nIts heading cell.", tags=("deep-dive",), collapsed=True),
    _md(f"{NESTED} folded twice.", tags=("deep-dive",)),
    _md("## 2. Back on the core path\nCORE-AFTER-5512, in view."),
])
SAMPLE_DEEP = _sample_notebook("deep-dive", [
    _md("# 91 A made-up deep-dive notebook\n*Off the core path.*"),
    _md("## How we know: shown unfolded here\nDEEP-NOTEBOOK-6620, in view.", tags=("deep-dive",),
        collapsed=True),
    _code("print(2)", "2\n"),
])
SAMPLE_INDEX = """# A made-up book

The landing page of the made-up book.

## Without make

(The Launch note links here.)

```{toctree}
:glob:

notebooks/[0-9][0-9]_*
```
"""


@pytest.fixture(scope="module")
def sample_book(tmp_path_factory):
    """The made-up notebooks built into a book by book/build_book.py, as `make book` builds the
    real one; yields (output folder, expected pages)."""
    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_nb") is None:
        require("Sphinx or myst-nb missing: run `make book-deps`")
    import build_book as book_build

    tmp = tmp_path_factory.mktemp("sample-book")
    src = tmp / "src"
    (src / "notebooks").mkdir(parents=True)
    (src / "index.md").write_text(SAMPLE_INDEX)
    notebooks = []
    for name, nb in (("90_sample_core", SAMPLE_CORE), ("91_sample_deep", SAMPLE_DEEP)):
        notebooks.append(src / "notebooks" / f"{name}.ipynb")
        notebooks[-1].write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    out = tmp / "out"
    assert book_build.build(out, fresh=True, src=src) == 0, "the made-up book did not build without warnings"
    return out, _expected_pages(src / "index.md", notebooks, None)


@pytest.fixture(scope="module")
def sample_server(sample_book):
    yield from _serve(sample_book[0])


@pytest.fixture(scope="module")
def sample_reader(sample_server, browser):
    r = Reader(browser, sample_server)
    yield r
    r.close()


@pytest.fixture(scope="module")
def browser(playwright):
    """Debian's chromium driven by playwright (headless)."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
    try:
        yield chromium
    finally:
        chromium.close()


class Reader:
    """One browser profile (its cache shared from page to page, as a reader's is) in which only
    URLs starting with `allowed` are served; every other request is aborted and recorded."""

    def __init__(self, browser, allowed: str) -> None:
        self.allowed = allowed
        self.blocked: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(30_000)
        self.context.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.allowed) or url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def read(self, url: str, keep_open: bool = False):
        """Open `url`, wait for MathJax and return the page's report (and the page if kept open)."""
        self.blocked.clear()
        errors: list[str] = []
        page = self.context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(url, wait_until="load")
            report = page.evaluate(JS_REPORT)
            page.wait_for_timeout(50)  # late console messages
        except Exception:
            page.close()
            raise
        report = {**report, "console_errors": list(errors), "blocked": list(self.blocked)}
        if keep_open:
            return report, page
        page.close()
        return report

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def reader(server, browser):
    """A reader of the book as served on 127.0.0.1, with the network cut."""
    r = Reader(browser, server)
    yield r
    r.close()


@pytest.mark.parametrize("expected", PAGES, ids=lambda p: p["page"].removesuffix(".html"))
def test_page_reads_right_offline(expected, book, server, reader):
    report, page = reader.read(server + expected["page"], keep_open=True)
    try:
        problems = page_problems(report, expected, server, book)
        if problems:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"book-{Path(expected['page']).stem}.png", full_page=True)
        assert not problems, f"{expected['page']}:\n  " + "\n  ".join(problems)
        shot = os.environ.get("INITLAB_BOOK_SCREENSHOT")
        if shot and expected["page"] == SCREENSHOT_PAGE:
            page.evaluate("(id) => document.getElementById(id).scrollIntoView()", SCREENSHOT_SECTION)
            page.mouse.move(0, 0)
            page.wait_for_timeout(300)
            page.screenshot(path=ROOT / shot)
        if shot and report.get("folds"):
            _shoot_fold(page, _fold_picture(Path(expected["page"]).stem))
    finally:
        page.close()


def _fold_picture(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"book-fold-{name}.png"


def _shoot_fold(page, path: Path, index: int = 0) -> None:
    """A screenshot of the page scrolled to its index-th fold's heading."""
    page.evaluate("""(i) => {
        const d = document.querySelectorAll('details.initlab-fold')[i];
        const h = d.parentElement.closest('section').querySelector(':scope > h2, :scope > h3');
        (h || d).scrollIntoView();
    }""", index)
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    page.screenshot(path=path)


def test_book_opens_from_a_file(book, browser):
    """`open build/book/index.html` (no server) works too: the landing page and a notebook."""
    r = Reader(browser, book.as_uri() + "/")
    try:
        for rel in ("index.html", "notebooks/04_signal_propagation.html"):
            report = r.read((book / rel).as_uri())
            assert not report["console_errors"] and not report["blocked"], (rel, report["console_errors"],
                                                                             report["blocked"])
            assert report["mathjax"] >= report["math_nodes"], (rel, report["mathjax"])
            assert rel == "index.html" or report["math_nodes"] > 0, "the notebook page has math"
            assert all(img["loaded"] for img in report["images"]), (rel, report["images"])
    finally:
        r.close()


def test_every_notebook_is_a_page(book):
    """The book has a page per notebook (10 and 11 included once they exist) and no stray one."""
    built = sorted(p.relative_to(book).as_posix() for p in book.glob("notebooks/*.html"))
    assert built == [p["page"] for p in PAGES if "notebook" in p]


BROKEN_PAGE = """<!DOCTYPE html><html><head><title>Wrong title &#8212; initlab</title>
<script src="https://cdn.example.org/mathjax.js"></script></head><body>
<article class="bd-article"><h1>03 Not this one<a class="headerlink" href="#x">#</a></h1>
<p>Some raw $x^2$ and \\(y\\).</p><p><span class="math">\\(z\\)</span></p>
<img src="missing.png" alt="missing.png"><img src="data:image/png;base64,iVBORw0KGgo=" alt="">
<a href="no-such-page.html">dangling</a> <a href="broken.html#no-such-anchor">no anchor</a>
<div class="cell_output"><p>Loading widget...</p><pre>  0%|          | 0/12 [00:00&lt;?, ?it/s]</pre>
<script type="application/vnd.jupyter.widget-view+json">{"model_id": "abc"}</script></div>
<section><h2>How we know: A</h2><details class="initlab-fold" open><summary>open</summary>
<div class="initlab-fold-body"><p>shown at load</p></div></details></section>
<section><h2>Something else</h2><details class="initlab-fold"><summary>closed</summary>
<div class="initlab-fold-body"><p>folded under the wrong heading</p></div></details></section>
<section><h2 style="display:none">Deep dive: C</h2><details class="initlab-fold"><summary>x</summary>
<div class="initlab-fold-body"></div></details></section>
<div class="cell tag_hide-input"><div class="cell_input"><pre>assert x</pre></div>
<div class="cell_output"><pre>no tick here</pre></div></div>
<div class="admonition note"><p class="admonition-title">Deep dive</p><p>On a core page.</p></div>
<script>console.error("boom")</script>
</article></body></html>"""
BROKEN_DEEP_PAGE = """<!DOCTYPE html><html><head><title>01 Deep &#8212; initlab</title></head><body>
<nav class="bd-sidebar-primary"><a class="current" href="#">01 Deep</a></nav>
<article class="bd-article"><h1>01 Deep</h1>
<section><h2>How we know: folded, but should not be</h2><details class="initlab-fold"><summary>x</summary>
<div class="initlab-fold-body"><p>hidden</p></div></details></section>
</article></body></html>"""


def test_checks_catch_a_broken_page(tmp_path, browser):
    """page_problems flags each fault of a page broken on purpose (so every check can fail)."""
    (tmp_path / "broken.html").write_text(BROKEN_PAGE)
    base = tmp_path.as_uri() + "/"
    r = Reader(browser, base)
    try:
        report = r.read(base + "broken.html")
    finally:
        r.close()
    expected = {"title": "05 Right title", "prev": "notebooks/04_x.html", "next": None,
                "notebook": "05_x.ipynb", "figures": 2, "deep_dive": False,
                "folds": ["How we know: A", "Deep dive: B", "Deep dive: C", "Deep dive: D"],
                "checks": [{"lines": ["\u2713 one: margin 1"], "in_fold": False},
                           {"lines": ["\u2713 two"], "in_fold": False}]}
    found = "\n".join(page_problems(report, expected, base, tmp_path))
    for fault in ["console error: boom", "needed the network: https://cdn.example.org/mathjax.js",
                  "math not typeset", "raw TeX in the text", "image did not load: missing.png",
                  "image without alt text: missing.png", "link to a missing file: no-such-page.html",
                  "link to a missing anchor: broken.html#no-such-anchor", "page title",
                  "heading '03 Not this one'", "shows 'Loading widget'", "shows 'model_id'",
                  "progress bar frozen at '0%|'", "prev link goes to None", "0 figures in the outputs",
                  "no page table of contents", "no Launch note",
                  "3 folded deep-dive parts, the notebook has 4",
                  "deep dive shown unfolded: 'How we know: A'",
                  "deep dive not folded: 'Deep dive: B' (a fold under 'Something else')",
                  "deep-dive heading hidden: 'Deep dive: C'", "deep-dive fold is empty: 'Deep dive: C'",
                  "1 check cells with folded code, the notebook has 2", "check cell 1 shows its code",
                  "check cell 1 does not show its line '\u2713 one: margin 1'",
                  "a Deep dive note on a core notebook"]:
        assert fault in found, f"not caught: {fault}\n{found}"


def test_checks_catch_a_folded_deep_dive_notebook(tmp_path, browser):
    """A deep-dive notebook must be shown unfolded, with its note and its mark in the contents."""
    (tmp_path / "deep.html").write_text(BROKEN_DEEP_PAGE)
    base = tmp_path.as_uri() + "/"
    r = Reader(browser, base)
    try:
        report = r.read(base + "deep.html")
    finally:
        r.close()
    found = "\n".join(fold_problems(report, {"deep_dive": True, "folds": [], "checks": []}))
    for fault in ["a deep-dive notebook shown folded: 1 folds", "no Deep dive note on a deep-dive notebook",
                  "table of contents does not mark the deep dive: '01 Deep'"]:
        assert fault in found, f"not caught: {fault}\n{found}"
    assert not fold_problems(report, {"deep_dive": False, "folds": ["How we know: folded"], "checks": []})
    assert _same_heading("Deep dive: A's `init_`", "Deep dive: A\u2019s init_")
    assert not _same_heading("Deep dive: B", "Deep dive: C")


# --- the made-up book: what a reader sees and clicks ----------------------------------------------

def test_sample_markup_is_read_as_jupyterlab_folds():
    """The expectations: two folded parts in the core notebook (one inside the other), none in
    the deep-dive one; two check cells, the second inside the fold."""
    assert _folds(SAMPLE_CORE) == ["How we know: the folded part", "Deep dive: a nested part"]
    assert _folds(SAMPLE_DEEP) == []
    assert _checks(SAMPLE_CORE) == [{"lines": [CHECK_SHOWN], "in_fold": False},
                                    {"lines": [CHECK_IN_FOLD], "in_fold": True}]


def test_sample_pages_read_right(sample_book, sample_server, sample_reader):
    """Every check above passes on the made-up book: it has one of each kind of markup."""
    out, pages = sample_book
    for expected in pages:
        report = sample_reader.read(sample_server + expected["page"])
        problems = page_problems(report, expected, sample_server, out)
        assert not problems, f"{expected['page']}:\n  " + "\n  ".join(problems)
    deep = sample_reader.read(sample_server + "notebooks/91_sample_deep.html")
    assert deep["nav_label"] == "91 A made-up deep-dive notebook (deep dive)"
    assert "DEEP-NOTEBOOK-6620" in deep["prose"] and not deep["folds"]


def _visible(page, text: str) -> bool:
    """Whether any element of the article with `text` is in view (a check line is also in the
    cell's hidden code, a subsection's title also in the page's table of contents)."""
    found = page.locator("article.bd-article").get_by_text(text, exact=False)
    return any(found.nth(i).is_visible() for i in range(found.count()))


def test_deep_dive_opens_on_click(sample_server, sample_reader):
    """A folded deep-dive part: its heading (the whole heading cell) is in view, the cells under
    it are not, until its toggle is clicked; then they are, a check cell among them still
    without its code, and a deep-dive part inside it still folded."""
    report, page = sample_reader.read(sample_server + "notebooks/90_sample_core.html", keep_open=True)
    shot = os.environ.get("INITLAB_BOOK_SCREENSHOT")
    try:
        assert page.get_by_role("heading", name="How we know: the folded part").is_visible()
        assert _visible(page, "The words of the heading cell stay in view.")
        assert _visible(page, "CORE-AFTER-5512")
        toggles = page.locator("details.initlab-fold > summary")
        toggle, nested = toggles.nth(0), toggles.nth(1)
        assert toggles.count() == 2 and toggle.inner_text().strip() == "5 cells hidden: show them"
        for hidden in (FOLDED_PROSE, FOLDED_OUTPUT, "A subsection in the fold", CHECK_IN_FOLD,
                       "Deep dive: a nested part", NESTED):
            assert not _visible(page, hidden), f"{hidden!r} is in view before the toggle is clicked"
        if shot:
            _shoot_fold(page, _fold_picture("sample"))
        toggle.click()
        for shown in (FOLDED_PROSE, FOLDED_OUTPUT, "A subsection in the fold", CHECK_IN_FOLD):
            assert _visible(page, shown), f"{shown!r} still hidden after the toggle was clicked"
        assert toggle.inner_text().strip() == "Hide these 5 cells"
        assert _visible(page, "Deep dive: a nested part") and not _visible(page, NESTED), "nested part"
        assert nested.inner_text().strip() == "1 cell hidden: show them"
        nested.click()
        assert _visible(page, NESTED), "the nested part does not open"
        image = page.locator("details.initlab-fold img").first
        assert image.is_visible() and image.evaluate("(i) => i.complete && i.naturalWidth > 0")
        assert not _visible(page, "assert x > 0"), "the folded check cell shows its code"
        if shot:
            _shoot_fold(page, _fold_picture("sample-open"))
        toggle.click()
        assert not _visible(page, FOLDED_PROSE), "the toggle does not fold the part again"
    finally:
        page.close()


def test_check_cell_code_opens_on_click(sample_server, sample_reader):
    """A check cell (hide-input): its ✓ line in view, its code folded behind myst-nb's toggle."""
    report, page = sample_reader.read(sample_server + "notebooks/90_sample_core.html", keep_open=True)
    try:
        assert _visible(page, CHECK_SHOWN)
        assert not _visible(page, "assert x == 1.0")
        cell = page.locator("div.cell.tag_hide-input").first
        cell.locator("summary").first.click()
        assert _visible(page, "assert x == 1.0"), "the check cell's code does not open"
    finally:
        page.close()


def test_checks_pass_a_finished_bar_and_plain_dollars():
    """No false alarm: a finished bar (100%|) and text without TeX pass."""
    assert not FROZEN_BAR.search("100%|##########| 12/12 [00:01<00:00]")
    assert FROZEN_BAR.search(" 42%|####      | 5/12")
    assert not RAW_TEX.search("costs 5 dollars, not $ 5")
    assert RAW_TEX.search("Var is $x$")


# --- what book/initlab_book.py makes of stored outputs (no browser needed) ---------------------

def _widget_output(**data) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {WIDGET_VIEW: {"model_id": "0123abcd", "version_major": 2}, **data}}


def test_static_outputs_keep_figures_and_drop_what_needs_a_kernel():
    import initlab_book as ib

    explorer = ib.static_output(_widget_output(**{"image/png": "iVBOR", "text/plain": "Explorer: depth 10"}))
    assert explorer["data"] == {"image/png": "iVBOR", "text/plain": "Explorer: depth 10"}
    bar = _widget_output(**{"text/plain": "  0%|          | 0/12 [00:00<?, ?it/s]"})
    assert ib.static_output(bar) is None
    stream = {"output_type": "stream", "name": "stderr",
              "text": "  0%|   | 0/3\r 33%|#  | 1/3\r100%|###| 3/3\ndone\n"}
    assert ib.static_output(stream)["text"] == "100%|###| 3/3\ndone\n"
    plain = {"output_type": "execute_result", "metadata": {}, "data": {"text/plain": "0.0833"}}
    assert ib.static_output(plain) == plain


def test_figures_get_alt_text_and_notebooks_a_launch_note():
    import initlab_book as ib

    png = {"output_type": "display_data", "metadata": {},
           "data": {"image/png": "iVBOR", "text/plain": "<Figure size 480x272 with 1 Axes>"}}
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "t", "metadata": {}, "source": "# 01 Title\n*Question?*"},
        {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1,
         "source": "# figure: the error falls on the 1/sqrt(N) line\nplot()", "outputs": [png]},
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 2,
         "source": "plot()", "outputs": [png]},
        {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 3, "source": "explorer",
         "outputs": [_widget_output(**{"image/png": "iVBOR", "text/plain": "Explorer: N = 1,000"})]},
    ]}
    out = ib.static_notebook(nb, "01_x.ipynb")
    assert nb["cells"][1]["metadata"] == {}, "the input notebook is left unchanged"
    cells = out["cells"]
    assert cells[1]["id"] == "initlab-book-launch" and "make lab" in cells[1]["source"]
    assert "`notebooks/01_x.ipynb`" in cells[1]["source"]
    alts = [c["metadata"]["mystnb"]["image"]["alt"] for c in cells[2:]]
    assert alts == ["Figure: the error falls on the 1/sqrt(N) line", "Figure of cell 2 of 01_x.ipynb",
                    "Explorer: N = 1,000"]
    nb44 = {**nb, "nbformat_minor": 4}
    assert "id" not in ib.static_notebook(nb44, "01_x.ipynb")["cells"][1]


def test_heading_slugs_are_jupyterlabs():
    """The cheat sheet's links use JupyterLab's anchors; the book makes the same ones."""
    import initlab_book as ib

    assert ib.jupyterlab_slug("1. Seed 000's demo: three layers") == "1.-Seed-000's-demo:-three-layers"


def test_folds_follow_jupyterlab_and_the_deep_dive_markup():
    """What initlab_book folds: the cells under a collapsed (or tagged deep-dive) heading, up to
    the next heading of the same or a higher level; never in a deep-dive notebook."""
    import initlab_book as ib

    cells = SAMPLE_CORE["cells"]
    assert ib.folded_runs(cells) == [(4, 10), (8, 10)]
    out = ib.static_notebook(SAMPLE_CORE, "90_sample_core.ipynb")["cells"]
    heading = out[5]["source"]  # the launch note went in at 1
    assert heading.startswith("## How we know: the folded part\nThe words of the heading cell")
    assert heading.endswith("```{initlab-fold}\n:cells: 5\n```\n")
    assert [c["metadata"].get("tags") for c in out if c["cell_type"] == "code"][1] == ["hide-input"]
    untagged = copy.deepcopy(SAMPLE_CORE)
    del untagged["cells"][3]["metadata"]["tags"]  # JupyterLab hides by source_hidden alone
    assert "hide-input" in ib.static_notebook(untagged, "x.ipynb")["cells"][4]["metadata"]["tags"]
    # a ### heading inside the heading cell: the marker goes before it, so its section folds too
    marked = ib.with_fold_marker("## Deep dive: d\nwords\n```\n# not a heading\n```\n### sub\nmore", 2)
    assert marked.index("initlab-fold") < marked.index("### sub")
    assert marked.index("# not a heading") < marked.index("initlab-fold")
    # a collapsed heading of any kind folds, a deep-dive one without metadata or tag does not
    plain = {"cell_type": "markdown", "metadata": {}, "source": "## Deep dive: x"}
    assert not ib.folds_here(plain)
    assert ib.folds_here({**plain, "metadata": {"jp-MarkdownHeadingCollapsed": True}})
    assert ib.folded_runs([{**plain, "metadata": {"tags": ["deep-dive"]}}, plain]) == [(0, 1)]
    deep = ib.static_notebook(SAMPLE_DEEP, "91_sample_deep.ipynb")["cells"]
    assert deep[1]["id"] == "initlab-book-deep-dive" and "deep dive" in deep[1]["source"]
    assert not any("initlab-fold" in "".join(c["source"]) for c in deep)


def test_contents_mark_deep_dive_notebooks():
    import initlab_book as ib

    index = "```{include} README.md\n```\n\n```{toctree}\n:hidden:\n:glob:\n\nnotebooks/[0-9][0-9]_*\n```\n"
    out = ib.labelled_toctree(index, [("notebooks/00_a", "00 A", False), ("notebooks/01_b", "01 B", True)])
    assert out.endswith("```{toctree}\n:hidden:\n\nnotebooks/00_a\n01 B (deep dive) <notebooks/01_b>\n```\n")
    other = "```{toctree}\n\ndocs/teaching\n```\n"
    assert ib.labelled_toctree(other, [("notebooks/01_b", "01 B", True)]) == other


def test_quizzes_answer_offline(book, server, reader):
    """Every quiz of helpers.quiz is on its notebook's page, visible, and answers a click with
    the network cut: a wrong pick says so and locks the choices, the right one says right, a
    number typed into a numeric quiz is judged by the quiz's tolerance (the JavaScript the page
    stores runs in the book, which never executes the notebooks)."""
    from helpers import quiz

    pages = {q.notebook: next(p["page"] for p in PAGES if Path(p["page"]).name.startswith(q.notebook))
             for q in quiz.QUIZZES.values()}
    for number, page_name in sorted(set(pages.items())):
        _, page = reader.read(server + page_name, keep_open=True)
        try:
            for quiz_id, q in quiz.QUIZZES.items():
                if q.notebook != number:
                    continue
                box = page.locator(f'.initlab-quiz[data-quiz="{quiz_id}"]')
                assert box.count() == 1 and box.is_visible(), f"{page_name}: quiz {quiz_id} not shown once"
                feedback = box.locator("[data-role=feedback]")
                if q.choices:
                    wrong = next(c.text for c in q.choices if c.text != q.answer)
                    box.locator("button", has_text=wrong).first.click()
                    assert feedback.inner_text() == quiz.feedback(quiz_id, False), quiz_id
                    assert all(box.locator("button").evaluate_all("bs => bs.map(b => b.disabled)")), quiz_id
                else:
                    box.locator("input").fill(f"{float(q.answer):g}")
                    box.locator("input").press("Enter")
                    assert feedback.inner_text() == quiz.feedback(quiz_id, True), quiz_id
            # a right pick, on a fresh copy of the page
            page.reload()
            first = next(k for k, q in quiz.QUIZZES.items() if q.notebook == number and q.choices) \
                if any(q.choices for q in quiz.QUIZZES.values() if q.notebook == number) else None
            if first:
                box = page.locator(f'.initlab-quiz[data-quiz="{first}"]')
                box.locator('button[data-right="1"]').click()
                assert box.locator("[data-role=feedback]").inner_text() == quiz.feedback(first, True), first
            assert not reader.blocked, f"{page_name}: a quiz fetched {reader.blocked}"
        finally:
            page.close()
