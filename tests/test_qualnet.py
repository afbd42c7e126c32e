"""QualNet's stages on a tiny demo database: the training stage writes the shared results rows and the type-accuracy
table, and both the training and the cross-database stages refuse bad parameters naming them, writing nothing."""
import pandas as pd
import pytest

from iqa_nb.protocol import PER_REP_COLUMNS, LEAK_COLUMN
from conftest import ROOT

pm = pytest.importorskip('papermill')

TINY = """qualnet:
  schedules:
    tiny: {weights: scratch, patch: 32, stride: 32, test_stride: 32, epochs: 1, batch_size: 4, patches_per_epoch: 8}
"""


def run_stage(name, out_nb, **params):
    return pm.execute_notebook(str(ROOT/'nbs'/'pipeline'/f'{name}.ipynb'), str(out_nb), parameters=params,
                               kernel_name='python3', cwd=str(ROOT), progress_bar=False, log_output=False)


@pytest.fixture(scope='module')
def tiny_split(tiny_demo, tmp_path_factory):
    d = tmp_path_factory.mktemp('qualnet')
    run_stage('splits', d/'s.ipynb', root=str(tiny_demo), n_reps=1, out=str(d/'splits.csv'))
    (d/'params.yaml').write_text(TINY)
    return d


def test_train_stage_writes_rows_and_type_accuracy(tiny_demo, tiny_split):
    d = tiny_split
    run_stage('qualnet_train', d/'t.ipynb', root=str(tiny_demo), splits_file=str(d/'splits.csv'), results_dir=str(d/'r'),
              checkpoint_dir=str(d/'ck'), params_file=str(d/'params.yaml'), size='tiny', threads=1, workers=0)
    rows = pd.read_csv(d/'r'/'per_split'/'qualnet.csv')
    assert list(rows.columns) == PER_REP_COLUMNS + [LEAK_COLUMN] and len(rows) == 1
    assert rows[LEAK_COLUMN].iloc[0] == 0                      # no test content in training
    types = pd.read_csv(d/'r'/'types'/'qualnet.csv')
    assert set(types['type']) == {'gaussian_blur', 'jpeg', 'jpeg2000', 'white_noise', 'all'}
    assert types.loc[types.type == 'all', 'n'].iloc[0] == rows['n_test'].iloc[0]


def test_train_stage_names_unknown_schedule(tiny_demo, tiny_split, tmp_path):
    d = tiny_split
    with pytest.raises(pm.PapermillExecutionError, match="qualnet.schedules has no 'huge'"):
        run_stage('qualnet_train', tmp_path/'t.ipynb', root=str(tiny_demo), splits_file=str(d/'splits.csv'),
                  results_dir=str(tmp_path/'r'), params_file=str(d/'params.yaml'), size='huge')
    assert not (tmp_path/'r').exists()


def test_cross_stage_names_a_missing_shared_type(tiny_demo, tiny_split, tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match=r"no image of type\(s\) \['contrast_change'\]"):
        run_stage('qualnet_cross', tmp_path/'c.ipynb', source_root=str(tiny_demo), target_name='demo', target_root=str(tiny_demo),
                  types='jpeg,contrast_change', params_file=str(tiny_split/'params.yaml'), size='tiny',
                  results_root=str(tmp_path/'r'))
    assert not (tmp_path/'r').exists()
