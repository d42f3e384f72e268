# Quickstart targets: each does its own set-up in .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint captures bench kernels clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(MAKE) kernels
	touch $(STAMP)

# The capture and flow kernels compiled ahead of time (docs/capture.md, "Plain or
# compiled"); without a C compiler and Python headers every run uses numba's JIT instead.
kernels:
	$(BIN)/python -m segverify.jit build || \
	  echo "segverify: kernels not built ahead of time (needs a C compiler and Python headers); numba's JIT is used instead" >&2

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

captures: $(STAMP)
	$(BIN)/python -m segverify.lab.captures

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
