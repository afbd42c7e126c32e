"""The evaluation protocol at its boundaries (iqa_nb.protocol): split fractions, including a split without a test
part, and the note that says what a partial copy of a database is (files written by the test, no shared data)."""
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from iqa_nb.core import IQAInputError
from iqa_nb.protocol import content_disjoint_splits


def _table(n_contents=20, per_content=2):
    return pd.DataFrame({'path': [f'c{c}_{i}.png' for c in range(n_contents) for i in range(per_content)],
                         'content_id': [str(c) for c in range(n_contents) for i in range(per_content)]})


def test_split_without_test_part():
    "80/20/0 trains and validates only: no content goes to test (a final model trained on everything but validation)."
    splits = content_disjoint_splits(_table(), 3, (0.8, 0.2, 0.0))
    for k in range(3):
        counts = splits.drop_duplicates('content_id')[f'rep_{k}'].value_counts().to_dict()
        assert counts == {'train': 16, 'val': 4}, (k, counts)


def test_split_fractions_are_checked():
    with pytest.raises(IQAInputError, match=r"fraction -0\.2 .*val"):
        content_disjoint_splits(_table(), 1, (0.9, -0.2, 0.3))
    with pytest.raises(IQAInputError, match=r"three fractions"):
        content_disjoint_splits(_table(), 1, (0.8, 0.2))
    # a small positive fraction still gets one content, as before: the committed split files do not change
    splits = content_disjoint_splits(_table(), 1, (0.96, 0.02, 0.02))
    assert splits.drop_duplicates('content_id')['rep_0'].value_counts().to_dict() == {'train': 18, 'val': 1, 'test': 1}
