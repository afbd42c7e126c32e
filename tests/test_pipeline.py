"""The pipeline notebooks on bad input: each fails with a message naming the file, row or key, and leaves no
output that looks complete. Runs the real notebooks through papermill on a tiny demo database."""
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from iqa_nb.core import IQAInputError, load_image, save_image
from iqa_nb.databases import read_table
from iqa_nb.protocol import read_splits
from conftest import ROOT

pm = pytest.importorskip('papermill')


def run_stage(name, out_nb, **params):
    return pm.execute_notebook(str(ROOT/'nbs'/'pipeline'/f'{name}.ipynb'), str(out_nb), parameters=params,
                               kernel_name='python3', cwd=str(ROOT), progress_bar=False, log_output=False)


def test_splits_stage_writes_content_disjoint_file(tiny_demo, tmp_path):
    out = tmp_path/'splits.csv'
    run_stage('splits', tmp_path/'s.ipynb', root=str(tiny_demo), n_reps=3, out=str(out))
    splits = read_splits(out)
    assert [c for c in splits.columns if c.startswith('rep_')] == ['rep_0', 'rep_1', 'rep_2']


def test_splits_stage_rejects_bad_parameter(tiny_demo, tmp_path):
    out = tmp_path/'splits.csv'
    with pytest.raises(pm.PapermillExecutionError, match='n_reps'):
        run_stage('splits', tmp_path/'s.ipynb', root=str(tiny_demo), n_reps=0, out=str(out))
    assert not out.exists()


def test_train_stage_rejects_bad_parameter(tiny_demo, tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="device = 'gpu'"):
        run_stage('train_resnet18', tmp_path/'t.ipynb', root=str(tiny_demo), device='gpu', results_dir=str(tmp_path/'r'))
    assert not (tmp_path/'r').exists()


def test_train_stage_names_image_smaller_than_crop(tiny_demo, tmp_path):
    split = tmp_path/'splits.csv'
    run_stage('splits', tmp_path/'s.ipynb', root=str(tiny_demo), n_reps=1, out=str(split))
    with pytest.raises(pm.PapermillExecutionError, match='smaller than the crop 112'):
        run_stage('train_resnet18', tmp_path/'t.ipynb', root=str(tiny_demo), splits_file=str(split),
                  results_dir=str(tmp_path/'r'), checkpoint_dir=str(tmp_path/'ck'), crop=112, epochs=1)
    assert not (tmp_path/'r'/'per_split').exists()


def test_label_table_missing_column_and_nan_score(tiny_demo, tmp_path):
    table = pd.read_csv(tiny_demo/'labels.csv')
    table.drop(columns='score').to_csv(tmp_path/'labels.csv', index=False)
    with pytest.raises(IQAInputError, match=r"labels.csv: missing column\(s\) \['score'\]"):
        read_table(tmp_path/'labels.csv')
    table.loc[5, 'score'] = float('nan')
    table.to_csv(tmp_path/'labels.csv', index=False)
    with pytest.raises(IQAInputError, match=r"labels.csv, row 7 \(distorted/.*\): score 'nan'"):
        read_table(tmp_path/'labels.csv')


def test_missing_and_corrupt_images_are_named(tiny_demo, tmp_path):
    from iqa_nb.databases import load_database
    from iqa_nb.training.regression import ScoredImages
    db = tmp_path/'db'
    shutil.copytree(tiny_demo, db)
    table = read_table(db/'labels.csv')
    victim = table.path[3]
    (db/victim).write_bytes(b'\x89PNG truncated')
    with pytest.raises(IQAInputError, match=f"cannot read image .*{victim}"):
        ScoredImages(db, table, 32, train=True)
    (db/victim).unlink()
    with pytest.raises(IQAInputError, match=f"image file not found: .*{victim}"):
        load_database('demo', db)
