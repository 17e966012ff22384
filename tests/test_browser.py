"""Widgets work for a learner: a real JupyterLab in headless Chromium runs each widget notebook.

What this protects, which nbval cannot see (nbval only compares the kernel's outputs):
- the ipywidgets front end loads in JupyterLab and every explorer renders (no
  "Loading widget..." or "model not found" left on the page);
- moving a slider reaches the kernel and comes back as a new figure: the explorer's
  <img> gets a new src and its readout changes;
- how long that round trip takes: the median slider-to-new-pixels latency of every slider
  of every explorer, printed as a table (a figure to read, not asserted: timings flake);
- opening and running the notebooks leaves the committed files untouched (the test server
  refuses every save, and a test shows that it does).

Run with `make test-browser` (installs the `browser` extra and Debian's chromium first).
Without playwright or /usr/bin/chromium the tests skip, unless INITLAB_BROWSER_REQUIRED=1
(set by `make test-browser`), where they fail. On failure a screenshot is saved in
test-artifacts/. INITLAB_SCREENSHOT=docs/explorer.png also saves the README picture
(`make screenshot`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_FLAGS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts"
# A call of a builder in helpers.widgets (not ipywidgets.__version__ and the like).
BUILDER_CALL = re.compile(r"(?<![\w.])widgets\.(\w+)\(")
MOVES = 10  # moves timed per slider (their median is reported)
RUN_ALL_TIMEOUT_S = 120  # 09 may take 60 s on 2 busy cores
README_NOTEBOOK = "04_"  # the series' main explorer, pictured in the README
# JupyterLab settings for the test server: no autosave (the committed notebooks must not
# change), no news or update checks (no network here).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def widget_builders(path: Path) -> list[str]:
    """Names of the helpers.widgets builders that the notebook's code cells call."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return BUILDER_CALL.findall(code)


WIDGET_NOTEBOOKS = [
    p for p in sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")) if widget_builders(p)
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Server config: a save through the contents API (autosave, Ctrl+S) is refused and recorded,
# so the committed notebooks cannot change, whatever else edits the tree at the same time.
SERVER_CONFIG = """
import pathlib

from tornado.web import HTTPError  # only an HTTPError stops a save; other errors are logged

SAVES = pathlib.Path({saves!r})

def refuse_save(model, path, contents_manager, **kwargs):
    with SAVES.open("a") as f:
        f.write(path + "\\n")
    raise HTTPError(403, "the browser test never saves " + path)

c.FileContentsManager.pre_save_hook = refuse_save
c.FileCheckpoints.checkpoint_dir = {checkpoints!r}  # not notebooks/.ipynb_checkpoints
"""


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"JupyterLab not up after {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 (free port, generated token) serving notebooks/.

    Yields (base_url, token, refused_saves_file). The server is stopped however the tests end.
    """
    home = tmp_path_factory.mktemp("lab")
    for name, value in LAB_SETTINGS.items():
        target = home / "settings" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    saves = home / "refused-saves.txt"
    (home / "config").mkdir()
    (home / "config" / "jupyter_server_config.py").write_text(
        SERVER_CONFIG.format(saves=str(saves), checkpoints=str(home / "checkpoints")))
    port, token = _free_port(), secrets.token_hex(24)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    cmd = [sys.executable, "-m", "jupyterlab", "--ip", "127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", "--no-browser", "--allow-root",
           "--expose-app-in-browser", f"--ServerApp.root_dir={NOTEBOOK_DIR}",
           f"--IdentityProvider.token={token}", "--ServerApp.terminals_enabled=False",
           f"--LabApp.user_settings_dir={home / 'settings'}",
           f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    log = home / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=home)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/api/status?token={token}", proc, log)
        yield base, token, saves
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert not saves.exists(), f"JupyterLab tried to save: {saves.read_text()}"


@pytest.fixture(scope="module")
def browser_context(playwright, tmp_path_factory):
    """Debian's chromium driven by playwright, with a fresh profile."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
        headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    try:
        yield context
    finally:
        context.close()


# JavaScript run in the page. The notebook panel is the shell's current widget.
JS_KERNEL_READY = """() => {
  const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = nb && nb.sessionContext && nb.sessionContext.session
      && nb.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && nb.content.widgets.length > 0;
}"""
JS_RUN_ALL = """async () => {
  const nb = window.jupyterapp.shell.currentWidget;
  // Deep-dive parts open folded (a collapsed heading hides their cells, explorers included):
  // unfold them as a learner who opens the part would, so every explorer is on the page.
  await window.jupyterapp.commands.execute('notebook:expand-all-headings');
  const ok = await window.jupyterapp.commands.execute('notebook:run-all-cells');
  const errors = [];
  for (const cell of nb.content.widgets) {
    const outputs = cell.model.outputs;
    if (!outputs) continue;
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs.get(i).toJSON();
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
    }
  }
  return {ok: ok !== false, errors};
}"""
JS_KERNEL_IDLE = """() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel
    .status === 'idle'"""
# Arm a watcher on the explorer's <img>: resolves with ms from the next keydown on the slider
# handle to the moment the new figure is decoded (new pixels ready to paint).
JS_ARM = """([explorer, handle]) => {
  const img = explorer.querySelector('img.widget-image');
  window.__initlab = new Promise((resolve) => {
    let t0 = null;
    handle.addEventListener('keydown', () => { t0 = performance.now(); },
                            {once: true, capture: true});
    const old = img.src;
    setTimeout(() => resolve({ms: null, src: old}), 15000);  // no new figure: fail, not hang
    const observer = new MutationObserver(async () => {
      if (img.src === old) return;
      observer.disconnect();
      await img.decode();
      resolve({ms: performance.now() - t0, src: img.src});
    });
    observer.observe(img, {attributes: true, attributeFilter: ['src']});
  });
  return img.src;
}"""


def _explorers(page):
    """The explorers' DOM roots: the widget boxes holding a figure image (outermost only)."""
    return page.locator(".jp-OutputArea .widget-vbox:has(> .widget-image)")


def _sliders(explorer) -> list:
    """The explorer's sliders with their labels and whether they are disabled (04's std slider
    is, unless init is "fixed": a key press there changes nothing), in the order shown."""
    sliders = explorer.locator(".widget-slider")
    n = sliders.count()
    assert n, "the explorer has no slider"
    return [(sliders.nth(i), (sliders.nth(i).locator(".widget-label").text_content() or "").strip(),
             sliders.nth(i).locator("[disabled]").count() > 0) for i in range(n)]


def _next_key(handle, key: str) -> str:
    """Keep moving the way `key` goes unless the handle sits at that end of the slider."""
    now, lo, hi = (float(handle.get_attribute(f"aria-value{k}")) for k in ("now", "min", "max"))
    if key == "ArrowRight" and now >= hi:
        return "ArrowLeft"
    if key == "ArrowLeft" and now <= lo:
        return "ArrowRight"
    return key


def _move_and_time(page, explorer, handle, key: str) -> dict:
    old = page.evaluate(JS_ARM, [explorer.element_handle(), handle.element_handle()])
    handle.press(key)
    result = page.evaluate("() => window.__initlab")
    assert result["src"] != old and result["ms"] is not None, "the figure <img> did not change in 15 s"
    return result


@pytest.mark.parametrize("nb", WIDGET_NOTEBOOKS, ids=lambda p: p.stem)
def test_widgets_render_and_respond(nb, lab, browser_context, capsys):
    base, token, _ = lab
    page = browser_context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{base}/lab/tree/{nb.name}?reset&token={token}")
        page.wait_for_function(JS_KERNEL_READY, timeout=90_000)
        t0 = time.perf_counter()
        run = page.evaluate(JS_RUN_ALL)
        page.wait_for_function(JS_KERNEL_IDLE, timeout=RUN_ALL_TIMEOUT_S * 1000)
        run_s = time.perf_counter() - t0
        assert not run["errors"] and run["ok"], f"{nb.name}: cells failed: {run['errors']}"

        explorers = _explorers(page)
        explorers.first.locator("img.widget-image").wait_for(state="visible")
        page.wait_for_function(
            "() => !document.body.innerText.includes('Loading widget')", timeout=30_000)
        text = page.locator(".jp-NotebookPanel").inner_text()
        assert "model not found" not in text and "Error displaying widget" not in text, text[-500:]
        assert explorers.count() >= 1, f"{nb.name}: no explorer rendered"
        # an explorer far down the page (e.g. in an unfolded deep-dive part) may still be decoding
        blank_js = """() => [...document.querySelectorAll('.jp-OutputArea img.widget-image')]
            .filter((img) => !(img.complete && img.naturalWidth > 0)).length"""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout  # the `browser` extra

        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(f"() => ({blank_js})() === 0", timeout=30_000)
        blank = page.evaluate(blank_js)
        assert blank == 0, f"{nb.name}: {blank} explorer figure(s) without pixels after 30 s"

        rows = []
        for k in range(explorers.count()):
            explorer = explorers.nth(k)
            explorer.scroll_into_view_if_needed()
            readout = explorer.locator(".widget-html").last
            before = readout.inner_text()
            for slider, label, disabled in _sliders(explorer):
                if disabled:
                    rows.append((k + 1, label, None))
                    continue
                handle = slider.locator(".noUi-handle").first
                latencies, key = [], "ArrowRight"
                for _ in range(MOVES):  # sweep right, bouncing at the ends: mostly uncached values
                    key = _next_key(handle, key)
                    latencies.append(_move_and_time(page, explorer, handle, key)["ms"])
                rows.append((k + 1, label, latencies))
            page.wait_for_function("([el, old]) => el.innerText !== old",
                                   arg=[readout.element_handle(), before])
        explorer = explorers.first

        explorer.screenshot(path=ARTIFACTS / f"{nb.stem}-explorer.png")
        target = os.environ.get("INITLAB_SCREENSHOT")
        if target and nb.name.startswith(os.environ.get("INITLAB_SCREENSHOT_NB", README_NOTEBOOK)):
            cell = page.locator(".jp-Cell", has=explorer).last  # its code and its output
            page.evaluate("() => { window.jupyterapp.shell.currentWidget.content"
                          ".activeCellIndex = 0; }")  # no cell toolbar in the picture
            page.mouse.move(0, 0)
            cell.scroll_into_view_if_needed()
            cell.screenshot(path=ROOT / target)
        with capsys.disabled():
            print(f"\n{nb.stem}: run all {run_s:.1f} s; slider to new pixels, ms over {MOVES} moves:")
            for k, label, ms in rows:
                if ms is None:
                    print(f"  {nb.stem[:2]}  explorer {k}  {label:14s}  disabled at these settings")
                    continue
                print(f"  {nb.stem[:2]}  explorer {k}  {label:14s}  median {statistics.median(ms):4.0f}"
                      f"  min {min(ms):4.0f}  max {max(ms):4.0f}")
    except Exception:
        page.screenshot(path=ARTIFACTS / f"{nb.stem}-failure.png", full_page=True)
        raise
    finally:
        from playwright.sync_api import Error as PlaywrightError

        with contextlib.suppress(PlaywrightError):  # stopping the server ends the kernel anyway
            page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        page.close()


def test_server_refuses_to_save(lab):
    """The guard above holds: a save through the contents API is refused and nothing is written."""
    base, token, saves = lab
    probe = NOTEBOOK_DIR / "browser-test-probe.txt"
    request = urllib.request.Request(
        f"{base}/api/contents/{probe.name}", method="PUT",
        data=json.dumps({"type": "file", "format": "text", "content": "x"}).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403 and not probe.exists()
    assert saves.read_text().split() == [probe.name]
    saves.unlink()  # the fixture asserts that nothing else tried to save


def test_widget_notebooks_found():
    """The scan above finds every notebook the curriculum gives an explorer."""
    names = {p.name[:2] for p in WIDGET_NOTEBOOKS}
    assert {"01", "02", "04", "07", "08", "09", "10", "11"} <= names, sorted(names)


JS_RERUN_CELL = """async (index) => {
  const nb = window.jupyterapp.shell.currentWidget;
  nb.content.activeCellIndex = index;
  await window.jupyterapp.commands.execute('notebook:clear-cell-output');
  await window.jupyterapp.commands.execute('notebook:run-cell');
}"""


JS_CELL_OUTPUT = """async (index) => {
  const nb = window.jupyterapp.shell.currentWidget;
  await nb.content.scrollToItem(index);
  await new Promise((r) => setTimeout(r, 500));
  const out = nb.content.widgets[index].node.querySelector('.jp-OutputArea');
  return out ? out.innerHTML : '';
}"""


def test_quiz_answers_in_jupyterlab(lab, browser_context):
    """A quiz works live: its cell run in JupyterLab (as a student edition's learner runs it, with
    the output cleared first) shows the choices, and a click commits and gives the feedback that
    helpers.quiz.check gives in Python. The stored output of an untrusted notebook is shown too
    (JupyterLab drops its handlers; running the cell is what makes it answer)."""
    from helpers import quiz

    base, token, _ = lab
    nb = NOTEBOOK_DIR / "02_sums_of_products.ipynb"
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    index = next(i for i, c in enumerate(cells) if 'quiz.ask("02-size")' in "".join(c["source"]))
    page = browser_context.new_page()
    try:
        page.goto(f"{base}/lab/tree/{nb.name}?reset&token={token}")
        page.wait_for_function(JS_KERNEL_READY, timeout=90_000)
        stored = page.evaluate(JS_CELL_OUTPUT, index)
        assert stored.count("<button") == 3, "the stored quiz shows its three choices"
        assert "onclick" not in stored and "No response? Run this cell" in stored, \
            "untrusted, JupyterLab drops the handler; the quiz's own line says to run the cell"
        page.evaluate(JS_RERUN_CELL, index)
        page.wait_for_function(JS_KERNEL_IDLE, timeout=60_000)
        box = page.locator('.jp-OutputArea .initlab-quiz[data-quiz="02-size"]')
        box.wait_for(state="visible")
        box.locator('button[data-right="0"]').first.click()  # a wrong choice, whatever the quiz's words
        feedback = box.locator("[data-role=feedback]")
        assert feedback.inner_text() == quiz.feedback("02-size", False)
        assert all(box.locator("button").evaluate_all("bs => bs.map(b => b.disabled)")), "one click commits"
        right = box.locator('button[data-right="1"]')
        assert right.inner_text() == quiz.right_answer("02-size")
        assert "rgb(200, 230, 201)" in right.evaluate("b => getComputedStyle(b).backgroundColor")
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "quiz-jupyterlab-failure.png", full_page=True)
        raise
    finally:
        from playwright.sync_api import Error as PlaywrightError

        with contextlib.suppress(PlaywrightError):
            page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        page.close()
