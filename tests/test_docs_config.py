"""The docs build re-executes library notebooks but never a results/ notebook: those are the record of a DVC
stage's run (hours of training at paper size), so re-running them in the docs build would be slow and would
replace the record with a different run. myst-nb decides with `PurePosixPath.match` on each notebook's path."""
import runpy
from pathlib import Path, PurePosixPath

from conftest import ROOT


def excluded_from_execution(relative: Path, patterns) -> bool:
    "What myst-nb does: a notebook is left as it is when its path (under docs/_src) matches one of the patterns."
    path = PurePosixPath((ROOT/'docs'/'_src'/relative).as_posix())
    return any(path.match(p) for p in patterns)


def test_every_results_notebook_is_excluded_from_execution():
    patterns = runpy.run_path(str(ROOT/'docs'/'conf.py'))['nb_execution_excludepatterns']
    executed = sorted((ROOT/'results').rglob('*.ipynb'))
    assert executed, 'no executed notebooks under results/: nothing to check'
    deepest = max(len(p.relative_to(ROOT).parts) for p in executed)
    assert deepest >= 5, 'the check should cover the deepest layout in use (results/cross/<set>/ablation/...)'
    missed = [str(p.relative_to(ROOT)) for p in executed if not excluded_from_execution(p.relative_to(ROOT), patterns)]
    assert not missed, f'the docs build would re-execute these stage records: {missed}'


def test_library_notebooks_are_still_executed():
    patterns = runpy.run_path(str(ROOT/'docs'/'conf.py'))['nb_execution_excludepatterns']
    library = [Path('core')/'io.ipynb', Path('methods')/'rankiqa.ipynb', Path('index.ipynb')]
    assert not [p for p in library if excluded_from_execution(p, patterns)]
