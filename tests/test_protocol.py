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


def _photo(seed, size=64):
    g = np.random.default_rng(seed)
    return (np.linspace(0, 200, size)[None, :, None] + g.normal(0, 20, (size, size, 3))).clip(0, 255).astype(np.uint8)


def test_subset_note_names_what_a_partial_copy_is(tmp_path):
    """A copy whose present images are all JPEGs saved at one quality while the absent ones are BMPs is a subset chosen
    by file format: the note says how many, which formats, the quantisation table's IJG quality and that the numbers
    are not the full database's protocol; a short label goes on every table row."""
    from iqa_nb.protocol import describe_subset
    present = [f'Images/{i}.JPG' for i in range(3)]
    for i, p in enumerate(present):
        (tmp_path/p).parent.mkdir(exist_ok=True)
        Image.fromarray(_photo(i)).save(tmp_path/p, quality=75)
    labelled = present + ['Images/10.bmp', 'Images/11.bmp']
    d = describe_subset(tmp_path, labelled, present)
    for words in ('3 of the 5 rated images', 'all 3 present images are .JPG', 'one JPEG quantisation table',
                  'quality 75', 'the 2 absent images are .bmp', 'not at random', "not the 5-image protocol"):
        assert words in d['note'], (words, d['note'])
    assert d['label'] == '3/5, .JPG only (JPEG q75)', d['label']
    Image.fromarray(_photo(9)).save(tmp_path/present[2], quality=90)     # two qualities: both named
    d = describe_subset(tmp_path, labelled, present)
    assert '2 different JPEG quantisation tables' in d['note'] and 'quality 75-90' in d['note'], d['note']
    assert describe_subset(tmp_path, present, present) == {'note': '', 'label': 'all 3'}
