"""Thread control for small torch workloads.

Nets as small as this project's spend their time in per-op overhead; on a shared 2-core
machine two threads contend, and a sweep runs several times slower than on one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["single_thread"]


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block, then restore the previous setting.

    Nets this small spend their time in per-op overhead; on a shared 2-core machine two
    threads contend and a sweep runs several times slower than on one.
    Introduced in notebooks/09_init_in_training.ipynb.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
