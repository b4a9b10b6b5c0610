# The front door. `make run` and `make test` do all set-up on a fresh machine that has only
# Python 3.11 and make: the environment is (re)built from pyproject.toml + requirements.lock
# whenever either changes, so nothing is ever installed by hand.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.8
KERNEL := evaluation
DATA ?= data/synthetic
SCALE ?= national
SEED ?= 2026
OUT ?= outputs
PYTEST_ARGS ?=

.PHONY: help env bytecode run cluster-reports test data lab lock bench clean messages

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# --compile-bytecode: uv installs no .pyc files (pip does), and where PYTHONDONTWRITEBYTECODE is
# set (CI images often set it) none is ever cached, so every process compiles pandas, scipy and
# matplotlib from source again: 16.6 s instead of 6.1 s to import what a batch worker preloads.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (evaluation workbench)" >/dev/null
	@touch $@

env: $(STAMP)  ## create or update .venv and the Jupyter kernel

# the package's own .pyc, for the same reason (incremental: only changed modules are compiled)
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src

$(DATA)/truth.json: | $(STAMP)
	$(BIN)/workbench data synth --scale $(SCALE) --seed $(SEED) --out $(DATA)

data: $(DATA)/truth.json  ## generate the synthetic demo data if absent

run: $(STAMP) bytecode $(DATA)/truth.json  ## evaluate all five regions on the demo data, HTML in outputs/
	$(BIN)/workbench run --data $(DATA) --out $(OUT)

LANGS ?= da
cluster-reports: $(STAMP) bytecode $(DATA)/truth.json  ## one feedback report per cluster (LANGS=da,en), in outputs/
	$(BIN)/workbench run --per-cluster --lang $(LANGS) --data $(DATA) --out $(OUT)

TEST_WORKERS ?= 2
test: $(STAMP) bytecode  ## lint, format check, then every test and docstring example (on both cores)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --doctest-modules src
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lab: $(STAMP)  ## open JupyterLab with the project's kernel
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP) ## run every benchmark in benchmarks/ (prints figures)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# rfc3987-syntax (and lark, its only use) is left out: jsonschema imports it, if present, for the
# "iri" format no notebook schema uses, and it builds ~35 parsers as it is imported (2.7 s in every
# process that imports nbformat: each workbench command, batch worker and papermill test).
lock:  ## re-pin requirements.lock after changing dependencies in pyproject.toml
	$(BIN)/uv pip compile --quiet pyproject.toml --extra test --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --no-emit-package rfc3987-syntax \
		--no-emit-package lark -o requirements.lock

LOCALE := src/evaluation/locale
messages: $(STAMP)  ## extract report text into the catalogues; translate new Danish msgstr by hand
	$(BIN)/pybabel -q extract -F $(LOCALE)/babel.cfg -k N_ --no-location --sort-output \
		--project evaluation -o $(LOCALE)/evaluation.pot src/evaluation
	@test -f $(LOCALE)/da/LC_MESSAGES/evaluation.po || \
		$(BIN)/pybabel -q init -i $(LOCALE)/evaluation.pot -d $(LOCALE) -D evaluation -l da
	$(BIN)/pybabel -q update -i $(LOCALE)/evaluation.pot -d $(LOCALE) -D evaluation -l da \
		--no-fuzzy-matching --ignore-obsolete

clean:  ## remove the environments (data/ and outputs/ are kept)
	rm -rf $(VENV) .venv-taguette
