"""helpers.quiz: every quiz has one right answer, Python and the page judge it alike, and the
stored HTML is the same on every run.

What this protects: a quiz that marks a wrong choice right (or its right one wrong), a choice
whose ranges overlap another's (then a notebook's measurement could "agree" with two answers),
a quiz output that changes from run to run (nbval would fail, the book would churn), and a
quiz the notebooks do not ask or never check against a measurement.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from helpers import quiz

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = list(quiz.QUIZZES)
ASK = re.compile(r"\bquiz\.ask\(\"([^\"]+)\"\)")
AGREES = re.compile(r"\bquiz\.agrees\(\"([^\"]+)\"")


def _src(cell: dict) -> str:
    return "".join(cell["source"])


def _cells():
    for path in NOTEBOOKS:
        for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            yield path, index, cell


@pytest.mark.parametrize("quiz_id", IDS)
def test_the_right_answer_is_right_and_every_other_choice_wrong(quiz_id):
    q = quiz.QUIZZES[quiz_id]
    assert quiz.check(quiz_id, q.answer, show=False)
    if q.choices:
        texts = [c.text for c in q.choices]
        assert texts.count(q.answer) == 1, "the answer is exactly one of the choices"
        assert len(set(texts)) == len(texts), "no choice twice"
        for text in texts:
            assert quiz.check(quiz_id, text, show=False) is (text == q.answer)
    else:
        a, t = float(q.answer), q.tolerance
        if q.scale == "factor":
            inside, outside = (a * t * 0.99, a / t * 1.01), (a * t * 1.01, a / t * 0.99)
        else:
            inside, outside = (a + 0.99 * t, a - 0.99 * t), (a + 1.01 * t, a - 1.01 * t)
        assert all(quiz.check(quiz_id, v, show=False) for v in inside)
        assert not any(quiz.check(quiz_id, v, show=False) for v in outside)


@pytest.mark.parametrize("quiz_id", [k for k, q in quiz.QUIZZES.items() if q.choices])
def test_choices_name_disjoint_measurements(quiz_id):
    """Each choice's ranges hold its own midpoint and no other choice holds it."""
    q = quiz.QUIZZES[quiz_id]
    for c in q.choices:
        assert all(lo < hi for lo, hi in c.within)
        point = tuple(lo + 1 if math.isinf(hi) else (lo + hi) / 2 for lo, hi in c.within)
        assert quiz.classify(quiz_id, point) == c.text
        others = [o.text for o in q.choices
                  if o is not c and all(lo <= v < hi for v, (lo, hi) in zip(point, o.within, strict=True))]
        assert not others, f"{c.text!r} overlaps {others}"
        assert quiz.agrees(quiz_id, point) is (c.text == q.answer)


def test_bad_input_names_the_valid_choices_before_any_work():
    with pytest.raises(ValueError, match="quiz_id must be one of"):
        quiz.ask("99-nothing")
    with pytest.raises(ValueError,
                       match=r"answer must be one of \('below 1', 'in the tens', 'hundreds or more'\)"):
        quiz.check("02-size", "ten")
    with pytest.raises(ValueError, match="answer must be a number"):
        quiz.check("04-layer10", "tiny")
    with pytest.raises(ValueError, match="measured must hold 2 value"):
        quiz.classify("04-relu", 0.7)
    with pytest.raises(ValueError, match="multiple-choice quiz"):
        quiz.classify("04-layer10", 3e-7)
    with pytest.raises(ValueError, match="scale must be one of"):
        quiz.Quiz("00-x", "q", 1.0, "why", scale="log")


def test_check_prints_the_feedback_a_reader_without_javascript_needs(capsys):
    assert quiz.check("02-size", "hundreds or more") is False
    out = capsys.readouterr().out
    assert out.startswith("✗ Not this one: the answer is in the tens.") and "Why:" in out
    assert quiz.check("04-layer10", "1e-6") is True  # within a factor of 10 of 3e-7
    assert capsys.readouterr().out.startswith("✓ Right: 3e-07 (within a factor of 10 counts).")
    assert quiz.check("04-layer10", 0.5, show=False) is False


def test_a_measurement_outside_every_choice_agrees_with_none():
    assert quiz.classify("02-size", -1.0) == "none of the choices"
    assert not quiz.agrees("02-size", -1.0)
    assert quiz.agrees("02-size", 21.9) and not quiz.agrees("02-size", 0.5)


@pytest.mark.parametrize("quiz_id", IDS)
def test_html_is_deterministic_small_and_self_contained(quiz_id):
    q = quiz.QUIZZES[quiz_id]
    page = quiz.ask(quiz_id)._repr_html_()
    assert page == quiz.ask(quiz_id)._repr_html_(), "two runs, one output (nbval compares it)"
    assert len(page) < 3000, f"{len(page)} characters stored per quiz cell"
    assert "<script" not in page and "http" not in page, "inline handlers only, nothing fetched"
    assert f'data-quiz="{quiz_id}"' in page
    if q.choices:
        assert page.count('data-right="1"') == 1 and page.count("<button") == len(q.choices)
    else:
        assert f'data-answer="{float(q.answer):g}"' in page and f'data-tol="{q.tolerance:g}"' in page
    text = repr(quiz.ask(quiz_id))
    assert text.startswith("Your prediction:") and f'quiz.check("{quiz_id}", your_answer)' in text
    assert q.choices or f"{float(q.answer):g}" not in text, "the text output does not give a number away"


@pytest.mark.parametrize("quiz_id", IDS)
def test_each_quiz_is_asked_once_right_under_its_prompt_and_checked_against_a_measurement(quiz_id):
    q = quiz.QUIZZES[quiz_id]
    asked = [(p, i) for p, i, c in _cells() if c["cell_type"] == "code" and quiz_id in ASK.findall(_src(c))]
    assert len(asked) == 1, f"{quiz_id} asked in {asked}"
    path, index = asked[0]
    assert path.name.startswith(q.notebook)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    prompt = cells[index - 1]
    assert prompt["cell_type"] == "markdown" and "Predict, then run" in _src(prompt)
    assert " ".join(q.question.split()) in " ".join(_src(prompt).split()), "the prompt keeps the question"
    checks = [c for c in cells[index + 1:] if c["cell_type"] == "code" and quiz_id in AGREES.findall(_src(c))]
    assert checks and "assert quiz.agrees" in _src(checks[0]), "a check cell asserts it agrees with the run"
    stored = [o["data"]["text/html"] for o in cells[index]["outputs"] if "text/html" in o.get("data", {})]
    assert ["".join(s) for s in stored] == [quiz.ask(quiz_id)._repr_html_()], "stored output is current"


def test_the_numeric_rule_in_the_page_is_the_python_rule():
    """The page's JavaScript compares with the same tolerance and scale as check()."""
    js = quiz._NUMBER_JS
    assert "v/a<=t&&a/v<=t" in js and "Math.abs(v-a)<=t" in js and "dataset.scale==='factor'" in js
