"""Execute notebooks top to bottom on a fresh kernel and store their outputs in place.

`make notebooks` (all) or `make notebooks NB=notebooks/01_uniform_variance.ipynb`.
Outputs are what GitHub shows and what nbval compares, so run this after editing a
notebook. Every kernel runs under the reference configuration (tests/tools/reference.py),
whatever the caller's environment says, so the stored outputs are the ones nbval checks
on any x86-64 machine with AVX2; on a machine that cannot run it, nothing is stored.
Prints each notebook's wall time (the 30 s budget of the curriculum).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import available, reference_env  # noqa: E402

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def execute(path: Path, timeout: int = 300) -> float:
    """Run one notebook in its own folder on a fresh python3 kernel; return seconds taken."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = KERNELSPEC
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=False,
    )
    start = time.perf_counter()
    client.execute(env=reference_env())
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds


def main(paths: list[str]) -> int:
    ok, why = available()
    if not ok:
        print(f"not storing outputs: {why}", file=sys.stderr)
        return 1
    jobs = int(os.environ.get("JOBS", "2"))
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(paths)))) as pool:
        for p, seconds in zip(paths, pool.map(execute, map(Path, paths)), strict=True):
            print(f"{seconds:6.1f} s  {p}")
    return 0


def parse(argv: list[str]) -> list[str]:
    """The notebook paths to execute; `--help` prints the usage, a missing file stops with a message."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="The environment variable JOBS (default 2) sets how many notebooks run at once.")
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="a notebook to execute, e.g. "
                        "notebooks/01_uniform_variance.ipynb")
    args = parser.parse_args(argv)
    missing = [p for p in args.notebooks if not Path(p).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    return args.notebooks


if __name__ == "__main__":
    sys.exit(main(parse(sys.argv[1:])))
