"""Notebook 12's cheat sheet: every printed formula equals what the printed torch call does, the
Keras column says what Keras' source does, every myth and row links to a section of the series,
and the checkup's example models start from torch's default distributions and show the findings
the notebook reads out."""

import json
import math
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from helpers import cheatsheet, checkup, residual

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SERIES = ("00_start_here", "01_uniform_variance", "02_sums_of_products",
          "03_constant_and_random_init", "04_signal_propagation", "05_xavier_glorot",
          "06_he_kaiming", "07_sigmoid_zigzag", "08_fixes", "09_init_in_training",
          "10_attention_residual", "11_width_and_isometry", "12_cheat_sheet")


def _id(c):
    return f"{c.scheme}-{c.call}-{c.quantity}-{c.shape}"


@pytest.mark.parametrize("check", cheatsheet.check_against_torch(), ids=_id)
def test_formula_equals_torch(check):
    if check.quantity == "bound":
        assert check.measured <= check.formula * (1 + 1e-6), "no draw beyond the bound"
        assert check.rel_error < check.tolerance, "the largest of many draws sits just below the bound"
    else:
        assert check.rel_error < check.tolerance, f"std formula vs torch: {check}"


def test_std_tolerance_is_five_standard_errors_and_tight_enough_to_catch_a_wrong_fan():
    checks = cheatsheet.check_against_torch()
    for c in checks:
        if c.quantity == "std":
            assert c.tolerance == pytest.approx(5 / (2 * c.n) ** 0.5)
            assert c.tolerance < 0.05, "a fan_in/fan_out mix-up on these shapes is at least 10% off"


def test_every_torch_row_is_checked_on_a_conv_shape_too():
    checked = {(c.scheme, len(c.shape)) for c in cheatsheet.check_against_torch()}
    for row in cheatsheet.ROWS:
        if row.torch_normal or row.torch_uniform:
            assert (row.scheme, 2) in checked and (row.scheme, 4) in checked


def test_a_wrong_formula_would_be_caught():
    """Seed 004's sqrt(6 / fan_in) for GlorotUniform misses torch's bound by far."""
    xavier = next(c for c in cheatsheet.check_against_torch()
                  if c.scheme.startswith("Xavier") and c.quantity == "bound")
    wrong = (6 / xavier.shape[1]) ** 0.5
    assert abs(xavier.measured / wrong - 1) > 0.1


def test_table_has_every_column_and_row():
    table = cheatsheet.markdown_table()
    lines = table.splitlines()
    assert len(lines) == 2 + len(cheatsheet.ROWS)
    n_cols = len(lines[1].split("---")) - 1
    assert all(line.count(" | ") == n_cols - 1 for line in lines if not line.startswith("|---"))
    for col in ("PyTorch", "Keras", "Keras: truncated? corrected?", "default fan mode", "when to use"):
        assert col in lines[0]


# What Keras' own source does (keras/src/initializers/random_initializers.py): the VarianceScaling
# family draws truncated_normal with stddev = sqrt(scale / n) / 0.87962566103423978; TruncatedNormal
# calls random.truncated_normal with the stddev given; RandomNormal and Orthogonal draw untruncated.
KERAS_SOURCE = {"LecunNormal": (True, True), "GlorotNormal": (True, True), "HeNormal": (True, True),
                "TruncatedNormal": (True, False), "RandomNormal": (False, False),
                "Orthogonal": (False, False)}


def test_keras_column_matches_keras_source():
    draws = {d.name: d for row in cheatsheet.ROWS for d in row.keras_normal}
    assert set(draws) == set(KERAS_SOURCE), "every Keras normal initialiser of the table is pinned here"
    for name, (truncated, corrected) in KERAS_SOURCE.items():
        assert (draws[name].truncated, draws[name].corrected) == (truncated, corrected), name
    assert cheatsheet.KERAS_TRUNCATION_FACTOR == pytest.approx(0.87962566103423978, abs=1e-12)
    for row in cheatsheet.ROWS:
        cell = row.keras_truncation()
        assert all(f"`{d.name}`" in cell for d in row.keras_normal), row.scheme
        if not row.keras_normal:
            assert cell.startswith("n/a")


def test_keras_names_in_the_table_have_a_truncation_entry():
    """A row naming a Keras *Normal initialiser says how it truncates."""
    for row in cheatsheet.ROWS:
        named = {n.strip("`") for n in re.findall(r"`(\w+Normal)[`(]", row.keras)}
        assert named <= {d.name for d in row.keras_normal}, (row.scheme, named)


@pytest.mark.parametrize("name", sorted(set(KERAS_SOURCE) - {"Orthogonal"}))
def test_replayed_keras_recipe_gives_the_std_the_column_claims(name):
    draw = next(d for row in cheatsheet.ROWS for d in row.keras_normal if d.name == name)
    got = cheatsheet.replay_keras_draw(draw, 0.05, 200_000, seed=3) / 0.05
    assert got == pytest.approx(draw.std_factor(), rel=5 / (2 * 200_000) ** 0.5)


def test_orthogonal_is_not_replayed_as_iid_draws():
    orth = next(d for row in cheatsheet.ROWS for d in row.keras_normal if d.name == "Orthogonal")
    assert orth.qr and "QR" in orth.describe()
    with pytest.raises(ValueError, match="QR"):
        cheatsheet.replay_keras_draw(orth, 1.0, 100)


def test_an_uncorrected_truncation_would_be_visible():
    """If the VarianceScaling family did not divide by 0.8796 its std would be 12% low."""
    wrong = cheatsheet.KerasDraw("HeNormal", truncated=True, corrected=False)
    got = cheatsheet.replay_keras_draw(wrong, 1.0, 200_000, seed=0)
    assert abs(got - 1) > 0.1 and got == pytest.approx(0.8796, rel=0.01)


def test_orthogonal_relu_variance_follows_its_closed_form():
    one, want = cheatsheet.orthogonal_relu_variance(1.7, depth=1, width=64, batch=512, seed=0)
    assert want == pytest.approx(1.7**2) and one == pytest.approx(want, rel=0.1)
    v1, p1 = cheatsheet.orthogonal_relu_variance(1.0, depth=20, seed=1)
    v2, p2 = cheatsheet.orthogonal_relu_variance(2**0.5, depth=20, seed=1)
    assert p1 == pytest.approx(2**-19) and p2 == pytest.approx(2.0)
    assert v1 < 1e-3 and 0.1 < v2 / p2 < 10
    assert v2 / v1 == pytest.approx(2**20, rel=1e-9), "ReLU is positively homogeneous"
    with pytest.raises(ValueError, match="gain"):
        cheatsheet.orthogonal_relu_variance(0.0)


def _headings(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [line.lstrip("#").strip() for c in cells if c["cell_type"] == "markdown"
            for line in "".join(c["source"]).splitlines() if line.startswith("#")]


def test_myths_link_to_sections_of_the_series():
    md = cheatsheet.myths_markdown()
    links = re.findall(r"\]\(([^)#]+)(?:#([^)]*))?\)", md)
    wanted = [(m.notebook, section) for m in cheatsheet.MYTHS for section in (m.section, *m.also)]
    assert len(links) == len(wanted)
    for (notebook, section), (target, anchor) in zip(wanted, links, strict=True):
        assert target == notebook and target.removesuffix(".ipynb") in SERIES, target
        assert (anchor or None) == cheatsheet.jupyter_anchor(section), section
        assert f"section “{section}”" in md
        path = NOTEBOOKS / target
        if path.exists():
            assert section in _headings(path), (target, section)


def test_the_init_std_myth_links_both_sections_it_rests_on():
    m = next(m for m in cheatsheet.MYTHS if m.source == "on init std by layer")
    assert m.also == ("Deep dive: the gradients of the five regimes",)
    assert "gradients grow" in m.measurement


def test_every_source_article_has_its_myths_listed_by_title():
    assert {m.source for m in cheatsheet.MYTHS} == set(cheatsheet.SOURCE_ARTICLES)
    sections = {(m.notebook, m.section) for m in cheatsheet.MYTHS}
    assert any(nb == "08_fixes.ipynb" and "BatchNorm" in sec for nb, sec in sections), "08's BatchNorm myth"
    assert any(nb == "08_fixes.ipynb" and "fixes" in sec for nb, sec in sections), "08: momentum, tanh"
    md = cheatsheet.myths_markdown()
    assert "seed" not in md.lower(), "source articles are named by title, never 'seed'"
    assert md.count("> **Myth** (the source article ") == len(cheatsheet.MYTHS)


def test_anchor_is_none_where_a_heading_would_break_the_link():
    assert cheatsheet.jupyter_anchor("2. Derive it: a b") == "2.-Derive-it:-a-b"
    assert cheatsheet.jupyter_anchor("5. PyTorch's default: `f(a=1)`") is None
    assert cheatsheet.jupyter_anchor("3. Measure: $d_k$ from 8 to 1024") is None, "inline math"


def test_the_symmetry_myth_is_corrected_not_repeated():
    m = next(m for m in cheatsheet.MYTHS if m.source == "touring parameter init")
    assert "other way round" in m.measurement and "stay clones" in m.measurement


# --- the rows of notebooks 10 and 11 ------------------------------------------------------------

NEW_ROWS = ("Scaled dot-product attention", "GPT-2 residual scaling", "Zero-init residual branches",
            "muP (width transfer)")


def _row(scheme):
    return next(r for r in cheatsheet.ROWS if r.scheme == scheme)


def test_rows_link_to_sections_that_exist():
    table = cheatsheet.markdown_table()
    for scheme in NEW_ROWS:
        assert _row(scheme).measured_in, f"{scheme}: says where the series measured it"
    for row in cheatsheet.ROWS:
        for notebook, section in row.measured_in:
            assert notebook.removesuffix(".ipynb") in SERIES, notebook
            assert section in _headings(NOTEBOOKS / notebook), (notebook, section)
            assert cheatsheet.section_link(notebook, section, short=True) in table


def test_short_links_name_the_notebook_and_section_number():
    link = cheatsheet.section_link("10_attention_residual.ipynb",
                                   "5. Derive: variances add along the stream", short=True)
    assert link == "[10 §5](10_attention_residual.ipynb#5.-Derive:-variances-add-along-the-stream)"
    assert cheatsheet.section_link("10_attention_residual.ipynb", "3. Measure: $d_k$ from 8 to 1024",
                                   short=True) == "[10 §3](10_attention_residual.ipynb)"
    deep = cheatsheet.section_link("09_init_in_training.ipynb", "Deep dive: the edge of chaos", short=True)
    assert deep == "[09 deep dive](09_init_in_training.ipynb#Deep-dive:-the-edge-of-chaos)"


def test_rows_for_transformers_say_what_each_init_does_where():
    """Issue 22: GPT-2 is pre-LN (1/sqrt(2N) keeps the total added variance independent of depth;
    the e bound is the un-normalised toy's); muP divides attention logits by d_k and zeroes the
    queries; ReLU nets can be isometric under the mirrored init."""
    gpt2, mup, attention, orth = (_row(s).when for s in (
        "GPT-2 residual scaling", "muP (width transfer)", "Scaled dot-product attention", "Orthogonal"))
    assert "pre-LayerNorm" in gpt2 and "independent of depth" in gpt2 and "toy" in gpt2
    assert "$d_k$, not $\\sqrt{d_k}$" in mup and "query" in mup
    assert "muP" in attention
    assert "looks-linear" in orth and "Balduzzi" in orth


def test_gpt2_row_is_notebook_10s_formula_and_checked_against_torch():
    row = _row("GPT-2 residual scaling")
    want = residual.gpt2_residual_std(cheatsheet.GPT2_N_LAYER)
    assert row.std_of((768, 768)) == want == pytest.approx(0.02 / math.sqrt(24))
    checks = [c for c in cheatsheet.check_against_torch() if c.scheme == row.scheme]
    assert len(checks) == 3 and all(c.rel_error < c.tolerance for c in checks)
    wrong = 0.02 / math.sqrt(cheatsheet.GPT2_N_LAYER)  # sqrt(n_layer): forgets the 2 branches
    assert all(abs(c.measured / wrong - 1) > 0.2 for c in checks), "a missing factor 2 is caught"
    assert "0.02/math.sqrt(2*n_layer)" in row.pytorch and "c_proj" in row.pytorch


def test_rows_without_a_weight_formula_draw_nothing():
    for scheme in ("Scaled dot-product attention", "Zero-init residual branches", "muP (width transfer)"):
        row = _row(scheme)
        assert row.torch_normal is None and row.torch_uniform is None and not row.keras_normal
        assert row.keras_truncation().startswith("n/a")
    assert "none" in _row("muP (width transfer)").keras


def test_orthogonal_row_says_gain_sqrt2_under_relu():
    row = _row("Orthogonal")
    assert "Under ReLU use $g=\\sqrt{2}$" in row.when and "math.sqrt(2)" in row.pytorch


def test_xavier_row_keeps_any_depth_for_tanh_and_linear_only():
    """Outside review (issue 21): gain 1 holds a deep tanh or linear stack, not a sigmoid one.
    Measured on helpers.probe's stack (depth 20, width 500): at gain 1 the sigmoid gradient
    shrinks about 4-fold per layer (sigmoid' <= 1/4), and every gain that holds it (>= 0.95 per
    layer) leaves about half the units or more saturated. The row must say so."""
    from helpers import probe

    when = _row("Xavier / Glorot").when
    assert when.startswith("tanh and linear layers, gain 1 at any depth")
    assert "Sigmoid" in when and "4-fold per layer" in when and "about half the units saturated" in when
    xavier = probe.propagate(20, 500, "sigmoid", "xavier", seed=0)
    assert 1 / 5 < xavier.grad_ratio ** (1 / 19) < 1 / 3.5, "about 4-fold per layer at gain 1"
    held = 0
    for g in (2, 4, 6, 8, 10, 11, 12, 16):
        r = probe.propagate(20, 500, "sigmoid", "fixed", std=g / math.sqrt(500), seed=0)
        if r.grad_ratio ** (1 / 19) >= 0.95:
            held += 1
            assert r.saturated.mean() > 0.4, f"gain {g} holds the gradient with few units saturated"
    assert held >= 3, "some gain in the grid holds the sigmoid gradient"


def test_pytorch_default_row_says_deep_nets_stall_at_its_measured_rate():
    """Outside review (issue 21): 'fine for a few layers' oversold torch's default. Var(W) =
    1/(3 fan_in) multiplies the back-propagated gradient by 1/sqrt(6) per ReLU layer and about
    1/sqrt(3) per tanh layer (measured on probe's depth-20 stack, torch's own biases kept)."""
    from helpers import probe

    when = _row("PyTorch default").when
    assert "1/\\sqrt{6}" in when and "1/\\sqrt{3}" in when and "deep ones stall" in when
    assert "fine when shallow" not in when
    for activation, factor in (("relu", 1 / math.sqrt(6)), ("tanh", 1 / math.sqrt(3))):
        r = probe.propagate(20, 500, activation, "pytorch_default", seed=0)
        assert abs(r.grad_ratio ** (1 / 19) / factor - 1) < 0.05, f"{activation}: x{factor:.3f} per layer"


# --- the checkup's example models ----------------------------------------------------------------


def _torch_built(build):
    """The same architecture built by torch's own constructors (global RNG forked, left alone)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)
        return build()


TWINS = {
    "cnn": (cheatsheet.example_cnn, lambda: nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 10))),
    "transformer": (cheatsheet.example_transformer, None),
}


class _TorchTokenClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 32)
        self.block = nn.TransformerEncoderLayer(32, 4, 128, dropout=0.1, activation="gelu",
                                                batch_first=True, norm_first=True)
        self.head = nn.Linear(32, 10)


@pytest.mark.parametrize("name", ["cnn", "transformer"])
def test_example_models_draw_torchs_default_distributions(name):
    build = TWINS[name][0]
    twin = _torch_built(TWINS[name][1] or _TorchTokenClassifier)
    ours = dict(build(seed=4).named_parameters())
    theirs = dict(twin.named_parameters())
    assert list(ours) == list(theirs)
    for key, p in ours.items():
        p, q = p.detach().double(), theirs[key].detach().double()
        assert p.shape == q.shape, key
        if q.std() == 0 or q.numel() == 1:  # constants: LayerNorm's 1 and 0, attention's 0 biases
            assert torch.equal(p, q), key
        elif q.numel() >= 256:  # two sample stds: relative SE about 1 / sqrt(n); allow 5 of them
            assert abs(float(p.std() / q.std()) - 1) < 5 / math.sqrt(q.numel()), key
    for m in build(seed=4).modules():
        if isinstance(m, nn.Linear | nn.Conv2d):
            bound = 1 / math.sqrt(m.weight[0].numel())
            w, b = m.weight.detach(), m.bias.detach()
            assert float(w.abs().max()) <= bound and float(b.abs().max()) <= bound, "U(+-1/sqrt(fan_in))"


def test_example_models_are_seeded_and_leave_the_global_rng_alone():
    rng = torch.get_rng_state()
    a, b, c = cheatsheet.example_cnn(1), cheatsheet.example_cnn(1), cheatsheet.example_cnn(2)
    t = cheatsheet.example_transformer(1, n_classes=5)
    assert torch.equal(torch.get_rng_state(), rng), "no draw from torch's global generator"
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a[0].weight, c[0].weight)
    assert t.head.out_features == 5


def test_default_init_refuses_a_module_it_does_not_know():
    with pytest.raises(ValueError, match="BatchNorm|0.weight"):
        cheatsheet.torch_default_init_(nn.Sequential(nn.BatchNorm1d(4)), torch.Generator())


def _batch(seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(32, 3, 16, 16, generator=g), torch.randint(0, 10, (32,), generator=g),
            torch.randint(0, 50, (32, 12), generator=g), torch.randint(0, 10, (32,), generator=g))


@pytest.mark.parametrize("seed", [0, 7, 13])
def test_checkup_findings_the_notebook_reads_out(seed):
    """A throwaway sweep over 20 seeds: default CNN loss within 6% of ln 10 (flag at 20%), its
    signal >= 0.27 of the input's (flag below 0.1); N(0, 1) CNN: the Linear's input >= 65x the
    first conv's (flag beyond 10x), loss >= 600 ln 10; transformer x30 head: loss >= 3.2 ln 10."""
    x, y, tokens, t_y = _batch(seed)
    good = checkup.run(cheatsheet.example_cnn(seed), x, y)
    assert good.problems == () and abs(good.loss - math.log(10)) < 0.3
    bad_cnn = cheatsheet.example_cnn(seed)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in bad_cnn.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                m.weight.normal_(0, 1, generator=g)
    assert set(checkup.run(bad_cnn, x, y).problems) == {"exploding", "initial loss"}
    tf = checkup.run(cheatsheet.example_transformer(seed), tokens, t_y)
    assert tf.problems == ()
    assert [u.what for u in tf.unchecked] == ["gelu called as a function"], "GELU given as a string"
    assert tf.diagnosis[-1].startswith("not checked: gelu")
    as_module = checkup.run(cheatsheet.example_transformer(seed, activation=nn.GELU()), tokens, t_y)
    assert as_module.unchecked == () and as_module.diagnosis[-1].startswith("no problem found")
    assert all(torch.equal(p, q) for p, q in zip(
        cheatsheet.example_transformer(seed).parameters(),
        cheatsheet.example_transformer(seed, activation=nn.GELU()).parameters(), strict=True))
    loud = cheatsheet.example_transformer(seed)
    with torch.no_grad():
        loud.head.weight.mul_(30)
    assert checkup.run(loud, tokens, t_y).problems == ("initial loss",)


def test_highlights_are_the_reports_own_numbers():
    """One owner: the highlights are the checkup's findings' values, not a recomputation."""
    x, y, _, _ = _batch(3)
    report = checkup.run(cheatsheet.example_cnn(3), x, y)
    h = cheatsheet.checkup_highlights(report)
    assert list(h) == list(cheatsheet.HIGHLIGHTS)
    for rule, value in h.items():
        f = report.finding(rule)
        assert value == (None if f is None else f.value), rule
    assert h["loss / ln C"] == report.loss / math.log(10)
    assert h["dead units"] == max(r.dead_units for r in report.layers if r.dead_units is not None)
    assert h["saturated"] is None, "no tanh or sigmoid in the CNN"
    assert cheatsheet.checkup_highlights(checkup.run(cheatsheet.example_cnn(3), x))["loss / ln C"] is None


def test_summarise_checks_reports_each_row_in_table_order():
    """One line per row: the count and worst errors come from that row's checks only."""
    checks = cheatsheet.check_against_torch(shapes=((64, 32),), seed=1)
    rows = cheatsheet.summarise_checks(checks)
    assert [r.scheme for r in rows] == [row.scheme for row in cheatsheet.ROWS]
    for r in rows:
        mine = [c for c in checks if c.scheme == r.scheme]
        assert r.n_checks == len(mine)
        if mine:
            assert r.worst_std == max(c.rel_error for c in mine if c.quantity == "std")
            assert (r.formula, r.measured) == (mine[0].formula, mine[0].measured)
            bounds = [c.rel_error for c in mine if c.quantity == "bound"]
            assert r.worst_bound == (max(bounds) if bounds else None)
        else:
            assert r.formula is None and r.worst_std is None and r.measured_in


def _notebook_cell_12(cell_id: str) -> str:
    """The source of notebook 12's cell with this id."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / "12_cheat_sheet.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells if c.get("id") == cell_id)


@pytest.mark.parametrize("seed", [0, 3])
def test_plain_torch_hook_check_prints_what_checkup_measures(seed, capsys):
    """Section 2's visible forward-hook check (a learner's own, no helpers) prints the same per-layer
    output std and initial loss as checkup.run on the same net and batch, and removes its hooks."""
    ns = {"math": math, "torch": torch, "nn": nn, "cheatsheet": cheatsheet, "SEED": seed}
    exec(_notebook_cell_12("d11c96d0"), ns)  # noqa: S102 - the notebook's own cell: data and net
    capsys.readouterr()
    exec(_notebook_cell_12("c12-hook"), ns)  # noqa: S102 - the notebook's own cell: the hook check
    lines = capsys.readouterr().out.strip().splitlines()
    report = checkup.run(ns["bad_cnn"], ns["images"], ns["labels"])
    weight_rows = [r for r in report.layers if r.kind in ("Conv2d", "Linear")]
    printed = [float(line.split("output std ")[1].split()[0]) for line in lines[:-1]]
    assert len(printed) == len(weight_rows) == 3
    for got, row in zip(printed, weight_rows, strict=True):
        assert got == pytest.approx(row.std, rel=5e-3), row.name  # printed to 3 significant digits
    loss = float(lines[-1].split("initial loss ")[1].split(",")[0])
    assert loss == pytest.approx(report.loss, rel=5e-4)
    assert all(not m._forward_hooks for m in ns["bad_cnn"].modules()), "hooks removed"


def test_tanh_saturation_in_the_hook_check_matches_checkup(capsys):
    """The hook's 'saturated' share for a tanh layer (|h| > 0.99) is checkup's sat% for it."""
    ns = {"math": math, "torch": torch, "nn": nn}
    src = _notebook_cell_12("c12-hook").split("\n\n\n")[0]
    exec(src, ns)  # noqa: S102 - the notebook's print_std
    g = torch.Generator().manual_seed(1)
    net = nn.Sequential(nn.Linear(20, 50), nn.Tanh(), nn.Linear(50, 10))
    with torch.no_grad():
        net[0].weight.normal_(0, 1, generator=g)
    x, y = torch.randn(64, 20, generator=g), torch.randint(0, 10, (64,), generator=g)
    h = net[1].register_forward_hook(ns["print_std"])
    with torch.no_grad():
        net(x)
    h.remove()
    share = float(capsys.readouterr().out.split("saturated ")[1].strip().rstrip("%")) / 100
    tanh_row = next(r for r in checkup.run(net, x, y).layers if r.kind == "Tanh")
    assert share == pytest.approx(tanh_row.saturated, abs=0.005) and share > 0.3


def test_kaiming_uniform_myth_is_credited_to_the_sawtooth_article():
    """The 'default Kaiming-uniform keeps the input's distribution stable' claim is in the sawtooth
    article (its text asks how Kaiming init keeps the input distribution stable), not the tour."""
    m = next(m for m in cheatsheet.MYTHS if "Kaiming-uniform" in m.claim)
    assert m.source == "on the sigmoid sawtooth"


def test_by_construction_rows_are_the_ones_whose_call_is_the_formula():
    checks = cheatsheet.check_against_torch(seed=0)
    marked = {c.scheme for c in checks if c.by_construction}
    assert marked == {"Zeros / constant", "Normal, fixed std", "GPT-2 residual scaling"}
    summaries = {r.scheme: r.by_construction for r in cheatsheet.summarise_checks(checks)}
    assert summaries["He / Kaiming"] is False and summaries["GPT-2 residual scaling"] is True


def test_orthogonal_row_cites_burkholz_and_names_the_end_layers():
    orth = next(r for r in cheatsheet.ROWS if r.scheme == "Orthogonal").when
    assert "Burkholz" in orth and "[Q; -Q]" in orth and "readout" in orth and "[W, -W]" in orth


def test_keras_corrected_truncation_says_where_it_cuts():
    text = cheatsheet.KerasDraw("HeNormal", truncated=True, corrected=True).describe()
    assert "±2.27σ" in text and "±2σ" not in text
