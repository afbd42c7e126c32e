"""RankIQA's core claim on tiny inputs, in seconds: the fast siamese network's loss and parameter gradient equal the
naive two-branch sum over the same pairs, no pair crosses a (reference, distortion) group, and the coefficient
matrix of [RankIQA-thesis Eq. 6-8] is the gradient autograd computes."""
import numpy as np
import pytest
import torch
from torch import nn

from iqa_nb.core import IQAInputError
from iqa_nb.methods.rankiqa import (PAIR_LOSSES, RankIQANet, fast_and_naive, fast_rank_loss, max_relative_difference,
                                    pair_coefficients, ranking_accuracy, within_group_pairs)


def tiny_net():
    "A small convolutional net in float64, deterministic (no dropout, no batch norm)."
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1),
                         nn.Flatten(0)).double()


def batch(groups=3, levels=5, side=10, include_reference=True, seed=0):
    "Random images of `groups` groups, each the reference (level 0) and `levels` levels, group by group."
    g = torch.Generator().manual_seed(seed)
    n = levels + include_reference
    x = torch.rand(groups * n, 3, side, side, generator=g, dtype=torch.float64)
    group = torch.arange(groups).repeat_interleave(n)
    level = torch.arange(0 if include_reference else 1, levels + 1, dtype=torch.float64).repeat(groups)
    return x, group, level


@pytest.mark.parametrize('kind', PAIR_LOSSES)
@pytest.mark.parametrize('margin', [0.01, 10.0])    # a few pairs active / every pair active
def test_fast_equals_naive(kind, margin):
    net = tiny_net()
    x, group, level = batch()
    r = fast_and_naive(net, x, group, level, margin=margin, kind=kind)
    assert r['n_pairs'] == 3 * 15 and r['fast_passes'] == 18 and r['naive_passes'] == 90   # Fig. 12's batch of 18
    assert torch.allclose(r['fast_loss'], r['naive_loss'], rtol=1e-10, atol=1e-12)
    assert max_relative_difference(r['fast_grads'], r['naive_grads']) < 1e-10


def test_fast_equals_naive_on_the_shallow_net():
    torch.manual_seed(1)
    net = RankIQANet('shallow').eval()
    x = torch.rand(6, 3, 227, 227)
    r = fast_and_naive(net, x, torch.tensor([0, 0, 0, 1, 1, 1]), torch.tensor([1., 3., 5., 1., 3., 5.]), margin=10.0)
    assert torch.allclose(r['fast_loss'], r['naive_loss'], rtol=1e-4)
    assert max_relative_difference(r['fast_grads'], r['naive_grads']) < 1e-4


def test_the_check_can_fail():
    "Treating the whole batch as one group (pairs across references) gives another loss and gradient."
    net = tiny_net()
    x, group, level = batch()
    right = fast_and_naive(net, x, group, level, margin=10.0)
    wrong = fast_and_naive(net, x, torch.zeros_like(group), level, margin=10.0)
    assert not torch.allclose(right['fast_loss'], wrong['naive_loss'])
    assert max_relative_difference(wrong['naive_grads'], right['fast_grads']) > 1e-3


def test_no_cross_reference_pair():
    x, group, level = batch(groups=4, levels=5, include_reference=False)
    i, j = within_group_pairs(group, level)
    assert len(i) == 4 * 10
    assert (group[i] == group[j]).all() and (level[i] < level[j]).all()
    # the loss of the batch is the sum of its groups' losses, whatever the other groups score
    scores = torch.randn(len(group), dtype=torch.float64)
    whole = fast_rank_loss(scores, group, level, 0.1, reduction='sum')
    parts = sum(fast_rank_loss(scores[group == k], group[group == k], level[group == k], 0.1, reduction='sum') for k in range(4))
    assert torch.allclose(whole, parts)
    shifted = scores + 100.0 * group           # later groups score far above earlier ones: no effect
    assert torch.allclose(fast_rank_loss(shifted, group, level, 0.1, reduction='sum'), whole)


def test_coefficients_are_the_gradient():
    x, group, level = batch(groups=2, levels=5)
    scores = torch.randn(len(group), dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(fast_rank_loss(scores, group, level, 0.5, reduction='sum'), scores)
    A = pair_coefficients(scores, group, level, 0.5)
    assert torch.allclose(grad, A.sum(0))
    assert torch.equal(A, -A.T)
    off = group[:, None] != group[None, :]
    assert (A[off] == 0).all()                 # block diagonal [RankIQA-thesis Eq. 7]


def test_ranking_accuracy_and_errors():
    assert ranking_accuracy([3, 2, 1], [0, 0, 0], [1, 2, 3]) == 1.0
    assert ranking_accuracy([1, 2, 3], [0, 0, 0], [1, 2, 3]) == 0.0
    with pytest.raises(IQAInputError, match='no within-group pair'):
        ranking_accuracy([1, 2], [0, 1], [1, 1])
    with pytest.raises(IQAInputError, match='equal-length'):
        within_group_pairs(torch.zeros(3), torch.zeros(2))
