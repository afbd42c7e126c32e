"""Where the shared real data lives, for every test module: `../shared/data` beside the checkout, or the folder
named by $IQA_SHARED_DATA. A user's clone has none of it, so each test that reads it skips, naming the path.

    from shared_data import SHARED, need, skip_unless
    photo = need('kodak/kodim05.png')                      # inside a test: the path, or a skip naming it
    @skip_unless('fr_reference/reference_values.csv')      # a whole test
"""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ['IQA_SHARED_DATA']) if os.environ.get('IQA_SHARED_DATA') else ROOT.parent/'shared'/'data'
HOW = 'set IQA_SHARED_DATA to the shared data folder or place it at ../shared/data beside the checkout'


def need(rel: str | os.PathLike = '') -> Path:
    "The shared-data path `rel`, or skip the calling test with a message naming it."
    path = SHARED/rel
    if not path.exists(): pytest.skip(f"real data not available: {path} ({HOW})")
    return path


def skip_unless(rel: str | os.PathLike):
    "A skipif mark for tests that read the shared-data path `rel`."
    path = SHARED/rel
    return pytest.mark.skipif(not path.exists(), reason=f"real data not available: {path} ({HOW})")
