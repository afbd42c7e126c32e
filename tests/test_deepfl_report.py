"""The DeepFL-IQA report stage on records the test writes: each verdict follows the numbers (holds, does not hold,
inconclusive on too few images, needs-what-is-not-here), and a missing record is named."""
import json

import pandas as pd
import pytest

from conftest import ROOT

pm = pytest.importorskip('papermill')


def write_json(path, record):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return str(path)


def stage1(curve, n_val, n_test=30, test_srocc=0.95):
    return {'K': 2, 'n_train': 60, 'n_val': n_val, 'n_test': n_test, 'crop': 96, 'test_crop': 96, 'batch_size': 16,
            'val_srocc_mean_per_epoch': curve, 'test_srocc': {'ssim': test_srocc, 'vsi': 0.99},
            'test_srocc_mean': (test_srocc + 0.99) / 2, 'train_images_per_second': 3.0}


def rows(method, sroccs, seen=0):
    return pd.DataFrame({'method': method, 'rep': range(len(sroccs)), 'n_train': 24, 'n_val': 8, 'n_test': 8,
                         'srocc': sroccs, 'krocc': sroccs, 'plcc': sroccs, 'rmse': 1.0, 'test_content_seen': seen})


def inputs(tmp_path, n_val=30, he_curve=(0.5, 0.7, 0.8), nohe_curve=(0.2, 0.6, 0.3)):
    d = tmp_path
    (d/'clive').mkdir()
    rows('deepfl_iqa', [0.70, 0.72, 0.75]).to_csv(d/'clive'/'deepfl_iqa.csv', index=False)
    rows('brisque', [0.60, 0.50, 0.55]).drop(columns='test_content_seen').to_csv(d/'clive'/'brisque.csv', index=False)
    rows('deepfl_mlsp_scratch', [0.3, 0.4, 0.2]).to_csv(d/'s3.csv', index=False)
    rows('deepfl_iqa', [0.6, 0.5, 0.7], seen=1).to_csv(d/'s4.csv', index=False)
    (d/'svr').mkdir()
    rows('deepfl_iqa', [0.6, 0.5, 0.7]).to_csv(d/'svr'/'deepfl_iqa.csv', index=False)
    rows('deepfl_mlsp_svr', [0.55, 0.45, 0.65]).to_csv(d/'svr'/'deepfl_mlsp_svr.csv', index=False)
    feat = {'database': 'clive', 'source': 'm.pt', 'view': 'resize:160', 'images_per_second': 3.0}
    return dict(fig8_he=write_json(d/'he.json', stage1(list(he_curve), n_val)),
                fig8_nohe=write_json(d/'nohe.json', stage1(list(nohe_curve), n_val)),
                scheme3=str(d/'s3.csv'), scheme4=str(d/'s4.csv'), scheme1=str(d/'absent1.csv'), scheme2=str(d/'absent2.csv'),
                clive_dir=str(d/'clive'), svr_dir=str(d/'svr'), clive_features_json=write_json(d/'cf.json', feat),
                speed_files=write_json(d/'mtl.json', stage1([0.1], n_val)) + ',' + str(d/'cf.json'),
                out_dir=str(d/'out'), min_images=20)


def run_report(tmp_path, **params):
    pm.execute_notebook(str(ROOT/'nbs'/'pipeline'/'deepfl_report.ipynb'), str(tmp_path/'report.ipynb'), parameters=params,
                        kernel_name='python3', cwd=str(ROOT), progress_bar=False, log_output=False)
    return pd.read_csv(tmp_path/'out'/'claims.csv').set_index('target')


def test_report_verdicts_follow_the_numbers(tmp_path):
    claims = run_report(tmp_path, **inputs(tmp_path))
    assert list(claims.columns) == ['paper', 'ours', 'verdict', 'scale']
    assert claims.loc['Fig. 8 HE vs no HE', 'verdict'] == 'holds'          # better on average and steadier
    assert claims.loc['Fig. 9 FR/MTL SROCC', 'verdict'] == 'holds'         # 0.95 and 0.99 > 0.92
    assert claims.loc['Table II ordering', 'verdict'] == 'inconclusive'    # schemes 1 and 2 were not run
    assert claims.loc['Table II scheme 4 vs 3', 'verdict'] == 'holds'      # 4 above 3 in every repetition
    assert claims.loc['Table IV LiveitW DeepFL-IQA', 'verdict'] == 'holds'  # 0.72 within 0.05 of 0.734
    assert claims.loc['Table IV LiveitW DeepFL-IQA above the classical baselines', 'verdict'] == 'holds'
    assert claims.loc['Table IV LiveitW MLSP (ImageNet)', 'verdict'] == 'needs-what-is-not-here'
    assert claims.loc['§V-D-1 MLP vs SVR on MLSP', 'verdict'] == 'holds'   # the SVR below the network in every repetition
    assert (tmp_path/'out'/'plots'/'deepfl_fig8.png').is_file()


def test_report_refuses_to_judge_on_few_images_and_reports_a_worse_curve(tmp_path):
    few, worse = tmp_path/'few', tmp_path/'worse'
    few.mkdir(); worse.mkdir()
    claims = run_report(few, **inputs(few, n_val=5))
    assert claims.loc['Fig. 8 HE vs no HE', 'verdict'] == 'inconclusive'
    claims = run_report(worse, **inputs(worse, he_curve=(0.2, 0.6, 0.3), nohe_curve=(0.5, 0.7, 0.8)))
    assert claims.loc['Fig. 8 HE vs no HE', 'verdict'] == 'does not hold'


def test_report_names_a_missing_record(tmp_path):
    params = inputs(tmp_path)
    params['fig8_nohe'] = str(tmp_path/'never_written.json')
    with pytest.raises(pm.PapermillExecutionError, match='never_written.json'):
        run_report(tmp_path, **params)
    assert not (tmp_path/'out'/'claims.csv').exists()


def test_report_orders_the_four_schemes_on_their_common_repetitions(tmp_path):
    params = inputs(tmp_path)
    rows('deepfl_finetune_scratch', [0.45, 0.35, 0.4]).to_csv(tmp_path/'s1.csv', index=False)
    rows('deepfl_finetune_mtl', [0.55, 0.45, 0.5]).to_csv(tmp_path/'s2.csv', index=False)
    params.update(scheme1=str(tmp_path/'s1.csv'), scheme2=str(tmp_path/'s2.csv'))
    claims = run_report(tmp_path, **params)
    assert claims.loc['Table II ordering', 'verdict'] == 'holds'          # 4 (0.6) > 2 (0.5) > 1 (0.4) > 3 (0.3)
    assert '[0, 1, 2]' in claims.loc['Table II ordering', 'scale']
    rows('deepfl_finetune_mtl', [0.25, 0.15, 0.2]).to_csv(tmp_path/'s2.csv', index=False)
    claims = run_report(tmp_path, **params)
    assert claims.loc['Table II ordering', 'verdict'] == 'does not hold'
    rows('deepfl_finetune_mtl', [0.55, 0.45]).to_csv(tmp_path/'s2.csv', index=False)   # two common repetitions: not judged
    claims = run_report(tmp_path, **params)
    assert claims.loc['Table II ordering', 'verdict'] == 'inconclusive'
    assert '[0, 1]' in claims.loc['Table II ordering', 'scale']
