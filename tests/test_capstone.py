"""helpers.capstone: notebook 13's data, loss log and fix-it exercise.

Protects: the digits split is seeded, disjoint and complete, standardised with the training set's
statistics (constant pixels stay finite); the log table prints every row and refuses a row without
its columns; the exercise's broken net really is broken the way its hint says (checkup flags the
initial loss and the exploding signal); the checker says "correct" to a real repair, explains a
partial one, rejects a changed architecture, a non-model and a raising answer, and reports an
untouched starter (the broken net returned as built) as "not attempted" without raising.
"""

import math

import pytest
import torch
from sklearn.datasets import load_digits as sk_load_digits
from torch import nn

from helpers import capstone, checkup
from helpers.exercises import ex


def test_digits_split_is_seeded_disjoint_and_complete():
    a, b, c = capstone.load_digits(0), capstone.load_digits(0), capstone.load_digits(1)
    assert a.x_train.shape == (1348, 64) and a.x_test.shape == (449, 64)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.y_test, c.y_test), "another seed, another split"
    raw = sk_load_digits()
    labels = torch.bincount(torch.cat([a.y_train, a.y_test]), minlength=10)
    assert torch.equal(labels, torch.bincount(torch.tensor(raw.target), minlength=10))
    assert a.n_classes == capstone.N_CLASSES == 10


def test_digits_are_standardised_with_the_training_statistics():
    d = capstone.load_digits(3)
    assert torch.isfinite(d.x_train).all() and torch.isfinite(d.x_test).all()
    assert d.x_train.mean(0).abs().max() < 1e-5
    std = d.x_train.std(0)
    varying = std > 0
    assert torch.allclose(std[varying], torch.ones(int(varying.sum())), atol=1e-4)
    assert (d.x_train[:, ~varying] == 0).all(), "a pixel constant in training becomes 0"
    assert d.x_test.mean(0).abs().max() > 1e-3, "the test set is not standardised with its own mean"


def test_log_table_prints_every_row_and_checks_its_keys():
    row = dict(fix="0: std 1", initial=15.26, first50=3.96, train=0.066, test=1.114, accuracy=0.84)
    text = capstone.log_table([row, dict(row, fix="3: the right scheme", accuracy=0.951)])
    lines = text.splitlines()
    assert f"ln 10 = {math.log(10):.3f}" in lines[0] and "test accuracy" in lines[0] and len(lines) == 3
    assert lines[1].startswith("0: std 1") and "15.260" in lines[1] and "84.0%" in lines[1]
    assert lines[2].startswith("3: the right scheme") and "95.1%" in lines[2]
    with pytest.raises(ValueError, match="first50"):
        capstone.log_table([{k: v for k, v in row.items() if k != "first50"}])


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.2, float("nan")])
def test_bad_test_fraction_names_the_range(bad):
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        capstone.load_digits(0, test_fraction=bad)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_broken_relu_net_is_broken_as_the_exercise_says(seed):
    d = capstone.load_digits(seed)
    report = checkup.run(capstone.broken_relu_net(seed), d.x_train[:256], d.y_train[:256])
    assert {"initial loss", "exploding"} <= set(report.problems)
    assert capstone.repair_findings(capstone.broken_relu_net(seed), seed)


def _he_and_small_readout(seed):
    net = capstone.broken_relu_net(seed)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer in linears[:-1]:
            layer.weight.normal_(0, math.sqrt(2 / layer.in_features))
        linears[-1].weight.mul_(0.01)
    return net


def _readout_only(seed):
    net = capstone.broken_relu_net(seed)
    with torch.no_grad():
        net[-1].weight.mul_(0.01)
    return net


def _new_architecture(seed):
    return nn.Sequential(nn.Linear(64, 10))


def _raises(seed):
    raise RuntimeError("oops")


def test_repair_exercise_accepts_a_real_repair():
    assert ex.repair_relu_net.result(_he_and_small_readout).status == "correct"


@pytest.mark.parametrize("answer, says", [
    (_readout_only, "exploding"),
    (lambda seed: capstone.broken_relu_net(seed + 1), "initial loss"),
    (_new_architecture, "layers changed"),
    (lambda seed: "a model", "expected the repaired nn.Module"),
    (_raises, "RuntimeError: oops"),
    (42, "expected a function"),
])
def test_repair_exercise_explains_what_is_still_wrong(answer, says):
    r = ex.repair_relu_net.result(answer)
    assert r.status == "incorrect" and says in r.message and "repair_relu_net" in r.message


def _fading_hidden(init_):
    def repaired(seed):
        net = capstone.broken_relu_net(seed)
        linears = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for layer in linears[:-1]:
                init_(layer.weight)
            linears[-1].weight.mul_(0.01)
        return net
    return repaired


@pytest.mark.parametrize("init_", [
    torch.nn.init.xavier_normal_,
    lambda w: w.normal_(0, math.sqrt(1 / w.shape[1])),
], ids=["xavier_normal", "normal_1_over_fan_in"])
def test_repair_exercise_rejects_a_fading_relu_net_that_checkup_lets_pass(init_):
    """Xavier or 1/fan_in under ReLU (factor 0.5 a layer) with a small readout: checkup's 10x band
    lets four layers pass, but the exercise teaches He, so the checker names the per-layer factor."""
    answer = _fading_hidden(init_)
    d = capstone.load_digits(0)
    assert not checkup.run(answer(0), d.x_train[:256], d.y_train[:256]).problems, "checkup alone passes it"
    r = ex.repair_relu_net.result(answer)
    assert r.status == "incorrect" and "fan_in * Var(W) / 2 = 0.5" in r.message and "fades" in r.message
    assert len(capstone.relu_factor_findings(answer(0))) == 4
    assert capstone.relu_factor_findings(_he_and_small_readout(0)) == []


def test_untouched_starter_is_not_attempted_and_check_never_raises(capsys):
    def repaired(seed):
        net = capstone.broken_relu_net(seed)
        ...
        return net

    assert ex.repair_relu_net.result(repaired).status == "not attempted"
    assert ex.repair_relu_net.result(lambda seed: ...).status == "not attempted"
    assert ex.repair_relu_net.result(None).status == "not attempted"
    assert not capstone.is_untouched(_readout_only(0), 0) and capstone.is_untouched(repaired(1), 1)
    ex.repair_relu_net.check(repaired)
    ex.repair_relu_net.hint()
    ex.repair_relu_net.solution()
    out = capsys.readouterr().out
    assert "not attempted" in out and "Hint" in out and "normal_" in out


def test_the_printed_solution_is_a_correct_answer():
    """The solution text, executed, passes the checker (so .solution() never shows a wrong answer)."""
    code = ex.repair_relu_net.solution_text.split("\nHe's")[0]
    scope = {"capstone": capstone, "nn": nn, "torch": torch}
    exec(code, scope)  # noqa: S102 - our own solution text
    assert ex.repair_relu_net.result(scope["repaired"]).status == "correct"


def test_last_layer_scale_solution_shows_the_run(capsys):
    """13's open exercise (its starter and answer: test_exercises, over every open exercise): the
    worked solution builds the nets and prints the std-1 run."""
    ex.last_layer_scale.solution()
    out = capsys.readouterr().out
    assert "make_net" in out and "std 1:" in out
