"""The shared learning machinery on tiny inputs, in seconds: the checkpoint format, the samplers' invariants, the
trainer's shapes, seeded determinism and exact resume, and the content-leak guard."""
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from iqa_nb.core import IQAInputError, save_image, seed_everything
from iqa_nb.training import checkpoint as ckpt
from iqa_nb.training.samplers import (ContentPairs, EpochBatchSampler, ImageCrops, MapTargets, Patches, RankedGroups,
                                      make_loader, sliding_window_origins)
from iqa_nb.training.trainer import HeadLoss, fit

TIMING = ['seconds', 'data_seconds', 'items_per_second', 'cpu_cores', 'other_cores']


@pytest.fixture(scope='module')
def db(tmp_path_factory):
    "Two references x two distortion types x three levels at 24x32, plus noise-graded images for training."
    root = tmp_path_factory.mktemp('db')
    g, rows = np.random.default_rng(0), []
    for c in ('a', 'b'):
        ref = g.integers(0, 256, (24, 32, 3)).astype(np.uint8)
        save_image(ref, root/f'{c}.png')
        for t in ('blur', 'noise'):
            for l in (1, 2, 3):
                img = np.clip(ref + g.normal(0, 12 * l, ref.shape), 0, 255) if t == 'noise' else (ref.astype(int) + np.roll(ref, l, 1)) // 2
                save_image(img.astype(np.uint8), root/f'{c}_{t}_{l}.png')
                rows.append(dict(path=f'{c}_{t}_{l}.png', content_id=c, ref_path=f'{c}.png', distortion=t, level=l,
                                 score=90 - 20 * l - (5 if t == 'noise' else 0), higher_better=True, score_lo=0., score_hi=100.))
    for i in range(24):
        q = i / 23
        save_image(np.clip(128 + g.normal(0, 1 + 60 * (1 - q), (20, 20, 3)), 0, 255).astype(np.uint8), root/f'n{i}.png')
        rows.append(dict(path=f'n{i}.png', content_id=f'n{i % 6}', ref_path='', distortion='noise', level=1, score=100 * q,
                         higher_better=True, score_lo=0., score_hi=100.))
    return root, pd.DataFrame(rows)


def synthetic(table): return table[table.ref_path != ''].reset_index(drop=True)
def graded(table): return table[table.ref_path == ''].reset_index(drop=True)


# ---- checkpoint format

def test_checkpoint_round_trip_loads_with_weights_only(tmp_path):
    net = nn.Linear(3, 1)
    path = ckpt.save_checkpoint(tmp_path/'c.pt', method='x', model_kwargs={'n': 3}, model=net, inference={'kind': 'whole'},
                                target={'kind': 'unit_quality'}, trained_on=[ckpt.trained_on_record('train', 'db', ['a'])],
                                config={'lr': np.float32(0.5)}, epoch=0, history=[{'loss': np.float64(1.0)}])
    raw = torch.load(path, weights_only=True)
    assert raw['format'] == 'iqa-nb-checkpoint' and raw['config']['lr'] == 0.5 and type(raw['history'][0]['loss']) is float
    ck = ckpt.load_checkpoint(path)
    assert set(ck) == set(ckpt.CHECKPOINT_KEYS) and torch.equal(ck['model']['weight'], net.weight.detach())


def test_checkpoint_errors_are_named(tmp_path):
    torch.save({'weight': torch.zeros(1)}, tmp_path/'bare.pt')
    with pytest.raises(IQAInputError, match="not an iqa-nb checkpoint: it holds a dict without 'format'"):
        ckpt.load_checkpoint(tmp_path/'bare.pt')
    (tmp_path/'text.pt').write_text('not a checkpoint')
    with pytest.raises(IQAInputError, match='cannot be read with torch.load'):
        ckpt.load_checkpoint(tmp_path/'text.pt')
    good = ckpt.make_checkpoint(method='x', model_kwargs={}, model=nn.Linear(1, 1), inference={'kind': 'whole'},
                                target={'kind': 'unit_quality'}, trained_on=[], config={}, epoch=0)
    torch.save({**good, 'format_version': 2}, tmp_path/'v2.pt')
    with pytest.raises(IQAInputError, match='format_version 2; this iqa-nb reads format_version 1'):
        ckpt.load_checkpoint(tmp_path/'v2.pt')
    torch.save({k: v for k, v in good.items() if k != 'inference'}, tmp_path/'old.pt')
    with pytest.raises(IQAInputError, match=r"lacks key\(s\) \['inference'\]"):
        ckpt.load_checkpoint(tmp_path/'old.pt')


def test_failed_save_leaves_the_previous_checkpoint(tmp_path):
    fields = dict(method='x', model_kwargs={}, model=nn.Linear(1, 1), inference={'kind': 'whole'},
                  target={'kind': 'unit_quality'}, trained_on=[], config={}, epoch=1)
    ckpt.save_checkpoint(tmp_path/'c.pt', **fields)
    with pytest.raises(IQAInputError, match='cannot be stored in a checkpoint'):
        ckpt.save_checkpoint(tmp_path/'c.pt', **{**fields, 'epoch': 2, 'config': {'fn': print}})
    assert ckpt.load_checkpoint(tmp_path/'c.pt')['epoch'] == 1
    assert [p.name for p in tmp_path.iterdir()] == ['c.pt']


def test_content_leak_guard():
    trained = [ckpt.trained_on_record('pretrain', 'synth', ['astronaut', 'coffee']), ckpt.trained_on_record('train', 'demo', ['rocket'])]
    assert ckpt.content_leak(trained, ['china', 'flower']) == 0
    assert ckpt.content_leak(trained, ['coffee', 'rocket', 'china']) == 2
    with pytest.raises(IQAInputError, match='saw 1 of the 1 test contents during training \\(pretrain on synth\\)'):
        ckpt.content_leak(trained, ['coffee'], policy='refuse')


# ---- samplers

def test_ranked_groups_are_one_reference_one_type_ordered(db):
    root, table = db
    t = synthetic(table)
    groups = RankedGroups(root, t, crop=16, seed=0)
    assert len(groups) == 4 and groups.skipped == 0
    for k in range(len(groups)):
        _, dist, rows = groups.groups[k]
        assert t.loc[rows, 'ref_path'].nunique() == 1 and set(t.loc[rows, 'distortion']) == {dist}
        assert t.loc[rows, 'level'].tolist() == [1, 2, 3]
        item = groups[(1, k)]
        assert item['images'].shape == (3, 3, 16, 16) and (item['scores'].diff() < 0).all()
    batch = next(iter(make_loader(groups, EpochBatchSampler(len(groups), 2), workers=0)))
    assert batch['images'].shape == (2, 3, 3, 16, 16)                            # k groups x levels x image
    with_ref = RankedGroups(root, t, crop=16, include_reference=True)[0]
    assert with_ref['levels'].tolist() == [0, 1, 2, 3]


def test_pairs_share_their_content_and_follow_the_tie_rule(db):
    root, table = db
    t = synthetic(table).assign(score=lambda d: d.level.map({1: 80., 2: 50., 3: 50.}))
    pairs = ContentPairs(root, t, crop=16, pairs_per_content=5, seed=1)
    assert len(pairs) == 10
    for epoch in (0, 1):
        for k in range(len(pairs)):
            it = pairs[(epoch, k)]
            assert t.content_id[it['index_a']] == t.content_id[it['index_b']]
            assert it['score_a'] != it['score_b'] and it['rank'].item() == float(it['score_a'] > it['score_b'])
    soft = ContentPairs(root, t.assign(score=50.), crop=None, pairs_per_content=3, ties='soft')
    assert {soft[k]['rank'].item() for k in range(len(soft))} == {0.5}


def test_patches_tile_the_image_as_specified(db):
    root, table = db
    t = synthetic(table)
    p = Patches(root, t, patch=16, stride=8, train=False)
    origins = sliding_window_origins(24, 32, 16, 8)
    assert origins == [(y, x) for y in (0, 8) for x in (0, 8, 16)] and len(p) == len(t) * 6
    covered = np.zeros((24, 32), bool)
    for y, x in origins: covered[y:y+16, x:x+16] = True
    assert covered.all()
    it = p[len(origins) + 4]                                                     # second image, fifth window
    assert it['index'] == 1 and it['origin'].tolist() == [8, 8] and it['image'].shape == (3, 16, 16)
    assert it['score'].item() == pytest.approx(t.score[1] / 100)
    assert p.classes == ['blur', 'noise'] and it['distortion_class'].item() == p.classes.index(t.distortion[1])


def test_map_targets_align_with_the_image(db, tmp_path):
    root, table = db
    m = MapTargets(root, synthetic(table).iloc[:2], maps=('ssim', 'fsim_gm'), cache_dir=tmp_path, patch=8, stride=6)
    it = m[0]
    assert it['image'].shape == (3, 8, 8) and it['map'].shape == (2, 8, 8)
    assert len(m) == 2 * len(sliding_window_origins(14, 22, 8, 6))               # SSIM's 5-pixel border cut


def test_crops_are_seeded_per_epoch_and_independent_of_workers(db):
    root, table = db
    ds = ImageCrops(root, graded(table), 12, train=True, seed=4)
    assert torch.equal(ds[(2, 3)]['image'], ds[(2, 3)]['image']) and not torch.equal(ds[(2, 3)]['image'], ds[(3, 3)]['image'])
    s = EpochBatchSampler(len(ds), 5, seed=1)
    s.set_epoch(3)
    serial, parallel = list(make_loader(ds, s, workers=0)), list(make_loader(ds, s, workers=2))
    assert len(serial) == 5 and all(torch.equal(a['image'], b['image']) for a, b in zip(serial, parallel))


def test_sampler_visits_every_item_once_per_epoch():
    s = EpochBatchSampler(23, 4, seed=2)
    for e in range(3):
        s.set_epoch(e)
        seen = [i for b in s for _, i in b]
        assert sorted(seen) == list(range(23))


# ---- trainer

class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 6, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1))
        self.head = nn.Linear(6, 1)
    def forward(self, x): return self.head(self.body(x))


def train(db, folder, **kw):
    root, table = db
    t = graded(table)
    tr, va = ImageCrops(root, t.iloc[::2], 12, train=True, seed=0), ImageCrops(root, t.iloc[1::2], 12, train=False)
    def validate(model):
        x = torch.stack([va[i]['image'] for i in range(len(va))])
        return {'val_mse': float(((model(x).flatten() - torch.from_numpy(va.targets)) ** 2).mean())}
    seed_everything(0)
    return fit(Tiny(), make_loader(tr, EpochBatchSampler(len(tr), 4, seed=0), workers=0), epochs=4,
               optimizer={'name': 'adam', 'lr': 0.02}, schedule={'name': 'cosine'}, loss={'mse': HeadLoss(nn.MSELoss())},
               checkpoint_dir=folder, method='tiny', model_kwargs={}, inference={'kind': 'crops', 'crop': 12, 'n': 1},
               target={'kind': 'unit_quality'}, trained_on=[ckpt.trained_on_record('train', 'graded', tr.content_ids())],
               config={'batch_size': 4}, validate=validate, select={'metric': 'val_mse', 'mode': 'min'}, seed=0,
               threads=1, progress=False, **kw)


def test_fit_shapes_and_seeded_determinism(db, tmp_path):
    a, b = train(db, tmp_path/'a'), train(db, tmp_path/'b')
    assert list(a.history.epoch) == [0, 1, 2, 3] and {'train_mse', 'val_mse', 'lr'} <= set(a.history.columns)
    for k, v in a.model.state_dict().items(): assert torch.equal(v, b.model.state_dict()[k]), k
    ck = ckpt.load_checkpoint(a.checkpoint)
    assert ck['best']['epoch'] == int(a.history.val_mse.idxmin()) and ck['best']['mode'] == 'min'
    assert a.model(torch.zeros(2, 3, 12, 12)).shape == (2, 1)


def test_interrupted_and_resumed_equals_uninterrupted(db, tmp_path):
    whole = train(db, tmp_path/'whole')
    assert not train(db, tmp_path/'epochs', stop_after=2).complete
    resumed = train(db, tmp_path/'epochs')
    assert resumed.resumed_from == 2
    assert not train(db, tmp_path/'steps', checkpoint_every=1, stop_after_steps=5).complete   # inside epoch 1
    resumed_mid = train(db, tmp_path/'steps', checkpoint_every=1)
    assert resumed_mid.resumed_from == 1
    for r in (resumed, resumed_mid):
        pd.testing.assert_frame_equal(r.history.drop(columns=TIMING), whole.history.drop(columns=TIMING))
        for k, v in whole.model.state_dict().items(): assert torch.equal(v, r.model.state_dict()[k]), k


def test_dvclive_log_is_deterministic_and_writes_no_dvc_yaml(db, tmp_path):
    train(db, tmp_path/'ck', log_dir=tmp_path/'live')
    tsv = (tmp_path/'live'/'plots'/'metrics'/'val_mse.tsv').read_text().splitlines()
    assert tsv[0] == 'step\tval_mse' and len(tsv) == 5
    assert not (tmp_path/'live'/'plots'/'metrics'/'seconds.tsv').exists() and not list(tmp_path.rglob('dvc.yaml'))
    assert not (tmp_path/'live'/'metrics.json').exists()      # the stage declares the folder as plots: curves only
