"""Every registered distortion (RankIQA's 4, KADID's 25) on real photographs: determinism and falling quality.

Quality is measured with scikit-image's `peak_signal_noise_ratio` (PSNR, data_range 255) against the input, an
independent implementation that none of the generators uses. Levels must lose PSNR along each entry's
`quality_order` chains (1 -> 5 for all but KADID #18 mean shift and #25 contrast change, whose KADID level numbers
run from a positive through zero to a negative parameter). Random distortions are judged by the PSNR of the mean
squared error over several seeds: one draw of 6 against 8 random colour blocks can go either way.
No tolerance is needed: the test asks for a strict order, not a value.
"""
import numpy as np
import pytest

from iqa_nb.distortions import DISTORTIONS, distort
from iqa_nb.synthesis import resize_crop
from shared_data import need

PHOTOS = ['kodim05.png', 'kodim23.png']   # a busy street scene and a smooth, colourful close-up
# random types whose level-to-level change is small next to the spread between draws (cheap ones, so more seeds)
MANY_SEEDS = {'kadid_13_impulse_noise': 12, 'kadid_20_non_eccentricity_patch': 12, 'kadid_23_color_block': 12,
              'kadid_05_color_shift': 8}


@pytest.fixture(scope='module')
def photos():
    kodak = need('kodak')
    from iqa_nb.core import load_image
    return [resize_crop(load_image(kodak/p)) for p in PHOTOS]   # KADID/KADIS size, 512x384


def _psnr_of_mean_mse(ref, outs):
    from skimage.metrics import mean_squared_error
    mse = np.mean([mean_squared_error(ref.astype(float), o.astype(float)) for o in outs])
    return np.inf if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


@pytest.mark.parametrize('name', DISTORTIONS.list())
def test_levels_lose_quality(name, photos):
    info = DISTORTIONS.info(name)
    seeds = range(MANY_SEEDS[name]) if name in MANY_SEEDS else range(2) if info.get('random') else (0,)
    chains = info.get('quality_order', ((1, 2, 3, 4, 5),))
    for k, img in enumerate(photos):
        q = {lv: _psnr_of_mean_mse(img, [distort(img, name, lv, seed=s) for s in seeds]) for lv in range(1, 6)}
        for chain in chains:
            assert all(q[a] > q[b] for a, b in zip(chain, chain[1:])), (PHOTOS[k], chain, q)


@pytest.mark.parametrize('name', DISTORTIONS.list())
def test_same_seed_same_bytes(name, photos):
    img = photos[0][:192, :256].copy()
    a, b = distort(img, name, 3, seed=11), distort(img, name, 3, seed=11)
    assert a.dtype == np.uint8 and a.shape == img.shape
    assert a.tobytes() == b.tobytes()
    if DISTORTIONS.info(name).get('random'):   # a random distortion must actually use its seed
        assert distort(img, name, 3, seed=12).tobytes() != a.tobytes()


def test_every_distortion_has_provenance():
    for name in DISTORTIONS.list():
        info = DISTORTIONS.info(name)
        for key in ('paper', 'doi', 'code', 'licence', 'deviations', 'levels', 'family'):
            assert info.get(key), (name, key)
        assert len(info['levels']) == 5, name
    assert len(DISTORTIONS.list('kadid_*')) == 25 and len(DISTORTIONS.list('rankiqa_*')) == 4
