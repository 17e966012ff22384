"""Benchmark of the signal-propagation explorer (notebook 04): run by `make bench`.

Times one slider change, from the new value to the PNG the front end receives, the way a
learner's kernel runs it: under the reference configuration of `make lab`
(tests/tools/reference.py: one torch thread, pinned CPU kernels). Run any other way, the
script starts itself again under that configuration first, so its figures always mean the same.

(a) the explorer (helpers.widgets.propagation_explorer: cached nets, numpy statistics,
    artists updated in place), and
(b) a naive update: build the net, run it forward and backward, then a fresh figure with one
    histogram per layer, saved to PNG,
each over CHANGES different std values at depth 10, width 500 (every value new, so the
explorer's per-setting cache never answers), plus the explorer at depth 50. The naive update
sends the SAME batch as the explorer does at that depth (the explorer sends part of its batch
through deeper nets: widgets.EXPLORER_BATCH_STEPS; state["batch"] says how much), so the ratio
compares like with like; both batches are printed.

Prints the medians, the targets and whether each is met, and last one JSON line; exits 1 if a
target is missed. Targets (issue 14): explorer <= 60 ms, >= 8x faster than the naive update,
depth 50 <= 200 ms. Timings depend on the machine and on what else runs on it, hence the
load average in the first line: on a busy machine a miss may be the neighbours' doing, so run
it again when the machine is quiet before reading a miss as a regression.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402  (tests/tools/reference.py owns the configuration)


def _under_reference() -> dict[str, str]:
    """The environment the kernels of `make lab` get on this machine (reference.py decides)."""
    ok, _ = reference.available()
    return reference.reference_env() if ok else {**os.environ, **reference._threads_only()}


if __name__ == "__main__":
    _WANTED = _under_reference()
    if any(os.environ.get(k) != v for k, v in _WANTED.items() if k in reference.REFERENCE_ENV):
        # torch reads its thread and kernel settings once, at import: start again under them
        os.execvpe(sys.executable, [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]],
                   _WANTED)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers import nets, plots, probe, widgets  # noqa: E402

CHANGES = 24
WIDTH, BATCH, DEPTH, DEEP = 500, 256, 10, 50
TARGET_MS, TARGET_RATIO, TARGET_DEEP_MS = 60.0, 8.0, 200.0


def _stds(offset: float) -> list[float]:
    """CHANGES distinct positions of the log std slider (its step is 0.05 in log10)."""
    return [round(10 ** (-1.5 + offset + 0.05 * k), 6) for k in range(CHANGES)]


def explorer_ms(depth: int) -> tuple[list[float], int]:
    """Wall time of each std-slider change (compute + draw + PNG, as the widget does it), and
    the batch the explorer sent through the net at this depth."""
    e = widgets.propagation_explorer("fixed", 0.01, depth, "tanh", WIDTH, batch=BATCH)
    times = []
    for std in _stds(0.01 * depth):
        start = time.perf_counter()
        e.controls["std"].value = std
        times.append((time.perf_counter() - start) * 1e3)
        assert e.image.value == e.png and e.png.startswith(b"\x89PNG")
    return times, int(e.state["batch"])


def naive_update(depth: int, std: float, batch: int, seed: int = 0) -> bytes:
    """What a plain notebook cell does on every change: rebuild, rerun, redraw from scratch."""
    net = nets.mlp([WIDTH] * (depth + 1), "tanh", "fixed", std=std, final_activation=True, seed=seed)
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((batch, WIDTH), dtype=np.float32))
    hs, h = [], x.requires_grad_(True)
    for module in net:
        h = module(h)
        if isinstance(module, torch.nn.Tanh):
            h.retain_grad()
            hs.append(h)
    h.sum().backward()
    rows = probe.round_up(depth, 5) // 5  # a row of five panels per five layers
    fig = Figure(figsize=(11.0, 2.2 * rows), layout="constrained")  # about the explorer's size
    axes = np.atleast_1d(fig.subplots(rows, 5, sharey=True)).ravel()
    for i, (ax, act) in enumerate(zip(axes, hs, strict=False)):
        ax.hist(act.detach().numpy().ravel(), bins=50, range=(-1, 1))
        ax.set_title(f"layer {i + 1}: std {act.detach().std():.2g}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def naive_ms(depth: int, batch: int) -> list[float]:
    times = []
    for std in _stds(0.0):
        start = time.perf_counter()
        naive_update(depth, std, batch)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    plots.use_style()
    settings = {k: os.environ.get(k) for k in ("ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    print(f"load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; torch threads "
          f"{torch.get_num_threads()}, CPU kernels {torch.backends.cpu.get_cpu_capability()} "
          f"(the reference configuration: {', '.join(f'{k}={v}' for k, v in settings.items())})")
    print(f"{CHANGES} std changes each, width {WIDTH}, explorer batch argument {BATCH}")
    naive_update(DEPTH, 0.1, 64)  # warm-up: imports, fonts
    explorer_times, batch = explorer_ms(DEPTH)
    explorer = statistics.median(explorer_times)
    naive = statistics.median(naive_ms(DEPTH, batch))
    deep_times, deep_batch = explorer_ms(DEEP)
    deep = statistics.median(deep_times)
    ratio = naive / explorer
    checks = {"explorer": explorer <= TARGET_MS, "ratio": ratio >= TARGET_RATIO,
              "depth50": deep <= TARGET_DEEP_MS}
    print(f"explorer update, depth {DEPTH}, batch {batch}: median {explorer:.1f} ms "
          f"(target <= {TARGET_MS:.0f}: {_verdict(checks['explorer'])})")
    print(f"naive update,    depth {DEPTH}, batch {batch}: median {naive:.1f} ms (the same batch)")
    print(f"ratio naive / explorer: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}: {_verdict(checks['ratio'])})")
    print(f"explorer update, depth {DEEP}, batch {deep_batch}: median {deep:.1f} ms "
          f"(target <= {TARGET_DEEP_MS:.0f}: {_verdict(checks['depth50'])})")
    print(json.dumps({"explorer_ms": round(explorer, 1), "naive_ms": round(naive, 1), "batch": batch,
                      "ratio": round(ratio, 1), "depth50_ms": round(deep, 1), "depth50_batch": deep_batch,
                      "torch_threads": torch.get_num_threads(), "targets_met": all(checks.values())}))
    missed = [name for name, ok in checks.items() if not ok]
    if missed:
        print(f"targets missed: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
