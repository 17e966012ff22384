"""The set-up files agree with each other, so conda/Binder users get what pip users get."""

import re
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))
import install_torch  # noqa: E402

CONDA_TO_PIP = {"pytorch": "torch"}
CONDA_ONLY = {"python", "pip"}
PIP_LINE = re.compile(r'^\s+"([A-Za-z0-9_.-]+)[^"]*",\s*#\s*(.+)$')
CONDA_LINE = re.compile(r"^\s+-\s+([A-Za-z0-9_.-]+)(=\S+)?\s*(?:#\s*(.*))?$")


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
        m = CONDA_LINE.match(line)
        if m and m.group(1) not in ("pip",):
            assert m.group(3), f"no comment saying which notebook needs it: {line}"
            # a minor version, and for pytorch conda-forge's build string (cpu*: the CPU build)
            pin = m.group(2) or ""
            assert re.fullmatch(r"=\d+\.\d+(=cpu\*)?", pin), f"pin a minor version: {line}"


def test_environment_and_pyproject_say_the_same_of_each_package():
    pip = {}
    for line in (ROOT / "pyproject.toml").read_text().splitlines():
        if m := PIP_LINE.match(line):
            pip[m.group(1).lower()] = m.group(2).strip()
    for line in _dependency_lines():
        m = CONDA_LINE.match(line)
        name = m and CONDA_TO_PIP.get(m.group(1), m.group(1)).lower()
        if name in pip:
            assert (m.group(3) or "").strip() == pip[name], f"{name}: the two files' comments differ"


def _requirement(name: str) -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return next(r for r in map(Requirement, project["dependencies"]) if r.name == name)


def test_package_accepts_a_torch_range_and_make_installs_a_release_inside_it():
    spec = _requirement("torch").specifier
    assert not any(s.operator == "==" for s in spec), "an exact pin fights the learner's own torch"
    make_version = re.search(r"^TORCH_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert Version(make_version) in spec, (make_version, str(spec))
    assert Version("2.6") in spec and Version("3.0") not in spec


def test_installed_torch_is_in_range_and_its_build_is_named():
    import torch

    version = Version(torch.__version__.split("+")[0])
    assert version in _requirement("torch").specifier, torch.__version__
    # The CPU build is what make installs on Linux when PyTorch's CPU index answers; a CUDA
    # build (chosen by the learner, or the fall-back when that index is out of reach) runs
    # every notebook the same, on the CPU: say which it is, do not stop `make test` over it.
    if torch.version.cuda is not None:
        warnings.warn(f"torch {torch.__version__} is a CUDA {torch.version.cuda} build: it works, "
                      "but the CPU build is several GB smaller (README, Troubleshooting)", stacklevel=1)
    build = "CPU" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
    print(f"torch {torch.__version__}: {build} build")


def test_requires_python_admits_every_python_from_3_11():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(requires)
    assert all(Version(v) in spec for v in ("3.11", "3.12", "3.13", "3.14")), requires
    assert Version("3.10") not in spec


def test_torch_installer_names_builds_and_commands():
    assert install_torch.same_release("2.13.0+cpu", "2.13.0")
    assert install_torch.same_release("2.13.0", "2.13.0")
    assert not install_torch.same_release("2.12.1+cpu", "2.13.0")
    assert not install_torch.same_release(None, "2.13.0")
    cmd = install_torch.install_command("2.13.0", "https://example.org/whl/cpu", None)
    assert cmd[-3:] == ["torch==2.13.0", "--index-url", "https://example.org/whl/cpu"]
    assert install_torch.install_command("2.13.0", None, None)[-1] == "torch==2.13.0"
    assert install_torch.install_command("2.13.0", None, "/x/uv")[:3] == ["/x/uv", "pip", "install"]


def test_torch_installer_falls_back_when_the_index_is_out_of_reach(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(install_torch, "installed_version", lambda: None)
    monkeypatch.setattr(install_torch, "reachable", lambda index: False)
    monkeypatch.setattr(install_torch.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    assert install_torch.main(["--version", "2.13.0", "--index", "https://example.org/whl/cpu"]) == 0
    assert "--index-url" not in calls[0] and calls[0][-1] == "torch==2.13.0"
    assert "cannot be reached" in capsys.readouterr().out
    monkeypatch.setattr(install_torch, "reachable", lambda index: True)
    install_torch.main(["--version", "2.13.0", "--index", "https://example.org/whl/cpu"])
    assert calls[1][-2:] == ["--index-url", "https://example.org/whl/cpu"]


def test_torch_installer_keeps_an_installed_release(monkeypatch):
    monkeypatch.setattr(install_torch, "installed_version", lambda: "2.13.0+cpu")
    monkeypatch.setattr(install_torch.subprocess, "call", lambda cmd: pytest.fail(f"ran {cmd}"))
    assert install_torch.main(["--version", "2.13.0", "--index", ""]) == 0


def test_an_unreachable_index_is_reported_quickly():
    # a closed port on this machine answers at once: no hang, no exception
    assert install_torch.reachable("http://127.0.0.1:9", seconds=2) is False
    assert install_torch.reachable("not a url") is False


def test_initlab_kernel_is_registered():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "kernelspec", "list"], capture_output=True, text=True
    ).stdout
    assert re.search(r"^\s*initlab\s", out, re.M), out
