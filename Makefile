# Two entry points for a fresh machine: `make demo` and `make test`; both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The demo: information vs binary dropout on the embedded real MNIST sample, a few minutes on 2 CPU cores.
DEMO_ARGS ?= 'methods=[information,binary]' 'widths=[32,128,512]' 'seeds=[0]' epochs=30 'lr_drops=[12,26]' verbose=2

.PHONY: setup demo test test-slow test-ci-slow reproduce clean

setup: $(VENV)/.installed

# The checkout itself is installed editable (its dependencies are the pinned ones above), so that .venv's Python
# imports infodropout from any folder, and edits to the checkout need no reinstall.
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

demo: setup
	$(PY) mnist_fc.py compare with dataset=sample $(DEMO_ARGS)

# The fast tests; test-slow runs the end-to-end runs of the scripts (the tiny reproduction among them). CI runs
# the fast tests and test-ci-slow: the slow tests but those marked slow_extra, whose path another test CI runs
# covers (docs/development.md lists both sets and why).
# The tests run in one worker per core (pytest-xdist), a test file per worker at a time (--dist loadfile: the tests
# of a file share its fixtures, such as the tiny reproduction, built once), the longest files first
# (tests/conftest.py; --no-loadscope-reorder keeps that order); TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

test: setup
	$(PYTEST) -m "not slow" tests

test-slow: setup
	$(PYTEST) -m slow tests

test-ci-slow: setup
	$(PYTEST) -m "slow and not slow_extra" tests

# Every figure and table of the paper at one scale (tiny | small | medium | full), then a report:
# results/REPORT.md for the small scale, results/REPORT-<scale>.md for the others (docs/reproduction.md).
SCALE ?= small
reproduce: setup
	$(PY) reproduce.py --scale $(SCALE)

clean:
	rm -rf $(VENV) .pytest_cache
