"""initlab's shared library: one module per concept of the notebooks.

Each line names a module, what it holds and the notebooks that use it.

- stats: variances and bounds of the distributions initialisers draw from (00-02, 06)
- init: fans, gains and the std of each scheme, equal to torch.nn.init (02, 03, 05, 06, 12)
- nets: the MLPs the experiments build (03; from 04 on through probe and train)
- probe: what a signal does through depth, forward and backward (04-06)
- fan_modes: fan_in vs fan_out through a net whose width changes, and one He net's norm walk (06)
- symmetry: clone hidden units under constant init, measured through training (03)
- train: seeded data sets, the training loop, many runs trained at once (03, 06, 09-11, 13)
- compare: comparing inits in training: paired seeds, a depth x init sweep, update:data ratios (09)
- progress: a progress bar that leaves one finished line in the stored notebook (09, via train)
- zigzag: the sigmoid zig-zag demos and their fixes (07, 08)
- lsuv: layer-sequential unit-variance init, a data-driven initialiser (09)
- criticality: mean-field signal propagation and the critical line width * Var(W) (09)
- attention: scaled dot-product attention's logits, softmax entropy and Jacobian vs d_k (10)
- residual: residual streams, their branch inits and how the stream grows with depth (10)
- mup: the maximal update parametrisation, its coordinate check and lr transfer across width (11)
- isometry: singular values of a deep net's input-output Jacobian (dynamical isometry) (11)
- cheatsheet: every scheme's formulas and names, checked against torch; the source articles' myths (12)
- checkup: one forward and backward pass through any model, read layer by layer (12, 13)
- capstone: the bundled 8x8 digits, a loss log per fix, the repair exercise (13)
- plots: one figure style for every figure, and the static figures (00-13)
- panels: the explorers' figures, drawn once and redrawn in place (00-02, 04, 07-11, via widgets)
- widgets: the interactive explorers, each control declared once (00-02, 04, 07-11)
- exercises: auto-checked tasks with hints and solutions (00-13)
- quiz: predict-then-run questions, answered before the cell that measures them (02-06, 10, 12, 13)
- validate: the argument checks every other module shares (no notebook imports it)
- threads: run small torch workloads on one thread (no notebook imports it)

Names such as "article002" or "article004" (zigzag.run_article002, compare.article004_net) refer
to the five source articles the series corrects (numbered 000-004 in the order docs/authoring.md
lists them), not to random seeds.

Import the modules you need: `from helpers import init, stats, plots`.
"""

__version__ = "0.1.0"
