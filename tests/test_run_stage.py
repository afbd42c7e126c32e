"""tools/run_stage.py's scrub: two executions of one notebook that differ only in timing, chunking and papermill's
random cell id scrub to the same bytes, and what carries information (warnings, errors, printed text, a progress
bar's final count and postfix) stays."""
import copy, importlib.util, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('run_stage', ROOT/'tools'/'run_stage.py')
rs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rs)


def stream(name, text): return {'name': name, 'output_type': 'stream', 'text': text}


def executed(cell_id, chunks, duration, total, rate):
    "An executed notebook as papermill writes it; `chunks` is the stderr of the progress bar as the kernel cut it."
    pm = lambda d: {'papermill': {'duration': d, 'exception': False, 'status': 'completed',
                                  'start_time': '2026-12-01T21:00:00', 'end_time': '2026-12-01T21:00:01'},
                    'execution': {'iopub.status.busy': '2026-12-01T21:00:00.1'}}
    return {'cells': [
        {'cell_type': 'code', 'id': cell_id, 'execution_count': 1, 'source': 'seed = 1',
         'metadata': {**pm(0.001), 'tags': ['injected-parameters']}, 'outputs': []},
        {'cell_type': 'code', 'id': 'c002', 'execution_count': 2, 'source': '...', 'metadata': pm(duration),
         'outputs': [stream('stdout', 'building\n')] + [stream('stderr', c) for c in chunks]
                    + [stream('stderr', '/work/x.py:3: UserWarning: 2 images skipped\n'),
                       stream('stdout', 'done: <Thing at 0x7f3a2b1c9d40>\n'),
                       {'output_type': 'display_data', 'data': {'text/plain': ['<Figure>']}, 'metadata': {}},
                       stream('stderr', f'\rrep 0:  50%|█████     | 3/6 [00:02<00:02,  {rate}s/it, loss=0.12]'
                                        f'\rrep 0: 100%|██████████| 6/6 [00:04<00:00,  {rate}s/it, loss=0.08]\n'),
                       stream('stderr', '\rchecking:   0%|          | 0/4 [00:00<?, ?it/s]\r                \r')]},
    ], 'metadata': {'papermill': {'duration': total, 'start_time': 'x', 'end_time': 'y', 'input_path': 'a.ipynb'}},
        'nbformat': 4, 'nbformat_minor': 5}


RUN_1 = executed('a1b2c3d4', ['\rdemo:   0%|          | 0/320 [00:00<?, ?it/s]',
                              '\rdemo:  50%|█████     | 160/320 [00:20<00:20,  7.83it/s]',
                              '\rdemo: 100%|██████████| 320/320 [00:40<00:00,  7.83it/s]\n'], 0.81, 30.0, '0.66')
RUN_2 = executed('ffee0011', ['\rdemo:   0%|          | 0/320 [00:00<?, ?it/s]\rdemo:  33%|███▎      | 106/320 '
                              '[00:12<00:25,  8.41it/s]\rdemo: 100%|██████████| 320/320 [00:37<00:00,  8.55it/s]',
                              '\n'], 1.19, 41.0, '0.71')


def scrubbed(tmp_path, nb, name, previous=None):
    path = tmp_path/name
    path.write_text(json.dumps(nb))
    rs.scrub(path, previous)
    return path


def test_identical_runs_scrub_to_identical_bytes(tmp_path):
    first = scrubbed(tmp_path, RUN_1, '1.ipynb')
    second = scrubbed(tmp_path, RUN_2, '2.ipynb', previous=json.loads(first.read_text())['metadata']['papermill']['duration'])
    assert first.read_bytes() == second.read_bytes()


def test_what_carries_information_stays(tmp_path):
    nb = json.loads(scrubbed(tmp_path, RUN_1, 'n.ipynb').read_text())
    params, cell = nb['cells']
    assert params['id'] == 'injected-parameters'
    assert cell['metadata']['papermill'] == {'exception': False, 'status': 'completed'} and cell['metadata']['execution'] == {}
    assert nb['metadata']['papermill'] == {'duration': 30.0, 'input_path': 'a.ipynb'}
    outs = [(o['output_type'], o.get('name'), ''.join(o.get('text', ''))) for o in cell['outputs']]
    assert outs == [
        ('stream', 'stdout', 'building\ndone: <Thing at 0x…>\n'),
        ('stream', 'stderr', 'demo: 100%|██████████| 320/320\n/work/x.py:3: UserWarning: 2 images skipped\n'),
        ('display_data', None, ''),
        ('stream', 'stderr', 'rep 0: 100%|██████████| 6/6 [loss=0.08]\n')]     # the blanked bar is gone


def test_total_duration_is_rewritten_only_when_it_moves_more_than_twofold(tmp_path):
    duration = lambda p: json.loads(p.read_text())['metadata']['papermill']['duration']
    assert duration(scrubbed(tmp_path, RUN_2, 'a.ipynb', previous=30.0)) == 30.0
    assert duration(scrubbed(tmp_path, RUN_2, 'b.ipynb', previous=10.0)) == 41.0
    assert duration(scrubbed(tmp_path, RUN_2, 'c.ipynb', previous=None)) == 41.0


def test_scrub_is_idempotent_and_keeps_errors(tmp_path):
    nb = copy.deepcopy(RUN_1)
    nb['cells'][1]['outputs'].append({'output_type': 'error', 'ename': 'IQAInputError', 'evalue': 'labels.csv, row 7',
                                      'traceback': ['IQAInputError: labels.csv, row 7']})
    path = scrubbed(tmp_path, nb, 'e.ipynb')
    once = path.read_bytes()
    rs.scrub(path, None)
    assert path.read_bytes() == once
    assert json.loads(once)['cells'][1]['outputs'][-1]['ename'] == 'IQAInputError'


def test_tqdm_timing_forms():
    assert rs.render_stream('\rshards: 0shard [00:00, ?shard/s]\n') == 'shards: 0shard\n'
    assert rs.render_stream('\rx: 100%|█| 9/9 [1:02:03<00:00, 12.5kimg/s, best=3]\n') == 'x: 100%|█| 9/9 [best=3]\n'
    assert rs.render_stream('plain [00:01] text\r\n\nnext\n') == 'plain [00:01] text\n\nnext\n'
