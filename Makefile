# vlrec: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch where one lies on disk (this machine: torch-2.13.0+cpu under
# pip's find-links); elsewhere pip picks what its index serves.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.vlrec-installed

.PHONY: demo test test-fast test-chroma-server lint format bench bench-rec recbole-env install clean wheel-demo train

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)" || $(PY) -m pip install -q torch
	$(PY) -m pip install -q -e '.[all,test]'
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vlrec demo

test: $(STAMP)
	$(PY) -m pytest -q

# The store, indexer, search and API tests again, against a Chroma server on localhost.
CHROMA_PORT ?= 8765
test-chroma-server: $(STAMP)
	@dir=$$(mktemp -d); \
	$(VENV)/bin/chroma run --path $$dir --port $(CHROMA_PORT) > $$dir/chroma.log 2>&1 & pid=$$!; \
	trap "kill $$pid 2>/dev/null; rm -rf $$dir" EXIT; \
	for i in $$(seq 60); do $(PY) -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$(CHROMA_PORT)/api/v2/heartbeat', timeout=1)" 2>/dev/null && break; sleep 1; done; \
	VLREC_RELIABILITY_FULL= VLREC_TEST_CHROMA_URL=http://127.0.0.1:$(CHROMA_PORT) $(PY) -m pytest -q tests/test_store.py tests/test_indexer.py tests/test_search.py tests/test_server.py tests/test_server_sessions.py tests/test_server_live.py tests/test_serve_cli.py tests/reliability/test_kill_indexer.py

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

# The VLM and intent recipes from nothing in one run, the short way: stage 1 (150 steps), then
# stage 3 on stage 1's projector (skipping stages 2-2c), 3b, 3c and 3d (the fine-tuned tail),
# then the intent LM. Each stage's wall time goes to the screen and to runs/recipe.log (measured
# on 2 cores: 30 min for stages 1-3c, 46 for the intent LM; docs/training.md has the numbers).
train: $(STAMP)
	@mkdir -p runs; start=$$(date +%s); \
	for c in "stage1_align train.max_steps=150" "stage3_heads train.init=runs/vlm/stage1/vlm" stage3b_lm stage3c_calibrate stage3d_tail stage3e_probe; do \
	  set -- $$c; t=$$(date +%s); $(VENV)/bin/vlrec train vlm configs/train/$$1.yaml $$2 || exit 1; \
	  echo "$$1: $$(( $$(date +%s) - t )) s" | tee -a runs/recipe.log; done; \
	t=$$(date +%s); $(VENV)/bin/vlrec train intent configs/train/intent.yaml || exit 1; \
	echo "intent: $$(( $$(date +%s) - t )) s" | tee -a runs/recipe.log; \
	echo "whole recipe: $$(( $$(date +%s) - start )) s" | tee -a runs/recipe.log

# RecBole lives in its own environment: it is a benchmark peer, never a vlrec dependency.
.venv-recbole/.installed:
	$(PYTHON) -m venv .venv-recbole
	.venv-recbole/bin/pip install -q "$(TORCH_SPEC)" recbole==1.2.1 "numpy<2" "pandas<2.3" "scipy==1.11.4" "setuptools<70"
	touch $@

recbole-env: .venv-recbole/.installed

bench-rec: $(STAMP) .venv-recbole/.installed
	$(PY) benchmarks/bench_rec.py

clean:
	rm -rf $(VENV) build *.egg-info

# The wheel as a user gets it: built from the repo, installed into a fresh venv outside the
# checkout (core dependencies only, no extras), then `vlrec demo` from another folder.
wheel-demo:
	@dir=$$(mktemp -d); trap "rm -rf $$dir" EXIT; \
	$(PYTHON) -m pip wheel -q --no-deps -w $$dir/dist . && \
	$(PYTHON) -m venv $$dir/venv && \
	$$dir/venv/bin/pip install -q "$(TORCH_SPEC)" && \
	$$dir/venv/bin/pip install -q $$dir/dist/vlrec-*.whl && \
	cd $$dir && VLREC_DATA_DIR=$$dir/data $$dir/venv/bin/vlrec --version && \
	VLREC_DATA_DIR=$$dir/data $$dir/venv/bin/vlrec demo
