"""The one-page handout: which init for which network, the formulas, three checks to run.

`make handout` writes build/handout/initlab-handout-a4.pdf and initlab-handout-letter.pdf, one
page each, with matplotlib's PDF backend (a dependency already: no LaTeX, no browser). Every
row of its table comes from helpers/cheatsheet.py's ROWS, the table notebook 12 prints; the
gains from helpers.init.gain and the checks' thresholds from helpers.checkup, so the handout
cannot drift from the series. A cheat-sheet cell too long for one page is cut after its
first sentence (the "when to use" column) or its first clause (the PyTorch column); the
handout says so in its footer. The text shrinks, down to MIN_FONTSIZE, until the page holds
it; tests/test_handout.py checks the page (every text inside the margins, one page in the
PDF) and that the rows are the cheat sheet's.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("pdf")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.text import Text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import cheatsheet, checkup, init  # noqa: E402

OUT = ROOT / "build" / "handout"
PAPERS: dict[str, tuple[float, float]] = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}
"""Page sizes in inches (portrait)."""
MARGIN = 0.45
"""Page margin in inches: every text stays inside it."""
MAX_FONTSIZE, MIN_FONTSIZE = 8.0, 5.5
LEFT_OUT = frozenset({"Normal, fixed std", "Truncated normal, fixed std"})
"""Cheat-sheet rows the handout leaves out: a fixed std is what the series replaces."""
COLUMNS = (("scheme", 0.12), ("std of the normal", 0.18), ("bound a of U(-a, a)", 0.14),
           ("when to use", 0.33), ("PyTorch", 0.23))
"""Table columns and their share of the text width."""


@dataclass(frozen=True)
class HandoutRow:
    """One table row as the handout prints it (texts from a cheatsheet.Row)."""

    scheme: str
    std: str
    bound: str
    when: str
    pytorch: str


def first_sentence(text: str) -> str:
    """`text` up to the end of its first sentence (a full stop followed by a space and a word)."""
    return re.split(r"(?<=[a-z)\d])\. (?=[A-Za-z])", text, maxsplit=1)[0]


def first_clause(text: str) -> str:
    """`text` up to its first "; " (a clause of a cheat-sheet cell)."""
    return text.split("; ", 1)[0]


def table_rows(rows: tuple[cheatsheet.Row, ...] = cheatsheet.ROWS) -> list[HandoutRow]:
    """The handout's table: every cheat-sheet row but LEFT_OUT, in the cheat sheet's order."""
    return [HandoutRow(r.scheme, r.std, r.bound, first_sentence(r.when), first_clause(r.pytorch))
            for r in rows if r.scheme not in LEFT_OUT]


def gains_line() -> str:
    """torch's recommended gain per activation, as helpers.init.gain computes it."""
    names = (("linear, conv", "linear"), ("sigmoid", "sigmoid"), ("tanh", "tanh"), ("ReLU", "relu"),
             ("leaky ReLU (slope 0.01)", "leaky_relu"), ("SELU", "selu"))
    return "Gains $g$ (torch's calculate_gain): " + ", ".join(
        f"{label} {init.gain(name):.4g}" for label, name in names)


FORMULAS = (
    r"A unit sums $n$ products: "
    r"$\mathrm{Var}(w_1 x_1 + \dots + w_n x_n) = n\,\mathrm{Var}(w)\,\mathrm{Var}(x)$, "
    r"so keep $n\,\mathrm{Var}(w) = 1$. LeCun: $n = \text{fan\_in}$. Xavier: $n$ = the average of fan_in "
    r"and fan_out (forward and backward). He: twice LeCun's variance, because ReLU zeroes half the "
    r"signal. A rule's std is $g$ times the unit-variance one.",
    r"$\text{fan\_in}$ = in for Linear(in, out), $C_\text{in}\cdot k_h\cdot k_w$ for a conv; "
    r"uniform $U(-a, a)$ has $a = \sqrt{3}\,$std; biases start at 0, weights never constant.",
)


def checks() -> tuple[str, ...]:
    """The three checks of notebook 12 section 2, with helpers.checkup's thresholds."""
    return (
        f"1. Initial loss. One batch through the untrained classifier: the loss should be near "
        f"$\\ln C$ for $C$ classes (within {checkup.LOSS_TOLERANCE:.0%}). At "
        f"{checkup.CONFIDENT_FACTOR:g}x $\\ln C$ or more the logits start confidently wrong: scale "
        f"the last layer down (x0.1) or start it at 0.",
        f"2. Forward std, layer by layer. A forward hook (layer.register_forward_hook) prints each "
        f"layer's output std. A layer whose input is {checkup.SIGNAL_FACTOR:g}x below or above its "
        f"reference (the first layer's input, or the last norm layer's output) vanishes or explodes: "
        f"change the scheme. Also: tanh or sigmoid saturated in {checkup.SATURATED:.0%} of its values, "
        f"ReLU dead in {checkup.DEAD_UNITS:.0%} of its units, an input whose rms is "
        f"{checkup.INPUT_FACTOR:g}x away from 1 (standardise it).",
        f"3. Gradients. One backward pass: the first weight layer's grad:data (gradient std over "
        f"weight std) should be within {checkup.GRAD_DATA_FACTOR:g}x of the last hidden layer's. "
        f"helpers.checkup.run(model, x, y) does all three and names what it finds.",
    )


def _plain(text: str) -> str:
    """Markdown code marks dropped: the handout prints code in the running font."""
    return text.replace("`", "")


_SCALE = 4
_REF = 10.0
_SLACK = 1.03  # drawn whole, a line measures up to 1.5% wider than the sum of its words
_TOKENS: dict[tuple[str, str], tuple[float, float]] = {}
"""Width and height in points of each (word, weight) at _REF pt, measured once at 4 x 72 dpi (at
72 dpi a small font is hinted to whole pixels and measures narrower than it prints); a line's
width is the sum of its words' and spaces' (fit() then measures the drawn lines themselves)."""


class _Page:
    """A figure the size of the page, written top to bottom in points, with lines wrapped to a
    width by measuring their words."""

    def __init__(self, paper: str, fontsize: float) -> None:
        self.width_in, self.height_in = PAPERS[paper]
        self.fig = Figure(figsize=(self.width_in, self.height_in), dpi=72 * _SCALE)
        FigureCanvasAgg(self.fig)
        self.renderer = self.fig.canvas.get_renderer()
        self.W, self.H, self.m = self.width_in * 72, self.height_in * 72, MARGIN * 72
        self.y = self.m  # distance from the top
        self.fs = fontsize
        self.cells: list[tuple[Text, tuple[float, float]]] = []  # (text, its column's x range)

    def size_of(self, word: str, size: float, weight: str) -> tuple[float, float]:
        """(width, height) of `word` at `size` pt, in points."""
        if (word, weight) not in _TOKENS:
            w, h, d = self.renderer.get_text_width_height_descent(
                word, FontProperties(size=_REF, weight=weight), ismath="$" in word)
            _TOKENS[word, weight] = (w / _SCALE, (h + d) / _SCALE)
        w, h = _TOKENS[word, weight]
        return _SLACK * w * size / _REF, h * size / _REF

    def words(self, text: str, width: float, size: float, weight: str) -> list[tuple[str, str]]:
        """The words of `text` ($...$ kept whole), each with the separator before it: a word of
        code wider than `width` is cut after a "." "_" "(" "," or "=" into pieces that fit,
        joined again without a space where they share a line."""
        out: list[tuple[str, str]] = []
        for word in re.findall(r"(?:\$[^$]*\$|[^\s$])+", text):
            sep = " "
            while "$" not in word and self.size_of(word, size, weight)[0] > width:
                cuts = [m.end() for m in re.finditer(r"[._(,=]", word[:-1])]
                fits = [c for c in cuts if self.size_of(word[:c], size, weight)[0] <= width]
                if not fits:
                    break
                out.append((word[:fits[-1]], sep))
                word, sep = word[fits[-1]:], ""
            out.append((word, sep))
        return out

    def wrap(self, text: str, width: float, size: float, weight: str = "normal") -> list[tuple[str, float]]:
        """`text` in lines no wider than `width`, each with its height."""
        space = self.size_of("x x", size, weight)[0] - 2 * self.size_of("x", size, weight)[0]
        lines: list[list] = []  # [text, width, tallest word]
        for word, sep in self.words(text, width, size, weight):
            w, h = self.size_of(word, size, weight)
            gap = space if sep else 0.0
            if lines and lines[-1][1] + gap + w <= width:
                lines[-1][0] += sep + word
                lines[-1][1] += gap + w
                lines[-1][2] = max(lines[-1][2], h)
            else:
                lines.append([word, w, h])
        return [(line, max(1.25 * size, h + 0.3 * size)) for line, _, h in lines]

    def block(self, x: float, y: float, width: float, text: str, size: float,
              weight: str = "normal") -> float:
        """Write `text` wrapped to `width` with its top left at (x, y); returns its height."""
        top = y
        for line, height in self.wrap(text, width, size, weight):
            t = self.fig.text(x / self.W, 1 - y / self.H, line, fontsize=size, weight=weight,
                              va="top", ha="left")
            self.cells.append((t, (x, x + width)))
            y += height
        return y - top

    def paragraph(self, text: str, size: float | None = None, weight: str = "normal",
                  gap: float = 0.4) -> None:
        size = size or self.fs
        self.y += self.block(self.m, self.y, self.W - 2 * self.m - 2, text, size, weight) + gap * size

    def rule(self) -> None:
        self.fig.add_artist(matplotlib.lines.Line2D(
            [self.m / self.W, 1 - self.m / self.W], [1 - self.y / self.H] * 2, lw=0.4, color="0.6"))

    def column_widths(self, rows: list[HandoutRow], width: float, pad: float) -> list[float]:
        """COLUMNS' shares of `width`, each widened to its widest formula ($...$, which cannot be
        wrapped), the widening taken from the columns that have room to spare."""
        def widest(field: str) -> float:
            return max((self.size_of(w, self.fs, "normal")[0] + pad for row in rows
                        for w, _ in self.words(_plain(getattr(row, field)), 1e9, self.fs, "normal")
                        if "$" in w), default=0.0)

        need = [widest(field) for field in ("scheme", "std", "bound", "when", "pytorch")]
        widths = [max(share * width, n) for (_, share), n in zip(COLUMNS, need, strict=True)]
        spare = [w - n if w > n else 0.0 for w, n in zip(widths, need, strict=True)]
        excess = sum(widths) - width
        return [w - excess * s / sum(spare) for w, s in zip(widths, spare, strict=True)]

    def table(self, rows: list[HandoutRow]) -> None:
        width, pad = self.W - 2 * self.m, 6.0
        xs, x = [], self.m
        for column_width in self.column_widths(rows, width, pad):
            xs.append((x, column_width - pad))
            x += column_width
        heights = [self.block(x0, self.y, w, head, self.fs, "bold") for (x0, w), (head, _) in zip(xs, COLUMNS,
                                                                                                 strict=True)]
        self.y += max(heights) + 0.2 * self.fs
        for row in rows:
            self.rule()
            self.y += 0.3 * self.fs
            texts = (row.scheme, row.std, row.bound, row.when, row.pytorch)
            heights = [self.block(x0, self.y, w, _plain(t), self.fs, "bold" if i == 0 else "normal")
                       for i, ((x0, w), t) in enumerate(zip(xs, texts, strict=True))]
            self.y += max(heights) + 0.1 * self.fs
        self.rule()
        self.y += 0.8 * self.fs


def draw(paper: str, fontsize: float) -> tuple[Figure, float, list[tuple[Text, tuple[float, float]]]]:
    """The handout for `paper` at `fontsize`; returns the figure, how far down its text reaches
    (points from the top) and each text with its column's x range."""
    page = _Page(paper, fontsize)
    page.paragraph("Weight initialisation on one page", size=fontsize * 2, weight="bold", gap=0.2)
    page.paragraph("initlab: which init for which network, the formulas, and three checks to run on "
                   "your own model", size=fontsize * 1.15, gap=0.8)
    page.paragraph("Which init for which network", size=fontsize * 1.3, weight="bold", gap=0.3)
    page.table(table_rows())
    page.paragraph("The formulas", size=fontsize * 1.3, weight="bold", gap=0.3)
    for text in FORMULAS:
        page.paragraph(text)
    page.paragraph(gains_line(), gap=0.8)
    page.paragraph("Three checks on your own model", size=fontsize * 1.3, weight="bold", gap=0.3)
    for text in checks():
        page.paragraph(text)
    page.paragraph("Rows: helpers/cheatsheet.py, the table notebook 12 prints (its \"when to use\" cut after "
                   "the first sentence, the PyTorch call after the first clause); made by make handout.",
                   size=fontsize * 0.85, gap=0)
    return page.fig, page.y, page.cells


def overflow(fig: Figure, cells: list[tuple[Text, tuple[float, float]]]) -> list[str]:
    """The drawn lines wider than their column, as the renderer measures them."""
    renderer, scale = fig.canvas.get_renderer(), fig.dpi / 72
    return [t.get_text() for t, (_, right) in cells
            if t.get_window_extent(renderer).x1 / scale > right + 0.01]


def fit(paper: str) -> tuple[Figure, float, list[tuple[Text, tuple[float, float]]]]:
    """The handout at the largest font size (steps of 0.25 pt) whose text ends above the bottom
    margin with every line inside its column; ValueError if even MIN_FONTSIZE does not fit."""
    size = MAX_FONTSIZE
    while size >= MIN_FONTSIZE:
        fig, bottom, cells = draw(paper, size)
        if bottom <= (PAPERS[paper][1] - MARGIN) * 72 and not overflow(fig, cells):
            return fig, size, cells
        size -= 0.25
    raise ValueError(f"the handout does not fit one {paper} page at {MIN_FONTSIZE} pt")


def build(out: Path = OUT) -> dict[str, tuple[Path, float]]:
    """Write one PDF per paper size into `out`; returns {paper: (path, font size)}."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for paper in PAPERS:
        fig, size, _ = fit(paper)
        path = out / f"initlab-handout-{paper}.pdf"
        fig.savefig(path, format="pdf", metadata={"Title": "initlab handout", "CreationDate": None})
        written[paper] = (path, size)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    for paper, (path, size) in build(args.out).items():
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        print(f"{shown}: {paper}, {PAPERS[paper][0]} x {PAPERS[paper][1]} in, text {size:g} pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
