"""The leaderboard and the reproduction-status table on small synthetic per-split and claims files that the tests
write: intervals contain the median, Holm never lowers a p-value, seen test content and subsets are marked in the
row, 5 repetitions cannot give a significant pair, and a method without claims gets one honest row."""
import numpy as np
import pandas as pd
import pytest

from iqa_nb.core import IQAInputError, rng
from iqa_nb.leaderboard import (bootstrap_median_ci, gather_per_split, holm, leaderboard_table, leaderboard_markdown,
                                paired_tests, read_claims, reproduction_status, status_counts, wilcoxon_min_p)
from iqa_nb.protocol import LEAK_COLUMN


def _per_split(root, db, method, srocc, seen=None, n_test=40, n_train=240, n_val=40):
    d = root/db/'per_split'; d.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame({'method': method, 'rep': range(len(srocc)), 'n_train': n_train, 'n_val': n_val, 'n_test': n_test,
                       'srocc': srocc, 'krocc': srocc, 'plcc': np.asarray(srocc) * .9, 'rmse': .1})
    if seen is not None: df[LEAK_COLUMN] = seen
    df.to_csv(d/f'{method}.csv', index=False)


@pytest.fixture
def results(tmp_path):
    g = rng(0, 'test_leaderboard')
    _per_split(tmp_path, 'demo', 'strong', .9 + g.normal(0, .02, 5))
    _per_split(tmp_path, 'demo', 'weak', .5 + g.normal(0, .02, 5), seen=[0, 0, 0, 2, 0])
    _per_split(tmp_path, 'clive', 'strong', .6 + g.normal(0, .03, 30), n_train=386, n_val=117, n_test=124)
    _per_split(tmp_path, 'clive', 'weak', .4 + g.normal(0, .03, 30), n_train=386, n_val=117, n_test=124)
    _per_split(tmp_path, 'clive', 'once', [.5], seen=[0], n_train=386, n_val=117, n_test=124)
    return tmp_path


def test_rows_carry_their_flags(results):
    splits = {'clive': pd.DataFrame({'path': range(1162), **{f'rep_{k}': ['test'] * 232 + ['train'] * 930 for k in range(30)}}),
              'demo': pd.DataFrame({'path': range(320), **{f'rep_{k}': ['test'] * 40 + ['train'] * 280 for k in range(5)}})}
    board = leaderboard_table(gather_per_split(results), ['demo'], splits, n_boot=300).set_index(['database', 'method'])
    assert board.loc[('demo', 'weak'), 'content_seen'] and 'test content seen in training (1 of 5 reps)' in board.loc[('demo', 'weak'), 'flags']
    assert not board.loc[('demo', 'strong'), 'content_seen'] and not board.loc[('clive', 'once'), 'content_seen']
    assert board.loc[('demo', 'strong'), 'proxy'] and not board.loc[('clive', 'strong'), 'proxy']
    assert not board.loc[('demo', 'strong'), 'subset']
    assert board.loc[('clive', 'weak'), 'subset'] and 'subset: 627 of 1,162 images' in board.loc[('clive', 'weak'), 'flags']
    for (db, m), r in board.iterrows():
        if r.n_reps > 1: assert r.srocc_ci_low <= r.srocc_median <= r.srocc_ci_high, (db, m)
    assert np.isnan(board.loc[('clive', 'once'), 'srocc_ci_low'])
    page = leaderboard_markdown(board.reset_index())
    assert '## clive' in page and '## demo' in page and 'one repetition: no interval' in page


def test_bootstrap_interval_contains_the_median_and_is_seeded():
    v = rng(3, 'values').normal(.6, .1, 40)
    lo, hi = bootstrap_median_ci(v, 1000, 7, 'db', 'm')
    assert lo <= np.median(v) <= hi and hi - lo < .15
    assert bootstrap_median_ci(v, 1000, 7, 'db', 'm') == (lo, hi)


def test_holm_never_lowers_a_p_value():
    p = rng(1, 'holm').uniform(0, .1, 20)
    adjusted = holm(p)
    assert (adjusted >= p).all() and (adjusted <= 1).all()
    assert np.allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])


def test_five_repetitions_cannot_be_significant_but_thirty_can(results):
    rows = gather_per_split(results)
    demo = paired_tests(rows[rows.database == 'demo'])
    assert wilcoxon_min_p(5) == 0.0625 and not demo.significant.any()
    assert demo.note.iloc[0].startswith('cannot reach p < 0.05 with 5 reps')
    clive = paired_tests(rows[rows.database == 'clive'])
    pair = lambda a, b: clive[((clive.method_a == a) & (clive.method_b == b)) | ((clive.method_a == b) & (clive.method_b == a))].iloc[0]
    strong_weak = pair('strong', 'weak')
    assert strong_weak.significant and abs(strong_weak.median_diff) > .1
    assert np.isnan(pair('strong', 'once').p) and 'no test' in pair('strong', 'once').note


def test_duplicate_method_fails_naming_both_files(results):
    _per_split(results, 'demo', 'strong_copy', [.1, .2])
    df = pd.read_csv(results/'demo'/'per_split'/'strong_copy.csv').assign(method='strong')
    df.to_csv(results/'demo'/'per_split'/'strong_copy.csv', index=False)
    with pytest.raises(IQAInputError, match='strong_copy.csv'): gather_per_split(results)


def test_reproduction_status_lists_methods_without_claims(tmp_path):
    (tmp_path/'rankiqa').mkdir()
    (tmp_path/'rankiqa'/'rankiqa_figures.ipynb').write_text('{}')
    pd.DataFrame({'target': ['Fig. 14', '§III-E', 'Table III'], 'thesis': ['deeper ranks better', 'n - 1', '0.94'],
                  'ours': ['0.63', '2.09', '0.68'], 'verdict': ['does not hold', 'holds (exceeds n - 1)', 'inconclusive at this scale'],
                  'scale': ['small'] * 3}).to_csv(tmp_path/'rankiqa'/'claims.csv', index=False)
    status = reproduction_status(read_claims(tmp_path), ['rankiqa', 'qualnet'], tmp_path)
    counts = status_counts(status)
    assert counts['claim checked: holds'] == 1 and counts['claim checked: does not hold'] == 1
    assert counts['claim checked: inconclusive'] == 1 and counts['no claims recorded yet'] == 1 and counts.sum() == 4
    assert status[status.method == 'qualnet'].target.tolist() == ['']
    assert set(status[status.method == 'rankiqa'].notebook) == {'rankiqa/rankiqa_figures.ipynb'}
    pd.DataFrame({'target': ['x'], 'paper': ['1'], 'ours': ['2'], 'verdict': ['probably']}).to_csv(tmp_path/'rankiqa'/'claims.csv', index=False)
    with pytest.raises(IQAInputError, match="row 2: verdict 'probably'"): read_claims(tmp_path)
