"""Fail if a notebook in nbs/ carries outputs or metadata nbdev_clean would strip, or if a pipeline notebook
lost its papermill `parameters` tag (nbdev_clean drops tags unless settings.ini keeps them)."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
problems = []
for nb_path in sorted((ROOT/'nbs').rglob('*.ipynb')):
    if '.ipynb_checkpoints' in nb_path.parts: continue
    rel = nb_path.relative_to(ROOT)
    nb = json.loads(nb_path.read_text())
    for i, cell in enumerate(nb['cells']):
        if cell['cell_type'] == 'code' and (cell.get('outputs') or cell.get('execution_count') is not None):
            problems.append(f"{rel}: cell {i} has outputs (run nbdev_clean --fname {rel})"); break
    if rel.parts[1] in ('pipeline', 'benchmarks'):
        tagged = [c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', [])]
        if len(tagged) != 1:
            problems.append(f"{rel}: expected exactly one cell tagged 'parameters' (papermill), found {len(tagged)}")
if problems:
    print('\n'.join(problems)); sys.exit(1)
print('notebooks clean; every pipeline/benchmark notebook has its parameters cell')
