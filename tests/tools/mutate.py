"""A small mutation check of the unit tests: run by `make mutate`.

Each entry of MUTATIONS is one hand-chosen bug planted in helpers/ (a constant in a formula,
an off-by-one, a flipped comparison, fan_in for fan_out, a dropped term, ...) and the tests
that should catch it (test files, or test node ids, under tests/). A copy of the repository's
helpers/, tests/ and pyproject.toml is taken once, at the start (the working tree, or with
--commit REV that commit), so edits made elsewhere meanwhile cannot mix in. Before anything
runs, every mutation's original snippet must occur exactly once in its file of that copy: a
snippet that was refactored away or duplicated stops the check with a list of every such
mutation (exit 2), rather than silently testing less. Then, for each mutation, the copy is
copied again, the snippet replaced, and `python -m pytest -q -x -p no:randomly <tests>` runs
there, with that directory as the working directory and PYTHONPATH, so the mutated copy is
what gets imported (not the editable install of this checkout; checked once and printed).

A mutation is caught when a test fails. A run that exceeds TIMEOUT is reported as TIMEOUT,
apart from the catches: a hang is not a failing test, and counts against the total. At the
end, the tests that caught one run on the unmutated copy and must pass there, or that catch
would mean nothing (UNPROVEN). Prints one line per mutation as it finishes, then the table
(module, mutation, result, caught by, seconds) and "N of M mutations caught (T timeouts)";
exits 1 unless every mutation was caught and proven. About 6 minutes on a free machine, one
pytest start (~10 s, mostly importing torch) per mutation; --jobs 2 about halves it.
    python tests/tools/mutate.py                 # all
    python tests/tools/mutate.py -k zigzag       # those whose module or name contains "zigzag"
    python tests/tools/mutate.py -k widgets,checkup   # either
    python tests/tools/mutate.py --commit HEAD   # the committed code, not the working tree
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300  # seconds per pytest run; a run that takes longer is a TIMEOUT, not a catch


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str  # under helpers/
    old: str  # the exact original snippet: must occur once in the file
    new: str
    tests: tuple[str, ...]  # test files or node ids, under tests/

    @property
    def module(self) -> str:
        return self.file.removesuffix(".py")


MUTATIONS = (
    # --- stats, init, lsuv, probe, train: formulas and bookkeeping --------------------------------
    Mutation("Var U(a, b) = (b - a)^2 / 12 -> / 11", "stats.py",
             "    return (b - a) ** 2 / 12", "    return (b - a) ** 2 / 11", ("test_stats.py",)),
    Mutation("uniform bound sqrt(3) std -> sqrt(2) std (Xavier bound sqrt(6 / (fan_in + fan_out)))",
             "stats.py", "return math.sqrt(3.0) * std", "return math.sqrt(2.0) * std",
             ("test_init.py", "test_stats.py")),
    Mutation("truncation factor 0.8796: 2 k phi(k) -> k phi(k)", "stats.py",
             "return math.sqrt(1 - 2 * k * pdf / mass)", "return math.sqrt(1 - k * pdf / mass)",
             ("test_stats.py",)),
    Mutation("monte_carlo_error: sample variance ddof=1 -> ddof=0", "stats.py",
             "var(axis=1, ddof=1) / truth", "var(axis=1, ddof=0) / truth", ("test_stats.py",)),
    Mutation("ReLU gain sqrt(2) -> sqrt(2.2)", "init.py",
             '    if nonlinearity == "relu":\n        return math.sqrt(2.0)',
             '    if nonlinearity == "relu":\n        return math.sqrt(2.2)', ("test_init.py",)),
    Mutation("scheme_std: mode fan_in uses fan_out (and back)", "init.py",
             'fan = fan_in if mode == "fan_in" else fan_out',
             'fan = fan_out if mode == "fan_in" else fan_in', ("test_init.py", "test_nets_train.py")),
    Mutation("lsuv_ leaves the model in training mode", "lsuv.py",
             "model.train(was_training)", "model.train(True)", ("test_lsuv.py",)),
    Mutation("underflow event check flipped (== 0 -> != 0)", "probe.py",
             "underflow_layer=_first(fwd.absmax == 0)", "underflow_layer=_first(fwd.absmax != 0)",
             ("test_probe.py",)),
    Mutation("net cache FIFO instead of LRU (reuse does not refresh)", "probe.py",
             "net = _NETS.pop(key, None)", "net = _NETS.get(key)", ("test_probe.py",)),
    Mutation("accuracy: argmin instead of argmax", "train.py",
             "acc = float((model(x).argmax(1) == y).float().mean())",
             "acc = float((model(x).argmin(1) == y).float().mean())", ("test_nets_train.py",)),
    # --- modules of one concept each: symmetry, fan modes, attention, residual, compare -----------
    Mutation("unit_spread: the largest column spread -> the smallest", "symmetry.py",
             "return float((w.amax(dim=0) - w.amin(dim=0)).max())",
             "return float((w.amax(dim=0) - w.amin(dim=0)).min())",
             ("test_symmetry.py::test_unit_spread_and_distinct_units_equal_brute_force",
              "test_symmetry.py::test_clones_have_zero_spread")),
    Mutation("norm_walk: the ReLU dropped (|h|^2 doubles a layer)", "fan_modes.py",
             "h = torch.bmm(w, h).relu()", "h = torch.bmm(w, h)", ("test_fan_modes.py",)),
    Mutation("logits divided by d_k, not sqrt(d_k)", "attention.py",
             "logits = logits / math.sqrt(q.shape[-1])", "logits = logits / q.shape[-1]",
             ("test_attention.py",)),
    Mutation("gpt2 residual std: 0.02 / sqrt(2 n_layer) -> 0.02 / sqrt(n_layer)", "residual.py",
             "return base_std / math.sqrt(2 * n_layer)", "return base_std / math.sqrt(n_layer)",
             ("test_residual.py",)),
    Mutation("scaled branches: 1 / sqrt(depth) -> 1 / depth", "residual.py",
             'return 1 / math.sqrt(depth) if branch_init == "scaled" else 1.0',
             'return 1 / depth if branch_init == "scaled" else 1.0', ("test_residual.py",)),
    Mutation("paired_difference: standard error sd / sqrt(n) -> sd / sqrt(n - 1)", "compare.py",
             "float(d.std() / math.sqrt(d.numel()))", "float(d.std() / math.sqrt(d.numel() - 1))",
             ("test_compare.py::test_paired_difference_against_numpy",)),
    # --- zigzag (07/08): the curvature by hand and the batched momentum loop ----------------------
    Mutation("curvature_closed_form: (1 - 2 s) -> (1 - s) in the second term", "zigzag.py",
             "(s - y) * ds * (1 - 2 * s)", "(s - y) * ds * (1 - s)", ("test_zigzag.py",)),
    Mutation("run_article002_from: the batched loop forgets its velocity (momentum ignored)",
             "zigzag.py", "v.mul_(beta).add_(g)", "v.mul_(0.0).add_(g)", ("test_zigzag.py",)),
    # --- small modules: threads, progress, exercises, capstone --------------------------------------
    Mutation("single_thread: leaves 1 thread behind instead of restoring the setting", "threads.py",
             "        torch.set_num_threads(before)", "        torch.set_num_threads(1)",
             ("test_threads.py",)),
    Mutation("text_bar: fills in proportion to done / (total + 1)", "progress.py",
             "filled = width * done // total if total else width",
             "filled = width * done // (total + 1) if total else width", ("test_progress.py",)),
    Mutation("exercise uniform_bound: checks against sqrt(2) s, not sqrt(3) s", "exercises.py",
             "cases=[((s,), math.sqrt(3) * s)", "cases=[((s,), math.sqrt(2) * s)",
             ("test_exercises.py", "test_exercise_solutions.py")),
    Mutation("a ReLU layer at half He's variance (Xavier) counts as He", "capstone.py",
             "HE_FACTOR_BAND: tuple[float, float] = (0.8, 1.25)",
             "HE_FACTOR_BAND: tuple[float, float] = (0.45, 1.25)", ("test_capstone.py",)),
    # --- modules refactored today: snippets from the committed code ---------------------------------
    Mutation("mlp: off-by-one, an activation after the last Linear too", "nets.py",
             "if i < n_linear - 1 or final_activation:", "if i < n_linear or final_activation:",
             ("test_nets_train.py",)),
    Mutation("plot_layer_histograms: counts / total, not a density", "plots.py",
             "density = row / (total * widths) if total > 0 else row",
             "density = row / total if total > 0 else row", ("test_plots.py",)),
    Mutation("integer_in: accepts one above its upper bound", "validate.py",
             "if not ok or (high is not None and value > high):",
             "if not ok or (high is not None and value > high + 1):", ("test_validate.py",)),
    Mutation("explorer_batch: a deep net gets fewer than 64 inputs (floor 32)", "widgets.py",
             "return max(min(batch, 64), batch // divisor)", "return max(min(batch, 32), batch // divisor)",
             ("test_explorer.py::test_deeper_settings_use_part_of_the_batch_and_say_so",)),
    Mutation("monte_carlo_explorer: the readout's theory is for U(a, 2b)", "widgets.py",
             "measured, theory = x.var(ddof=1), stats.uniform_variance(lo, hi)",
             "measured, theory = x.var(ddof=1), stats.uniform_variance(lo, 2 * hi)", ("test_widgets.py",)),
    Mutation("a first layer's grad:data 100x above the last is no exploding gradient",
             "checkup.py", "    if 1 / GRAD_DATA_FACTOR <= ratio <= GRAD_DATA_FACTOR:",
             "    if 1 / GRAD_DATA_FACTOR <= ratio:",
             ("test_checkup.py::test_an_exploding_gradient_is_named",)),
    Mutation("an initial loss below ln C is only a note", "checkup.py",
             '    return Finding(rule, name, "problem", ratio,\n                   f"{head}, below it',
             '    return Finding(rule, name, "note", ratio,\n                   f"{head}, below it',
             ("test_checkup.py::test_a_loss_below_ln_c_is_a_leak",)),
    Mutation("mean-field tanh: chi = sigma_w^2 E[tanh'(h)^2] loses its square", "criticality.py",
             "chi, q_next = sigma_w2 * float(weights @ (1 - h**2) ** 2)",
             "chi, q_next = sigma_w2 * float(weights @ (1 - h**2))", ("test_criticality.py",)),
    Mutation("muP with Adam: the hidden layer's lr keeps x1, not x1/m", "mup.py",
             '"hidden": LayerRule(1.0, he_hidden, 1.0 if sgd else 1 / m),',
             '"hidden": LayerRule(1.0, he_hidden, 1.0),', ("test_mup.py",)),
    Mutation("orthogonal_relu_variance: the raw input goes through a ReLU too", "cheatsheet.py",
             "z = (h.relu() if layer else h) @ w.T", "z = h.relu() @ w.T",
             ("test_cheatsheet.py::test_orthogonal_relu_variance_follows_its_closed_form",)),
    Mutation("draw_uniform: the histogram shows counts, not a density next to 1/(b - a)", "panels.py",
             "values, edges = np.histogram(x, bins=bins, range=(a, b), density=True)",
             "values, edges = np.histogram(x, bins=bins, range=(a, b), density=False)",
             ("test_panels.py",)),
)

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
_PARTS = ("helpers", "tests", "pyproject.toml")


def snapshot(dest: Path, commit: str | None = None) -> None:
    """helpers/, tests/ (conftest included) and pyproject.toml, copied once: of the working tree,
    or of `commit` (git archive) so that others' uncommitted edits stay out."""
    if commit is None:
        shutil.copytree(ROOT / "helpers", dest / "helpers", ignore=_IGNORE)
        shutil.copytree(ROOT / "tests", dest / "tests", ignore=_IGNORE)
        shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
        return
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, *_PARTS],
                         capture_output=True, check=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")


def _env(workdir: Path) -> dict[str, str]:
    # one torch thread per run, as `make unit` gives each worker: two threads contend on 2 cores
    env = dict(os.environ, PYTHONPATH=str(workdir), PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def imported_helpers(workdir: Path) -> Path:
    """Where `import helpers` resolves with the environment the tests run in."""
    out = subprocess.run([sys.executable, "-c", "import helpers; print(helpers.__file__)"],
                         cwd=workdir, env=_env(workdir), capture_output=True, text=True, check=True)
    return Path(out.stdout.strip()).resolve()


def run_pytest(workdir: Path, tests: tuple[str, ...], exitfirst: bool = True
               ) -> tuple[bool | None, list[str], float]:
    """(passed, the failing tests or a reason, seconds); passed is None on a timeout.
    tests: file names or node ids under tests/ (node ids as pytest prints them: tests/...)."""
    paths = [t if t.startswith("tests/") else f"tests/{t}" for t in tests]
    cmd = [sys.executable, "-m", "pytest", "-q", *(["-x"] if exitfirst else []), "-p", "no:randomly",
           "-p", "no:cacheprovider", *paths]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=_env(workdir), capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, [f"no result within {TIMEOUT} s"], time.perf_counter() - start
    seconds = time.perf_counter() - start
    if proc.returncode == 0:
        return True, [], seconds
    out = proc.stdout + proc.stderr
    # node ids may hold spaces inside their [parameters]; pytest ends the id with " - " or the line
    failed = re.findall(r"^(?:FAILED|ERROR) (\S.*?)(?: - .*)?$", out, flags=re.M)
    if failed:
        return False, failed, seconds
    tail = [line for line in out.strip().splitlines() if line.strip()][-1:] or ["(no output)"]
    return False, [f"pytest exit {proc.returncode}: {tail[0]}"], seconds


def stale(workdir: Path, m: Mutation) -> str | None:
    """Why m's snippet cannot be planted in the copy at `workdir` (None if it can): its file or
    its test files are gone, or the snippet does not occur exactly once."""
    path = workdir / "helpers" / m.file
    if not path.exists():
        return f"helpers/{m.file} does not exist"
    missing = [t for t in m.tests if not (workdir / "tests" / t.split("::")[0]).exists()]
    if missing:
        return f"test file(s) missing: {', '.join(missing)}"
    count = path.read_text().count(m.old)
    if count != 1:
        return f"helpers/{m.file}: the original snippet occurs {count} times, not once: {m.old!r}"
    return None


def apply(workdir: Path, m: Mutation) -> None:
    path = workdir / "helpers" / m.file
    why = stale(workdir, m)
    if why:
        raise LookupError(why)
    path.write_text(path.read_text().replace(m.old, m.new))


def _one(tmp: Path, pristine: Path, i: int, m: Mutation) -> tuple[str, str, float]:
    """("caught" | "MISSED" | "TIMEOUT", the failing test or why, seconds) for one mutation."""
    work = tmp / f"m{i:02d}"
    shutil.copytree(pristine, work)
    try:
        apply(work, m)
        passed, failed, seconds = run_pytest(work, m.tests)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if passed is None:
        return "TIMEOUT", failed[0], seconds
    if passed:
        return "MISSED", f"{', '.join(m.tests)} all pass", seconds
    return "caught", failed[0], seconds


def table(rows: list[tuple[str, str, str, str, float]]) -> str:
    """The mutation table: module, mutation, result, caught by (or why not), seconds."""
    cells = [("module", "mutation", "result", "caught by", "s")]
    cells += [(mod, name, result, by.removeprefix("tests/"), f"{s:.0f}") for mod, name, result, by, s in rows]
    wide = [max(len(c[k]) for c in cells) for k in range(5)]
    lines = ["  ".join(c[k].rjust(wide[k]) if k == 4 else c[k].ljust(wide[k]) for k in range(5))
             for c in cells]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only mutations whose module or name contains this "
                        "(several: comma-separated, any of them)")
    parser.add_argument("--jobs", type=int, default=1, help="mutations run side by side")
    parser.add_argument("--commit", default=None, help="test this commit's code, not the working tree")
    args = parser.parse_args()
    keys = [k.strip().lower() for k in args.k.split(",")]
    chosen = [m for m in MUTATIONS if any(k in m.name.lower() or k in m.module for k in keys)]
    if not chosen:
        print(f"no mutation matches {args.k!r}")
        return 1
    print(f"{len(chosen)} mutations over {len({m.module for m in chosen})} modules "
          f"({'commit ' + args.commit if args.commit else 'the working tree'})")
    with tempfile.TemporaryDirectory(prefix="initlab-mutate-") as tmp:
        tmp = Path(tmp)
        pristine = tmp / "pristine"
        snapshot(pristine, args.commit)
        lost = [(m, why) for m in chosen if (why := stale(pristine, m))]
        if lost:
            for m, why in lost:
                print(f"STALE   {m.module}: {m.name}: {why}", file=sys.stderr)
            print(f"{len(lost)} mutation(s) no longer match the code: update their snippets in "
                  "tests/tools/mutate.py (nothing was run)", file=sys.stderr)
            return 2
        where = imported_helpers(pristine)
        print(f"helpers imported from the copy: {where.is_relative_to(pristine.resolve())}")
        if not where.is_relative_to(pristine.resolve()):
            print(f"the copy is not what gets imported ({where}): a mutation would test nothing")
            return 1
        results: list[tuple[str, str, float] | None] = [None] * len(chosen)
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futures = {pool.submit(_one, tmp, pristine, i, m): i for i, m in enumerate(chosen)}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = status, why, seconds = future.result()
                print(f"{status:7} {chosen[i].module}: {chosen[i].name}  <- {why} [{seconds:.0f} s]",
                      flush=True)
        # A catch counts only if the catching test passes without the mutation.
        catchers = sorted({why for status, why, _ in results if status == "caught"
                           and why.startswith("tests/")})
        bad: set[str] = set()
        if catchers:
            ok, failed, seconds = run_pytest(pristine, tuple(catchers), exitfirst=False)
            print(f"the {len(catchers)} catching tests on the unmutated copy: "
                  f"{'pass' if ok else 'FAIL ' + ', '.join(failed)} [{seconds:.0f} s]")
            if not ok:
                bad = set(failed) if failed and all(f.startswith("tests/") for f in failed) else set(catchers)
    rows = []
    for m, (status, why, seconds) in zip(chosen, results, strict=True):
        if status == "caught" and (why in bad or not why.startswith("tests/")):
            status = "UNPROVEN"  # fails unmutated too, or failed without naming a test
        rows.append((m.module, m.name, status, why, seconds))
    print()
    print(table(rows))
    caught = sum(r[2] == "caught" for r in rows)
    timeouts = sum(r[2] == "TIMEOUT" for r in rows)
    print(f"\n{caught} of {len(chosen)} mutations caught over {len({m.module for m in chosen})} modules "
          f"({timeouts} timeouts, {sum(r[2] == 'MISSED' for r in rows)} missed, "
          f"{sum(r[2] == 'UNPROVEN' for r in rows)} unproven)")
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
