"""The set-up files agree with each other, so conda/Binder users get what pip users get."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch-cpu": "torch"}
CONDA_ONLY = {"python", "pip"}


def _pip_names():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {re.split(r"[<>=!~ \[]", r, maxsplit=1)[0].lower() for r in reqs}


def _dependency_lines():
    text = (ROOT / "environment.yml").read_text()
    return text.split("dependencies:", 1)[1].splitlines()


def _conda_names():
    names = set()
    for line in _dependency_lines():
        m = re.match(r"^\s+-\s+([A-Za-z0-9_.-]+)", line)
        if m:
            names.add(CONDA_TO_PIP.get(m.group(1), m.group(1)).lower())
    return names - CONDA_ONLY


def test_environment_yml_and_pyproject_name_the_same_packages():
    assert _conda_names() == _pip_names()


def test_every_environment_pin_has_a_comment_and_a_minor_version():
    for line in _dependency_lines():
        m = re.match(r"^\s+-\s+([A-Za-z0-9_.-]+)(=\S+)?\s*(#.*)?$", line)
        if m and m.group(1) not in ("pip",):
            assert m.group(3), f"no comment saying which notebook needs it: {line}"
            assert m.group(2) and re.fullmatch(r"=\d+\.\d+", m.group(2)), f"pin a minor version: {line}"


def test_torch_is_pinned_to_the_cpu_wheel():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in [d.split("#")[0].strip() for d in deps]
    import torch

    # the CPU wheel has no CUDA build at all (a CUDA wheel on a GPU-less machine would pass
    # `not cuda.is_available()` while costing gigabytes)
    assert torch.version.cuda is None and not torch.backends.cuda.is_built(), torch.__version__


def test_initlab_kernel_is_registered():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "kernelspec", "list"], capture_output=True, text=True
    ).stdout
    assert re.search(r"^\s*initlab\s", out, re.M), out
