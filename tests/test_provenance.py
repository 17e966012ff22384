"""Every docstring's "Introduced in notebooks/NN_....ipynb" line is true.

A reader who meets a helper in a notebook looks up its docstring to find where the idea was
explained; a line that names the wrong notebook sends them to the wrong lesson. The first
notebook (in reading order) whose code calls a public function or class of helpers is where it
is introduced; a helper no notebook calls may name the notebook that uses it indirectly, but the
notebook it names must exist.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import helpers

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CODE = {f"notebooks/{p.name}": "\n".join("".join(c["source"]) for c in json.loads(p.read_text())["cells"]
                                         if c["cell_type"] == "code") for p in NOTEBOOKS}
INTRODUCED = re.compile(r"Introduced in\s+(notebooks/\d\d_\w+\.ipynb)")


def _public_objects():
    for info in pkgutil.iter_modules(helpers.__path__):
        module = importlib.import_module(f"helpers.{info.name}")
        for name, obj in vars(module).items():
            if (not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
                    and obj.__module__ == module.__name__):
                yield info.name, name, obj


OBJECTS = list(_public_objects())


def first_caller(module: str, name: str) -> str | None:
    """The first notebook whose code calls `module.name` or imports it from helpers.module."""
    called = re.compile(rf"(?<![\w.]){module}\.{name}\b|from helpers\.{module} import [^\n]*\b{name}\b")
    return next((nb for nb, code in CODE.items() if called.search(code)), None)


def test_the_caller_search_finds_what_it_should():
    assert first_caller("stats", "uniform_variance") == "notebooks/00_start_here.ipynb"
    assert first_caller("stats", "uniform") is None, "a name is matched whole, not as a prefix"
    assert first_caller("init", "gain") == "notebooks/03_constant_and_random_init.ipynb"


@pytest.mark.parametrize("module, name, obj", OBJECTS, ids=[f"{m}.{n}" for m, n, _ in OBJECTS])
def test_introduced_in_names_the_first_notebook_that_calls_it(module, name, obj):
    doc = " ".join((inspect.getdoc(obj) or "").split())
    said = INTRODUCED.search(doc)
    if said:
        assert (ROOT / said.group(1)).exists(), f"{module}.{name}: {said.group(1)} does not exist"
    first = first_caller(module, name)
    if first is not None:
        assert said, f"{module}.{name} is called in {first}; its docstring should say 'Introduced in {first}'"
        assert said.group(1) == first, \
            f"{module}.{name}: docstring says {said.group(1)}, first called in {first}"
