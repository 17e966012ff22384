# initlab: two commands do the set-up on a fresh machine.
#   make lab    create .venv if needed, then open JupyterLab on notebooks/ (127.0.0.1, token on)
#   make test   same set-up, then lint, unit tests and nbval over every notebook
# Other targets: make test-slow (the slow unit tests `make test` skips), make notebooks (re-execute
# and store outputs), make test-robust (every assert under other seeds, kernels and thread counts),
# make reading-time, make bench, make mutate (plant bugs in helpers/, expect the unit tests to
# catch each), make test-browser, make screenshot (docs/explorer.png), make book (the static HTML
# book in build/book/), make test-book, make slides (a reveal.js deck per class of the teaching
# plans, build/slides/), make handout (the one-page PDF, A4 and Letter, build/handout/).
# make student (the student edition in build/student/: no outputs, answers or worked solutions).

SHELL := /bin/bash
# Any Python from 3.11 on: `make test PYTHON=python3.13`. A second venv beside the first:
# `make test PYTHON=python3.13 VENV=.venv-3.13`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.initlab-installed
# The torch release make's own venv installs, the one the stored outputs were made with
# (the package itself accepts a range: pyproject.toml, README "Versions").
TORCH_VERSION := 2.13.0
# On Linux the default index serves the CUDA build (about 4 GB more); PyTorch's CPU-only index
# is asked first, with a fall-back to the default index when it cannot be reached
# (tests/tools/install_torch.py). `make lab TORCH_INDEX=` uses the default index directly.
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH_INDEX ?= $(if $(filter Linux,$(shell uname -s)),$(TORCH_CPU_INDEX))
# uv, where the machine has it, makes the venv in seconds; pip is the fall-back. UV= turns it off.
UV ?= $(shell command -v uv 2>/dev/null)
PIP := $(if $(UV),$(UV) pip install --python $(BIN)/python,$(BIN)/python -m pip install --quiet)
JOBS ?= 2
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# JupyterLab refuses to run as root (containers, CI) unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
NBVAL := --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help venv lab lab-classroom test unit test-slow nbval lint notebooks test-robust reading-time bench mutate test-browser browser-deps screenshot book book-deps test-book slides slides-deps handout student clean

help:
	@sed -n '1,10p' Makefile

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "initlab \
	needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 | head -1). Name another: \
	make $(or $(MAKECMDGOALS),venv) PYTHON=python3.12" >&2; exit 1; }
	@test -x $(BIN)/python || $(if $(UV),$(UV) venv --quiet --seed --python $(PYTHON) $(VENV),$(PYTHON) -m venv $(VENV))
	$(if $(UV),,$(BIN)/python -m pip install --quiet --upgrade pip)
	$(BIN)/python tests/tools/install_torch.py --version $(TORCH_VERSION) --index "$(TORCH_INDEX)" $(if $(UV),--uv $(UV))
	$(PIP) -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name initlab --display-name "Python (initlab)"
	@touch $(STAMP)

# Stored outputs, nbval and live kernels share one pinned CPU configuration (kernels, threads):
# tests/tools/reference.py owns it and overrides whatever the caller's environment says.
REFERENCE := $(BIN)/python tests/tools/reference.py

lab: $(STAMP)
	@# Token auth stays on: Jupyter makes a random token (or takes $$JUPYTER_TOKEN) and prints the URL.
	$(REFERENCE) exec $(BIN)/jupyter lab --ip=127.0.0.1 --ServerApp.root_dir=notebooks $(ROOT_FLAG)

# The same, with every figure drawn in the classroom style (larger text and lines) for a
# projector; no notebook is edited (helpers.plots.use_style reads INITLAB_STYLE).
lab-classroom: $(STAMP)
	$(REFERENCE) exec env INITLAB_STYLE=classroom $(BIN)/jupyter lab --ip=127.0.0.1 \
		--ServerApp.root_dir=notebooks $(ROOT_FLAG)

test: $(STAMP) lint unit nbval

lint: $(STAMP)
	$(BIN)/ruff check helpers tests notebooks book

# The default loop skips the `slow` tests; `make test-slow` runs them (.ci/run does). Each of the
# JOBS workers runs torch on one thread, as the kernels do: two workers of two threads each on two
# cores contend, and the same tests then take several times the CPU.
UNIT_THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
unit: $(STAMP)
	$(UNIT_THREADS) $(BIN)/python -m pytest -q -n $(JOBS) -m "not browser and not book and not slow" tests

test-slow: $(STAMP)
	$(UNIT_THREADS) $(BIN)/python -m pytest -q -n $(JOBS) -m "slow and not browser and not book" tests

# Strict where the reference runs (any x86-64 with AVX2); elsewhere lax: every cell runs and every
# assert holds, outputs are not compared (reference.py prints one line saying so).
nbval: $(STAMP)
	$(REFERENCE) exec $(BIN)/python -m pytest -q -n $(JOBS) --dist loadfile -p no:randomly \
		$$($(REFERENCE) nbval-mode) $(NBVAL) $(or $(NB),$(NOTEBOOKS))

# Re-execute every notebook top to bottom on a fresh kernel and store the outputs
# (what GitHub shows and what nbval compares against). Run after changing one.
notebooks: $(STAMP)
	$(BIN)/python tests/tools/execute.py $(or $(NB),$(NOTEBOOKS))

# Every notebook under other kernels, 2 threads and SEED = 1, 2: all asserts must hold.
test-robust: $(STAMP)
	$(BIN)/python tests/tools/robust.py --jobs $(JOBS) $(or $(NB),$(NOTEBOOKS))

# Minutes to read and run each notebook, core path and deep dives apart (docs/authoring.md).
reading-time: $(STAMP)
	$(BIN)/python tests/tools/reading_time.py $(or $(NB),$(NOTEBOOKS))

# The propagation explorer's update against a naive redraw of the same batch, under the reference
# configuration of make lab's kernels (one thread); prints each target and exits 1 on a miss.
bench: $(STAMP)
	$(BIN)/python tests/tools/bench.py

# Hand-planted bugs (MUTATIONS in tests/tools/mutate.py), each in a copy of helpers/ and run against
# the tests that should catch it; a timeout is reported apart and is no catch. Prints the table.
# `make mutate MUTATE_ARGS="--commit HEAD"` checks the committed code, not the working tree.
mutate: $(STAMP)
	$(BIN)/python tests/tools/mutate.py $(MUTATE_ARGS)

# --- real-browser test (tests/test_browser.py) ---------------------------------------------
# playwright (the `browser` extra) drives Debian's chromium; nothing downloads a browser itself.
BROWSER_STAMP := $(VENV)/.initlab-browser
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

browser-deps: $(BROWSER_STAMP) $(CHROMIUM)

$(BROWSER_STAMP): $(STAMP) pyproject.toml
	$(PIP) -e '.[dev,browser]'
	@touch $@

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# JupyterLab on 127.0.0.1 (free port, token), each widget notebook run in headless chromium.
test-browser: browser-deps
	INITLAB_BROWSER_REQUIRED=1 $(BIN)/python -m pytest -q -p no:randomly -m browser tests

# docs/explorer.png (README) from a real JupyterLab render of the propagation explorer (04).
screenshot: browser-deps
	@mkdir -p docs
	INITLAB_BROWSER_REQUIRED=1 INITLAB_SCREENSHOT=docs/explorer.png \
		INITLAB_SCREENSHOT_NB=$(or $(SHOT_NB),04_) $(BIN)/python -m pytest \
		-q -p no:randomly -m browser tests/test_browser.py -k "$(or $(SHOT_NB),04_)"

# --- the static book (book/, tests/test_book.py) -------------------------------------------
# Sphinx + myst-nb (the `book` extra) render the committed notebooks with their stored outputs,
# never executed, into build/book/; MathJax is bundled, so it reads offline.
BOOK_STAMP := $(VENV)/.initlab-book

book-deps: $(BOOK_STAMP)

$(BOOK_STAMP): $(STAMP) pyproject.toml
	$(PIP) -e '.[dev,book]'
	@touch $@

# Open build/book/index.html in a browser afterwards (no server needed).
book: $(BOOK_STAMP)
	$(BIN)/python book/build_book.py

# Builds the book and the class decks, then reads every page in headless chromium with the network cut.
test-book: book-deps slides-deps browser-deps
	INITLAB_BROWSER_REQUIRED=1 $(BIN)/python -m pytest -q -p no:randomly -m book tests/test_book.py tests/test_slides.py

# --- slides and handout (book/slides.py, book/handout.py; docs/teaching.md) ---------------------
# One reveal.js deck per class of docs/teaching.md's plans, from the notebooks' slide metadata and
# stored outputs (never executed); reveal.js (book/vendor/) and MathJax are copied beside the
# decks, so they read offline. The `slides` extra also brings jupyterlab-rise (live slides).
SLIDES_STAMP := $(VENV)/.initlab-slides

slides-deps: $(SLIDES_STAMP)

$(SLIDES_STAMP): $(STAMP) pyproject.toml
	$(PIP) -e '.[dev,slides]'
	@touch $@

slides: $(SLIDES_STAMP)
	$(BIN)/python book/slides.py

# The one-page handout from helpers/cheatsheet.py's table (matplotlib's PDF backend).
handout: $(STAMP)
	$(BIN)/python book/handout.py

# --- the student edition (tests/tools/student.py, docs/teaching.md) -----------------------------
# The notebooks with no outputs and without the cells tagged answer or solution, and helpers/ beside
# them without any worked solution's text (docs/authoring.md). Open build/student/ in JupyterLab.
student: $(STAMP)
	$(BIN)/python tests/tools/student.py build/student

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
