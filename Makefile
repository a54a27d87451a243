# The README's two commands are `make test` and `make report`; both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: test lint report bench lab setup lock nbval-update clean

setup: $(STAMP)

# Installs the exact versions of requirements.lock, then the package itself; then compiles
# the numba kernels into their cache, so that a first simulation does not wait for them.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m actuarial.warm
	@touch $(STAMP)

# Refresh requirements.lock: the newest versions pyproject.toml allows, installed into a
# scratch environment and frozen.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	{ echo "# Every package's exact version, as \`make\` installs them (\`make lock\` refreshes this file from"; \
	  echo "# pyproject.toml; tests/test_environment.py checks that the two agree)."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^#'; } > requirements.lock
	rm -rf .lock-venv

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
