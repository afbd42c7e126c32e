"""Miniatures of every database in its published layout, and corrupted copies of them.

Each `build_<db>(root)` writes, under `root`, the same folder names, file-name patterns and label-file formats
(txt, csv, xlsx, MATLAB v5 .mat) as the authors' release, with a few 8x8 images; see nbs/03a_loaders.ipynb for the
public source each layout was checked against. `corrupt(name, src, dst)` copies a miniature and plants three
problems: one image deleted, one overwritten with junk bytes, one label row broken; it returns their names so a
test can check that `verify_database` reports each of them.
"""
from __future__ import annotations
import dataclasses, io, shutil, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
from PIL import Image

_FORMATS = {'.bmp': 'BMP', '.png': 'PNG', '.jpg': 'JPEG', '.jpeg': 'JPEG'}
_CACHE: dict = {}


def _img_bytes(ext: str, seed: int = 0) -> bytes:
    key = (ext.lower(), seed % 4)
    if key not in _CACHE:
        a = np.random.default_rng(key[1]).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        buf = io.BytesIO(); Image.fromarray(a).save(buf, format=_FORMATS[ext.lower()]); _CACHE[key] = buf.getvalue()
    return _CACHE[key]


def _img(root: Path, rel: str, seed: int = 0):
    p = Path(root)/rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(_img_bytes(p.suffix, seed))


def _cell(names, column=True):
    "A MATLAB cell array of strings (as scipy.io.savemat writes one from an object array)."
    a = np.empty((len(names), 1) if column else (1, len(names)), dtype=object)
    for i, n in enumerate(names): a.flat[i] = n
    return a


def build_tid2013(root, tid2008=False):
    root = Path(root)
    n_lv = 4 if tid2008 else 5
    # mixed case in the label file as in the real TID2013 file (`I01_11_1.BMP`); the disk uses lower case for one
    names = ['I01_01_1.bmp', 'i01_08_2.bmp', 'I01_11_1.BMP', 'i02_10_%d.bmp' % n_lv, 'i02_01_1.bmp']
    mos = [5.51429, 4.1, 3.25, 2.0, 6.0]
    (root/'distorted_images').mkdir(parents=True)
    (root/'mos_with_names.txt').write_text(''.join(f'{m} {n}\n' for m, n in zip(mos, names)))
    for i, n in enumerate(names): _img(root, 'distorted_images/' + (n.lower() if i == 2 else n), i)
    for r in ('I01.BMP', 'I02.BMP'): _img(root, 'reference_images/' + r)
    return root


def build_tid2008(root): return build_tid2013(root, tid2008=True)


def build_kadid10k(root):
    root = Path(root)
    rows = [('I01_01_01.png', 'I01.png', 4.57, 0.496), ('I01_01_02.png', 'I01.png', 4.33, 0.869),
            ('I01_10_05.png', 'I01.png', 1.53, 0.3), ('I02_11_03.png', 'I02.png', 2.9, 0.7)]
    (root/'images').mkdir(parents=True)
    pd.DataFrame(rows, columns=['dist_img', 'ref_img', 'dmos', 'var']).to_csv(root/'dmos.csv', index=False)
    for i, r in enumerate(rows): _img(root, 'images/' + r[0], i)
    for r in ('I01.png', 'I02.png'): _img(root, 'images/' + r)
    return root


def build_kadis700k(root):
    root = Path(root)
    refs = [('a-fleshy-plant-1464418.png', 7), ('abstract-1234.png', 11), ('zebra-99.png', 25)]
    (root/'ref_imgs').mkdir(parents=True)
    pd.DataFrame(refs, columns=['ref_im', 'dist_type']).to_csv(root/'kadis700k_ref_imgs.csv', index=False)
    for i, (n, _) in enumerate(refs): _img(root, 'ref_imgs/' + n, i)
    return root


LIVE_FOLDERS = (('jp2k', 227), ('jpeg', 233), ('wn', 174), ('gblur', 174), ('fastfading', 174))
LIVE_REFS = ['bikes.bmp', 'buildings.bmp', 'caps.bmp', 'parrots.bmp']


LIVE_DISTORTED = {'jp2k': 169, 'jpeg': 175, 'wn': 145, 'gblur': 145, 'fastfading': 145}   # 779, as released


def build_live(root):
    """Full 982-entry .mat files (the loader checks the counts); every image present, 8x8. As in the release, each
    folder's entries beyond its distorted images (58, 58, 29, 29, 29) are references (orgs == 1, DMOS 0)."""
    root = Path(root)
    rng = np.random.default_rng(0)
    n = sum(k for _, k in LIVE_FOLDERS)
    orgs = np.concatenate([np.arange(k) >= LIVE_DISTORTED[f] for f, k in LIVE_FOLDERS]).astype(np.uint8)
    dmos = np.where(orgs == 1, 0.0, rng.uniform(-2.5, 111, n))
    refs = [LIVE_REFS[i % len(LIVE_REFS)] for i in range(n)]
    root.mkdir(parents=True)
    scipy.io.savemat(root/'dmos_realigned.mat', dict(dmos_new=dmos[None], dmos_std=rng.uniform(0, 5, (1, n)), orgs=orgs[None]))
    scipy.io.savemat(root/'refnames_all.mat', dict(refnames_all=_cell(refs, column=False)))
    b = _img_bytes('.bmp')
    for folder, k in LIVE_FOLDERS:
        (root/folder).mkdir()
        for j in range(1, k + 1): (root/folder/f'img{j}.bmp').write_bytes(b)
    for r in LIVE_REFS: _img(root, 'refimgs/' + r)
    return root


def build_csiq(root):
    root = Path(root)
    rows = [(1600, 1, 'AWGN', 1, 0.0612190731017426, 0.06198940631407), (1600, 5, 'BLUR', 2, 0.05, 0.2),
            (1600, 3, 'jpeg2000', 3, 0.04, 0.4), ('child_swimming', 4, 'fnoise', 1, 0.03, 0.1),
            ('child_swimming', 6, 'contrast', 2, 0.02, 0.15), ('child_swimming', 2, 'JPEG', 5, 0.1, 0.8)]
    df = pd.DataFrame(rows, columns=['image', 'dst_idx', 'dst_type', 'dst_lev', 'dmos_std', 'dmos'])
    root.mkdir(parents=True)
    with pd.ExcelWriter(root/'csiq.DMOS.xlsx', engine='openpyxl') as w:
        pd.DataFrame([['CSIQ DMOS (miniature)']]).to_excel(w, sheet_name='note', index=False, header=False)
        df.to_excel(w, sheet_name='all_by_image', index=False, startrow=2)   # header not on the first row
    folder = {'AWGN': 'awgn', 'BLUR': 'blur', 'jpeg2000': 'jpeg2000', 'fnoise': 'fnoise', 'contrast': 'contrast', 'JPEG': 'jpeg'}
    for i, (img, _, t, lv, _, _) in enumerate(rows): _img(root, f'dst_imgs/{folder[t]}/{img}.{t}.{lv}.png', i)
    for r in ('1600', 'child_swimming'): _img(root, f'src_imgs/{r}.png')
    return root


def build_livemd(root):
    root = Path(root)
    for part, folder, tag in ((1, 'blurjpeg', 'jpeg'), (2, 'blurnoise', 'noise')):
        pdir = root/f'Part {part}'
        refs = ['babygirl.bmp', 'bikes.bmp']
        dist = ['babygirl.bmp', f'babygirl_blur1_{tag}2.bmp', 'babygirl_blur2.bmp', f'bikes_{tag}1.bmp', f'bikes_blur3_{tag}3.bmp']
        r4d = [1, 1, 1, 2, 2]
        (pdir/folder).mkdir(parents=True)
        scipy.io.savemat(pdir/'Imagelists.mat', dict(distimgs=_cell(dist), refimgs=_cell(refs), ref4dist=np.array(r4d, float)[:, None]))
        scipy.io.savemat(pdir/'Scores.mat', dict(DMOSscores=np.array([[0.0, 35.8, 21.6, 40.2, 70.1]]), Zscores=np.zeros((1, 5))))
        for i, d in enumerate(dict.fromkeys(dist + refs)): _img(root, f'Part {part}/{folder}/{d}', i)
    return root


def build_clive(root):
    root = Path(root)
    names = [f't{k}.bmp' for k in range(1, 8)] + ['100.bmp', '101.bmp', '1000.JPG', '1001.JPG', '1159.JPG']
    mos = [63.96, 25.34, 48.94, 50.0, 60.0, 70.0, 40.0, 3.42, 92.43, 51.86, 48.15, 47.84]
    (root/'Data').mkdir(parents=True)
    scipy.io.savemat(root/'Data/AllImages_release.mat', dict(AllImages_release=_cell(names)))
    scipy.io.savemat(root/'Data/AllMOS_release.mat', dict(AllMOS_release=np.array([mos])))
    scipy.io.savemat(root/'Data/AllStdDev_release.mat', dict(AllStdDev_release=np.full((1, len(mos)), 15.0)))
    (root/'README.txt').write_text('LIVE In the Wild Image Quality Challenge Database (miniature for tests)\n')
    for i, n in enumerate(names): _img(root, ('Images/trainingImages/' if n.startswith('t') else 'Images/') + n, i)
    return root


def build_koniq10k(root):
    root = Path(root)
    rows = [('10004473376.jpg', 77.38, 0.53, 'training'), ('10007357496.jpg', 68.73, 0.58, 'test'),
            ('10028104863.jpg', 3.92, 0.4, 'validation'), ('826373.jpg', 88.39, 0.2, 'training')]
    root.mkdir(parents=True)
    df = pd.DataFrame([dict(image_name=n, c1=0.0, c2=0.1, c3=0.3, c4=0.5, c5=0.1, c_total=100, MOS=m, SD=s, set=st)
                       for n, m, s, st in rows])
    df.to_csv(root/'koniq10k_distributions_sets.csv', index=False)
    for i, r in enumerate(rows): _img(root, '1024x768/' + r[0], i)
    return root


def build_cid2013(root):
    root = Path(root)
    ids = [('IS_I_C01_D01', 3.34), ('IS_I_C01_D02', 71.18), ('IS_I_C02_D01', 55.0), ('IS_II_C01_D05', 44.4)]
    root.mkdir(parents=True)
    df = pd.DataFrame(dict(**{'Image set': [s.split('_')[1] for s, _ in ids]}, Source_ID=[s for s, _ in ids],
                           **{'Realigned MOS': [m for _, m in ids], 'Image set specific  MOS': [m for _, m in ids]}))
    with pd.ExcelWriter(root/'CID2013 data - version 12112014.xlsx', engine='openpyxl') as w:
        df.to_excel(w, sheet_name='CID2013 MOS', index=False)
    for i, (s, _) in enumerate(ids):
        n = {'I': 1, 'II': 2}[s.split('_')[1]]
        _img(root, f'IS{n}/co{int(s.split("_")[2][1:])}/{s}.jpg', i)
    return root


def build_siqad(root):
    root = Path(root)
    rows = [('cim1_1_1.bmp', 20.5), ('cim1_5_7.bmp', 70.0), ('cim2_7_3.bmp', 44.2)]
    root.mkdir(parents=True)
    (root/'DMOS.txt').write_text(''.join(f'{n} {s}\n' for n, s in rows))
    for i, (n, _) in enumerate(rows): _img(root, 'DistortedImages/' + n, i)
    for r in ('cim1.bmp', 'cim2.bmp'): _img(root, 'references/' + r)
    return root


def build_espl_hdr(root):
    root = Path(root)
    rows = [('Balloon_TMO1.png', 55.2), ('Balloon_MEF2.png', 61.0), ('Forest_post3.png', 33.3)]
    root.mkdir(parents=True)
    (root/'MOS.csv').write_text('image,mos\n' + ''.join(f'{n},{s}\n' for n, s in rows))
    for i, (n, _) in enumerate(rows): _img(root, 'Images/' + n, i)
    return root


def build_isiqa(root):
    root = Path(root)
    rows = [('scene1_1.jpg', 45.0), ('scene1_2.jpg', 60.5), ('scene2_1.jpg', 30.0)]
    root.mkdir(parents=True)
    (root/'MOS.csv').write_text('image,mos\n' + ''.join(f'{n},{s}\n' for n, s in rows))
    for i, (n, _) in enumerate(rows): _img(root, 'Stitched Images/' + n, i)
    for sc in ('scene1', 'scene2'):
        for k in range(1, 3): _img(root, f'Constituent Images/{sc}/{k}.jpg', k)
    return root


def build_waterloo(root):
    root = Path(root)
    (root/'pristine_images').mkdir(parents=True)
    b = _img_bytes('.bmp')
    for k in range(1, 4745): (root/'pristine_images'/f'{k:05d}.bmp').write_bytes(b)
    return root


def build_places2_val(root):
    root = Path(root)
    names = [f'Places365_val_{k:08d}.jpg' for k in range(1, 5)]
    (root/'val_256').mkdir(parents=True)
    (root/'places365_val.txt').write_text(''.join(f'{n} {k*7}\n' for k, n in enumerate(names)))
    for i, n in enumerate(names): _img(root, 'val_256/' + n, i)
    return root


BUILDERS = {'tid2013': build_tid2013, 'tid2008': build_tid2008, 'kadid10k': build_kadid10k, 'kadis700k': build_kadis700k,
            'live': build_live, 'csiq': build_csiq, 'livemd': build_livemd, 'clive': build_clive, 'koniq10k': build_koniq10k,
            'cid2013': build_cid2013, 'siqad': build_siqad, 'espl_hdr': build_espl_hdr, 'isiqa': build_isiqa,
            'waterloo': build_waterloo, 'places2_val': build_places2_val}


# --- loading a miniature -----------------------------------------------------------------------------------------
# The loaders check a label file's row count against the release's published count where it is known
# (iqa_nb.loaders.PUBLISHED_ROWS). A miniature's label file lists a few of those rows, so it is a partial copy: it
# loads with allow_missing=True, and `load` checks that the label count is the only thing it was allowed to lack.

def load(name, root):
    "load_database on miniature `name`, a partial copy where its label file is a subset; every image and reference present."
    from iqa_nb.databases import load_database
    from iqa_nb.loaders import PUBLISHED_ROWS
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message=r".*as published lists", category=UserWarning)
        t = load_database(name, root, allow_missing=name in PUBLISHED_ROWS)
    if t.attrs['n_missing'] or t.attrs['n_missing_reference_rows']:
        raise AssertionError(f"miniature {name}: {t.attrs['n_missing']} images and the references of "
                             f"{t.attrs['n_missing_reference_rows']} rows missing")
    return t


def only_short_labels(rep) -> bool:
    "True if verify report `rep` finds nothing wrong but a label file shorter than the release (a miniature's subset)."
    from iqa_nb.loaders import PUBLISHED_ROWS
    rest = dataclasses.replace(rep, label_problems=[p for p in rep.label_problems if 'as published lists' not in p])
    short = len(rest.label_problems) < len(rep.label_problems)
    return rest.ok and short == (rep.name in PUBLISHED_ROWS)


# --- corrupted copies -------------------------------------------------------------------------------------------

def _edit_line(path: Path, lineno: int, fn):
    lines = path.read_text().splitlines(keepends=True)
    lines[lineno - 1] = fn(lines[lineno - 1])
    path.write_text(''.join(lines))


def _break_labels(name: str, root: Path) -> str|None:
    "Break one label row of miniature `name` at `root`; return a substring the report must contain."
    if name in ('tid2013', 'tid2008'):
        _edit_line(root/'mos_with_names.txt', 3, lambda l: 'x.x ' + l.split()[1] + '\n'); return 'mos_with_names.txt line 3'
    if name == 'kadid10k':
        _edit_line(root/'dmos.csv', 3, lambda l: l.replace(',4.33,', ',abc,')); return 'dmos.csv line 3'
    if name == 'kadis700k':
        _edit_line(root/'kadis700k_ref_imgs.csv', 3, lambda l: l.split(',')[0] + ',x\n'); return 'kadis700k_ref_imgs.csv line 3'
    if name == 'koniq10k':
        _edit_line(root/'koniq10k_distributions_sets.csv', 3, lambda l: l.replace('68.73', 'abc')); return 'line 3 (10007357496.jpg)'
    if name in ('siqad',):
        _edit_line(root/'DMOS.txt', 2, lambda l: l.split()[0] + ' abc\n'); return 'DMOS.txt line 2'
    if name in ('espl_hdr', 'isiqa'):
        _edit_line(root/'MOS.csv', 3, lambda l: l.split(',')[0] + ',abc\n'); return 'MOS.csv line 3'
    if name == 'places2_val':
        _edit_line(root/'places365_val.txt', 2, lambda l: 'garbage\n'); return 'places365_val.txt line 2'
    if name == 'live':
        m = scipy.io.loadmat(root/'dmos_realigned.mat'); m['dmos_new'][0, 4] = np.nan
        scipy.io.savemat(root/'dmos_realigned.mat', {k: v for k, v in m.items() if not k.startswith('__')}); return 'dmos_new[5] (jp2k/img5.bmp)'
    if name == 'clive':
        m = scipy.io.loadmat(root/'Data/AllMOS_release.mat'); m['AllMOS_release'][0, 8] = np.nan
        scipy.io.savemat(root/'Data/AllMOS_release.mat', {k: v for k, v in m.items() if not k.startswith('__')}); return 'entry 9 (101.bmp)'
    if name == 'livemd':
        f = root/'Part 2/Imagelists.mat'; m = scipy.io.loadmat(f); m['ref4dist'][1, 0] = 99
        scipy.io.savemat(f, {k: v for k, v in m.items() if not k.startswith('__')}); return 'Part 2/Imagelists.mat ref4dist(2) = 99'
    if name == 'csiq':
        import openpyxl
        wb = openpyxl.load_workbook(root/'csiq.DMOS.xlsx'); ws = wb['all_by_image']; ws['F5'] = 'abc'; wb.save(root/'csiq.DMOS.xlsx')
        return 'csiq.DMOS.xlsx row 5'
    if name == 'cid2013':
        import openpyxl
        p = root/'CID2013 data - version 12112014.xlsx'
        wb = openpyxl.load_workbook(p); ws = wb['CID2013 MOS']; ws['C3'] = 'abc'; wb.save(p)
        return "row 3 (IS_I_C01_D02)"
    if name == 'waterloo': return None       # no label file to break
    raise KeyError(name)


_CORRUPT_UNDER = {'isiqa': 'Stitched Images/'}


def corrupt(name: str, src, dst) -> dict:
    "Copy miniature `src` to `dst`; delete one image, garble another, break a label row. Returns what was done."
    src, dst = Path(src), Path(dst)
    shutil.copytree(src, dst)
    imgs = sorted(p.relative_to(dst).as_posix() for p in dst.rglob('*') if p.suffix.lower() in _FORMATS)
    # ISIQA's constituent images are listed by no label file (the folder is the list), so plant the problems among
    # the rated stitched images
    imgs = [i for i in imgs if i.startswith(_CORRUPT_UNDER.get(name, ''))]
    missing, unreadable = imgs[0], imgs[1]
    (dst/missing).unlink()
    (dst/unreadable).write_bytes(b'this is not an image')
    return dict(root=dst, missing=missing, unreadable=unreadable, bad_row=_break_labels(name, dst))
