"""The reference configuration under which notebook outputs are stored and compared.

float32 results depend on which CPU kernels run and on how many threads split a sum.
torch picks its kernels by CPU (AVX-512 on newer x86, AVX2 on older, NEON on arm64),
so outputs stored on one machine would differ in their last digits on another, and a
claim tuned to those digits would be false there. Every run that stores or compares
outputs (`make notebooks`, the nbval step of `make test`, `make lab`'s kernels) therefore
runs under one pinned configuration, whatever the caller's environment says:

- ATEN_CPU_CAPABILITY=avx2: torch's own vectorised kernels (elementwise, reductions)
- MKL_CBWR=AVX2: MKL's GEMM takes its AVX2 code path (conditional numerical reproducibility)
- ONEDNN_MAX_CPU_ISA=AVX2: oneDNN (convolutions, some matmuls) likewise
- one thread for OpenMP and MKL: a sum split over threads is rounded differently

Any x86-64 CPU with AVX2 (Intel since 2013, AMD since 2015) can run it. Where it cannot
(arm64 such as Apple Silicon, or x86 without AVX2), outputs cannot be reproduced bit for
bit; `make test` then says so and runs nbval in lax mode: every cell runs and every
assert must hold, but outputs are not compared.

Usage, from the Makefile:
    python tests/tools/reference.py exec CMD ...     run CMD under the reference
    python tests/tools/reference.py nbval-mode       print --nbval or --nbval-lax (and why, on stderr)
    python tests/tools/reference.py show             print the settings and whether they apply here
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

REFERENCE_ENV: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "INITLAB_STYLE": "default",  # stored figures use the default style (make lab-classroom sets it)
}


def reference_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with the reference settings forced on top."""
    env = dict(os.environ if base is None else base)
    env.update(REFERENCE_ENV)
    return env


def _x86_has_avx2() -> bool:
    """True on an x86-64 CPU that advertises AVX2 and FMA (the kernels the reference needs)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
        return "avx2" in flags and "fma" in flags
    except OSError:  # not Linux: ask torch what it runs under the reference
        probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
        out = subprocess.run([sys.executable, "-c", probe], env=reference_env(),
                             capture_output=True, text=True, check=False)
        return out.stdout.strip() == "AVX2"


def available() -> tuple[bool, str]:
    """Can this machine run the reference? Returns (yes, one line saying why not if not)."""
    if _x86_has_avx2():
        return True, ""
    return False, (f"this CPU ({platform.machine()}) cannot run the reference x86 AVX2 kernels, so stored "
                   "outputs are not compared here (nbval lax mode): every cell runs and every assert "
                   "must still hold")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("exec", "nbval-mode", "show"):
        print(__doc__, file=sys.stderr)
        return 2
    ok, why = available()
    if argv[0] == "show":
        for key, value in REFERENCE_ENV.items():
            print(f"{key}={value}")
        print("applies here" if ok else why)
        return 0
    if argv[0] == "nbval-mode":
        if not ok:
            print(f"note: {why}.", file=sys.stderr)
        print("--nbval" if ok else "--nbval-lax")
        return 0
    cmd = argv[1:]
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("reference.py exec: no command given", file=sys.stderr)
        return 2
    os.execvpe(cmd[0], cmd, reference_env() if ok else {**os.environ, **_threads_only()})
    return 0  # not reached


def _threads_only() -> dict[str, str]:
    """Off the reference CPU, pin at least the thread count and the plotting backend."""
    keep = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND")
    return {k: v for k, v in REFERENCE_ENV.items() if k in keep}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
