"""BSPIQA [BSPIQA]: Proposition 2.1 (swapping the inputs swaps the ranking output, exactly), the Eq. 7 loss, the
recipes of the Table 1 comparators, and a whole run on a toy database written by the test: pre-training on
same-scene pairs, fine-tuning, content-leak record and scoring through `iqa_nb.predict`."""
import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from iqa_nb.core import IQAInputError, save_image
from iqa_nb.databases import write_table, read_table
from iqa_nb.methods.bspiqa import (BSPIQANet, bspiqa_loss, from_pretrained, pretrain_key, rank_cross_entropy,
                                   rank_probabilities, recipe, scene_holdout, train_stage)
from iqa_nb.training.checkpoint import content_leak, load_checkpoint
from iqa_nb.training.trainer import compute_losses


@pytest.mark.parametrize('shape', [(3, 3, 64, 64), (2, 3, 40, 72)])
def test_proposition_2_1_swap_is_exact(shape):
    torch.manual_seed(0)
    net = BSPIQANet().eval()
    a, b = torch.rand(shape), torch.rand(shape)
    with torch.no_grad(): ab, ba = net(a, b), net(b, a)
    assert torch.equal(ba['rank_logits'], -ab['rank_logits'])
    assert torch.equal(rank_probabilities(ba['rank_logits']), rank_probabilities(ab['rank_logits']).flip(1))
    assert torch.equal(ba['score_a'], ab['score_b'])


def test_proposition_2_1_needs_the_bias_free_head():
    torch.manual_seed(0)
    net = BSPIQANet().eval()
    assert net.rank_head.bias is None
    x1, x2 = torch.randn(4, 512), torch.randn(4, 512)
    with torch.no_grad():
        net.rank_head = torch.nn.Linear(512, 2)                      # the same head with a bias
        torch.nn.init.constant_(net.rank_head.bias, 0.0); net.rank_head.bias[0] = 1.0
        p12, p21 = rank_probabilities(net.rank_logits(x1, x2)), rank_probabilities(net.rank_logits(x2, x1))
    assert not torch.allclose(p21, p12.flip(1), atol=1e-3)


def test_loss_is_eq7_and_lambda_zero_is_ranking_only():
    logits = torch.tensor([[1.0, -0.5], [0.2, 0.4]])
    out = {'score_a': torch.tensor([0.7, 0.1]), 'score_b': torch.tensor([0.2, 0.5]), 'rank_logits': logits}
    batch = {'score_a': torch.tensor([0.8, 0.2]), 'score_b': torch.tensor([0.3, 0.6]), 'rank': torch.tensor([1.0, 0.0])}
    ce = F.cross_entropy(logits, torch.tensor([0, 1]))     # r̂ = [1 0] when q̂1 > q̂2, [0 1] when q̂1 < q̂2
    mse = F.mse_loss(out['score_a'], batch['score_a']) + F.mse_loss(out['score_b'], batch['score_b'])
    torch.testing.assert_close(compute_losses(bspiqa_loss(0.01), out, batch)[0], 0.01 * mse + ce)
    torch.testing.assert_close(compute_losses(bspiqa_loss(0.0), out, batch)[0], ce)
    torch.testing.assert_close(rank_cross_entropy(logits, batch['rank']), ce)
    with pytest.raises(IQAInputError, match='λ'): bspiqa_loss(float('nan'))


def test_recipes_and_their_pretrainings():
    assert pretrain_key(recipe('bspiqa_rankiqa_variant')) == 'siamese_lam0'
    assert pretrain_key(recipe('bspiqa_lam0')) == pretrain_key(recipe('bspiqa')) == 'siamese_lam0p01'
    assert recipe('bspiqa_rankiqa_variant')['finetune'] == 'single'
    assert recipe('bspiqa_resnet18') == dict(model='resnet18_regression', pretrain='single', pretrain_lam=None,
                                             finetune='single', lam=None)
    assert recipe('bspiqa_lam1')['lam'] == 1.0
    with pytest.raises(IQAInputError, match='unknown BSPIQA method'): recipe('bspiqa2')


def _toy_database(root, scenes=('s0', 's1', 's2', 's3'), per_scene=5):
    "Scenes of noisy flat images; more noise = lower score (a ranking a network can learn)."
    rows, g = [], np.random.default_rng(0)
    for s, scene in enumerate(scenes):
        base = g.integers(60, 200, 3)
        for k in range(per_scene):
            img = np.clip(base + g.normal(0, 4 + 20 * k, (40, 48, 3)), 0, 255).astype(np.uint8)
            save_image(img, root/f'{scene}_{k}.png')
            rows.append(dict(path=f'{scene}_{k}.png', content_id=scene, ref_path='', distortion='noise', level=k,
                             score=1 - k / per_scene, higher_better=True, score_lo=0.0, score_hi=1.0))
    write_table(pd.DataFrame(rows), root/'labels.csv')
    return read_table(root/'labels.csv')


def test_pretrain_finetune_leak_record_and_predict(tmp_path):
    table = _toy_database(tmp_path)
    train, held = scene_holdout(table, 0.25, seed=0)
    kw = dict(epochs=1, batch_size=4, lr=1e-3, crop=32, workers=0, threads=1, progress=False, database='toy')
    torch.manual_seed(0)
    pre = train_stage(BSPIQANet(), tmp_path, train, method='bspiqa', mode='pairs', lam=0.0, stage='pretrain',
                      checkpoint_dir=tmp_path/'pre', pairs_per_scene=3, heldout=held, **kw)
    assert 'heldout_srcc' in pre.history
    model, seen = from_pretrained(pre.checkpoint, 'bspiqa_rankiqa_variant')
    test = table[table.content_id == held.content_id.iloc[0]]
    fine = train_stage(model, tmp_path, table[table.content_id != held.content_id.iloc[0]], method='bspiqa_rankiqa_variant',
                       mode='single', lam=None, stage='finetune', checkpoint_dir=tmp_path/'fine', pretrained_on=seen, **kw)
    ck = load_checkpoint(fine.checkpoint)
    assert [r['stage'] for r in ck['trained_on']] == ['pretrain', 'finetune']
    assert content_leak(ck['trained_on'], test.content_id) == 0                 # the held-out scene: never seen
    assert content_leak(ck['trained_on'], train.content_id.iloc[:1]) == 1
    from iqa_nb import predict
    scores = predict([tmp_path/p for p in test.path], fine.checkpoint, device='cpu')
    assert len(scores) == len(test) and np.isfinite(scores['quality']).all()
