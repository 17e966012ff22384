"""Every notebook follows the markup of docs/authoring.md, as far as a script can tell.

What this protects: JupyterLab, the book, `make reading-time` and the tests agree on what a
learner reads first only if the notebooks are marked up one way. Each rule is a plain function
of a notebook (its JSON as a dict) that returns what is wrong, so every rule is also tested on a
small notebook broken on purpose (the `test_rule_*` tests at the end: each rule can fail).

The rules, per notebook:
- metadata: `{"initlab": {"path": "core" | "deep-dive"}}`, and it agrees with the core-path table
  of docs/authoring.md where the table names the notebook;
- deep dives (core notebooks): a part starting at a "## / ### Deep dive: ..." or "How we know: ..."
  heading is tagged `deep-dive` cell by cell up to the next heading of the same or a higher level,
  its heading cell has `jp-MarkdownHeadingCollapsed: true`, the heading is its cell's first line,
  and no `deep-dive` tag is found outside such a part;
- check cells: a code cell with an `assert` statement carries the tag `hide-input` and the
  metadata `jupyter.source_hidden`, its asserts keep their messages, and its stored output has a
  line starting "✓ "; the tag and the metadata go together on every code cell;
- references: a `## References` section, before `## Next` where there is one, with at least one
  entry; each entry has a link of a stable kind (STABLE_LINKS, the one list) or is a source
  article's reference line; no link twice; a source article named in prose by its short name is
  listed by its title;
- "seed" means a random seed only: no "seed 003", "Seed 001" or "seed articles" in markdown or
  outputs;
- time: a "Time: ~N min (deep dives: ~M min more)" line whose minutes are within 30% (or 3 min) of
  what tests/tools/reading_time.py measures, for the core path and the deep dives;
- bookkeeping: under 3% of core prose sentences (reading_time.bookkeeping);
- quizzes: a quiz cell (code calling `quiz.ask("ID")`) has its input hidden (tag and metadata),
  follows a markdown "Predict, then run" prompt on the core path, asks an ID no other quiz cell
  of the series asks, and a later check cell of its notebook asserts `quiz.agrees("ID", ...)`;
and over the series: the core path (the sum of core minutes, measured) takes at most 120 min.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))
from reading_time import RUN_SECONDS, Part, bookkeeping, measure  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PATHS = ("core", "deep-dive")
DEEP_TAG, HIDE_TAG, COLLAPSED = "deep-dive", "hide-input", "jp-MarkdownHeadingCollapsed"
CHECK_MARK = "\u2713 "  # "✓ "
CORE_PATH_MINUTES = 120
TIME_TOLERANCE, TIME_SLACK_MIN = 0.30, 3.0
BOOKKEEPING_SHARE = 0.03

# The kinds of link a reference may have: stable addresses of papers, course notes, code and
# documentation (host and path prefix, without scheme and "www."). The one list of them.
STABLE_LINKS = (
    "arxiv.org/abs/",
    "proceedings.mlr.press/",
    "doi.org/",
    "openreview.net/",
    "papers.nips.cc/",
    "proceedings.neurips.cc/",
    "cs231n.github.io/",
    "github.com/",
    "pytorch.org/docs/",
    "keras.io/",
    "youtube.com/",
    # the GPT-2 report has no arXiv entry or DOI: OpenAI's own copy is where every citation points
    "cdn.openai.com/better-language-models/",
)
# The five source articles: the short name prose uses -> words of the title its reference line
# has (docs/authoring.md, "Naming sources").
SOURCE_ARTICLES = {
    "source article on init std by layer": "结合图形理解初始化标准差",
    "source article touring parameter init": "A tour of parameter initialisation",
    "source article on the sigmoid sawtooth": "由sigmod权重曲线存在锯齿的探索",
    "source article on Keras initialisers": "gradient explosion and Keras",
    "source article on GlorotUniform": "使用GlorotUniform()与随机初始化方法初始化神经网络的权重",
}

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
DEEP_HEADING = re.compile(r"^#{1,6}\s+(Deep dive|How we know):", re.I)
SEED_ARTICLE = re.compile(r"\bseed[\s_-]*0\d\d\b|\bseed[\s-]+articles?\b", re.I)
TIME_LINE = re.compile(r"Time:\**\s*~?\s*(\d+(?:\.\d+)?)\s*min"
                       r"(?:[^\n]*?deep dives?:\s*~?\s*(\d+(?:\.\d+)?)\s*min)?", re.I)
LINK = re.compile(r"https?://[^\s)\]>\"'`]+")


# --- reading a notebook -------------------------------------------------------------------------

def _src(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _where(index: int, cell: dict) -> str:
    first = _src(cell).strip().split("\n", 1)[0]
    return f"cell {index} ({first[:50]!r})"


def headings(cell: dict) -> list[tuple[int, int, str]]:
    """(line number, level, text) of each heading of a markdown cell, outside code fences."""
    if cell.get("cell_type") != "markdown":
        return []
    out, in_fence = [], False
    for n, line in enumerate(_src(cell).splitlines()):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (m := HEADING.match(line)):
            out.append((n, len(m.group(1)), m.group(2)))
    return out


def path_of(nb: dict) -> str | None:
    return nb.get("metadata", {}).get("initlab", {}).get("path")


def _output_text(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(_src({"source": out.get("text", "")}))
        for mime in ("text/plain", "text/markdown", "text/html"):
            if mime in out.get("data", {}):
                parts.append(_src({"source": out["data"][mime]}))
    return "\n".join(parts)


def _markdown_lines(nb: dict) -> list[tuple[int, int | None, str]]:
    """Every line of the notebook's markdown in order: (cell index, heading level or None, line)."""
    out = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        levels = {n: level for n, level, _ in headings(cell)}
        out += [(i, levels.get(n), line) for n, line in enumerate(_src(cell).splitlines())]
    return out


def section(nb: dict, title: str) -> tuple[int, str] | None:
    """(position, text) of the level-2 section `title`: the lines from its heading to the next
    heading of level 1 or 2, across cells; position orders sections. None if there is none."""
    lines = _markdown_lines(nb)
    for at, (_, level, line) in enumerate(lines):
        if level == 2 and HEADING.match(line).group(2) == title:
            body = []
            for _, lv, ln in lines[at + 1:]:
                if lv is not None and lv <= 2:
                    break
                body.append(ln)
            return at, "\n".join(body)
    return None


# --- the rules: each returns what is wrong ------------------------------------------------------

def metadata_problems(nb: dict, table: dict[str, str] | None = None, number: str | None = None) -> list[str]:
    """The notebook says whether it is core or a deep dive, as the core-path table says."""
    path = path_of(nb)
    if path not in PATHS:
        return [f'metadata initlab.path is {path!r}: it must be "core" or "deep-dive" '
                '(docs/authoring.md, "Marking it up")']
    if table and number in table and table[number] != path:
        return [f"metadata initlab.path is {path!r}, the core-path table of docs/authoring.md "
                f"says {table[number]!r}"]
    return []


def deep_dive_problems(nb: dict) -> list[str]:
    """Each deep-dive part of a core notebook: a collapsed "Deep dive:" / "How we know:" heading
    as its cell's first line, every cell up to the next heading of the same or a higher level
    tagged deep-dive, and no deep-dive tag anywhere else."""
    if path_of(nb) != "core":
        return []
    problems, cells = [], nb["cells"]
    in_run = [False] * len(cells)
    for i, cell in enumerate(cells):
        heads = headings(cell)
        deep = [h for h in heads if DEEP_HEADING.match("#" * h[1] + " " + h[2])]
        if not deep:
            continue
        n, level, words = deep[0]
        if n != 0 or heads[0] != deep[0]:
            problems.append(f"{_where(i, cell)}: the heading {words!r} must be the first line of its cell")
            continue
        if level not in (2, 3):
            problems.append(f"{_where(i, cell)}: a deep-dive heading is ## or ###, not {'#' * level}")
        if not cell.get("metadata", {}).get(COLLAPSED):
            problems.append(f'{_where(i, cell)}: the heading cell needs the metadata "{COLLAPSED}": true')
        in_run[i] = True
        ends_inside = [h for h in heads[1:] if h[1] <= level]
        if ends_inside:
            problems.append(f"{_where(i, cell)}: the part ends inside its heading cell, at "
                            f"{ends_inside[0][2]!r}: split the cell there")
            continue
        for j in range(i + 1, len(cells)):
            later = headings(cells[j])
            if later and later[0][0] == 0 and later[0][1] <= level:
                break
            in_run[j] = True
            ends = [h for h in later if h[1] <= level]
            if ends:
                problems.append(f"{_where(j, cells[j])}: the deep-dive part {words!r} ends inside this cell, "
                                f"at {ends[0][2]!r}: split the cell there")
                break
    for i, cell in enumerate(cells):
        tagged = DEEP_TAG in _tags(cell)
        if in_run[i] and not tagged:
            problems.append(f"{_where(i, cell)}: in a deep-dive part but not tagged {DEEP_TAG!r}")
        elif tagged and not in_run[i]:
            problems.append(f"{_where(i, cell)}: tagged {DEEP_TAG!r} outside any deep-dive part "
                            "(a part starts at a \"Deep dive:\" or \"How we know:\" heading)")
    return problems


def _asserts(source: str) -> list[ast.Assert] | None:
    """The assert statements of a code cell (IPython's % and ! lines left out); None if the cell
    does not parse as Python."""
    lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return None
    return [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]


def check_cell_problems(nb: dict) -> list[str]:
    """A code cell that asserts is a check cell: input hidden (tag and metadata), every assert
    with its message, a "✓ " line in its stored output."""
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        meta = cell.get("metadata", {})
        tagged = HIDE_TAG in _tags(cell)
        hidden = bool(meta.get("jupyter", {}).get("source_hidden"))
        source = _src(cell)
        asserts = _asserts(source)
        if asserts is None:
            asserts = [None] * len(re.findall(r"^\s*assert\b", source, re.M))
        if tagged != hidden:
            problems.append(f"{_where(i, cell)}: the tag {HIDE_TAG!r} and the metadata jupyter.source_hidden "
                            "go together")
        if not asserts:
            continue
        if not tagged or not hidden:
            problems.append(f"{_where(i, cell)}: asserts, so it is a check cell: tag it {HIDE_TAG!r} and set "
                            "jupyter.source_hidden")
        bare = [a for a in asserts if a is not None and a.msg is None]
        if bare:
            problems.append(f"{_where(i, cell)}: {len(bare)} assert(s) without a message (line "
                            f"{bare[0].lineno}); a check cell's asserts keep their messages")
        if not any(ln.startswith(CHECK_MARK) for ln in _output_text(cell).splitlines()):
            problems.append(f"{_where(i, cell)}: a check cell prints a line starting {CHECK_MARK!r} per "
                            "claim; its stored output has none")
    return problems


QUIZ_ASK = re.compile(r"\bquiz\.ask\(\s*[\"']([^\"']+)[\"']")
QUIZ_AGREES = re.compile(r"\bassert\s+quiz\.agrees\(\s*[\"']([^\"']+)[\"']")


def quiz_problems(nb: dict, seen: dict[str, str] | None = None, name: str = "") -> list[str]:
    """A quiz cell hides its code, sits right under a core "Predict, then run" prompt, asks an
    id no other quiz cell asks (`seen`: id -> where, over the series) and is checked: a later
    check cell of the notebook asserts that its answer agrees with what the notebook measured."""
    problems, seen = [], {} if seen is None else seen
    cells = nb["cells"]
    for i, cell in enumerate(cells):
        ids = QUIZ_ASK.findall(_src(cell)) if cell["cell_type"] == "code" else []
        for quiz_id in ids:
            where = f"{name} {_where(i, cell)}".strip()
            if quiz_id in seen:
                problems.append(f"{where}: quiz {quiz_id!r} is also asked in {seen[quiz_id]}; ids are unique")
            seen[quiz_id] = where
            hidden = cell.get("metadata", {}).get("jupyter", {}).get("source_hidden")
            if HIDE_TAG not in _tags(cell) or not hidden:
                problems.append(f"{where}: a quiz cell hides its code: tag it {HIDE_TAG!r} and set "
                                "jupyter.source_hidden")
            above = cells[i - 1] if i else {"cell_type": "none", "source": ""}
            if above["cell_type"] != "markdown" or "Predict, then run" not in _src(above) \
                    or DEEP_TAG in _tags(above):
                problems.append(f"{where}: a quiz cell follows the core \"Predict, then run\" prompt it asks")
            later = [c for c in cells[i + 1:] if c["cell_type"] == "code"]
            if not any(quiz_id in QUIZ_AGREES.findall(_src(c)) for c in later):
                problems.append(f"{where}: no later check cell asserts quiz.agrees({quiz_id!r}, ...): the "
                                "quiz's answer must be what the notebook measures")
    return problems


def list_items(text: str) -> list[str]:
    """The items of a Markdown bullet list, each with its indented continuation lines joined."""
    items: list[str] = []
    open_item = False
    for line in text.splitlines():
        bullet = re.match(r"^\s{0,3}[-*+]\s+(.*)$", line)
        if bullet:
            items.append(bullet.group(1).strip())
            open_item = True
        elif open_item and line.strip() and line[:1].isspace():
            items[-1] += " " + line.strip()
        else:
            open_item = bool(line.strip()) and open_item
    return items


def is_stable_link(url: str) -> bool:
    bare = re.sub(r"^https?://(www\.)?", "", url)
    return bare.startswith(STABLE_LINKS)


def reference_problems(nb: dict) -> list[str]:
    """A References section before Next, each entry a stable link or a source article's line."""
    refs = section(nb, "References")
    if refs is None:
        return ["no '## References' section (docs/authoring.md, \"Naming sources\")"]
    problems = []
    nxt = section(nb, "Next")
    start, text = refs
    if nxt is not None and nxt[0] < start:
        problems.append("'## References' must come before '## Next'")
    entries = list_items(text)
    if not entries:
        problems.append("'## References' lists nothing")
    seen: set[str] = set()
    for entry in entries:
        links = LINK.findall(entry)
        for url in links:
            url = url.rstrip(".,;")
            if not is_stable_link(url):
                problems.append(f"reference link of no stable kind: {url} "
                                f"(accepted: {', '.join(STABLE_LINKS)})")
            if url in seen:
                problems.append(f"reference listed twice: {url}")
            seen.add(url)
        if not links and not any(title in entry for title in SOURCE_ARTICLES.values()):
            problems.append(f"reference without a stable link: {entry[:80]!r} (a paper needs arXiv, PMLR "
                            "or DOI; a source article its reference line)")
    prose = "\n".join(_src(c) for c in nb["cells"] if c["cell_type"] == "markdown").replace(text, "")
    for short, title in SOURCE_ARTICLES.items():
        if short.lower() in prose.lower() and title not in text:
            problems.append(f"the {short} is quoted but not listed under References by its title ({title})")
    return problems


def seed_article_problems(nb: dict) -> list[str]:
    """"Seed" is a random seed only: no "seed 003" or "seed articles" in markdown or outputs."""
    problems = []
    for i, cell in enumerate(nb["cells"]):
        texts = [_src(cell)] if cell["cell_type"] == "markdown" else []
        texts += [_output_text(cell)] if cell["cell_type"] == "code" else []
        for text in texts:
            for m in SEED_ARTICLE.finditer(text):
                problems.append(f"{_where(i, cell)}: {m.group(0)!r}: name the source article by its title")
    return problems


def measured_minutes(path: Path) -> tuple[float, float]:
    """(core, deep-dive) minutes of a notebook as `make reading-time` prints them."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    core, deep = measure(path)
    if path_of(nb) == "deep-dive":
        return 0.0, (deep.seconds() + RUN_SECONDS) / 60
    return (core.seconds() + RUN_SECONDS) / 60, deep.seconds() / 60


def _close(stated: float, measured: float) -> bool:
    return abs(stated - measured) <= max(TIME_SLACK_MIN, TIME_TOLERANCE * measured)


def time_problems(nb: dict, minutes: tuple[float, float]) -> list[str]:
    """The "Time:" line states the measured minutes (core, deep dives) within 30% or 3 min; a
    deep-dive notebook's line states its own length."""
    core_min, deep_min = minutes
    found = [m for c in nb["cells"] if c["cell_type"] == "markdown" for m in TIME_LINE.finditer(_src(c))]
    if not found:
        return ["no 'Time: ~N min (deep dives: ~M min more)' line (docs/authoring.md, \"Time\")"]
    stated, stated_deep = float(found[0].group(1)), found[0].group(2)
    problems = []
    if path_of(nb) == "deep-dive":
        if not _close(stated, deep_min):
            problems.append(f"Time line says ~{stated:g} min, make reading-time measures {deep_min:.0f} min")
        return problems
    if not _close(stated, core_min):
        problems.append(f"Time line says ~{stated:g} min for the core path, make reading-time measures "
                        f"{core_min:.0f} min")
    if stated_deep is None and deep_min >= 1:
        problems.append(f"Time line does not give the deep dives (make reading-time: {deep_min:.0f} min): "
                        "'Time: ~N min (deep dives: ~M min more)'")
    elif stated_deep is not None and not _close(float(stated_deep), deep_min):
        problems.append(f"Time line says ~{stated_deep} min of deep dives, make reading-time measures "
                        f"{deep_min:.0f} min")
    return problems


def bookkeeping_problems(core_sentences: list[str]) -> list[str]:
    """Core prose is about the idea: under 3% of its sentences about tolerances, seeds, rounding..."""
    book = bookkeeping(Part(sentences=core_sentences))
    share = len(book) / max(1, len(core_sentences))
    if share < BOOKKEEPING_SHARE or not book:
        return []
    return [f"{len(book)} of {len(core_sentences)} core sentences ({share:.1%}) are bookkeeping, the limit "
            f"is {BOOKKEEPING_SHARE:.0%}; e.g. {book[0][:100]!r}"]


def core_path_problems(minutes: dict[str, float]) -> list[str]:
    total = sum(minutes.values())
    if total <= CORE_PATH_MINUTES:
        return []
    listing = ", ".join(f"{name[:2]}: {m:.0f}" for name, m in minutes.items())
    return [f"the core path takes {total:.0f} min, over {CORE_PATH_MINUTES} ({listing})"]


def authoring_table(text: str) -> dict[str, str]:
    """Notebook number -> "core" or "deep-dive", from the core-path table of docs/authoring.md
    (a row whose second column says "deep dive as a whole" is a deep dive)."""
    table = {}
    for line in text.splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        numbers = re.match(r"\d\d(?:\s*,\s*\d\d)*\b", cols[0]) if line.lstrip().startswith("|") else None
        if numbers and len(cols) >= 2:
            for number in re.findall(r"\d\d", numbers.group(0)):
                table[number] = "deep-dive" if "deep dive as a whole" in cols[1] else "core"
    return table


# --- the notebooks ------------------------------------------------------------------------------

def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


TABLE = authoring_table((ROOT / "docs" / "authoring.md").read_text(encoding="utf-8"))
by_name = pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)


def _report(problems: list[str], path: Path) -> None:
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@by_name
def test_metadata_says_core_or_deep_dive(path):
    _report(metadata_problems(_load(path), TABLE, path.name[:2]), path)


@by_name
def test_deep_dive_parts_are_folded_and_tagged(path):
    _report(deep_dive_problems(_load(path)), path)


@by_name
def test_check_cells_hide_their_code_and_say_their_claims(path):
    _report(check_cell_problems(_load(path)), path)


@by_name
def test_references_with_stable_links(path):
    _report(reference_problems(_load(path)), path)


@by_name
def test_seed_means_a_random_seed(path):
    _report(seed_article_problems(_load(path)), path)


@by_name
def test_time_line_is_measured(path):
    _report(time_problems(_load(path), measured_minutes(path)), path)


@by_name
def test_core_prose_is_not_bookkeeping(path):
    nb = _load(path)
    core_sentences = [] if path_of(nb) == "deep-dive" else measure(path)[0].sentences
    _report(bookkeeping_problems(core_sentences), path)


@by_name
def test_quiz_cells_are_hidden_and_checked(path):
    _report(quiz_problems(_load(path)), path)


def test_quiz_ids_are_unique_over_the_series():
    seen: dict[str, str] = {}
    problems = [p for path in NOTEBOOKS for p in quiz_problems(_load(path), seen, path.stem)
                if "ids are unique" in p]
    assert not problems, problems[0]


def test_core_path_fits_two_hours():
    minutes = {p.name: measured_minutes(p)[0] for p in NOTEBOOKS if path_of(_load(p)) != "deep-dive"}
    assert not core_path_problems(minutes), core_path_problems(minutes)[0]


# --- each rule can fail: small notebooks broken on purpose ---------------------------------------

def _md(source: str, tags: tuple[str, ...] = (), collapsed: bool = False) -> dict:
    meta: dict = {"tags": list(tags)} if tags else {}
    if collapsed:
        meta[COLLAPSED] = True
    return {"cell_type": "markdown", "metadata": meta, "source": source}


def _code(source: str, out: str = "", tags: tuple[str, ...] = (), hidden: bool = False) -> dict:
    meta: dict = {"tags": list(tags)} if tags else {}
    if hidden:
        meta["jupyter"] = {"source_hidden": True}
    return {"cell_type": "code", "metadata": meta, "source": source, "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": out}] if out else []}


def _nb(*cells: dict, path: str | None = "core") -> dict:
    meta = {"initlab": {"path": path}} if path else {}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": meta, "cells": list(cells)}


GLOROT = ("- Glorot, X. & Bengio, Y. (2010). *Understanding the difficulty of training deep feedforward "
          "neural networks*. AISTATS, PMLR 9:249-256. https://proceedings.mlr.press/v9/glorot10a.html")
ARTICLE_LINE = ("- A tour of parameter initialisation (固定值参数初始化, 随机初始化, Xavier, He), "
                "reposted blog post, undated")


def _good() -> dict:
    """A notebook that follows every rule."""
    return _nb(
        _md("# 98 Good\n*Q?*\n\nTime: ~5 min (deep dives: ~2 min more)"),
        _md("## 1. Core\nThe source article touring parameter init says so; it is right."),
        _code("x = 1\nprint(x)", "1\n"),
        _code("assert x == 1, 'x is one'\nprint('\u2713 x is one')", "\u2713 x is one\n", (HIDE_TAG,), True),
        _md("## How we know: the check\nWords.", (DEEP_TAG,), collapsed=True),
        _md("### A sub part\nMore.", (DEEP_TAG,)),
        _code("assert x > 0, 'positive'\nprint('\u2713 positive')", "\u2713 positive\n", (DEEP_TAG, HIDE_TAG),
              True),
        _md("## References\n" + GLOROT + "\n" + ARTICLE_LINE),
        _md("## Next\n[99](99_x.ipynb)"),
    )


def test_rule_a_good_notebook_passes_every_rule():
    nb = _good()
    assert metadata_problems(nb, {"98": "core"}, "98") == []
    assert deep_dive_problems(nb) == []
    assert check_cell_problems(nb) == []
    assert reference_problems(nb) == []
    assert seed_article_problems(nb) == []
    assert time_problems(nb, (6.0, 2.4)) == []
    assert bookkeeping_problems(["A sentence about the idea here."] * 40) == []


def test_rule_metadata():
    assert "must be" in metadata_problems(_nb(path=None))[0]
    assert "must be" in metadata_problems(_nb(path="optional"))[0]
    assert "table" in metadata_problems(_nb(path="core"), {"07": "deep-dive"}, "07")[0]
    assert authoring_table("| notebook | on the core path |\n|---|---|\n| 00 Start | the map |\n"
                           "| 07, 08 The zig-zag | deep dive as a whole |\n") == {
        "00": "core", "07": "deep-dive", "08": "deep-dive"}


def test_rule_deep_dive_parts():
    untagged = _good()
    del untagged["cells"][5]["metadata"]["tags"]
    assert "in a deep-dive part but not tagged" in " ".join(deep_dive_problems(untagged))
    not_collapsed = _good()
    del not_collapsed["cells"][4]["metadata"][COLLAPSED]
    assert COLLAPSED in " ".join(deep_dive_problems(not_collapsed))
    stray = _good()
    stray["cells"][2]["metadata"]["tags"] = [DEEP_TAG]
    assert "outside any deep-dive part" in " ".join(deep_dive_problems(stray))
    buried = _good()
    buried["cells"][4]["source"] = "Words first.\n## How we know: the check"
    assert "first line of its cell" in " ".join(deep_dive_problems(buried))
    ends_inside = _good()
    ends_inside["cells"][5]["source"] = "### A sub part\nMore.\n## 2. Back to core\nCore words."
    assert "ends inside this cell" in " ".join(deep_dive_problems(ends_inside))
    # the part ends at the next heading of its level: the References cell is core
    assert deep_dive_problems(_good()) == []
    assert deep_dive_problems({**_good(), "metadata": {"initlab": {"path": "deep-dive"}}}) == []


def test_rule_check_cells():
    def one(cell: dict) -> str:
        return " ".join(check_cell_problems(_nb(cell)))

    assert "is a check cell" in one(_code("assert 1 == 1, 'one'\nprint('\u2713 one')", "\u2713 one\n"))
    assert "go together" in one(_code("assert 1 == 1, 'one'", "\u2713 one\n", (HIDE_TAG,)))
    assert "without a message" in one(_code("for i in range(2):\n    assert i < 2\nprint('\u2713 ok')",
                                            "\u2713 ok\n", (HIDE_TAG,), True))
    assert "has none" in one(_code("assert 1 == 1, 'one'\nprint('one holds')", "one holds\n",
                                   (HIDE_TAG,), True))
    assert "has none" in one(_code("assert 1 == 1, 'one'", "", (HIDE_TAG,), True))
    assert one(_code("x = 'assert me'\nprint(x)", "assert me\n")) == ""  # a string is no assert
    assert "is a check cell" in one(_code("%time f()\nassert f(), 'f'", "\u2713 f\n"))  # magics ignored


def test_rule_quizzes():
    prompt = _md("**Predict, then run.** How large?")
    ask = _code('from helpers import quiz\nquiz.ask("02-size")', "", (HIDE_TAG,), True)
    check = _code('assert quiz.agrees("02-size", 21.9), "m"\nprint("\u2713 ok")', "\u2713 ok\n",
                  (HIDE_TAG,), True)
    assert quiz_problems(_nb(prompt, ask, _code("a = 1"), check)) == []
    assert "hides its code" in " ".join(quiz_problems(_nb(prompt, _code('quiz.ask("02-size")'), check)))
    assert "follows" in " ".join(quiz_problems(_nb(_md("Words."), ask, check)))
    assert "follows" in " ".join(quiz_problems(_nb(_md("**Predict, then run.** x", (DEEP_TAG,)), ask, check)))
    assert "no later check cell" in " ".join(quiz_problems(_nb(check, prompt, ask)))
    assert "unique" in " ".join(quiz_problems(_nb(prompt, ask, check, prompt, ask, check)))


def test_rule_references():
    def problems(*cells: dict) -> str:
        return " ".join(reference_problems(_nb(*cells)))

    assert "no '## References'" in problems(_md("## Next\n..."))
    assert "before '## Next'" in problems(_md("## Next\nnext"), _md("## References\n" + GLOROT))
    assert "lists nothing" in problems(_md("## References\nSee the papers.\n## Next\n..."))
    assert "no stable kind: https://example.com/paper.pdf" in problems(
        _md("## References\n- A. (2020). *Paper*. https://example.com/paper.pdf"))
    assert "without a stable link" in problems(_md("## References\n- Glorot & Bengio (2010), AISTATS."))
    assert "listed twice" in problems(_md("## References\n" + GLOROT + "\n" + GLOROT))
    assert "not listed under References by its title" in problems(
        _md("The source article on the sigmoid sawtooth says so."), _md("## References\n" + GLOROT))
    assert problems(_md("## References\n- D2L. https://www.youtube.com/watch?v=x"), _md("## Next\n")) == ""
    wrapped = "## References\n- Ba, J. L. (2016). *Layer\n  normalization*.\n  https://arxiv.org/abs/1607.06450\n"
    assert problems(_md(wrapped + "- Glorot (2010).\n  https://doi.org/10.1/x")) == ""
    assert list_items(wrapped + "\nNot an item.\n* Two") == [
        "Ba, J. L. (2016). *Layer normalization*. https://arxiv.org/abs/1607.06450", "Two"]
    assert all(is_stable_link(u) for u in ("https://arxiv.org/abs/1502.01852", "https://doi.org/10.1/x",
                                           "http://www.github.com/karpathy/nanoGPT"))
    assert not is_stable_link("https://arxiv.org/pdf/1502.01852")  # the abstract page, not the PDF


def test_rule_seed_means_a_random_seed():
    assert seed_article_problems(_nb(_md("SEED = 0 picks the random seed; seeds 0-19 all pass."))) == []
    assert "'seed 003'" in seed_article_problems(_nb(_md("Claim (seed 003): ...")))[0]
    assert "'Seed 001'" in seed_article_problems(_nb(_md("Seed 001's figure")))[0]
    assert "'seed articles'" in seed_article_problems(_nb(_md("The seed articles say")))[0]
    assert seed_article_problems(_nb(_code("print(s)", "as in seed_002, the ...\n")))


def test_rule_time_line():
    nb = _good()
    assert "measures 12 min" in time_problems(nb, (12.0, 2.0))[0]  # says 5
    assert "deep dives, make reading-time measures 9" in time_problems(nb, (5.0, 9.0))[0]
    assert time_problems(nb, (7.9, 0.0)) == []  # within 3 min
    nb["cells"][0]["source"] = "# 98\nTime: ~5 min"
    assert "does not give the deep dives" in time_problems(nb, (5.0, 4.0))[0]
    nb["cells"][0]["source"] = "# 98\nNo time here."
    assert "no 'Time:" in time_problems(nb, (5.0, 4.0))[0]
    deep = _nb(_md("# 97\n**Time:** ~20 min"), path="deep-dive")
    assert time_problems(deep, (0.0, 22.0)) == []
    assert "measures 40 min" in time_problems(deep, (0.0, 40.0))[0]


def test_rule_time_line_measured_by_reading_time(tmp_path):
    """measured_minutes is what `make reading-time` prints: 1 min to run, plus reading."""
    nb = _good()
    path = tmp_path / "98_good.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    core_min, deep_min = measured_minutes(path)
    assert 1.0 < core_min < 2.0 and 0.0 < deep_min < 1.0
    nb["metadata"]["initlab"]["path"] = "deep-dive"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert measured_minutes(path)[0] == 0.0 and measured_minutes(path)[1] > 1.0


def test_rule_bookkeeping_and_core_path():
    idea = ["The signal shrinks at every layer of the net."] * 30
    book = ["The tolerance is three standard errors over 20 seeds."]
    assert bookkeeping_problems(idea + book * 2)  # 2 of 32: 6%
    assert bookkeeping_problems(idea * 2 + book) == []  # 1 of 61: 1.6%
    assert core_path_problems({"02_x": 60.0, "04_y": 60.0}) == []
    assert "126 min, over 120" in core_path_problems({"02_x": 60.0, "04_y": 66.0})[0]
