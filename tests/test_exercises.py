"""Every checker says 'correct' to a right answer, explains a wrong one, and never raises."""

import math

import numpy as np
import pytest

from helpers import capstone, isometry, mup  # noqa: F401  (each registers exercises of its own)
from helpers.exercises import Exercise, OpenExercise, ex

RIGHT = {
    "pytorch_default_var": lambda fan_in: 1 / (3 * fan_in),
    "xavier_bound": lambda fan_in, fan_out, gain=1.0: gain * math.sqrt(6 / (fan_in + fan_out)),
    "he_conv_std": lambda c_in, k_h, k_w, a=0.0: math.sqrt(2 / ((1 + a**2) * c_in * k_h * k_w)),
    "uniform_bound": lambda std: math.sqrt(3) * std,
    "uniform_variance": lambda a, b: (b - a) ** 2 / 12,
    "rms_gain": lambda std, fan_in, act: std * math.sqrt(fan_in / (2 if act == "relu" else 1)),
    "unit_output_std": lambda n, var_x: 1 / math.sqrt(n * var_x),
    "critical_weight_std": lambda width, act: math.sqrt((2.0 if act == "relu" else 1.0) / width),
    "max_stable_lr": lambda curvature: 2 / curvature,
    "momentum_effective_lr": lambda lr, momentum: lr / (1 - momentum),
    "residual_stream_var": lambda depth, ratio: (1 + ratio) ** depth,
    "block_var_factor": lambda gain1, gain2: 1 + gain1**2 * gain2**2 / 2,
    "gpt2_residual_std": lambda n_layer: 0.02 / math.sqrt(2 * n_layer),
    "mup_adam_lr_factor": lambda layer, width, base: 1.0 if layer == "input" else base / width,
    "distinct_after_training": lambda hidden, output: 1 if "random" not in (hidden, output) else 32,
}
WRONG = {
    "pytorch_default_var": lambda fan_in: 1 / fan_in,
    "xavier_bound": lambda fan_in, fan_out, gain=1.0: gain * math.sqrt(6 / fan_in),
    "he_conv_std": lambda c_in, k_h, k_w, a=0.0: math.sqrt(2 / c_in),
    "uniform_bound": lambda std: std,
    "uniform_variance": lambda a, b: (b - a) / math.sqrt(12),
    "rms_gain": lambda std, fan_in, act: std * math.sqrt(fan_in),
    "unit_output_std": lambda n, var_x: 1 / n,
    "critical_weight_std": lambda width, act: math.sqrt(2 / width),
    "max_stable_lr": lambda curvature: 1 / curvature,
    "momentum_effective_lr": lambda lr, momentum: lr * (1 - momentum),
    "residual_stream_var": lambda depth, ratio: 1 + depth * ratio,
    "block_var_factor": lambda gain1, gain2: gain1**2 * gain2**2 / 2,
    "gpt2_residual_std": lambda n_layer: 0.02 / math.sqrt(n_layer),
    "mup_adam_lr_factor": lambda layer, width, base: 1.0,
    "distinct_after_training": lambda hidden, output: 1 if hidden != "random" else 32,
}


def all_exercises():
    return [e for e in vars(ex).values() if isinstance(e, Exercise)]


def test_every_exercise_has_a_right_and_a_wrong_answer_here():
    assert {e.name for e in all_exercises()} <= set(RIGHT) & set(WRONG)


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_answer_passes(name):
    assert getattr(ex, name).result(RIGHT[name]).status == "correct"


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_answer_is_explained(name):
    r = getattr(ex, name).result(WRONG[name])
    assert r.status == "incorrect" and name in r.message


def test_uniform_bound_message_says_what_is_wrong():
    msg = ex.uniform_bound.result(lambda std: std).message
    assert "you returned 1" in msg and "a = 1.732" in msg


def _stub(std):
    pass


def _raising_stub(std):
    raise NotImplementedError


@pytest.mark.parametrize("answer", [None, ..., _stub, _raising_stub, lambda s: ...])
def test_untouched_starter_is_not_attempted(answer, capsys):
    ex.uniform_bound.check(answer)  # must not raise
    assert "not attempted" in capsys.readouterr().out


def test_learner_code_that_raises_is_reported_not_raised():
    r = ex.uniform_bound.result(lambda std: 1 / 0)
    assert r.status == "incorrect" and "ZeroDivisionError" in r.message


def test_hint_and_solution_print(capsys):
    ex.uniform_bound.hint()
    ex.uniform_bound.solution()
    out = capsys.readouterr().out
    assert "Hint" in out and "sqrt(3)" in out


def test_init_messages_name_the_mistake():
    """03/05/06: the checker recognises the classic mistakes and says what they are."""
    assert "LeCun" in ex.pytorch_default_var.result(lambda n: 1 / n).message
    assert "He uniform" in ex.xavier_bound.result(lambda i, o, g=1.0: g * math.sqrt(6 / i)).message
    assert "whole kernel" in ex.he_conv_std.result(lambda c, h, w, a=0.0: math.sqrt(2 / c)).message
    slope_free = ex.he_conv_std.result(lambda c, h, w, a=0.0: math.sqrt(2 / (c * h * w)))
    assert "negative slope" in slope_free.message


def test_zigzag_messages_name_the_mistake():
    """07/08: the monotone limit 1/L'' and a shrunk momentum step are recognised and explained."""
    assert "cross the minimum" in ex.max_stable_lr.result(lambda c: 1 / c).message
    assert "divide by (1 - beta)" in ex.momentum_effective_lr.result(
        lambda lr, m: lr * (1 - m)).message


def _toy(explain):
    return Exercise(name="toy", cases=[((2.0,), 4.0)], explain=explain, hint_text="", solution_text="")


def test_the_learners_exception_is_reported_as_theirs():
    r = _toy(lambda args, got, want: "wrong").result(lambda x: 1 / 0)
    assert r.status == "incorrect" and "your code raised ZeroDivisionError" in r.message


def test_a_non_function_is_reported_to_the_learner():
    r = _toy(lambda args, got, want: "wrong").result(3.0)
    assert r.status == "incorrect" and "expected a function" in r.message


def test_a_bug_in_the_checker_is_not_blamed_on_the_learner():
    def broken_explain(args, got, want):
        raise KeyError("checker bug")

    with pytest.raises(KeyError, match="checker bug"):
        _toy(broken_explain).result(lambda x: x + 1)  # wrong answer -> the checker's explain runs


def test_residual_messages_name_the_mistake():
    """10: linear growth, a dropped identity path and GPT-2's missing factor 2 are recognised."""
    assert "linear growth" in ex.residual_stream_var.result(lambda d, r: 1 + d * r).message
    assert "identity path" in ex.residual_stream_var.result(lambda d, r: r**d).message
    assert "attention and MLP" in ex.gpt2_residual_std.result(
        lambda n: 0.02 / math.sqrt(n)).message


@pytest.mark.parametrize("name", ["residual_stream_var", "gpt2_residual_std"])
def test_residual_starters_are_not_attempted(name, capsys):
    getattr(ex, name).check(lambda *args: ...)
    assert "not attempted" in capsys.readouterr().out


def test_mup_messages_name_the_mistake():
    """11: muP's SGD column, an absolute 1/width and an unscaled hidden layer are recognised."""
    def sgd_rule(layer, width, base):
        return {"input": width / base, "hidden": 1.0, "output": base / width}[layer]

    assert "SGD column" in ex.mup_adam_lr_factor.result(sgd_rule).message
    assert "relative to the base" in ex.mup_adam_lr_factor.result(
        lambda layer, width, base: 1.0 if layer == "input" else 1 / width).message
    assert "fan_in = width" in ex.mup_adam_lr_factor.result(
        lambda layer, width, base: base / width if layer == "output" else 1.0).message
    ex.mup_adam_lr_factor.check(lambda *args: ...)  # an untouched starter must not raise


# --- Diagnosis and OpenExercise (01, 02) ---------------------------------------------------------

NAMED_RIGHT = {"lecun": "C", "saturates": "B", "vanishes": "A"}


def test_diagnosis_right_answer_passes_in_any_case():
    assert ex.name_the_rule.result(NAMED_RIGHT).status == "correct"
    assert ex.name_the_rule.result({k: v.lower() for k, v in NAMED_RIGHT.items()}).passed


@pytest.mark.parametrize("wrong, said", [
    ({"lecun": "B", "saturates": "B", "vanishes": "A"}, "flat row"),      # took the growing row
    ({"lecun": "C", "saturates": "A", "vanishes": "B"}, "grow like sqrt(n)"),  # read one column
    ({"lecun": "C", "saturates": "B", "vanishes": "D"}, "not one of A, B, C"),
    ({"lecun": "C", "saturates": "B"}, "keys lecun, saturates, vanishes"),
    ("C", "expected a dict"),
])
def test_diagnosis_wrong_answer_is_explained(wrong, said):
    r = ex.name_the_rule.result(wrong)
    assert r.status == "incorrect" and said in r.message


def test_diagnosis_starter_is_not_attempted(capsys):
    ex.name_the_rule.check({"lecun": ..., "saturates": ..., "vanishes": ...})
    ex.name_the_rule.check(...)
    assert capsys.readouterr().out.count("not attempted") == 2


def test_mystery_table_shows_what_the_answer_claims():
    """Layer C's row is flat, B's grows ~sqrt(10) per decade, A's shrinks ~sqrt(10): the right
    answer is readable from the printed table (and B < A at n = 10, so one column misleads)."""
    rows = {line.split(":")[0][-1]: [float(v) for v in line.split(":")[1].split()]
            for line in ex.name_the_rule.table(0).splitlines() if line.strip().startswith("layer")}
    c, b, a = (np.array(rows[k]) for k in "CBA")
    assert c.max() / c.min() < 1.2
    np.testing.assert_allclose(b[1:] / b[:-1], math.sqrt(10), rtol=0.2)
    np.testing.assert_allclose(a[:-1] / a[1:], math.sqrt(10), rtol=0.2)
    assert b[0] < a[0]


# --- 09 and 10: which deep net trains, a block's growth, open exercises ------------------------


# Each diagnosis: the right answer, and wrong ones with the words of the explanation they get.
DIAGNOSES = {
    "which_net_trains": ({"trains": "B", "stuck at chance": "A"},
                         [({"stuck at chance": "C"}, "1/6 per layer")]),
    "name_the_init": ({"he": "C", "xavier": "A", "std 0.01": "D", "std 0.1": "B"},
                      [({"he": "A", "xavier": "C"}, "stays level")]),
    "name_the_tanh_init": ({"standard": "B", "xavier_gain": "A", "std_1": "C"},
                           [({"xavier_gain": "C", "std_1": "A"}, "settles near 0.65")]),
    "why_it_stalls": ({"cause": "B", "fix": "2"},
                      [({"cause": "C"}, "not dead"), ({"fix": "3"}, "1.39 per layer")]),
    "read_the_checkup": ({"standardise the input": "B", "use He init": "C", "shrink the last layer": "A"},
                         [({"use He init": "B", "standardise the input": "C"},
                           "BatchNorm resets the scale")]),
    "momentum_lr_limit": ({"limit": "C", "set by": "A"},
                          [({"limit": "A"}, "1.31"), ({"set by": "B"}, "plateau")]),
}


@pytest.mark.parametrize("name", DIAGNOSES)
def test_diagnosis_right_wrong_and_starter(name):
    """The right answer passes (in either case), each wrong one is told why, a starter of `...`
    is "not attempted"."""
    e, (right, wrongs) = getattr(ex, name), DIAGNOSES[name]
    assert e.result(right).passed and e.result({k: v.lower() for k, v in right.items()}).passed
    for change, words in wrongs:
        r = e.result({**right, **change})
        assert r.status == "incorrect" and words in r.message, r.message
    assert e.result({k: ... for k in right}).status == "not attempted"


def test_a_diagnosis_question_can_have_its_own_choices():
    """06's why_it_stalls letters the causes A-D and numbers the fixes 1-4: a fix given as a letter
    is told the valid numbers, a fix given as an int counts, the starter names both lists."""
    e = ex.why_it_stalls
    assert e.result({"cause": "B", "fix": 2}).passed
    wrong = e.result({"cause": "B", "fix": "B"})
    assert wrong.status == "incorrect" and "not one of 1, 2, 3, 4" in wrong.message, wrong.message
    assert "not one of A, B, C, D" in e.result({"cause": 2, "fix": 2}).message
    starter = e.result({"cause": ..., "fix": ...}).message
    assert "cause with one of A, B, C, D; fix with one of 1, 2, 3, 4" in starter, starter


def test_which_net_trains_table_shows_what_the_answer_claims():
    """09: net B (He) keeps its std of order 1 over 16 layers, C (Xavier) falls ~0.71 per layer
    and A (default) ~0.41 per layer, so the answer is readable from the printed table."""
    for seed in (0, 1, 2):
        rows = {line.split(":")[0][-1]: [float(v) for v in line.split(":")[1].split()]
                for line in ex.which_net_trains.table(seed).splitlines() if line.startswith("  net")}
        a, b, c = (np.array(rows[k]) for k in "ABC")
        assert 0.1 < b[-1] < 10, "He: of order 1 after 16 layers"
        assert c[-1] ** (1 / 16) == pytest.approx(math.sqrt(0.5), rel=0.15)
        assert a[-1] ** (1 / 16) == pytest.approx(math.sqrt(1 / 6), rel=0.15)


def test_block_var_factor_names_the_mistakes():
    """10: the branch without the identity path, ReLU's halving forgotten, the std for the variance."""
    assert "identity path" in ex.block_var_factor.result(lambda g1, g2: g1**2 * g2**2 / 2).message
    assert "halves" in ex.block_var_factor.result(lambda g1, g2: 1 + g1**2 * g2**2).message
    assert "the std" in ex.block_var_factor.result(
        lambda g1, g2: math.sqrt(1 + g1**2 * g2**2 / 2)).message


def test_block_var_factor_matches_a_measured_block():
    """The checker's formula is what a real block of width 512 does (He branches: 2; both sqrt(2): 3)."""
    import torch

    from helpers import residual

    for g2, want in ((1.0, 2.0), (math.sqrt(2), 3.0)):
        block = residual.residual_blocks(1, 512, "he", seed=0)[0]
        with torch.no_grad():
            block.fc2.weight.mul_(g2)
        x = torch.randn(2048, 512, generator=torch.Generator().manual_seed(1))
        got = float(block(x).detach().var() / x.var())
        assert got == pytest.approx(want, rel=0.05)
        assert ex.block_var_factor.cases[[1.0, math.sqrt(2)].index(g2)][1] == pytest.approx(want)


# --- 03 distinct_after_training, 04 name_the_init and the open exercises of 03-04 -------------


def test_distinct_after_training_right_and_wrong():
    """Clones need equal incoming AND outgoing weights: "constant hidden layer = clones" is wrong."""
    e = ex.distinct_after_training
    assert e.result(lambda h, o: 1 if "random" not in (h, o) else 32).passed
    r = e.result(lambda h, o: 1 if h != "random" else 32)
    assert r.status == "incorrect" and "outgoing weights differ" in r.message
    e.check(lambda h, o: ...)  # an untouched starter must not raise


def test_name_the_init_table_shows_what_the_answer_claims():
    """Read from the printed table: C level, A x0.71 a layer, D x0.22, B x2.2 (ReLU, n = 1000)."""
    rows = {line.split(":")[0][-1]: np.array([float(v) for v in line.split(":")[1].split()])
            for line in ex.name_the_init.table(0).splitlines() if line.startswith("stack")}
    factor = {k: (v[-1] / v[0]) ** (1 / 9) for k, v in rows.items()}
    assert abs(factor["C"] - 1) < 0.05
    assert abs(factor["A"] - 2**-0.5) < 0.05
    assert abs(factor["D"] - 0.01 * math.sqrt(500)) < 0.02 and abs(factor["B"] - 0.1 * math.sqrt(500)) < 0.1


# --- 05 name_the_tanh_init, 06 why_it_stalls and their open exercises ------------------------


def test_name_the_tanh_init_table_shows_what_the_answer_claims():
    """05: B (standard) falls ~0.56x a layer both ways, A (Xavier x 5/3) settles near 0.65 with a
    gradient growing under 2x, C (std 1) sits near 1, mostly saturated, its gradient growing
    hundreds of times: readable from the printed table for any seed."""
    for seed in (0, 1, 2):
        lines = ex.name_the_tanh_init.table(seed).splitlines()
        act = {line.split(":")[0][-1]: np.array([float(v) for v in line.split(":")[1].split()])
               for line in lines if line.startswith("stack")}
        grad, saturated = ({k: v for k, v in (part.split() for part in line.split(": ")[1].split(", "))}
                           for line in lines[-2:])
        grad = {k: float(v) for k, v in grad.items()}
        assert (act["B"][-1] / act["B"][0]) ** (1 / 7) == pytest.approx(0.56, abs=0.05)
        assert grad["B"] < 0.05
        assert 0.55 < act["A"][-1] < 0.75 and 1 < grad["A"] < 2
        assert act["C"].min() > 0.9 and grad["C"] > 100
        assert float(saturated["C"].rstrip("%")) > 50 and float(saturated["A"].rstrip("%")) < 10


def test_why_it_stalls_table_shows_what_the_answer_claims():
    """06: the activation std falls ~0.71x a layer, about half the values are 0 (not dead), and
    the weight gradients are under 1e-2 of the weights' std 0.125, for any seed."""
    for seed in (0, 1, 2):
        rows = [line.split() for line in ex.why_it_stalls.table(seed).splitlines()[2:]]
        act = np.array([float(r[1]) for r in rows])
        zeros = np.array([float(r[2].rstrip("%")) for r in rows])
        weight_grads = np.array([float(r[4]) for r in rows])
        assert (act[-1] / act[0]) ** (1 / 29) == pytest.approx(math.sqrt(0.5), rel=0.05)
        assert np.all((zeros > 40) & (zeros < 65))
        assert weight_grads.max() < 1e-2 * 0.125


# --- 12: read a checkup; the cheat sheet's open exercises ---------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_read_the_checkup_nets_are_what_the_answer_claims(seed):
    """The checkup itself names each net's one problem, and the printed table shows it."""
    from helpers import exercises

    nets = exercises._checkup_nets_12(seed)
    assert {k: r.problems for k, (_, r) in nets.items()} == {
        "A": ("initial loss",), "B": ("input scale",), "C": ("vanishing",)}
    rows = {line[0]: line.split()[-7:] for line in ex.read_the_checkup.table(seed).splitlines()[2:]}
    assert float(rows["B"][0]) > 50 and 0.3 < float(rows["B"][-2]) < 3, "raw input, BatchNorm after"
    assert float(rows["C"][-2]) < 1e-4 and float(rows["A"][-1]) > 2, "collapsed signal; loud head"




# --- every open exercise: one test, over the registry ------------------------------------------

OPEN_EXERCISES = sorted(n for n, e in vars(ex).items() if isinstance(e, OpenExercise))


def test_the_open_exercises_are_found():
    assert len(OPEN_EXERCISES) >= 19, OPEN_EXERCISES


@pytest.mark.parametrize("name", OPEN_EXERCISES)
def test_open_exercise_has_a_worked_solution_and_a_quiet_starter(name, capsys):
    """An untouched starter says "not attempted" without raising (the notebook still runs in CI),
    any answer counts as answered, and .solution() prints a worked solution."""
    e = getattr(ex, name)
    assert e.result(...).status == "not attempted" and e.result(None).status == "not attempted"
    assert e.result("my answer").status == "answered"
    e.check(...)
    e.solution()
    out = capsys.readouterr().out
    assert "not attempted" in out and f"Solution ({name})" in out and len(out.splitlines()) > 5


# --- 08: exercise 2, the lr limit of momentum from the pinned start -------------------------------


def test_momentum_lr_limit_solution_says_what_the_grid_measures():
    """08: the worked solution's limit (fine up to lr 0.13, not from 0.14) and its cause (the
    failing runs coast furthest up the plateau) are what zigzag measures from the pinned start."""
    from helpers import zigzag

    grid = np.round(np.arange(0.05, 0.31, 0.01), 2)
    pinned = zigzag.article002_initial_weight(0)  # 08's ARTICLE_SEED: 07's pinned start, w0 = -0.0075
    scan = zigzag.run_article002_from([pinned] * len(grid), "momentum", lr=grid)
    fails = scan.final_losses >= 0.05
    first_bad = int(np.argmax(fails))
    assert grid[first_bad - 1] == 0.13 and grid[first_bad] == 0.14 and fails[first_bad:].all()
    highest = scan.weights.max(0)
    assert highest[fails].min() > highest[~fails].max()
    assert "0.13" in ex.momentum_lr_limit.solution_text and "0.14" in ex.momentum_lr_limit.solution_text
