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
previous/next links in reading order, a page table of contents and the "Launch" note.

The checks are plain functions of what the page reports (page_problems), so they are tested
on a page broken on purpose (test_checks_catch_a_broken_page). Marked `book`: left out of
`make test`'s unit run. Without playwright, chromium or Sphinx the tests skip, unless
INITLAB_BROWSER_REQUIRED=1 (set by `make test-book`). INITLAB_BOOK_SCREENSHOT=docs/book.png
saves the README's picture of the book.
"""

from __future__ import annotations

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


def _expected_pages() -> list[dict]:
    """Every page in reading order: its path, its title and, for a notebook, its figure count."""
    pages = [{"page": "index.html", "title": _title((ROOT / "README.md").read_text())}]
    for nb in NOTEBOOKS:
        cells = _notebook_cells(nb)
        figures = sum("image/png" in out.get("data", {})
                      for cell in cells for out in cell.get("outputs", []))
        pages.append({"page": f"notebooks/{nb.stem}.html", "title": _title("".join(cells[0]["source"])),
                      "figures": figures, "notebook": nb.name})
    pages.append({"page": "docs/teaching.html", "title": _title((ROOT / "docs/teaching.md").read_text())})
    for i, page in enumerate(pages):
        page["prev"] = pages[i - 1]["page"] if i else None
        page["next"] = pages[i + 1]["page"] if i + 1 < len(pages) else None
    return pages


PAGES = _expected_pages()


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


@pytest.fixture(scope="module")
def server(book):
    """build/book/ served on 127.0.0.1 (free port); yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(book))
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
    finally:
        page.close()


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
<script>console.error("boom")</script>
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
                "notebook": "05_x.ipynb", "figures": 2}
    found = "\n".join(page_problems(report, expected, base, tmp_path))
    for fault in ["console error: boom", "needed the network: https://cdn.example.org/mathjax.js",
                  "math not typeset", "raw TeX in the text", "image did not load: missing.png",
                  "image without alt text: missing.png", "link to a missing file: no-such-page.html",
                  "link to a missing anchor: broken.html#no-such-anchor", "page title",
                  "heading '03 Not this one'", "shows 'Loading widget'", "shows 'model_id'",
                  "progress bar frozen at '0%|'", "prev link goes to None", "0 figures in the outputs",
                  "no page table of contents", "no Launch note"]:
        assert fault in found, f"not caught: {fault}\n{found}"


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
