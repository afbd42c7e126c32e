#!/usr/bin/env bash
# Create .venv and install iqa_nb with its dev tools, offline-friendly. Re-runs only when settings.ini changes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.installed-$(sha1sum settings.ini setup.py | sha1sum | cut -c1-12)
if [ -f "$stamp" ]; then exit 0; fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
echo "Installing iqa_nb and its tools into .venv (first time: a few minutes, torch is large)..."
# pip's local mirror prints one warning per package it does not hold; they are noise, errors still show.
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 \
  | grep -v -E "^WARNING: Location '.*' is ignored" || true
.venv/bin/python -c "import iqa_nb, torch, torchvision, nbdev, papermill, dvc" \
  || { echo "setup: the install above failed (see its messages)"; exit 1; }
.venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
rm -f .venv/.installed-*; touch "$stamp"
echo "setup: .venv ready"
