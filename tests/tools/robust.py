"""`make test-robust`: every notebook's asserts must hold on any seed, any x86 kernel, any thread count.

nbval (in `make test`) checks that a notebook reproduces its stored outputs under the
reference configuration (tests/tools/reference.py). That proves the outputs are current,
not that the claims are true: an assert tuned to SEED = 0 and to one CPU's rounding passes
there and fails on a learner's laptop. This tool executes every notebook on a fresh
kernel under each perturbation below, compares no outputs, and requires every cell to
run and every assert to hold:

    kernels=default   torch's scalar kernels, MKL's compatible path, oneDNN at SSE4.1
    kernels=avx2      the reference (what the stored outputs were made with); nbval in
                      `make test` already runs every notebook this way, asserts included,
                      so the default run skips it (ask for it with --only kernels=avx2)
    kernels=native    whatever this machine picks by itself (AVX-512 where it has it)
    threads=2         native kernels on 2 threads (a sum split in two rounds differently)
    SEED=1, SEED=2    the reference, with the setup cell's `SEED = 0` line changed

Prints a table notebook x perturbation, then every failure with its notebook,
perturbation, cell index and assert message, and a closing "N passed, N failed" line.

    python tests/tools/robust.py [--jobs 2] [--only SEED=1,threads=2] [NOTEBOOK ...]
    python tests/tools/robust.py --seeds 0-19 notebooks/07_sigmoid_zigzag.ipynb

`--seeds A-B` (or a comma list) runs the reference under each of those SEED values instead:
the sweep to run before calling an assert robust (`SEED=N` for any N also works in --only).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import REFERENCE_ENV, reference_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SEED_LINE = re.compile(r"^SEED = 0$", re.M)
KERNEL_VARS = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA")


def _native(threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in KERNEL_VARS}
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               MPLBACKEND=REFERENCE_ENV["MPLBACKEND"])
    if threads > 1:  # two workers x two threads on two cores: idle threads must not spin
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


PERTURBATIONS: dict[str, tuple[dict[str, str], int | None]] = {
    # name: (kernel environment, seed to put in the setup cell or None)
    "kernels=default": (reference_env() | {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE",
                                           "ONEDNN_MAX_CPU_ISA": "SSE41"}, None),
    "kernels=avx2": (reference_env(), None),
    "kernels=native": (_native(1), None),
    "threads=2": (_native(2), None),
    "SEED=1": (reference_env(), 1),
    "SEED=2": (reference_env(), 2),
}

# nbval runs the reference (kernels=avx2) with every assert in `make test`: not repeated here
DEFAULT = [name for name in PERTURBATIONS if name != "kernels=avx2"]


@dataclass
class Result:
    notebook: str
    perturbation: str
    seconds: float = 0.0
    failures: list[tuple[int, str]] = field(default_factory=list)  # (cell index, message)
    skipped: str = ""


def _message(exc: CellExecutionError) -> str:
    text = f"{exc.ename}: {exc.evalue}".strip()
    return text.splitlines()[0][:200] if text else "error"


def _perturbation(name: str) -> tuple[dict[str, str], int | None]:
    """The environment and seed of a named perturbation; `SEED=N` works for any whole N."""
    if name in PERTURBATIONS:
        return PERTURBATIONS[name]
    m = re.fullmatch(r"SEED=(\d+)", name)
    if not m:
        raise ValueError(f"unknown perturbation {name!r}; choose from {list(PERTURBATIONS)} or SEED=N")
    return reference_env(), int(m.group(1))


def _seed_names(spec: str) -> list[str]:
    """'0-19' or '3,5,7' -> ['SEED=0', ..., 'SEED=19']."""
    seeds: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return [f"SEED={s}" for s in seeds]


def run_one(path: str, perturbation: str, timeout: int = 600) -> Result:
    """Execute one notebook under one perturbation; record every cell that raised."""
    env, seed = _perturbation(perturbation)
    result = Result(Path(path).name, perturbation)
    nb = nbformat.read(path, as_version=4)
    if seed is not None:
        cells = [c for c in nb.cells if c.cell_type == "code" and SEED_LINE.search(c.source)]
        if not cells:
            result.skipped = "no `SEED = 0` line"
            return result
        for c in cells:
            c.source = SEED_LINE.sub(f"SEED = {seed}", c.source)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    start = time.perf_counter()
    with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):  # kernel start-up chatter
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as exc:
                result.failures.append((index, _message(exc)))
    result.seconds = time.perf_counter() - start
    return result


def _table(results: list[Result], notebooks: list[str], names: list[str]) -> str:
    by = {(r.notebook, r.perturbation): r for r in results}
    width = max(len(n) for n in names) + 1
    lines = ["notebook".ljust(28) + "".join(n.rjust(width) for n in names)]
    for nb in notebooks:
        row = nb.ljust(28)
        for n in names:
            r = by[nb, n]
            cell = f"FAIL {len(r.failures)}" if r.failures else f"ok {r.seconds:.0f}s"
            cell = "n/a" if r.skipped else cell
            row += cell.rjust(width)
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="",
                        help="comma-separated perturbations (default: all but kernels=avx2)")
    parser.add_argument("--seeds", default="",
                        help="a SEED sweep under the reference, e.g. 0-19 (replaces the default set)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(str(p) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    names = names + (_seed_names(args.seeds) if args.seeds else []) or list(DEFAULT)
    unknown = sorted(n for n in names if n not in PERTURBATIONS and not re.fullmatch(r"SEED=\d+", n))
    if unknown:
        parser.error(f"unknown perturbation(s) {unknown}; choose from {list(PERTURBATIONS)} or SEED=N")
    start = time.perf_counter()
    # longest notebooks first, so the two workers finish together
    jobs = sorted(((p, n) for p in paths for n in names), key=lambda j: -Path(j[0]).stat().st_size)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_one, *zip(*jobs, strict=True)))
    print(_table(results, [Path(p).name for p in paths], names))
    failed = [r for r in results if r.failures]
    for r in sorted(failed, key=lambda r: (r.notebook, r.perturbation)):
        for index, message in r.failures:
            print(f"FAILED {r.notebook} [{r.perturbation}] cell {index}: {message}")
    ran = [r for r in results if not r.skipped]
    print(f"{len(paths)} notebooks x {len(names)} perturbations in {time.perf_counter() - start:.0f} s")
    print(f"robust: {len(ran) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
