"""The pinned reference configuration and the robustness runner (tests/tools/).

Protects: stored outputs are made and compared under the reference whatever the caller's
environment says (so an AVX-512 laptop or OMP_NUM_THREADS=2 cannot break strict nbval);
the lax fallback where the reference cannot run; and that `make test-robust` really fails
a notebook whose assert depends on the seed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tests" / "tools"
sys.path.insert(0, str(TOOLS))
import reference  # noqa: E402
import robust  # noqa: E402

PROBE = ("import json, os, torch; print(json.dumps({'cap': torch.backends.cpu.get_cpu_capability(), "
         "'threads': torch.get_num_threads(), 'cbwr': os.environ.get('MKL_CBWR')}))")


def test_reference_env_overrides_the_callers_settings():
    env = reference.reference_env({"ATEN_CPU_CAPABILITY": "avx512", "OMP_NUM_THREADS": "8", "HOME": "/x"})
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["OMP_NUM_THREADS"] == "1"
    assert env["MKL_CBWR"] == "AVX2" and env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert env["HOME"] == "/x", "everything else is passed through"


@pytest.mark.skipif(not reference.available()[0], reason="this CPU cannot run the AVX2 reference")
def test_exec_runs_torch_under_the_reference_even_if_the_caller_asks_otherwise():
    caller = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "2", "MKL_CBWR": "AUTO"}
    out = subprocess.run([sys.executable, str(TOOLS / "reference.py"), "exec", sys.executable, "-c", PROBE],
                         env=caller, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert got == {"cap": "AVX2", "threads": 1, "cbwr": "AVX2"}
    plain = subprocess.run([sys.executable, "-c", PROBE], env=caller, capture_output=True, text=True,
                           check=True)
    assert json.loads(plain.stdout)["cap"] == "DEFAULT", "without the wrapper the caller's choice wins"


def test_lax_mode_off_the_reference_cpu(monkeypatch, capsys):
    monkeypatch.setattr(reference.platform, "machine", lambda: "arm64")
    ok, why = reference.available()
    assert not ok and "lax" in why and "arm64" in why
    assert reference.main(["nbval-mode"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == "--nbval-lax"
    assert len(out.err.strip().splitlines()) == 1, "one line says why"


def test_strict_mode_on_an_avx2_cpu(monkeypatch, capsys):
    monkeypatch.setattr(reference, "_x86_has_avx2", lambda: True)
    reference.main(["nbval-mode"])
    assert capsys.readouterr().out.strip() == "--nbval"


def _notebook(tmp_path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("SEED = 0"), nbformat.v4.new_code_cell(body)]
    path = tmp_path / "99_probe.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_robust_runner_fails_a_seed_dependent_assert(tmp_path):
    path = _notebook(tmp_path, 'assert SEED == 0, "tuned to one seed"')
    ok = robust.run_one(str(path), "kernels=avx2")
    bad = robust.run_one(str(path), "SEED=1")
    assert ok.failures == []
    assert bad.failures == [(1, "AssertionError: tuned to one seed")]


def test_robust_runner_skips_a_notebook_without_a_seed_line(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "98_noseed.ipynb"
    nbformat.write(nb, path)
    assert robust.run_one(str(path), "SEED=2").skipped


def test_every_notebook_has_the_seed_line_the_runner_changes():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        assert any(robust.SEED_LINE.search(src) for src in code), f"{path.name}: no `SEED = 0` line"
