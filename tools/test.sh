#!/usr/bin/env bash
# Everything CI checks, in order of cost. Run through `make test` (which sets up .venv first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONHASHSEED=0 MPLBACKEND=Agg

echo "== 1/5 iqa_nb/ is exactly what the notebooks export"
nbdev_export
if [ -n "$(git status --porcelain -- iqa_nb 2>/dev/null)" ]; then
  git status --porcelain -- iqa_nb
  echo "iqa_nb/ differs from nbs/: edit the notebooks, run nbdev_export and commit the result"; exit 1
fi

echo "== 2/5 notebooks are stored clean, parameters tags kept"
python tools/check_notebooks.py

echo "== 3/5 library notebooks (nbdev_test)"
nbdev_test --n_workers 2 --timing

echo "== 4/5 pytest"
python -m pytest -q -n 2 --durations=10 tests

echo "== 5/5 docs build (offline, executes the library notebooks)"
python tools/build_docs.py
