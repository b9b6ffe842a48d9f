# ipad-vad — one entry point per job. Everything runs inside .venv (created by `make setup`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp
PROFILE ?= demo

.PHONY: setup demo test test-fast bench preview clean-data help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# Re-installs only when pyproject.toml changed since the last install: a second `make setup` is instant.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv with torch and the pinned stack (idempotent)

demo: setup  ## the whole pipeline (dvc repro, demo profile) on the embedded synthetic IPAD-like data
	bash scripts/demo.sh

test: setup  ## run the whole test suite (about 10 minutes on 2 CPU cores)
	$(BIN)/python -m pytest

test-fast: setup  ## tests without the ones marked slow
	$(BIN)/python -m pytest -m "not slow"

bench: setup  ## run the benchmarks; JSON results land in benchmarks/results/
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_score.py
	$(BIN)/python benchmarks/bench_pipeline.py

clean-data:  ## remove generated data and reports (the DVC cache keeps every version)
	rm -rf data reports
