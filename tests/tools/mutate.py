"""A small mutation check of the unit tests: run by `make mutate`.

Each entry of MUTATIONS is one hand-chosen bug planted in helpers/ (a constant in a formula,
an off-by-one, a flipped comparison, fan_in for fan_out, ...) and the test files that should
catch it. For each, a copy of the repository's helpers/, tests/ and pyproject.toml is made in
a temporary directory, the old snippet (which must occur exactly once in its file) is replaced,
and `python -m pytest -q -x -p no:randomly <test files>` runs there, with that directory as
the working directory and PYTHONPATH, so the mutated copy is what gets imported (not the
editable install of this checkout; checked once and printed). A mutation is caught when the
tests fail; at the end the tests that caught one run on the unmutated copy and must pass
there, or that catch would mean nothing (the copy is taken once, at the start, so edits
made elsewhere meanwhile cannot mix in).

Prints caught/missed per mutation and "N of M mutations caught"; exits 1 if any was missed
(or a snippet no longer exists, or a catching test fails unmutated). About 3 minutes, one
pytest start (~10 s, mostly importing torch) per mutation; --jobs 2 halves it on a free machine.
    python tests/tools/mutate.py            # all
    python tests/tools/mutate.py -k relu    # those whose name contains "relu"
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300  # seconds per pytest run; a mutation that hangs counts as caught (timeout)


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str  # under helpers/
    old: str
    new: str
    tests: tuple[str, ...]  # under tests/


MUTATIONS = (
    Mutation("Var U(a, b) = (b - a)^2 / 12 -> / 11", "stats.py",
             "    return (b - a) ** 2 / 12", "    return (b - a) ** 2 / 11", ("test_stats.py",)),
    Mutation("uniform bound sqrt(3) std -> sqrt(2) std (Xavier bound sqrt(6 / (fan_in + fan_out)))",
             "stats.py", "return math.sqrt(3.0) * std", "return math.sqrt(2.0) * std",
             ("test_init.py", "test_stats.py")),
    Mutation("ReLU gain sqrt(2) -> sqrt(2.2)", "init.py",
             '    if nonlinearity == "relu":\n        return math.sqrt(2.0)',
             '    if nonlinearity == "relu":\n        return math.sqrt(2.2)', ("test_init.py",)),
    Mutation("truncation factor 0.8796: 2 k phi(k) -> k phi(k)", "stats.py",
             "return math.sqrt(1 - 2 * k * pdf / mass)", "return math.sqrt(1 - k * pdf / mass)",
             ("test_stats.py",)),
    Mutation("monte_carlo_error: sample variance ddof=1 -> ddof=0", "stats.py",
             "var(axis=1, ddof=1) / truth", "var(axis=1, ddof=0) / truth", ("test_stats.py",)),
    Mutation("scheme_std: mode fan_in uses fan_out (and back)", "init.py",
             'fan = fan_in if mode == "fan_in" else fan_out',
             'fan = fan_out if mode == "fan_in" else fan_in', ("test_init.py", "test_nets_train.py")),
    Mutation("mlp: off-by-one, an activation after the last Linear too", "nets.py",
             "if i < n_linear - 1 or final_activation:", "if i < n_linear or final_activation:",
             ("test_nets_train.py",)),
    Mutation("probe: underflow event check flipped (== 0 -> != 0)", "probe.py",
             "underflow_layer=_first(fwd.absmax == 0)", "underflow_layer=_first(fwd.absmax != 0)",
             ("test_probe.py",)),
    Mutation("probe: net cache FIFO instead of LRU (reuse does not refresh)", "probe.py",
             "net = _NETS.pop(key, None)", "net = _NETS.get(key)", ("test_probe.py",)),
    Mutation("lsuv_: leaves the model in training mode", "lsuv.py",
             "model.train(was_training)", "model.train(True)", ("test_lsuv.py",)),
    Mutation("train.accuracy: argmin instead of argmax", "train.py",
             "acc = float((model(x).argmax(1) == y).float().mean())",
             "acc = float((model(x).argmin(1) == y).float().mean())", ("test_nets_train.py",)),
    Mutation("plot_layer_histograms: counts / total, not a density", "plots.py",
             "density = row / (total * widths) if total > 0 else row",
             "density = row / total if total > 0 else row", ("test_plots.py",)),
)

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")


def snapshot(dest: Path) -> None:
    """helpers/, tests/ (conftest included) and pyproject.toml of this checkout, copied once, so
    edits made elsewhere while the check runs cannot mix into it."""
    shutil.copytree(ROOT / "helpers", dest / "helpers", ignore=_IGNORE)
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=_IGNORE)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(workdir), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def imported_helpers(workdir: Path) -> Path:
    """Where `import helpers` resolves with the environment the tests run in."""
    out = subprocess.run([sys.executable, "-c", "import helpers; print(helpers.__file__)"],
                         cwd=workdir, env=_env(workdir), capture_output=True, text=True, check=True)
    return Path(out.stdout.strip()).resolve()


def run_pytest(workdir: Path, tests: tuple[str, ...], nodes: list[str] = (),
               exitfirst: bool = True) -> tuple[bool | None, list[str], float]:
    """(passed, the failing tests or a reason, seconds); passed is None on a timeout.
    tests are file names under tests/; nodes, pytest node ids (run as well)."""
    cmd = [sys.executable, "-m", "pytest", "-q", *(["-x"] if exitfirst else []), "-p", "no:randomly",
           "-p", "no:cacheprovider", *(f"tests/{t}" for t in tests), *nodes]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=_env(workdir), capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, [f"timeout after {TIMEOUT} s"], time.perf_counter() - start
    seconds = time.perf_counter() - start
    if proc.returncode == 0:
        return True, [], seconds
    out = proc.stdout + proc.stderr
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", out, flags=re.M)
    if failed:
        return False, failed, seconds
    tail = [line for line in out.strip().splitlines() if line.strip()][-1:] or ["(no output)"]
    return False, [f"pytest exit {proc.returncode}: {tail[0]}"], seconds


def apply(workdir: Path, m: Mutation) -> None:
    path = workdir / "helpers" / m.file
    text = path.read_text()
    count = text.count(m.old)
    if count != 1:
        raise LookupError(f"helpers/{m.file}: the old snippet occurs {count} times, not once: {m.old!r}")
    path.write_text(text.replace(m.old, m.new))


def _one(tmp: Path, pristine: Path, i: int, m: Mutation) -> tuple[str, str, float]:
    """("caught" | "MISSED" | "STALE", the failing test or why, seconds) for one mutation."""
    work = tmp / f"m{i:02d}"
    shutil.copytree(pristine, work)
    try:
        apply(work, m)
    except LookupError as err:
        return "STALE", str(err), 0.0
    try:
        passed, failed, seconds = run_pytest(work, m.tests)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if passed is True:
        return "MISSED", f"{', '.join(m.tests)} all pass", seconds
    return "caught", failed[0], seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only mutations whose name contains this")
    parser.add_argument("--jobs", type=int, default=1, help="mutations run side by side")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if args.k.lower() in m.name.lower()]
    if not chosen:
        print(f"no mutation matches {args.k!r}")
        return 1
    with tempfile.TemporaryDirectory(prefix="initlab-mutate-") as tmp:
        tmp = Path(tmp)
        pristine = tmp / "pristine"
        snapshot(pristine)
        where = imported_helpers(pristine)
        print(f"helpers imported from {where}")
        if not where.is_relative_to(pristine.resolve()):
            print("the copy is not what gets imported: a mutation would test nothing")
            return 1
        results: list[tuple[str, str, float] | None] = [None] * len(chosen)
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futures = {pool.submit(_one, tmp, pristine, i, m): i for i, m in enumerate(chosen)}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = status, why, seconds = future.result()
                print(f"{status:7} {chosen[i].name}  <- {why} [{seconds:.0f} s]", flush=True)
        # A catch counts only if the catching test passes without the mutation.
        catchers = sorted({why for status, why, _ in results if status == "caught"
                           and why.startswith("tests/")})
        bad = set()
        if catchers:
            ok, failed, seconds = run_pytest(pristine, (), nodes=catchers, exitfirst=False)
            print(f"the {len(catchers)} catching tests on the unmutated copy: "
                  f"{'pass' if ok else 'FAIL ' + ', '.join(failed)} [{seconds:.0f} s]")
            bad = set(failed) if all(f.startswith("tests/") for f in failed) else set(catchers)
    caught = 0
    for m, (status, why, _) in zip(chosen, results, strict=True):
        if status == "caught" and why in bad:
            print(f"UNPROVEN {m.name}: {why} also fails without the mutation")
        caught += status == "caught" and why not in bad
    print(f"{caught} of {len(chosen)} mutations caught")
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
