# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/shopsim run scenarios/default.yaml

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# Every benchmark, then one table of today | now | goal (`make bench BENCH_ARGS=--quick` for small runs).
bench: $(STAMP)
	$(BIN)/python -m pip install -qq -e '.[bench]'
	$(BIN)/python benchmarks/all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
