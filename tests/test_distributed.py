"""The trainer under torchrun: two CPU processes (gloo) on a tiny model train to the weights of one process at the
same global batch, and the sampler gives the two ranks disjoint halves of every global batch.

Tolerance: with DistributedDataParallel each rank computes the mean gradient of its half batch and the two are
averaged; one process computes the mean over the whole batch. The two are equal in exact arithmetic but sum in a
different order in float32. Measured here after four Adam steps: at most 7.5e-8 on any weight. 1e-5 absolute
leaves a wide margin for other CPUs and BLAS builds without hiding a wrong update: training on half of each
batch instead (a rank seeing the wrong half, or gradients not averaged) moves a weight by 4.5e-2."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import ROOT

TOL = 1e-5
WORKER = textwrap.dedent('''
    import sys, torch
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from ddp_case import run
    from iqa_nb.training.distributed import init_distributed
    ctx = init_distributed('cpu')
    model, hist = run(Path(sys.argv[2]), per_rank_batch=4, rank=ctx.rank, world_size=ctx.world_size, out=f'ddp')
    torch.save({'state': model.state_dict(), 'history': hist.to_dict('list')}, Path(sys.argv[2])/f'rank{ctx.rank}.pt')
''')
CASE = textwrap.dedent('''
    import numpy as np, pandas as pd, torch
    from torch import nn
    from iqa_nb.core import save_image, seed_everything
    from iqa_nb.training.samplers import EpochBatchSampler, ImageCrops, make_loader
    from iqa_nb.training.trainer import HeadLoss, fit

    def table(folder):
        g, rows = np.random.default_rng(0), []
        for i in range(16):
            q = i / 15
            save_image(np.clip(128 + g.normal(0, 1 + 60 * (1 - q), (20, 20, 3)), 0, 255).astype(np.uint8), folder/f'{i}.png')
            rows.append(dict(path=f'{i}.png', content_id=str(i), ref_path='', distortion='noise', level=1, score=q,
                             higher_better=True, score_lo=0., score_hi=1.))
        return pd.DataFrame(rows)

    def run(folder, per_rank_batch, rank=0, world_size=1, out='single'):
        ds = ImageCrops(folder, pd.read_csv(folder/'labels.csv'), 16, train=True, seed=0)
        sampler = EpochBatchSampler(len(ds), per_rank_batch * world_size, seed=0, rank=rank, world_size=world_size)
        seed_everything(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1))
        res = fit(model, make_loader(ds, sampler, workers=0), epochs=2, optimizer={'name': 'adam', 'lr': 0.01},
                  loss={'mse': HeadLoss(nn.MSELoss())}, checkpoint_dir=folder/out, method='tiny', model_kwargs={},
                  inference={'kind': 'whole'}, target={'kind': 'unit_quality'}, trained_on=[], config={}, seed=0,
                  threads=1, progress=False)
        return res.model, res.history
''')


@pytest.fixture(scope='module')
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp('ddp')
    (folder/'ddp_case.py').write_text(CASE)
    (folder/'worker.py').write_text(WORKER)
    sys.path.insert(0, str(folder))
    import ddp_case
    ddp_case.table(folder).to_csv(folder/'labels.csv', index=False)
    yield folder, ddp_case
    sys.path.remove(str(folder))


def test_two_gloo_processes_match_one_process_at_the_same_global_batch(case):
    folder, ddp_case = case
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]),
           'OMP_NUM_THREADS': '1', 'OMP_WAIT_POLICY': 'PASSIVE'}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
           str(folder/'worker.py'), str(folder), str(folder)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    torch.set_num_threads(1)
    single, hist = ddp_case.run(folder, per_rank_batch=8)                    # one process, global batch 8
    ranks = [torch.load(folder/f'rank{r}.pt', weights_only=True) for r in (0, 1)]
    for k, v in single.state_dict().items():
        assert torch.equal(ranks[0]['state'][k], ranks[1]['state'][k]), k    # DDP keeps the replicas identical
        assert (ranks[0]["state"][k] - v).abs().max().item() < TOL, k
    # the losses every rank logs are the global means a single process logs
    np.testing.assert_allclose(ranks[0]['history']['train_mse'], hist['train_mse'], atol=1e-6)
    np.testing.assert_allclose(ranks[1]['history']['train_mse'], hist['train_mse'], atol=1e-6)
    assert (folder/'ddp'/'model.pt').is_file() and not (folder/'ddp'/'model.pt.tmp').exists()


def test_a_wrong_update_would_be_caught(case):
    "The tolerance is far below what a real mistake moves: training on half the batch changes weights by >> TOL."
    folder, ddp_case = case
    torch.set_num_threads(1)
    whole, _ = ddp_case.run(folder, per_rank_batch=8, out='whole')
    half, _ = ddp_case.run(folder, per_rank_batch=4, out='half')
    diff = max((whole.state_dict()[k] - v).abs().max().item() for k, v in half.state_dict().items())
    assert diff > 100 * TOL, diff


def test_ranks_get_disjoint_halves_of_each_global_batch():
    from iqa_nb.training.samplers import EpochBatchSampler
    one = EpochBatchSampler(37, 8, seed=5)
    ranks = [EpochBatchSampler(37, 8, seed=5, rank=r, world_size=2) for r in (0, 1)]
    for epoch in (0, 3):
        for s in (one, *ranks): s.set_epoch(epoch)
        whole = list(one)
        r0, r1 = list(ranks[0]), list(ranks[1])
        assert len(r0) == len(r1) == 37 // 8                                 # the partial last batch is dropped
        for a, b, w in zip(r0, r1, whole):
            assert not set(a) & set(b) and a + b == w
