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


def _no_widget_bar(*args, **kwargs):
    raise AssertionError("tqdm's widget bar must not be built without ipywidgets 8")


@pytest.mark.parametrize("old", ["7.7.1", None], ids=["ipywidgets 7 (Colab)", "no ipywidgets"])
def test_without_ipywidgets_8_the_bar_is_text_and_ends_on_the_finished_line(kernel, monkeypatch, old):
    """Issue 23: under ipywidgets 7 tqdm's TqdmHBox has no _repr_mimebundle_ and 09 crashed."""
    import sys

    if old is None:
        monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import fails as if not installed
    else:
        import ipywidgets

        monkeypatch.setattr(ipywidgets, "__version__", old)
    monkeypatch.setattr(progress, "notebook_tqdm", _no_widget_bar)
    assert not progress.widgets_usable()
    assert list(progress.progress(range(4), total=4, desc="sweep")) == [0, 1, 2, 3]
    (_, first, raw, display_id), *updates = kernel
    assert raw and display_id is True and list(first) == ["text/plain"], "text only, no widget"
    assert first["text/plain"] == "sweep: [                    ] 0/4 runs"
    assert updates[0][1] == {"text/plain": "sweep: [#####               ] 1/4 runs"}, "updated in place"
    assert updates[-1][1] == {"text/plain": "sweep: 4/4 runs done"}, "same stored line as the widget bar"


def test_a_widget_without_a_mimebundle_falls_back_to_text(kernel, monkeypatch):
    """An ipywidgets 7 TqdmHBox (no _repr_mimebundle_) behind a version string that says 8."""

    class OldBar:
        container = object()  # ipywidgets 7's box: drawn by _ipython_display_, no mime bundle

        def close(self):
            pass

    monkeypatch.setattr(progress, "widgets_usable", lambda: True)
    monkeypatch.setattr(progress, "notebook_tqdm", lambda **kwargs: OldBar())
    for i in progress.progress(range(3), total=3, desc="sweep"):
        if i == 1:
            break
    assert all(list(entry[1]) == ["text/plain"] for entry in kernel)
    assert kernel[-1][1] == {"text/plain": "sweep: stopped after 1/3 runs"}


def test_widgets_usable_reads_the_major_version(monkeypatch):
    import ipywidgets

    for version, usable in (("8.1.9", True), ("7.7.1", False), ("10.0", True), ("dev", False)):
        monkeypatch.setattr(ipywidgets, "__version__", version)
        assert progress.widgets_usable() is usable, version


def test_text_bar_fills_in_proportion():
    assert progress.text_bar("x", 0, 10, width=10) == "x: [          ] 0/10 runs"
    assert progress.text_bar("x", 5, 10, width=10, unit="steps") == "x: [#####     ] 5/10 steps"
    assert progress.text_bar("x", 10, 10, width=10) == "x: [##########] 10/10 runs"
    assert progress.text_bar("x", 0, 0, width=4) == "x: [####] 0/0 runs"
