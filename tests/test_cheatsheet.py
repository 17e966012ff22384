"""Notebook 12's cheat sheet: every printed formula equals what the printed torch call does, the
Keras column says what Keras' source does, and every myth links to a section of the series."""

import json
import re
from pathlib import Path

import pytest

from helpers import cheatsheet

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SERIES = ("00_start_here", "01_uniform_variance", "02_sums_of_products",
          "03_constant_and_random_init", "04_signal_propagation", "05_xavier_glorot",
          "06_he_kaiming", "07_sigmoid_zigzag", "08_fixes", "09_init_in_training",
          "12_cheat_sheet")


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
    assert len(links) == len(cheatsheet.MYTHS)
    for m, (target, anchor) in zip(cheatsheet.MYTHS, links, strict=True):
        assert target == m.notebook and target.removesuffix(".ipynb") in SERIES, target
        assert (anchor or None) == cheatsheet.jupyter_anchor(m.section), m.section
        assert f"section “{m.section}”" in md
        path = NOTEBOOKS / target
        if path.exists():
            assert m.section in _headings(path), (target, m.section)


def test_every_seed_article_has_its_myths_listed():
    assert {m.seed for m in cheatsheet.MYTHS} == {"000", "001", "002", "003", "004"}
    sections = {(m.notebook, m.section) for m in cheatsheet.MYTHS}
    assert ("08_fixes.ipynb", "3. Why BatchNorm wins there") in sections, "08's BatchNorm myth"
    assert any(nb == "08_fixes.ipynb" and "Each fix" in sec for nb, sec in sections), "08: momentum, tanh"


def test_anchor_is_none_where_a_heading_would_break_the_link():
    assert cheatsheet.jupyter_anchor("2. Derive it: a b") == "2.-Derive-it:-a-b"
    assert cheatsheet.jupyter_anchor("5. PyTorch's default: `f(a=1)`") is None


def test_seed_001_myth_is_corrected_not_repeated():
    m = next(m for m in cheatsheet.MYTHS if m.seed == "001")
    assert "other way round" in m.measurement and "stay clones" in m.measurement
