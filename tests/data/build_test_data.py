"""Rebuild tests/data from the shared real data, and prove each shipped or regenerated image equals its original.

    python tests/data/build_test_data.py          # needs ../shared/data (or $IQA_SHARED_DATA); writes tests/data

What it does (tests/data/PROVENANCE.md says why each item may be shipped):
1. crops Kodak photographs (released for unrestricted use) to the regions the tests read, saved as maximally
   compressed PNG: the top-left corners the property tests use, and the 512x384 crops that are TID2013's reference
   images I04, I06, I08 (found by exhaustive search; each must equal the shared TID2013 file pixel for pixel);
2. records recipes that regenerate TID2013's distorted images pyiqa_dist/I04, I06 (colour saturation change) and I08
   (six flat 32x32 blocks, read off the shared file here) from those crops, and checks each result equals the shared
   TID2013 file pixel for pixel; the TID2013 files themselves are not copied;
3. copies verbatim every row of fr_reference/reference_values.csv whose images are all in tests/data;
4. writes tests/data/images.json with the SHA-256 of every shipped file and of every image's pixels.
It stops with an error if anything does not match; nothing is written until every check has passed.
"""
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared_data import (DATA, MANIFEST, RECIPES, SHARED, SHIPPED_VALUES, pixels_sha256,  # noqa: E402
                         sha256_bytes)

KODAK_TERMS = 'Kodak Lossless True Color Image Suite: released by the Eastman Kodak Company for unrestricted usage'
# name in the tests -> (Kodak photograph, [row, col, height, width]) of the crop; the TID2013 boxes were found by
# searching every position of every Kodak photograph for the shared TID2013 reference file.
CROPS = {'kodak/kodim01.png': ('kodim01.png', [0, 0, 384, 512]),
         'kodak/kodim05.png': ('kodim05.png', [0, 0, 192, 256]),
         'kodak/kodim14.png': ('kodim14.png', [0, 0, 192, 256]),
         'kodak/kodim23.png': ('kodim23.png', [0, 0, 384, 512]),
         'pyiqa_ref/I04.bmp': ('kodim04.png', [206, 0, 384, 512]),
         'pyiqa_ref/I06.bmp': ('kodim06.png', [43, 66, 384, 512]),
         'pyiqa_ref/I08.bmp': ('kodim08.png', [4, 71, 384, 512])}
FILES = {'kodak/kodim01.png': 'kodak/kodim01_top.png', 'kodak/kodim05.png': 'kodak/kodim05_top.png',
         'kodak/kodim14.png': 'kodak/kodim14_top.png', 'kodak/kodim23.png': 'kodak/kodim23_top.png',
         'pyiqa_ref/I04.bmp': 'kodak/kodim04_tid2013_I04.png', 'pyiqa_ref/I06.bmp': 'kodak/kodim06_tid2013_I06.png',
         'pyiqa_ref/I08.bmp': 'kodak/kodim08_tid2013_I08.png'}
# Saturation factors, with the range of factors that regenerate the file (found by trying exact fractions against the
# shared file). A factor with a power-of-two denominator is exact in binary floating point, so ties round the same way
# on every platform (the chroma step itself is integer arithmetic anyway).
CHROMA = {'pyiqa_dist/I04.bmp': ('pyiqa_ref/I04.bmp', '3/32', 'only 3/32 = 0.09375 fits (0.09374 and 0.09376 do not)'),
          'pyiqa_dist/I06.bmp': ('pyiqa_ref/I06.bmp', '111/256',
                                 'any factor strictly between 13/30 and 33/76 (0.433333 and 0.434211) fits')}


def load(path): return np.asarray(Image.open(path).convert('RGB'))


def png_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, 'PNG', optimize=True)     # zlib level 9 with the best filter choice; lossless
    return buf.getvalue()


def flat_blocks(ref: np.ndarray, dist: np.ndarray) -> list:
    "The [row, col, size, R, G, B] of each changed region, which must be a flat square, and nothing else changed."
    labels, n = ndimage.label((ref != dist).any(-1))
    blocks = []
    for sl in ndimage.find_objects(labels):
        patch = dist[sl]
        h, w = patch.shape[:2]
        colours = np.unique(patch.reshape(-1, 3), axis=0)
        if h != w or len(colours) != 1: raise SystemExit(f'changed region {sl} is not a flat square')
        blocks.append([sl[0].start, sl[1].start, h, *map(int, colours[0])])
    return sorted(blocks)


def main():
    fr_images = SHARED/'fr_reference'/'images'
    entries, files = [], {}
    for name, (photo, box) in CROPS.items():
        y, x, h, w = box
        a = np.ascontiguousarray(load(SHARED/'kodak'/photo)[y:y + h, x:x + w])
        e = dict(name=name, file=FILES[name], sha256=None, shape=list(a.shape), pixels_sha256=pixels_sha256(a),
                 source=f'kodak/{photo}', box=box, terms=KODAK_TERMS)
        if name.startswith('pyiqa_ref/'):
            original = load(fr_images/name)
            if not np.array_equal(a, original): raise SystemExit(f'{photo} crop {box} differs from {name}')
            e['equals'] = f'fr_reference/images/{name}'
            e['note'] = f'TID2013 reference image {Path(name).stem} (= {Path(name).stem}.BMP), a crop of {photo}'
        data = png_bytes(a)
        if not np.array_equal(np.asarray(Image.open(io.BytesIO(data))), a): raise SystemExit(f'{name}: PNG not lossless')
        e['sha256'] = sha256_bytes(data)
        files[FILES[name]] = data
        entries.append(e)
    by_name = {e['name']: e for e in entries}

    def base_pixels(name): return load(io.BytesIO(files[by_name[name]['file']]))

    recipes = [dict(name=name, shape=None, pixels_sha256=None, recipe='scale_chroma', base=base, factor=factor,
                    note=f'TID2013 colour saturation change (distortion type 18, inferred from the pixels): MATLAB '
                         f'rgb2ycbcr, Cb and Cr scaled about 128 by {factor}, rounded, ycbcr2rgb; {fits}')
               for name, (base, factor, fits) in CHROMA.items()]
    i08 = load(fr_images/'pyiqa_dist/I08.bmp')
    recipes.append(dict(name='pyiqa_dist/I08.bmp', shape=None, pixels_sha256=None, recipe='paint_blocks',
                        base='pyiqa_ref/I08.bmp',
                        blocks=flat_blocks(load(fr_images/'pyiqa_ref/I08.bmp'), i08),
                        note='TID2013 local block-wise distortion (type 15, inferred from the pixels): six flat '
                             '32x32 squares; positions and colours read off the TID2013 file'))
    for e in recipes:
        a = RECIPES[e['recipe']](base_pixels(e['base']), e)
        if not np.array_equal(a, load(fr_images/e['name'])): raise SystemExit(f"recipe for {e['name']} does not match")
        e.update(shape=list(a.shape), pixels_sha256=pixels_sha256(a), equals=f"fr_reference/images/{e['name']}",
                 terms='regenerated from the Kodak crop by the recipe; no TID2013 file is shipped')
    entries += recipes

    names = {e['name'] for e in entries}
    with open(SHARED/'fr_reference'/'reference_values.csv', newline='') as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, [r for r in reader if {r['ref_image'], r['dist_image']} - {''} <= names]

    for rel, data in files.items():
        (DATA/rel).parent.mkdir(parents=True, exist_ok=True)
        (DATA/rel).write_bytes(data)
    with open(SHIPPED_VALUES, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator='\n')
        w.writeheader()
        w.writerows(rows)
    MANIFEST.write_text('{"images": [\n' + ',\n'.join(json.dumps(e) for e in entries) + '\n]}\n')
    print(f'{len(files)} PNG files ({sum(map(len, files.values()))} bytes), {len(recipes)} recipes, {len(rows)} rows')


if __name__ == '__main__':
    main()
