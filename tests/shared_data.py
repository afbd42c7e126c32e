"""Where the real data lives, for every test module.

Two places. `tests/data/` ships with the repository: the few real images that may be redistributed (crops of the Kodak
photographs, released for unrestricted use), recipes that regenerate some distorted images from them pixel for pixel,
and the reference values measured on them (tests/data/PROVENANCE.md says where each comes from). `../shared/data`
beside the checkout, or the folder named by $IQA_SHARED_DATA, holds everything else; a user's clone has none of it,
so each test that reads it skips, naming the path.

    from shared_data import SHARED, need, skip_unless, fr_image, kodak_crop, reference_row
    photo = need('kodak/kodim05.png')                      # inside a test: the path, or a skip naming it
    @skip_unless('fr_reference/reference_values.csv')      # a whole test
    img = fr_image('pyiqa_dist/I04.bmp')                   # shipped or regenerated when it may be, else shared
"""
import csv
import hashlib
import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ['IQA_SHARED_DATA']) if os.environ.get('IQA_SHARED_DATA') else ROOT.parent/'shared'/'data'
HOW = 'set IQA_SHARED_DATA to the shared data folder or place it at ../shared/data beside the checkout'
DATA = ROOT/'tests'/'data'
MANIFEST = DATA/'images.json'
SHIPPED_VALUES = DATA/'reference_values.csv'
NOT_SHIPPED = ('not in tests/data: TID2013 distorted images and goldhill may not be redistributed, and their '
               'references are left out with them (tests/data/PROVENANCE.md)')


def need(rel: str | os.PathLike = '', why: str = '') -> Path:
    "The shared-data path `rel`, or skip the calling test with a message naming it (and `why`, if given)."
    path = SHARED/rel
    if not path.exists(): pytest.skip(f"real data not available: {path} ({HOW})" + (f'; {why}' if why else ''))
    return path


def skip_unless(rel: str | os.PathLike):
    "A skipif mark for tests that read the shared-data path `rel`."
    path = SHARED/rel
    return pytest.mark.skipif(not path.exists(), reason=f"real data not available: {path} ({HOW})")


# ---------------------------------------------------------------- images shipped in tests/data
def sha256_bytes(data: bytes) -> str: return hashlib.sha256(data).hexdigest()


def pixels_sha256(a: np.ndarray) -> str:
    "SHA-256 of an image's uint8 pixels in C order (height, width, channels), independent of its file format."
    return sha256_bytes(np.ascontiguousarray(a, dtype=np.uint8).tobytes())


def manifest() -> dict:
    "tests/data/images.json: name -> entry (a shipped PNG with its SHA-256, or a recipe over another entry)."
    return {e['name']: e for e in json.loads(MANIFEST.read_text())['images']}


def _read_png(entry: dict) -> np.ndarray:
    path = DATA/entry['file']
    data = path.read_bytes()
    if sha256_bytes(data) != entry['sha256']:   # a damaged or replaced file must fail, never compare silently
        pytest.fail(f"{path}: SHA-256 {sha256_bytes(data)} differs from the recorded {entry['sha256']} "
                    f"(tests/data/images.json); restore the file from git")
    return np.array(Image.open(path).convert('RGB'))     # a writable copy: torch.from_numpy warns on read-only


# MATLAB rgb2ycbcr/ycbcr2rgb on uint8 (ITU-R BT.601, Y in 16..235), coefficients x1000 so the forward transform is
# exact integer arithmetic and the result cannot depend on the platform's floating point or BLAS.
_YCC = [[65481, 128553, 24966], [-37797, -74203, 112000], [112000, -93786, -18214]]
_OFFSET = [16, 128, 128]


def _inverse3(m):
    (a, b, c), (d, e, f), (g, h, i) = [[Fraction(x) for x in row] for row in m]
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return [[(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
            [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
            [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det]]


_YCC_INV = [[float(v * 255000) for v in row] for row in _inverse3(_YCC)]


def rgb2ycbcr_u8(rgb: np.ndarray) -> np.ndarray:
    "MATLAB `rgb2ycbcr` on uint8: BT.601 YCbCr rounded half up (every term is >= 0, so integer division is exact)."
    v = rgb.astype(np.int64)
    return np.stack([(2 * (r * v[..., 0] + g * v[..., 1] + b * v[..., 2] + o * 255000) + 255000) // 510000
                     for (r, g, b), o in zip(_YCC, _OFFSET)], -1)


def ycbcr2rgb_u8(ycc: np.ndarray) -> np.ndarray:
    "MATLAB `ycbcr2rgb` on uint8: the exact inverse matrix, element-wise float64 (no BLAS), rounded half up, clipped."
    d = [ycc[..., k].astype(np.float64) - _OFFSET[k] for k in range(3)]
    return np.stack([np.clip(np.floor(r * d[0] + g * d[1] + b * d[2] + 0.5), 0, 255) for r, g, b in _YCC_INV],
                    -1).astype(np.uint8)


def scale_chroma(rgb: np.ndarray, factor: str) -> np.ndarray:
    "Colour saturation change: YCbCr, Cb and Cr scaled about 128 by the exact fraction `factor` (e.g. '3/32'), back."
    f = Fraction(factor)
    ycc = rgb2ycbcr_u8(rgb)
    scaled = ((ycc[..., 1:] - 128) * 2 * f.numerator + (256 + 1) * f.denominator) // (2 * f.denominator)
    ycc[..., 1:] = np.clip(scaled, 0, 255)    # (c - 128) * f + 128 rounded half up, as MATLAB's uint8() does
    return ycbcr2rgb_u8(ycc)


def paint_blocks(rgb: np.ndarray, blocks: list) -> np.ndarray:
    "Local block-wise distortion: each [row, col, size, R, G, B] paints a size x size square one flat colour."
    out = rgb.copy()
    for y, x, s, *colour in blocks: out[y:y + s, x:x + s] = colour
    return out


RECIPES = {'scale_chroma': lambda base, e: scale_chroma(base, e['factor']),
           'paint_blocks': lambda base, e: paint_blocks(base, e['blocks'])}


def shipped_image(name: str) -> np.ndarray:
    """The uint8 RGB pixels of manifest entry `name`: its PNG (file SHA-256 checked) or its recipe applied to its base
    entry; either way the pixels' SHA-256 must be the recorded one, or the calling test fails."""
    e = manifest()[name]
    a = _read_png(e) if 'file' in e else RECIPES[e['recipe']](shipped_image(e['base']), e)
    if list(a.shape) != e['shape'] or pixels_sha256(a) != e['pixels_sha256']:
        pytest.fail(f"tests/data/images.json entry {name!r}: got {a.shape} pixels with SHA-256 {pixels_sha256(a)}, "
                    f"recorded {e['shape']} {e['pixels_sha256']}")
    return a


def fr_image(name: str) -> np.ndarray:
    """An image of the FR reference set by its name in reference_values.csv (e.g. 'pyiqa_dist/I04.bmp'): shipped or
    regenerated from tests/data when it may be, otherwise read from ../shared/data/fr_reference/images (or a skip)."""
    if name in manifest(): return shipped_image(name)
    return np.array(Image.open(need(f'fr_reference/images/{name}', f'{name}: {NOT_SHIPPED}')))


def kodak_crop(name: str, height: int, width: int) -> np.ndarray:
    """The top-left height x width pixels of Kodak photograph `name` (e.g. 'kodim05.png'; portrait ones turned
    landscape): from tests/data when that crop is shipped, otherwise from ../shared/data/kodak (or a skip)."""
    e = manifest().get(f'kodak/{name}')
    if e and e['shape'][0] >= height and e['shape'][1] >= width:
        a = shipped_image(f'kodak/{name}')
    else:
        a = np.array(Image.open(need(f'kodak/{name}')).convert('RGB'))
        if a.shape[0] > a.shape[1]: a = a.transpose(1, 0, 2)
    return np.ascontiguousarray(a[:height, :width])


# ---------------------------------------------------------------- reference values
def csv_rows(path: Path) -> list[dict]:
    with open(path, newline='') as f: return list(csv.DictReader(f))


def reference_row(metric: str, ref: str, dist: str, conditions_start: str = '', source_start: str = '') -> dict:
    """The one row of reference_values.csv for (metric, ref_image, dist_image), optionally narrowed by the start of
    its `conditions` or `source`: from the copy in tests/data when the row was shipped (its images may be), otherwise
    from ../shared/data/fr_reference (or a skip)."""
    def pick(rows):
        return [r for r in rows if r['metric'] == metric and r['ref_image'] == ref and r['dist_image'] == dist
                and r['conditions'].startswith(conditions_start) and r['source'].startswith(source_start)]
    rows = pick(csv_rows(SHIPPED_VALUES)) or pick(csv_rows(need('fr_reference/reference_values.csv')))
    if len(rows) != 1:
        pytest.fail(f'reference_values.csv: {len(rows)} rows for {metric} {ref} {dist} '
                    f'conditions={conditions_start!r} source={source_start!r}, expected exactly 1')
    return rows[0]


def reference_value(*args, **kw) -> float: return float(reference_row(*args, **kw)['value'])
