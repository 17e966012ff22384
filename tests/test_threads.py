"""helpers.threads: single_thread pins torch to one thread and always restores the setting."""

import pytest
import torch

from helpers import threads


@pytest.fixture
def two_threads():
    """Start from 2 threads, whatever the run was given (make unit gives each worker 1), so
    restoring the setting differs from leaving 1 behind; the caller's setting comes back after."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield 2
    torch.set_num_threads(before)


def test_single_thread_restores_the_setting(two_threads):
    with threads.single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == two_threads


def test_single_thread_restores_the_setting_after_an_error(two_threads):
    with pytest.raises(RuntimeError), threads.single_thread():
        raise RuntimeError("inside")
    assert torch.get_num_threads() == two_threads
