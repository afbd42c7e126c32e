"""Shared pytest fixtures: the repository root, the shared real data (skipped with a message when absent),
and a tiny demo database built once per session."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    "The ../shared/data folder beside the checkout (or $IQA_SHARED_DATA), if present."
    env = os.environ.get('IQA_SHARED_DATA')
    path = Path(env) if env else ROOT.parent/'shared'/'data'
    return path if path.is_dir() else None


@pytest.fixture(scope='session')
def shared_data():
    path = shared_data_dir()
    if path is None:
        pytest.skip('../shared/data (real IQA material) is absent: set IQA_SHARED_DATA or place it beside the checkout')
    return path


@pytest.fixture(scope='session')
def tiny_demo(tmp_path_factory):
    "A 64-pixel demo database: 8 photographs x 4 distortions x 2 levels."
    from iqa_nb.demo import build_demo_database
    root = tmp_path_factory.mktemp('demo')/'db'
    build_demo_database(root, size=64, resize_short=80, crops_per_photo=1, levels=(1, 4))
    return root
