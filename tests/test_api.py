"""Every helpers module's `__all__` lists exactly its public names.

`from helpers.x import *`, the docs and a reader skimming a module's head all take `__all__` as the
module's surface. A name defined at the top of a module without a leading underscore (a function,
a class, a constant) is public and must be listed; a name listed must be defined there (not merely
imported). One test per module, so a module that drifts is named.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import helpers

MODULES = sorted(info.name for info in pkgutil.iter_modules(helpers.__path__))


def _is_typevar(value: ast.expr) -> bool:
    """T = TypeVar("T") names a type parameter, not something a module offers."""
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id == "TypeVar")


def public_names(source: str) -> set[str]:
    """The names a module defines at its top level (def, class, assignment) without a leading underscore."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign) and not _is_typevar(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def test_public_names_reads_defs_classes_and_assignments_only():
    src = ("import os\nfrom math import pi\nA = 1\nB: int = 2\n_c = 3\ndef f(): pass\nclass K: pass\n"
           "T = TypeVar('T')\n__all__ = []\n")
    assert public_names(src) == {"A", "B", "f", "K"}


def test_every_module_is_checked():
    assert len(MODULES) >= 24 and {"checkup", "nets", "plots", "widgets"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_all_equals_the_public_names(name):
    module = importlib.import_module(f"helpers.{name}")
    source = Path(module.__file__).read_text()
    listed = getattr(module, "__all__", None)
    assert listed is not None, f"helpers.{name} has no __all__"
    assert len(listed) == len(set(listed)), f"helpers.{name}.__all__ lists a name twice"
    defined = public_names(source)
    assert set(listed) == defined, (
        f"helpers.{name}.__all__: missing {sorted(defined - set(listed))}, "
        f"not defined here {sorted(set(listed) - defined)}")
