# The two commands of the README. Both start from a fresh clone: they create .venv themselves.
SHELL := /bin/bash
VENV := .venv/bin
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export PYTHONHASHSEED := 0

.PHONY: setup repro compare test docs bench clean-venv

setup:
	@bash tools/setup.sh

## make repro: set up, then regenerate every result of the default pipeline (embedded demo database)
repro: setup
	dvc repro
	dvc metrics show

## make compare: after `make repro`, compare the regenerated results with the committed ones (git HEAD) within
## each kind's tolerance; names every file, method and column that moved, exits non-zero when one moved beyond it
compare: setup
	python tools/compare_results.py

## make test: set up, then library notebooks (nbdev_test), pytest, and the offline docs build
test: setup
	bash tools/test.sh

docs: setup
	python tools/build_docs.py

bench: setup
	python tools/bench_pipeline.py

clean-venv:
	rm -rf .venv
