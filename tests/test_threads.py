"""helpers.threads: single_thread pins torch to one thread and always restores the setting."""

import pytest
import torch

from helpers import threads


def test_single_thread_restores_the_setting():
    before = torch.get_num_threads()
    with threads.single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_single_thread_restores_the_setting_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), threads.single_thread():
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before
