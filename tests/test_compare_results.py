"""tools/compare_results.py on small synthetic result folders: a run that reproduces passes, a classical value moved
beyond its last written digit, a trained median moved beyond its tolerance, a changed split, a missing file or row
each fail and are named (file, method, column); against a git commit as well as a folder."""
import importlib.util, json, shutil, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('compare_results', ROOT/'tools'/'compare_results.py')
cr = importlib.util.module_from_spec(_spec)
sys.modules['compare_results'] = cr   # dataclasses look their module up by name
_spec.loader.exec_module(cr)

CLASSICAL = {'brisque', 'niqe'}
PER_SPLIT = {
    'brisque': "method,rep,n_train,n_val,n_test,srocc,krocc,plcc,rmse\n"
               "brisque,0,6,2,2,0.973919,0.869063,0.976912,0.0366909\n"
               "brisque,1,6,2,2,0.906567,0.779487,0.874343,0.0798533\n",
    'resnet18_regression': "method,rep,n_train,n_val,n_test,srocc,krocc,plcc,rmse\n"
                           "resnet18_regression,0,6,2,2,0.812365,0.620026,0.797401,0.103636\n"
                           "resnet18_regression,1,6,2,2,-0.152533,-0.179487,0.474169,0.144868\n",
}
PREDICTIONS = {
    'brisque': "method,rep,path,pred,score\nbrisque,0,distorted/a_1.png,0.478577,0.416886\n"
               "brisque,1,distorted/b_1.png,0.300179,0.230668\n",
    'resnet18_regression': "method,rep,path,pred,score\nresnet18_regression,0,distorted/a_1.png,0.387677,0.416886\n"
                           "resnet18_regression,1,distorted/b_1.png,0.340791,0.230668\n",
}
SUMMARY = ("method,n_reps,n_test,srocc_median,srocc_iqr,rmse_median\n"
           "brisque,2,2,0.940243,0.033676,0.058272\n"
           "resnet18_regression,2,2,0.329916,0.482449,0.124252\n")
METRICS = {'brisque': {'srocc': 0.940243, 'rmse': 0.058272}, 'resnet18_regression': {'srocc': 0.329916, 'rmse': 0.124252}}
SPLITS = "path,content_id,rep_0,rep_1\ndistorted/a_1.png,a,test,train\ndistorted/b_1.png,b,train,test\n"


def write_run(root: Path) -> Path:
    "A result folder laid out like the repository: splits/, results/toy/{per_split,predictions,summary,metrics}."
    res = root/'results'/'toy'
    for sub, tables in (('per_split', PER_SPLIT), ('predictions', PREDICTIONS)):
        (res/sub).mkdir(parents=True)
        for m, text in tables.items(): (res/sub/f'{m}.csv').write_text(text)
    (res/'summary.csv').write_text(SUMMARY)
    (res/'metrics.json').write_text(json.dumps(METRICS, indent=2) + '\n')
    (res/'evaluate.ipynb').write_text('{}')            # executed notebooks are not compared
    (root/'splits').mkdir()
    (root/'splits'/'toy.csv').write_text(SPLITS)
    return root


def edit(path: Path, old: str, new: str):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def runs(tmp_path):
    return write_run(tmp_path/'committed'), write_run(tmp_path/'regenerated')


def findings(runs):
    old, new = runs
    return cr.compare(cr.FolderResults(new), cr.FolderResults(old), classical=CLASSICAL)[0]


def test_identical_runs_pass(runs, capsys):
    old, new = runs
    assert cr.compare(cr.FolderResults(new), cr.FolderResults(old), classical=CLASSICAL) == ([], 7)
    assert cr.main(['--new', str(new), '--reference', str(old)]) == 0
    assert 'everything within tolerance' in capsys.readouterr().out


def test_classical_last_digit_is_within_but_a_larger_move_is_named(runs, capsys):
    old, new = runs
    per_split = new/'results/toy/per_split/brisque.csv'
    edit(per_split, '0.0798533', '0.0798534')               # one unit in the 6th significant digit
    edit(per_split, '0.973919', '0.973920')                 # one unit in the 6th decimal
    assert not [f for f in findings(runs) if f.beyond]
    edit(per_split, '0.906567', '0.907129')                 # the move seen between two machines
    moved = [f for f in findings(runs) if f.beyond]
    assert [(f.file, f.method) for f in moved] == [('results/toy/per_split/brisque.csv', 'brisque')]
    assert moved[0].what.startswith('srocc: 2 of 2 value(s) moved, 1 beyond tolerance, max |Δ| 0.00056 at rep=1 '
                                    '(0.906567 → 0.907129)')
    assert cr.main(['--new', str(new), '--reference', str(old)]) == 1
    out = capsys.readouterr().out
    assert 'MOVED   results/toy/per_split/brisque.csv  brisque  srocc' in out
    assert '1 difference(s) beyond tolerance in 1 of 7 compared file(s)' in out


def test_classical_variant_is_classical(runs):
    old, new = runs
    for run in runs:
        edit(run/'results/toy/summary.csv', 'brisque,', 'niqe_live,')
    edit(new/'results/toy/summary.csv', '0.940243', '0.940300')
    (moved,) = [f for f in findings(runs) if f.beyond]
    assert moved.method == 'niqe_live' and moved.what.startswith('srocc_median') and 'last written digit' in moved.what


def test_codebook_baseline_moves_within_its_kmeans_tolerance_but_not_beyond(runs):
    old, new = runs
    for run in runs:                                        # brisque's rows stand in for HOSA's
        for sub in ('per_split', 'predictions'):
            f = run/f'results/toy/{sub}/brisque.csv'
            (f.parent/'hosa.csv').write_text(f.read_text().replace('brisque', 'hosa'))
            f.unlink()
    per_split = new/'results/toy/per_split/hosa.csv'
    edit(per_split, '0.973919', '0.973169')                 # the 0.00075 move measured on another machine
    moved = [f for f in cr.compare(cr.FolderResults(new), cr.FolderResults(old), classical=CLASSICAL | {'hosa'},
                                   codebook={'hosa'})[0] if f.method == 'hosa']
    assert moved and not [f for f in moved if f.beyond] and 'codebook baseline (k-means): ±0.01' in moved[0].what
    # as a last-digit classical method the same move is named
    assert [f for f in cr.compare(cr.FolderResults(new), cr.FolderResults(old), classical=CLASSICAL | {'hosa'},
                                  codebook=set())[0] if f.beyond]
    edit(per_split, '0.973169', '0.950000')                 # beyond the k-means room
    (beyond,) = [f for f in cr.compare(cr.FolderResults(new), cr.FolderResults(old), classical=CLASSICAL | {'hosa'},
                                       codebook={'hosa'})[0] if f.beyond]
    assert beyond.method == 'hosa' and beyond.what.startswith('srocc')


def test_codebook_methods_are_the_registered_kmeans_baselines():
    assert cr.codebook_methods() == {'cornia', 'hosa'}


def test_trained_repetitions_are_listed_and_medians_held_to_tolerance(runs):
    old, new = runs
    edit(new/'results/toy/per_split/resnet18_regression.csv', '-0.152533', '0.61')   # one repetition swings
    edit(new/'results/toy/predictions/resnet18_regression.csv', '0.387677', '0.41')
    edit(new/'results/toy/summary.csv', '0.329916,0.482449', '0.37,0.2')             # median +0.04, IQR -0.28
    found = findings(runs)
    assert found and not [f for f in found if f.beyond]
    assert {(Path(f.file).name, f.what.split(':')[0]) for f in found} == {
        ('resnet18_regression.csv', 'srocc'), ('resnet18_regression.csv', 'pred'), ('summary.csv', 'srocc_median'),
        ('summary.csv', 'srocc_iqr')}
    edit(new/'results/toy/metrics.json', '0.329916', '0.5')                          # median +0.17
    edit(new/'results/toy/metrics.json', '0.124252', '0.2')                          # median RMSE +61%
    moved = [f for f in findings(runs) if f.beyond]
    assert [(f.file, f.method, f.what.split(':')[0]) for f in moved] == [
        ('results/toy/metrics.json', 'resnet18_regression', 'srocc'), ('results/toy/metrics.json', 'resnet18_regression', 'rmse')]


def test_counts_scores_and_splits_are_exact(runs):
    old, new = runs
    edit(new/'results/toy/predictions/brisque.csv', '0.416886', '0.416887')          # a database score
    edit(new/'results/toy/per_split/resnet18_regression.csv', 'regression,1,6,2,2', 'regression,1,6,2,3')
    edit(new/'splits/toy.csv', 'b,train,test', 'b,train,train')
    moved = {(f.file, f.what.split(':')[0]) for f in findings(runs) if f.beyond}
    assert moved == {('results/toy/predictions/brisque.csv', 'score'), ('results/toy/per_split/resnet18_regression.csv', 'n_test'),
                     ('splits/toy.csv', 'rep_1')}


def test_missing_file_row_and_column_are_named(runs):
    old, new = runs
    (new/'results/toy/predictions/brisque.csv').unlink()
    edit(new/'results/toy/per_split/brisque.csv', 'brisque,1,6,2,2,0.906567,0.779487,0.874343,0.0798533\n', '')
    edit(new/'results/toy/summary.csv', 'rmse_median\n', 'rmse_median,extra\n')
    edit(new/'results/toy/summary.csv', '0.058272\n', '0.058272,1\n')
    edit(new/'results/toy/summary.csv', '0.124252\n', '0.124252,2\n')
    whats = {(f.file, f.what.split(',')[0]) for f in findings(runs) if f.beyond}
    assert whats == {('results/toy/predictions/brisque.csv', 'file missing from the regenerated results'),
                     ('results/toy/per_split/brisque.csv', 'missing row(s): 1'),
                     ('results/toy/summary.csv', 'new column(s): extra')}


def test_a_database_not_regenerated_is_skipped_but_named(runs, tmp_path):
    old, new = runs
    (old/'results/other/summary.csv').parent.mkdir(parents=True)
    (old/'results/other/summary.csv').write_text(SUMMARY)
    (old/'splits/other.csv').write_text(SPLITS)
    (skipped,) = findings(runs)
    assert (skipped.file, skipped.beyond) == ('results/other/', False)
    assert skipped.line() == 'skip    results/other/  -  not in the regenerated results: not compared'


def test_against_a_git_commit(runs, tmp_path):
    old, new = runs
    git = lambda *a: subprocess.run(['git', '-C', str(old), *a], check=True, capture_output=True)
    git('init', '-q'); git('add', '.')
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'results')
    committed = cr.CommitResults('HEAD', repo=old)
    assert cr.compare(cr.FolderResults(new), committed, classical=CLASSICAL) == ([], 7)
    edit(new/'results/toy/per_split/brisque.csv', '0.906567', '0.907129')
    (moved,) = cr.compare(cr.FolderResults(new), committed, classical=CLASSICAL)[0]
    assert moved.beyond and moved.file == 'results/toy/per_split/brisque.csv'
    with pytest.raises(SystemExit, match='no-such-rev'):
        cr.CommitResults('no-such-rev', repo=old)
