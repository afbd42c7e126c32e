"""`iqa-nb predict` end to end: a checkpoint written with the checkpoint format around a MODELS network, a folder of
images written by the test, the console command (as a subprocess and through `main`) and `iqa_nb.predict`; then
every failure a user meets first, each with a message naming the file, size or version at fault."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import iqa_nb
from iqa_nb.cli import main
from iqa_nb.core import save_image
from iqa_nb.training.backbones import MODELS
from iqa_nb.training.checkpoint import save_checkpoint
from conftest import ROOT


class Brightness(nn.Module):
    "Score = a * mean(window) + b; class 1 (bright) when the window's mean is above 0.5: numbers checkable by hand."
    def __init__(self):
        super().__init__()
        self.affine = nn.Linear(1, 1)

    def forward(self, x):
        m = x.mean((1, 2, 3))[:, None]
        return {'score': self.affine(m), 'class_logits': torch.cat([0.5 - m, m - 0.5], 1)}


def brightness_test_model() -> nn.Module:
    "A two-headed model for these tests."
    return Brightness()


if 'brightness_test_model' not in MODELS:
    MODELS.register(brightness_test_model, paper='test model', doi='', code='', licence='', deviations='')

DMOS_0_100 = {'database': 'live', 'score_lo': 0.0, 'score_hi': 100.0, 'higher_better': False}


def unit_target(native=DMOS_0_100, **more):
    return {'kind': 'unit_quality', 'range': [0.0, 1.0], 'higher_better': True, 'native': native, **more}


@pytest.fixture
def brightness_checkpoint(tmp_path):
    "A checkpoint of the brightness model, 'trained' to score = mean brightness, scored on 16-pixel patches at stride 8."
    net = brightness_test_model()
    with torch.no_grad():
        net.affine.weight.fill_(1.0)
        net.affine.bias.fill_(0.0)
    return save_checkpoint(tmp_path/'ck'/'brightness.pt', method='brightness_test_model', model_kwargs={}, model=net,
                           inference={'kind': 'patches', 'crop': 16, 'stride': 8, 'normalise': 'unit'},
                           target=unit_target(classes=['dark', 'bright']), trained_on=[], config={}, epoch=0)


def flat(value, h=32, w=48):
    return np.full((h, w, 3), value, np.uint8)


@pytest.fixture
def photos(tmp_path):
    "A folder of images in three formats, one in a sub-folder, plus a text file and a hidden file predict must skip."
    root = tmp_path/'photos'
    half = flat(0)
    half[:, 24:] = 255
    for name, img in {'gray.png': flat(51), 'half.bmp': half, 'sub/white.jpg': flat(255, 40, 40)}.items():
        save_image(img, root/name)
    (root/'README.txt').write_text('not an image')
    (root/'sub'/'._white.jpg').write_bytes(b'macOS resource fork, not an image')
    return root


def test_console_command_end_to_end(tmp_path, photos):
    "`python -m iqa_nb.cli predict` on a real MODELS network (untrained ResNet-18): a CSV row per image, as predict gives."
    torch.manual_seed(0)
    ck = save_checkpoint(tmp_path/'rep_0.pt', method='resnet18_regression', model_kwargs={},
                         model=MODELS['resnet18_regression'](), inference={'kind': 'crops', 'crop': 32, 'n': 4, 'seed': 0},
                         target=unit_target({'database': 'demo', 'score_lo': 0.0, 'score_hi': 1.0, 'higher_better': True}),
                         trained_on=[], config={}, epoch=0)
    out = tmp_path/'results'/'scores.csv'
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')])}
    run = subprocess.run([sys.executable, '-m', 'iqa_nb.cli', 'predict', str(ck), str(photos), '--out', str(out),
                          '--device', 'cpu'], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f'scored 3 image(s) with resnet18_regression (kind=crops, normalise=imagenet, crop=32, n=4, seed=0)' in run.stderr
    scores = pd.read_csv(out)
    assert list(scores.columns) == ['path', 'quality', 'score']
    assert [os.path.relpath(p, photos) for p in scores['path']] == ['gray.png', 'half.bmp', os.path.join('sub', 'white.jpg')]
    assert np.isfinite(scores['quality']).all()
    np.testing.assert_allclose(scores['score'], scores['quality'], rtol=1e-5)   # native range [0, 1], higher = better
    direct = iqa_nb.predict(photos, ck, device='cpu', progress=False)          # the exact call of the Python API
    np.testing.assert_allclose(scores['quality'], direct['quality'], rtol=1e-4, atol=1e-6)


def test_scores_classes_and_native_scale_by_hand(brightness_checkpoint, photos, tmp_path, capsys):
    out = tmp_path/'scores.csv'
    assert main(['predict', str(brightness_checkpoint), str(photos), '--out', str(out), '--quiet']) == 0
    scores = pd.read_csv(out)
    assert list(scores.columns) == ['path', 'quality', 'score', 'class']
    # gray 51/255 = 0.2 everywhere; the half image's 5 columns of 16-pixel windows (x = 0, 8, 16, 24, 32) are white
    # for 0, 0, 0.5, 1, 1 of their width: mean 0.5, classes dark, dark, dark (a tie), bright, bright -> dark by 9 : 6
    np.testing.assert_allclose(scores['quality'], [0.2, 0.5, 1.0], atol=1e-5)
    np.testing.assert_allclose(scores['score'], [80.0, 50.0, 0.0], atol=1e-3)    # DMOS 0-100, lower = better
    assert scores['class'].tolist() == ['dark', 'dark', 'bright']
    assert capsys.readouterr().err == ''


def test_batching_and_reading_threads_do_not_change_scores(brightness_checkpoint, photos):
    a = iqa_nb.predict(photos, brightness_checkpoint, batch_size=1, workers=0, progress=False)
    b = iqa_nb.predict([photos/'sub'/'white.jpg', photos/'gray.png', photos/'half.bmp'], brightness_checkpoint,
                       batch_size=1000, workers=3, progress=False)
    np.testing.assert_allclose(a.set_index('path').loc[b['path'], 'quality'], b['quality'], atol=1e-6)


def test_csv_to_standard_output(brightness_checkpoint, photos, capsys):
    assert main(['predict', str(brightness_checkpoint), str(photos/'gray.png'), '-q']) == 0
    assert capsys.readouterr().out.splitlines() == ['path,quality,score,class', f"{photos/'gray.png'},0.2,80,dark"]


def fails(capsys, *argv, out=None):
    "Run the command expecting exit status 1; its error message (and no output file left behind)."
    argv = ['predict', *map(str, argv)] + (['--out', str(out)] if out else []) + ['-q']
    assert main(argv) == 1
    if out: assert not out.exists()
    err = capsys.readouterr().err
    assert err.startswith('iqa-nb predict: error: ')
    return err


def test_unreadable_image_is_named(brightness_checkpoint, photos, tmp_path, capsys):
    (photos/'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    err = fails(capsys, brightness_checkpoint, photos, out=tmp_path/'s.csv')
    assert f"1 of 4 image(s) cannot be scored:\n  cannot read image {photos/'broken.png'}" in err
    err = fails(capsys, brightness_checkpoint, photos/'README.txt')              # a file named explicitly is tried
    assert f"cannot read image {photos/'README.txt'}" in err


def test_image_smaller_than_the_crop_is_named_with_its_size(brightness_checkpoint, photos, tmp_path, capsys):
    save_image(flat(9, 12, 60), photos/'thin.png')
    save_image(flat(9, 70, 15), photos/'narrow.png')
    err = fails(capsys, brightness_checkpoint, photos, out=tmp_path/'s.csv')
    assert f"2 of 5 image(s) cannot be scored" in err
    assert f"image {photos/'thin.png'} is 12x60, smaller than the patch 16" in err
    assert f"image {photos/'narrow.png'} is 70x15, smaller than the patch 16" in err


def test_checkpoint_of_another_version(brightness_checkpoint, photos, tmp_path, capsys):
    raw = torch.load(brightness_checkpoint, weights_only=True)
    torch.save({**raw, 'iqa_nb_version': '0.0.1'}, tmp_path/'old.pt')
    err = fails(capsys, tmp_path/'old.pt', photos, out=tmp_path/'s.csv')
    assert f"checkpoint {tmp_path/'old.pt'} was written by iqa-nb 0.0.1; this is iqa-nb {iqa_nb.__version__}" in err
    assert '--allow-other-version' in err
    assert main(['predict', str(tmp_path/'old.pt'), str(photos), '--allow-other-version', '-q', '--out', str(tmp_path/'s.csv')]) == 0
    torch.save({**raw, 'format_version': 2}, tmp_path/'v2.pt')
    assert 'format_version 2; this iqa-nb reads format_version 1' in fails(capsys, tmp_path/'v2.pt', photos)


def test_other_bad_checkpoints(brightness_checkpoint, photos, tmp_path, capsys):
    raw = torch.load(brightness_checkpoint, weights_only=True)
    torch.save({**raw, 'method': 'qualnet_v9', 'model_module': ''}, tmp_path/'unknown.pt')
    err = fails(capsys, tmp_path/'unknown.pt', photos)
    assert f"checkpoint {tmp_path/'unknown.pt'}: unknown model 'qualnet_v9'; this iqa-nb knows: " in err
    assert 'resnet18_regression' in err
    torch.save({**raw, 'model': {'affine.weight': torch.ones(3, 1), 'affine.bias': torch.zeros(3)}}, tmp_path/'misfit.pt')
    assert "its weights do not fit the 'brightness_test_model' network" in fails(capsys, tmp_path/'misfit.pt', photos)
    torch.save(raw['model'], tmp_path/'bare.pt')
    assert "is not an iqa-nb checkpoint: it holds a dict without 'format'" in fails(capsys, tmp_path/'bare.pt', photos)
    assert f"checkpoint not found: {tmp_path/'nope.pt'}" in fails(capsys, tmp_path/'nope.pt', photos)


def test_bad_paths_and_arguments(brightness_checkpoint, photos, tmp_path, capsys):
    assert f"no such image file or folder: {tmp_path/'missing'}" in fails(capsys, brightness_checkpoint, tmp_path/'missing')
    (tmp_path/'empty').mkdir()
    assert f"folder {tmp_path/'empty'} holds no image file" in fails(capsys, brightness_checkpoint, tmp_path/'empty')
    if not torch.cuda.is_available():
        assert "device 'cuda' requested but CUDA is not available" in fails(capsys, brightness_checkpoint, photos, '--device', 'cuda')
    with pytest.raises(SystemExit) as e:
        main(['predict', str(brightness_checkpoint)])                       # no image: argparse's usage error
    assert e.value.code == 2
    assert 'IMAGE_OR_FOLDER' in capsys.readouterr().err
