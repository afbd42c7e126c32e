"""`load_image` on the image files a user actually has: 16-bit PNG and TIFF, alpha channels, greyscale, palette and
floating-point images. Every case is a real photograph (a Kodak crop shipped in tests/data) written in that format
by the test, so what is checked is the pixels a metric or a model would see.

The rules (nbs/00_core.ipynb says why): 8-bit RGB as is; greyscale repeated to three channels; 16-bit samples keep
their high byte (v // 256, what Pillow does for 16-bit colour files); an alpha channel is dropped only when every pixel
is opaque, otherwise the file is refused; 32-bit integer and floating-point images are refused (no stated range).
"""
import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from iqa_nb.core import IQAInputError, load_image

from shared_data import kodak_crop


@pytest.fixture(scope='module')
def photo():
    "A real photograph, 384 x 512 RGB uint8."
    return kodak_crop('kodim05.png', 384, 512)


def grey_of(rgb): return np.asarray(Image.fromarray(rgb).convert('L'))


def as_16bit(a8, seed=0):
    "The 8-bit photograph on 16 bits, with detail below one 8-bit step: v = 256 x + (random 0..255)."
    low = np.random.default_rng(seed).integers(0, 256, a8.shape)
    return (a8.astype(np.uint32) * 256 + low).astype(np.uint16)


def write_png16_rgb(path, a16):
    "A 16-bit RGB PNG written chunk by chunk (Pillow cannot write 48-bit PNG)."
    h, w, _ = a16.shape
    raw = b''.join(b'\x00' + a16[y].astype('>u2').tobytes() for y in range(h))
    def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, 2, 0, 0, 0))
                     + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


@pytest.mark.parametrize('suffix', ['.png', '.tif'])
def test_16bit_greyscale_is_scaled_not_clipped(photo, tmp_path, suffix):
    # A 16-bit greyscale photograph: every sample keeps its high byte. Clipping to 255 (what convert('RGB') does to
    # Pillow's 'I;16' images) turns almost the whole photograph white.
    g16 = as_16bit(grey_of(photo))
    path = tmp_path / f'grey16{suffix}'
    Image.fromarray(g16).save(path)
    got = load_image(path)
    assert got.dtype == np.uint8 and got.shape == (384, 512, 3)
    assert np.array_equal(got, np.repeat((g16 >> 8).astype(np.uint8)[..., None], 3, axis=2))
    assert np.array_equal(got[..., 0], grey_of(photo))          # the 8-bit photograph it was made from
    assert (got == 255).mean() < 0.01


@pytest.mark.parametrize('fmt', ['png', 'tif'])
def test_16bit_colour_keeps_the_high_byte(photo, tmp_path, fmt):
    # The same rule for colour: Pillow already reduces 16-bit RGB PNG and TIFF to their high byte; the test holds it.
    a16 = as_16bit(photo, seed=1)
    path = tmp_path / f'rgb16.{fmt}'
    if fmt == 'png': write_png16_rgb(path, a16)
    else: tifffile.imwrite(path, a16)
    assert np.array_equal(load_image(path), (a16 >> 8).astype(np.uint8))
    assert np.array_equal(load_image(path), photo)


def test_greyscale_8bit_is_repeated_to_three_channels(photo, tmp_path):
    Image.fromarray(grey_of(photo)).save(tmp_path / 'g.png')
    got = load_image(tmp_path / 'g.png')
    assert got.shape == (384, 512, 3) and all(np.array_equal(got[..., c], grey_of(photo)) for c in range(3))


def test_opaque_alpha_is_dropped(photo, tmp_path):
    # An alpha channel that is 255 everywhere carries nothing: the colour channels load unchanged.
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / 'opaque.png')
    assert np.array_equal(load_image(tmp_path / 'opaque.png'), photo)


@pytest.mark.parametrize('mode', ['RGBA', 'LA', 'P'])
def test_transparent_pixels_are_refused_naming_the_file(photo, tmp_path, mode):
    # Colour under a transparent pixel is undefined (each viewer shows its own background): the file is refused,
    # with the count of pixels that are not opaque, rather than silently scored on whatever the colour channels hold.
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:10, :20] = 0
    path = tmp_path / f'transparent_{mode}.png'
    if mode == 'P':
        im = Image.fromarray(photo).quantize(64)
        idx = np.asarray(im).copy(); idx[:10, :20] = 63           # palette entry 63 is the transparent one
        im = Image.fromarray(idx, 'P'); im.putpalette(Image.fromarray(photo).quantize(64).getpalette())
        im.save(path, transparency=63)
        n_clear = int((idx == 63).sum())
    else:
        base = photo if mode == 'RGBA' else grey_of(photo)[..., None]
        Image.fromarray(np.dstack([base, alpha]).squeeze(), mode).save(path)
        n_clear = 200
    with pytest.raises(IQAInputError, match=rf"{path.name}: .*alpha channel: {n_clear} of 196608 pixels are not opaque"):
        load_image(path)


@pytest.mark.parametrize('kind', ['float', 'int32'])
def test_images_without_a_stated_range_are_refused(tmp_path, kind):
    # A floating-point or 32-bit integer TIFF has no range to scale from (HDR radiance, depth maps, ...).
    a = np.linspace(0, 3.5, 64 * 48, dtype=np.float32).reshape(48, 64) if kind == 'float' else \
        np.arange(64 * 48, dtype=np.int32).reshape(48, 64) * 1000
    path = tmp_path / f'{kind}.tif'
    Image.fromarray(a).save(path)
    with pytest.raises(IQAInputError, match=rf"{path.name}: .*(floating-point|32-bit integer) .*no stated range"):
        load_image(path)
