"""Sphinx configuration of the iqa-nb docs site (built by tools/build_docs.py from docs/_src)."""
import json
from pathlib import Path

project = 'iqa-nb'
author = 'iqa-nb developers'
copyright = '2026, iqa-nb developers'
extensions = ['myst_nb', 'sphinx.ext.autodoc', 'sphinx.ext.napoleon']
html_theme = 'furo'
html_title = 'iqa-nb'
exclude_patterns = ['_build', '**.ipynb_checkpoints', '_extra_conf.json']
myst_enable_extensions = ['dollarmath', 'amsmath']
# Library notebooks are stored clean and executed here; results/ notebooks were executed by DVC stages.
nb_execution_mode = 'force'
# PurePosixPath.match (what myst-nb uses) has no recursive '**' before Python 3.13 and anchors on the right,
# so one pattern per depth: results/ notebooks sit up to five folders deep (results/cross/<set>/ablation/...).
nb_execution_excludepatterns = ['results/' + '/'.join(['*']*depth) for depth in range(1, 12)]
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type', 'misc.highlighting_failure']
_src = Path(__file__).resolve().parent/'_src'
html_static_path = [str(_src/'_static')] if (_src/'_static').is_dir() else []
extra = _src/'_extra_conf.json'
if extra.is_file():
    globals().update(json.loads(extra.read_text()))
