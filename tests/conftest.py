"""Shared pytest fixtures: the repository root, the shared real data (skipped with a message when absent),
and a tiny demo database built once per session."""
import pytest

from shared_data import ROOT, need


@pytest.fixture(scope='session')
def shared_data():
    "The shared real-data folder (tests/shared_data.py says where), or a skip naming it."
    return need()


@pytest.fixture(scope='session')
def tiny_demo(tmp_path_factory):
    "A 64-pixel demo database: 8 photographs x 4 distortions x 2 levels."
    from iqa_nb.demo import build_demo_database
    root = tmp_path_factory.mktemp('demo')/'db'
    build_demo_database(root, size=64, resize_short=80, crops_per_photo=1, levels=(1, 4))
    return root
