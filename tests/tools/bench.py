"""Benchmark of the signal-propagation explorer (notebook 04): run by `make bench`.

Times one slider change, from the new value to the PNG the front end receives:
(a) the explorer (helpers.widgets.propagation_explorer: cached nets, numpy statistics,
    artists updated in place), and
(b) a naive update: build the net, run it forward and backward, then a fresh figure
    with one histogram per layer, saved to PNG,
each over >= 20 different std values at depth 10, width 500, batch 256 (every value
new, so the explorer's per-setting cache never answers), plus the explorer at depth 50.
Prints the medians and their ratio, and last one JSON line. Targets: explorer
<= 60 ms, >= 8x faster than naive, depth 50 <= 200 ms. Timings depend on the machine
and on what else runs on it, hence the load average in the first line.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import time

import numpy as np
import torch
from matplotlib.figure import Figure

from helpers import nets, plots, widgets

CHANGES = 24
WIDTH, BATCH, DEPTH, DEEP = 500, 256, 10, 50


def _stds(offset: float) -> list[float]:
    """CHANGES distinct positions of the log std slider (its step is 0.05 in log10)."""
    return [round(10 ** (-1.5 + offset + 0.05 * k), 6) for k in range(CHANGES)]


def explorer_ms(depth: int) -> list[float]:
    """Wall time of each std-slider change: compute + draw + PNG, as the widget does it."""
    e = widgets.propagation_explorer("fixed", 0.01, depth, "tanh", WIDTH, batch=BATCH)
    times = []
    for std in _stds(0.01 * depth):
        start = time.perf_counter()
        e.controls["std"].value = std
        times.append((time.perf_counter() - start) * 1e3)
        assert e.image.value == e.png and e.png.startswith(b"\x89PNG")
    return times


def naive_update(depth: int, std: float, seed: int = 0) -> bytes:
    """What a plain notebook cell does on every change: rebuild, rerun, redraw from scratch."""
    net = nets.mlp([WIDTH] * (depth + 1), "tanh", "fixed", std=std, final_activation=True, seed=seed)
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((BATCH, WIDTH), dtype=np.float32))
    hs, h = [], x.requires_grad_(True)
    for module in net:
        h = module(h)
        if isinstance(module, torch.nn.Tanh):
            h.retain_grad()
            hs.append(h)
    h.sum().backward()
    rows = -(-depth // 5)
    fig = Figure(figsize=(11.0, 2.2 * rows), layout="constrained")  # about the explorer's size
    axes = np.atleast_1d(fig.subplots(rows, 5, sharey=True)).ravel()
    for i, (ax, act) in enumerate(zip(axes, hs, strict=False)):
        ax.hist(act.detach().numpy().ravel(), bins=50, range=(-1, 1))
        ax.set_title(f"layer {i + 1}: std {act.detach().std():.2g}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def naive_ms(depth: int) -> list[float]:
    times = []
    for std in _stds(0.0):
        start = time.perf_counter()
        naive_update(depth, std)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> None:
    plots.use_style()
    load = os.getloadavg()[0]
    print(f"load average (1 min) {load:.2f} on {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}; {CHANGES} std changes each, width {WIDTH}, batch {BATCH}")
    naive_update(DEPTH, 0.1)  # warm-up: imports, fonts
    explorer = statistics.median(explorer_ms(DEPTH))
    naive = statistics.median(naive_ms(DEPTH))
    deep = statistics.median(explorer_ms(DEEP))
    print(f"explorer update, depth {DEPTH}: median {explorer:.1f} ms (target <= 60)")
    print(f"naive update,    depth {DEPTH}: median {naive:.1f} ms")
    print(f"ratio naive / explorer: {naive / explorer:.1f}x (target >= 8)")
    print(f"explorer update, depth {DEEP}: median {deep:.1f} ms (target <= 200)")
    print(json.dumps({"explorer_ms": round(explorer, 1), "naive_ms": round(naive, 1),
                      "ratio": round(naive / explorer, 1), "depth50_ms": round(deep, 1)}))


if __name__ == "__main__":
    main()
