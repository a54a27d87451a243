# The README's two commands are `make test` and `make report`; both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: test lint report bench lab setup nbval-update clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m actuarial.warm
	@touch $(STAMP)

# The lint gate (ruff, configured in pyproject.toml) runs first, then the whole suite.
test: $(STAMP)
	$(BIN)/ruff check src tests notebooks
	$(BIN)/python -m pytest -n 2 --dist loadscope -q

lint: $(STAMP)
	$(BIN)/ruff check src tests notebooks

report: $(STAMP)
	$(BIN)/actuarial batch --jobs 2

bench: $(STAMP)
	$(BIN)/actuarial bench

# Regenerate the notebooks' committed outputs, which nbval compares in `make test`.
nbval-update: $(STAMP)
	cd notebooks && for nb in *.ipynb; do ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.record_timing=False --ExecutePreprocessor.extra_arguments="['--IPKernelApp.log_level=CRITICAL']" "$$nb"; done

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache
