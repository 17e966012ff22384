"""Install torch into the venv that runs this script, light by default (`make venv` calls it).

On Linux the default package index serves torch's CUDA build: gigabytes of GPU libraries a
CPU-only notebook never uses. PyTorch publishes a CPU-only wheel index; `make` passes it as
`--index` on Linux (TORCH_INDEX, which a learner may override or empty). This script asks that
index first and, when it cannot be reached, says so in one line and falls back to the default
index, so the set-up still finishes offline from PyTorch's servers. Nothing is installed when
the venv already has the requested version.

    python tests/tools/install_torch.py --version 2.13.0 [--index URL] [--uv PATH]

Only the standard library: it runs before anything else is installed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import urllib.error
import urllib.request

PROBE_SECONDS = 15


def installed_version() -> str | None:
    """torch's version in this interpreter's environment (e.g. '2.13.0+cpu'), or None."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def same_release(installed: str | None, wanted: str) -> bool:
    """'2.13.0+cpu' is the release '2.13.0' (the local label names the build, not the release)."""
    return installed is not None and installed.split("+", 1)[0] == wanted


def reachable(index: str, seconds: float = PROBE_SECONDS) -> bool:
    """Does the index answer for torch's page? (A proxy or a closed network says no at once.)"""
    url = index.rstrip("/") + "/torch/"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=seconds) as r:
            return 200 <= r.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


def install_command(version: str, index: str | None, uv: str | None) -> list[str]:
    """pip's (or uv's) command that installs exactly this torch release, from `index` if given."""
    base = [uv, "pip", "install", "--python", sys.executable] if uv else [
        sys.executable, "-m", "pip", "install", "--quiet"]
    return base + [f"torch=={version}"] + (["--index-url", index] if index else [])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True, help="torch release, e.g. 2.13.0")
    parser.add_argument("--index", default="", help="PyTorch wheel index to try first (empty: default)")
    parser.add_argument("--uv", default="", help="install with this uv instead of pip")
    args = parser.parse_args(argv)
    have = installed_version()
    if same_release(have, args.version):
        print(f"torch {have} is installed")
        return 0
    index = args.index or None
    if index and not reachable(index):
        print(f"PyTorch's wheel index {index} cannot be reached: installing torch {args.version} from the "
              "default index instead (on Linux that is the CUDA build, several GB; set TORCH_INDEX to "
              "choose another index)", flush=True)
        index = None
    return subprocess.call(install_command(args.version, index, args.uv or None))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
