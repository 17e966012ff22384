"""helpers.progress: a stored notebook shows a finished line, never tqdm's first frame."""

import pytest

from helpers import progress


class _Handle:
    def __init__(self, log):
        self.log = log

    def update(self, obj, raw=False):
        self.log.append(("update", obj, raw))


@pytest.fixture
def kernel(monkeypatch):
    """Pretend to run in a Jupyter kernel; record what is displayed and how it is updated."""
    log = []

    def display(obj, raw=False, display_id=None):
        log.append(("display", obj, raw, display_id))
        return _Handle(log)

    monkeypatch.setattr(progress, "_in_kernel", lambda: True)
    monkeypatch.setattr(progress, "display", display)
    return log


def test_outside_a_kernel_items_pass_through():
    assert list(progress.progress(range(4), total=4, desc="x")) == [0, 1, 2, 3]
    assert list(progress.progress(iter("ab"), total=2, desc="x", enabled=False)) == ["a", "b"]


def test_in_a_kernel_the_stored_text_is_the_finished_line_from_the_start(kernel):
    assert list(progress.progress(range(3), total=3, desc="sweep")) == [0, 1, 2]
    (_, bundle, raw, display_id), (_, final, _) = kernel
    assert raw and display_id is True
    assert bundle["text/plain"] == "sweep: 3/3 runs done", "no '0%| 0/3' frame is ever stored"
    assert "application/vnd.jupyter.widget-view+json" in bundle, "a live kernel still sees the bar"
    assert final == {"text/plain": "sweep: 3/3 runs done"}, "the widget goes, no timings stay"


def test_a_loop_left_early_says_so(kernel):
    for i in progress.progress(range(5), total=5, desc="train", unit="steps"):
        if i == 1:
            break
    assert kernel[-1][1] == {"text/plain": "train: stopped after 1/5 steps"}


def test_bad_total_is_a_value_error():
    with pytest.raises(ValueError, match="total"):
        list(progress.progress([], total=-1, desc="x"))
