"""Predict, then run, as a click: one-answer questions with instant feedback.

A core-path "Predict, then run" prompt with one right answer gets a quiz cell under it: the
learner picks a choice (or types a number) before the next cell measures it. `ask` renders the
quiz as plain HTML with a few lines of inline JavaScript (no script file, no network, no random
ids), so the same stored output works live in JupyterLab, in the static book and after a
student edition's cell is run; its text is the same on every run, so nbval can compare it.
`check` is the same test in Python, for pytest and for a reader without JavaScript, and
`agrees` lets a notebook's check cell assert that the quiz's right answer is what it measured.

The quiz data (`QUIZZES`) is the one place a right answer lives.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from helpers import validate

__all__ = ["Choice", "Quiz", "QuizCard", "QUIZZES", "ask", "check", "classify", "agrees", "right_answer",
           "feedback"]

_INF = math.inf
_SCALES = ("abs", "factor")


@dataclass(frozen=True)
class Choice:
    """One answer of a multiple-choice quiz, and the measurements it names: each entry of
    `within` is a half-open range [low, high) for one measured value."""

    text: str
    within: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Quiz:
    """A one-answer question. Multiple choice when `choices` is set (then `answer` is one
    choice's text); numeric otherwise (then `answer` is a number and a guess counts as right
    within `tolerance`: +- tolerance on the "abs" scale, a factor of `tolerance` on "factor")."""

    quiz_id: str
    question: str  # words of the notebook's prose prompt, which stays above the quiz
    answer: str | float
    why: str  # one sentence of reasoning, no measured number (the next cell prints those)
    choices: tuple[Choice, ...] = ()
    tolerance: float = 0.0
    scale: str = "abs"

    def __post_init__(self) -> None:
        validate.one_of("scale", self.scale, _SCALES)

    @property
    def notebook(self) -> str:
        """The two-digit number of the notebook the quiz belongs to ("04")."""
        return self.quiz_id[:2]


def _mc(quiz_id: str, question: str, answer: str, why: str, *choices: tuple[str, tuple]) -> Quiz:
    return Quiz(quiz_id, question, answer, why, tuple(Choice(text, within) for text, within in choices))


# The quiz data: one right answer per quiz, in one place. `within` says which measurement each
# choice names; the notebook's check cell asserts that its measurement falls in the answer's.
QUIZZES: dict[str, Quiz] = {q.quiz_id: q for q in (
    _mc("02-size", "How large is |a|: below 1, in the tens, or hundreds or more?", "in the tens",
        "a sum of n = 10,000 terms of std 1/3 has std √n/3 ≈ 33: tens.",
        ("below 1", ((0, 1),)), ("in the tens", ((10, 100),)), ("hundreds or more", ((100, _INF),))),
    _mc("03-clones", "After 500 SGD steps, how many distinct units are left: 32, about half, or one?", "one",
        "units that start equal get equal gradients, so they stay equal.",
        ("32", ((24, _INF),)), ("about half", ((8, 24),)), ("one", ((0, 8),))),
    Quiz("04-layer10", "What is the std at layer 10?",
         3e-7, "near 0 tanh is the identity, so ten layers multiply the std by 0.22 each.",
         tolerance=10.0, scale="factor"),
    _mc("04-relu", "By what factor per layer does each change the std?", "Xavier ×0.7, He ×1",
        "ReLU keeps half the second moment: Xavier's σ²n = 1 loses it, He's 2 makes it up; √½ ≈ 0.7 in std.",
        ("Xavier ×0.5, He ×1", ((0.4, 0.6), (0.9, 1.1))),
        ("Xavier ×0.7, He ×1", ((0.6, 0.8), (0.9, 1.1))),
        ("Xavier ×1, He ×1.4", ((0.9, 1.1), (1.3, 1.5)))),
    _mc("04-saturated", "With tanh and std 1, what fraction of the units sit at |h| > 0.99?", "most of them",
        "each pre-activation sums 500 terms of std 1: |a| is in the tens, far out on tanh's flat tails.",
        ("almost none", ((0, 0.1),)), ("about half", ((0.3, 0.7),)), ("most of them", ((0.7, 1.01),))),
    _mc("05-standard", "How much of layer 1's activation std will layer 5 keep: most, half, or a tenth?",
        "a tenth",
        "Var(W) = 1/(3n) multiplies the variance by about 1/3 a layer, and tanh shrinks it a bit more.",
        ("most", ((0.7, _INF),)), ("half", ((0.3, 0.7),)), ("a tenth", ((0, 0.3),))),
    _mc("05-xavier", "With Xavier, how much of layer 1's activation std will layer 5 keep?",
        "half (0.3 to 0.7)",
        "Var(W) = 1/n keeps a linear layer's variance; only tanh's flattening shrinks it.",
        ("most (over 0.7)", ((0.7, _INF),)), ("half (0.3 to 0.7)", ((0.3, 0.7),)),
        ("a tenth (under 0.3)", ((0, 0.3),))),
    _mc("06-depth30", "Where will each init end, at depth 10 and at depth 30?",
        "both learn at depth 10; at depth 30 He learns and Xavier stays near chance",
        "Xavier loses √2 of the std per ReLU layer: over 30 layers the signal and gradients vanish.",
        ("both learn at both depths", ((0.75, 1.01), (0.75, 1.01), (0.75, 1.01), (0.75, 1.01))),
        ("both learn at depth 10; at depth 30 He learns and Xavier stays near chance",
         ((0.75, 1.01), (0.75, 1.01), (0, 0.25), (0.75, 1.01))),
        ("both learn at depth 10; at depth 30 both stay near chance",
         ((0.75, 1.01), (0.75, 1.01), (0, 0.25), (0, 0.25)))),
    _mc("06-layer30",
        "Under Xavier, how much of layer 1's std does layer 30 keep: about half, about 1/100,"
        "\nor about 1/100,000?",
        "about 1/100,000",
        "each layer keeps √½ of the std, and 29 such factors multiply: (√½)²⁹ = 2^-14.5.",
        ("about half", ((0.1, _INF),)), ("about 1/100", ((1e-3, 0.1),)), ("about 1/100,000", ((0, 1e-3),))),
    _mc("10-top-key", "how much weight does the top key get on average", "nearly all of it",
        "unscaled logits have std √512 ≈ 23: the softmax of such spread-out logits is almost one-hot.",
        ("about 0.05", ((0, 0.15),)), ("about 0.3", ((0.15, 0.6),)), ("nearly all of it", ((0.6, 1.01),))),
    _mc("10-residual", "What std comes out: about 1, about 7", "far more",
        "each He branch doubles the stream's variance: 2⁵⁰ in variance, 2²⁵ in std.",
        ("about 1", ((0, 3),)), ("about 7 (√50)", ((3, 20),)), ("far more", ((20, _INF),))),
    _mc("12-loss", "is the initial\nloss near $\\ln 10 = 2.30$?", "far above it: hundreds or more",
        "each N(0, 1) layer multiplies the rms it receives by about √fan_in (a ReLU halves only the "
        "second moment): huge logits, confidently wrong.",
        ("near 2.30", ((0, 3.5),)), ("a few times 2.30", ((3.5, 30),)),
        ("far above it: hundreds or more", ((30, _INF),))),
    _mc("13-loss", "Will this net's loss before training be about 2.3,\nabout 5, or above 10?", "above 10",
        "std-1 weights make logits of std near 10: softmax is sure, and mostly of a wrong class.",
        ("about 2.3", ((0, 3.5),)), ("about 5", ((3.5, 10),)), ("above 10", ((10, _INF),))),
    _mc("13-factor", "With std 0.01, by what\nfactor does one layer multiply the signal's std", "about 0.1",
        "0.01 × √100 = 0.1, and tanh passes a small signal almost unchanged.",
        ("about 10", ((3, _INF),)), ("about 1", ((0.3, 3),)), ("about 0.1", ((0, 0.3),))),
)}


def _quiz(quiz_id: str) -> Quiz:
    validate.one_of("quiz_id", quiz_id, QUIZZES)
    return QUIZZES[quiz_id]


def right_answer(quiz_id: str) -> str | float:
    """The quiz's right answer, from the quiz data (for tests and check cells).

    Introduced in notebooks/02_sums_of_products.ipynb.
    """
    return _quiz(quiz_id).answer


def _number_text(x: float) -> str:
    return f"{x:g}"


def _is_right_number(q: Quiz, value: float) -> bool:
    a = float(q.answer)
    if q.scale == "factor":
        return value > 0 and value / a <= q.tolerance and a / value <= q.tolerance
    return abs(value - a) <= q.tolerance


def _answer_text(q: Quiz) -> str:
    return q.answer if q.choices else _number_text(float(q.answer))


def feedback(quiz_id: str, right: bool) -> str:
    """The sentence a learner sees after answering: right or not, the answer and why.

    Introduced in notebooks/02_sums_of_products.ipynb.
    """
    q = _quiz(quiz_id)
    head = f"✓ Right: {_answer_text(q)}." if right else f"✗ Not this one: the answer is {_answer_text(q)}."
    if not q.choices:
        allowed = (f"within a factor of {q.tolerance:g}" if q.scale == "factor"
                   else f"within ±{q.tolerance:g}")
        head = head[:-1] + f" ({allowed} counts)."
    return f"{head} Why: {q.why} The next cell measures it."


def check(quiz_id: str, answer: str | float, *, show: bool = True) -> bool:
    """Whether `answer` is the quiz's right answer; prints the feedback the quiz would show.

    A choice's text for a multiple-choice quiz, a number for a numeric one. The same rule
    as the quiz's JavaScript, so a reader without JavaScript (or a test) gets the same verdict.
    Introduced in notebooks/02_sums_of_products.ipynb.
    """
    q = _quiz(quiz_id)
    if q.choices:
        validate.one_of("answer", answer, tuple(c.text for c in q.choices))
        right = answer == q.answer
    else:
        try:
            value = float(answer)
        except (TypeError, ValueError):
            raise ValueError(f"answer must be a number (e.g. 0.5 or 1e-3), got {answer!r}") from None
        right = _is_right_number(q, value)
    if show:
        print(feedback(quiz_id, right))
    return right


def classify(quiz_id: str, measured: float | tuple[float, ...]) -> str:
    """The choice of a multiple-choice quiz whose ranges hold the measurement(s).

    Introduced in notebooks/02_sums_of_products.ipynb.
    """
    q = _quiz(quiz_id)
    if not q.choices:
        raise ValueError(f"quiz_id must name a multiple-choice quiz, one of "
                         f"{tuple(k for k, v in QUIZZES.items() if v.choices)}, got {quiz_id!r}")
    values = tuple(float(m) for m in measured) if isinstance(measured, tuple | list) else (float(measured),)
    n = len(q.choices[0].within)
    if len(values) != n:
        raise ValueError(f"measured must hold {n} value(s) for quiz {quiz_id!r}, got {len(values)}")
    for c in q.choices:
        if all(lo <= v < hi for v, (lo, hi) in zip(values, c.within, strict=True)):
            return c.text
    return "none of the choices"


def agrees(quiz_id: str, measured: float | tuple[float, ...]) -> bool:
    """Whether what a notebook measured is the quiz's right answer: the choice whose ranges
    hold it (multiple choice), or a value the quiz would accept (numeric).

    Introduced in notebooks/02_sums_of_products.ipynb.
    """
    q = _quiz(quiz_id)
    if q.choices:
        return classify(quiz_id, measured) == q.answer
    return _is_right_number(q, float(measured))  # type: ignore[arg-type]


# --- rendering: deterministic HTML, a few lines of inline JavaScript -----------------------------

_BOX = "border:1px solid #9e9e9e;border-radius:6px;padding:8px 12px;margin:4px 0;max-width:46em;"
_BUTTON = ("margin:2px 6px 2px 0;padding:4px 10px;border:1px solid #757575;border-radius:4px;"
           "background:#fafafa;color:#212121;cursor:pointer;font:inherit;")
# One click commits: every button locks, the right one turns green, a wrong pick red.
_CHOOSE_JS = (
    "var b=event.target.closest('button');if(!b||this.dataset.done)return;this.dataset.done='1';"
    "var ok=b.dataset.right==='1';this.querySelectorAll('button').forEach(function(x){x.disabled=true;"
    "if(x.dataset.right==='1'){x.style.background='#c8e6c9';x.style.borderColor='#2e7d32';}});"
    "if(!ok){b.style.background='#ffcdd2';b.style.borderColor='#c62828';}"
    "this.querySelector('[data-role=feedback]').textContent=ok?this.dataset.yes:this.dataset.no;")
# The same rule as check(): +- tolerance, or within a factor.
_NUMBER_JS = (
    "var b=event.target.closest('button');if(!b||this.dataset.done)return;"
    "var i=this.querySelector('input'),f=this.querySelector('[data-role=feedback]'),"
    "v=parseFloat(i.value.replace(/\\s/g,''));"
    "if(!isFinite(v)){f.textContent='Type a number, e.g. 0.5 or 1e-3.';return;}"
    "this.dataset.done='1';i.disabled=true;b.disabled=true;"
    "var a=parseFloat(this.dataset.answer),t=parseFloat(this.dataset.tol);"
    "var ok=this.dataset.scale==='factor'?(v>0&&v/a<=t&&a/v<=t):Math.abs(v-a)<=t;"
    "f.textContent=ok?this.dataset.yes:this.dataset.no;")
_ENTER_JS = "if(event.key==='Enter'){event.preventDefault();this.nextElementSibling.click();}"


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass(frozen=True)
class QuizCard:
    """What `ask` returns: JupyterLab and the book show its HTML, a terminal its text."""

    quiz_id: str

    def _repr_html_(self) -> str:
        q = _quiz(self.quiz_id)
        qid = _attr(q.quiz_id)
        yes, no = _attr(feedback(q.quiz_id, True)), _attr(feedback(q.quiz_id, False))
        if q.choices:
            body = "".join(
                f'<button type="button" data-right="{int(c.text == q.answer)}" style="{_BUTTON}">'
                f"{html.escape(c.text)}</button>" for c in q.choices)
            handler, data = _CHOOSE_JS, ""
        else:
            body = (f'<input type="text" size="10" aria-label="your prediction" placeholder="e.g. 1e-3" '
                    f'onkeydown="{_ENTER_JS}" style="font:inherit;padding:3px 6px;margin-right:6px;">'
                    f'<button type="button" style="{_BUTTON}">Check</button>')
            handler = _NUMBER_JS
            data = (f' data-answer="{_number_text(float(q.answer))}" data-tol="{q.tolerance:g}"'
                    f' data-scale="{q.scale}"')
        hint = (f'<div style="font-size:85%;color:#616161;margin-top:4px;">No response? Run this cell, or '
                f'call <code>quiz.check("{qid}", your_answer)</code>.</div>')
        return (f'<div class="initlab-quiz" data-quiz="{qid}" data-yes="{yes}" data-no="{no}"{data} '
                f'onclick="{handler}" style="{_BOX}"><div style="font-weight:600;margin-bottom:4px;">'
                f"Your prediction:</div>{body}"
                f'<div data-role="feedback" role="status" aria-live="polite" style="margin-top:6px;"></div>'
                f"{hint}</div>")

    def __repr__(self) -> str:
        q = _quiz(self.quiz_id)
        how = (" | ".join(c.text for c in q.choices) if q.choices else "a number")
        return f'Your prediction: {how}. Without JavaScript: quiz.check("{q.quiz_id}", your_answer)'


def ask(quiz_id: str) -> QuizCard:
    """The quiz as a cell output: choices (or a number box) with instant feedback.

    Deterministic HTML (ids from the quiz data, nothing random), so two runs store the same
    output. Introduced in notebooks/02_sums_of_products.ipynb.
    """
    _quiz(quiz_id)
    return QuizCard(quiz_id)
