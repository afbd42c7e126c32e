"""BPSQM [BPSQM]: both training stages and `iqa-nb predict --maps` end to end on a tiny demo database, the committed
demo rows (every repetition, no test content seen at any stage), and Fig. 5's property on the committed predictions:
the predicted score falls as a distortion's level grows, on contents that no stage of the repetition trained on."""
import io
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import ROOT

DEMO = ROOT/'results'/'demo'


def test_two_stages_then_predict_with_maps(tiny_demo, tmp_path):
    "U-Net on MDSI maps, frozen, then the pooler; the checkpoint scores and draws maps through the console command."
    import torch
    from PIL import Image
    from iqa_nb.databases import load_database
    from iqa_nb.methods.bpsqm import BPSQM, predict_table, train_pooling, train_quality_map_unet
    from iqa_nb.training.checkpoint import content_leak, load_checkpoint
    torch.use_deterministic_algorithms(True, warn_only=True)
    table = load_database('demo', tiny_demo)
    contents = sorted(table.content_id.unique())
    train = table[table.content_id.isin(contents[:5])].reset_index(drop=True)
    val = table[table.content_id.isin(contents[5:6])].reset_index(drop=True)
    test = table[table.content_id.isin(contents[6:])].reset_index(drop=True)
    unet = train_quality_map_unet(tiny_demo, train, val, 'MD', cache_dir=tmp_path/'maps', checkpoint_dir=tmp_path/'unet',
                                  patch=32, stride=32, widths=(4, 4, 8, 8), epochs=1, batch_size=16, database='tiny')
    model = BPSQM(('MD',), (4, 4, 8, 8), 'dpn', {'widths': (4, 4, 8, 8, 8), 'hidden': 8}, patch=32)
    model.generators[0].load_state_dict(unet.model.state_dict())
    res = train_pooling(model, tiny_demo, train, val, checkpoint_dir=tmp_path/'pool', patch=32, stride=32, database='tiny',
                        trained_on=load_checkpoint(unet.checkpoint)['trained_on'], epochs=1, batch_size=16)
    ck = load_checkpoint(res.checkpoint)
    assert [r['stage'] for r in ck['trained_on']] == ['unet', 'pool']
    assert content_leak(ck['trained_on'], test.content_id) == 0 and content_leak(ck['trained_on'], train.content_id) == 5
    image = tiny_demo/test.path[0]
    run = subprocess.run([sys.executable, '-m', 'iqa_nb.cli', 'predict', str(res.checkpoint), str(image), '--maps',
                          str(tmp_path/'maps_out'), '--device', 'cpu', '-q'], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    png = tmp_path/'maps_out'/f'{image.stem}_mdsi.png'
    with Image.open(png) as im: assert im.size == (64, 64) and im.mode == 'L'
    with torch.no_grad():
        from iqa_nb.core import load_image
        from iqa_nb.training.samplers import to_tensor
        expected = np.round(res.model.eval().quality_maps(to_tensor(load_image(image))[None])[0, 0].numpy() * 255)
    assert np.abs(np.asarray(Image.open(png), float) - expected).max() <= 1          # 8-bit rounding
    quality = pd.read_csv(io.StringIO(run.stdout))['quality'][0]
    assert abs(quality - predict_table(res.model, tiny_demo, test.iloc[:1], 32, 32)[0]) < 1e-5


def _demo_rows():
    path = DEMO/'per_split'/'bpsqm.csv'
    if not path.is_file(): pytest.skip(f'{path} not committed yet (run the bpsqm_pool stage)')
    return pd.read_csv(path)


def test_demo_rows_cover_every_repetition_without_leak():
    rows, splits = _demo_rows(), pd.read_csv(ROOT/'splits'/'demo.csv')
    reps = sorted(int(c[4:]) for c in splits.columns if c.startswith('rep_'))
    assert sorted(rows.rep) == reps
    assert (rows.test_content_seen == 0).all()               # U-Net and pooler trained on each repetition's train part
    for r in rows.itertuples(): assert r.n_test == (splits[f'rep_{r.rep}'] == 'test').sum()


def _level_trend():
    path = DEMO/'predictions'/'bpsqm.csv'
    if not path.is_file(): pytest.skip(f'{path} not committed yet (run the bpsqm_pool stage)')
    pred = pd.read_csv(path)
    parts = pred.path.str.extract(r'_c\d+_(?P<distortion>[a-z0-9_]+)_(?P<level>\d)\.png$')
    return pred.join(parts.astype({'level': int}))


FALLING = ['gaussian_blur', 'jpeg2000', 'white_noise',
           pytest.param('jpeg', marks=pytest.mark.xfail(strict=True, reason=(
               "at the demo's CPU scale the 4-8-16-32 U-Net, 4 epochs of one 64-px window per image, draws no JPEG "
               "blocking: predictions are flat across JPEG levels (results/demo/bpsqm/level_trend.csv)")))]


@pytest.mark.parametrize('distortion', FALLING)
def test_fig5_predicted_score_falls_with_level(distortion):
    "[BPSQM Fig. 5]: over all test images of all repetitions, Spearman(level, prediction) < 0 and level 5 < level 1."
    d = _level_trend()
    d = d[d.distortion == distortion]
    assert len(d) >= 20, f'{distortion}: {len(d)} test predictions'
    rho = stats.spearmanr(d.level, d.pred)[0]
    means = d.groupby('level').pred.mean()
    assert rho < 0 and means.iloc[-1] < means.iloc[0], (distortion, rho, means.round(3).to_dict())
