"""Build the static book into build/book/ (`make book` runs this; so does tests/test_book.py).

The book's sources are the repository's own files, as committed: the README (the landing
page), the notebooks with their stored outputs (never executed) and docs/teaching.md. Sphinx
wants them under one source folder with the root page at its top, so build/book-src/ gets a
copy of them beside book/index.md (a copy, not symbolic links: Sphinx resolves links, and
would then read a relative link from the original's folder; stage() says when a file is copied
again). A relative link resolves in the book as it does on disk and on GitHub, and the pages
land at build/book/index.html, build/book/notebooks/NN_name.html and
build/book/docs/teaching.html. Sphinx names problems in build/book-src/<path>: fix them in <path>.

Sphinx runs with -W: a broken cross-reference or a missing page fails the build.
`python book/build_book.py --cdn` builds build/book-cdn/, which loads MathJax from a CDN instead
of the bundled copy (for a web host; build/book/ stays the offline book that is tested).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "book"
SRC = ROOT / "build" / "book-src"
OUT = ROOT / "build" / "book"
OUT_CDN = ROOT / "build" / "book-cdn"
# build/book-src/<name> <- <repository path>; folders are copied whole (checkpoints left out)
SOURCES = {"index.md": "book/index.md", "README.md": "README.md",
           "notebooks": "notebooks", "docs": "docs"}
SKIP_PARTS = {".ipynb_checkpoints", "__pycache__"}


def _skipped(path: Path) -> bool:
    return any(part in SKIP_PARTS for part in path.parts)


def stage(src: Path = SRC) -> Path:
    """Bring `src` up to date with SOURCES: a file whose content changed is written afresh (a new
    time, so Sphinx reads it again), an unchanged one is left alone (Sphinx rebuilds only the
    pages whose source changed), and a file no longer in SOURCES goes.

    By content, not by time: a notebook rewritten while a build reads it (others may be running
    it) would otherwise keep its old page, its new time being older than that read."""
    src.mkdir(parents=True, exist_ok=True)
    wanted: set[Path] = set()
    for name, origin in SOURCES.items():
        origin_path = ROOT / origin
        if origin_path.is_dir():
            pairs = [(f, src / name / f.relative_to(origin_path)) for f in sorted(origin_path.rglob("*"))
                     if f.is_file() and not _skipped(f.relative_to(origin_path))]
        else:
            pairs = [(origin_path, src / name)]
        for origin_file, staged in pairs:
            wanted.add(staged)
            data = origin_file.read_bytes()
            if not staged.is_file() or staged.read_bytes() != data:
                staged.parent.mkdir(parents=True, exist_ok=True)
                staged.write_bytes(data)
    for staged in sorted(src.rglob("*"), reverse=True):
        if staged.is_file() and staged not in wanted:
            staged.unlink()
        elif staged.is_dir() and not any(staged.iterdir()):
            staged.rmdir()
    return src


def build(out: Path = OUT, cdn: bool = False, fresh: bool = False, src: Path | None = None) -> int:
    """Run Sphinx's HTML builder; returns its exit status (0: built without a warning).

    `src`: a source folder laid out as stage() makes it (tests/test_book.py builds a small book
    of made-up notebooks so); by default the repository's files, staged afresh."""
    from sphinx.cmd.build import build_main

    if cdn:
        os.environ["BOOK_MATHJAX"] = "cdn"
    else:
        os.environ.pop("BOOK_MATHJAX", None)
    doctrees = out.with_name(out.name + "-doctrees")  # Sphinx's cache, out of the served folder
    args = ["-b", "html", "-c", str(CONF_DIR), "-d", str(doctrees), "-W", "--keep-going", "-q"]
    args += ["-E"] if fresh else []
    return build_main([*args, str(stage() if src is None else src), str(out)])


def pages_of(out: Path = OUT) -> list[Path]:
    """The book's pages: the landing page and one per source (not search or the index)."""
    return [out / "index.html", *sorted(out.glob("notebooks/*.html")), *sorted(out.glob("docs/*.html"))]


def main(argv: list[str]) -> int:
    t0 = time.perf_counter()
    cdn = "--cdn" in argv
    out = OUT_CDN if cdn else OUT
    status = build(out, cdn=cdn, fresh="--fresh" in argv)
    if status == 0:
        pages = pages_of(out)
        print(f"book: {len(pages)} pages in {out.relative_to(ROOT)}/ "
              f"({time.perf_counter() - t0:.1f} s); open {(out / 'index.html').relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
