"""Sphinx configuration of the static book (`make book`, which runs book/build_book.py).

The source folder is build/book-src/: a copy of the README, notebooks/ and docs/ beside
book/index.md (see book/build_book.py). The notebooks are rendered with their stored outputs,
never executed. BOOK_MATHJAX=cdn uses a CDN copy of MathJax instead of the bundled one.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # initlab_book

project = "initlab"
author = "initlab contributors"
copyright = "initlab contributors"
root_doc = "index"  # book/index.md: the README, then the table of contents
include_patterns = ["index.md", "notebooks/[0-9][0-9]_*.ipynb", "docs/teaching.md"]
exclude_patterns = ["**/.ipynb_checkpoints"]

extensions = ["myst_nb", "sphinx.ext.mathjax", "initlab_book"]
# MathJax 3 from the sphinx-mathjax-offline package, copied into _static/mathjax: math renders
# with the network cut. A reader online may prefer a CDN copy: BOOK_MATHJAX=cdn.
if os.environ.get("BOOK_MATHJAX") == "cdn":
    mathjax_path = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"
else:
    extensions.append("sphinx-mathjax-offline")
# textmacros: \_ and friends inside \text{...}, as JupyterLab's MathJax renders them.
mathjax3_config = {"loader": {"load": ["[tex]/textmacros"]},
                   "tex": {"packages": {"[+]": ["textmacros"]}}}

# The stored outputs, as nbval checked them: no kernel, no cache.
nb_execution_mode = "off"
# A widget's view needs a kernel; its stored PNG is what a static reader should see.
# (initlab_book also drops the view; this keeps any that slips through from rendering.)
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}  # no widget manager script (it would come from a CDN)
nb_render_markdown_format = "myst"  # the cheat sheet's Markdown tables: links and $math$

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True  # $$...$$ inside a paragraph, as Jupyter renders it
myst_heading_anchors = 3
myst_heading_slug_func = "initlab_book.jupyterlab_slug"  # the notebooks' #anchors

html_theme = "sphinx_book_theme"
html_title = "initlab"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
}
html_context = {"default_mode": "auto"}  # light or dark as the reader's system says
html_copy_source = True
html_static_path = ["_static"]  # initlab.css: the deep-dive fold (initlab_book)
