"""initlab's shared library: one module per concept of the notebooks.

- stats: variances and bounds of the distributions initialisers draw from (01, 02)
- init: fans, gains and the std of each scheme, equal to torch.nn.init (05, 06)
- nets: the MLPs the experiments build (04 on)
- probe: what a signal does through depth, forward and backward (04-06)
- fan_modes: fan_in vs fan_out through a net whose width changes (06)
- train: a small seeded training loop on synthetic data (03, 06, 09)
- progress: a progress bar that leaves one finished line in the stored notebook (09)
- symmetry: clone hidden units under constant init, measured through training (03)
- zigzag: the sigmoid zig-zag demos and their fixes (07, 08)
- lsuv: layer-sequential unit-variance init, a data-driven initialiser (09)
- criticality: mean-field signal propagation and the critical line width * Var(W) (09)
- attention: scaled dot-product attention's logits, softmax entropy and Jacobian vs d_k (10)
- residual: residual streams, their branch inits and how the stream grows with depth (10)
- mup: the maximal update parametrisation, its coordinate check and lr transfer across width (11)
- isometry: singular values of a deep net's input-output Jacobian (dynamical isometry) (11)
- cheatsheet: every scheme's formulas and names, checked against torch; the seeds' myths (12)
- plots: one figure style; widgets: the interactive explorers; exercises: auto-checked tasks

Import the modules you need: `from helpers import init, stats, plots`.
"""

__version__ = "0.1.0"
