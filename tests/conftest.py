"""Shared by the two real-browser suites (test_browser.py: JupyterLab; test_book.py: the book).

Both drive Debian's chromium through playwright. `make browser-deps` installs both; without
them the suites skip, unless INITLAB_BROWSER_REQUIRED=1 (what `make test-browser` and
`make test-book` set), which turns the skip into a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# The flags known to work on a machine with only loopback (no background connections).
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def require(reason: str) -> None:
    """Skip for a learner's plain `pytest`; fail where the browser suites were asked for."""
    if os.environ.get("INITLAB_BROWSER_REQUIRED") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright():
    """A running playwright, once chromium and playwright are known to be installed."""
    if not Path(CHROMIUM).exists():
        require(f"{CHROMIUM} missing: run `make browser-deps`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("playwright missing: run `make browser-deps`")
    with sync_playwright() as pw:
        yield pw
