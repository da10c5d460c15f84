# The two commands of the quick start:
#   make demo   set everything up (first time only) and run the main job
#   make test   set everything up (first time only) and run the test suite
# Both create and reuse the project virtual environment in .venv.

VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-$(shell cat setup.py Makefile | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: demo test lint setup data tools clean-venv

setup: $(STAMP)

$(STAMP): setup.py pyproject.toml Makefile
	@echo "==> creating $(VENV) (first run only; takes a few minutes)"
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps 'hls4ml>=1.0'
	rm -f $(VENV)/.installed-*
	touch $@

data:
	@bash scripts/install_data.sh

tools:
	@bash scripts/install_tools.sh

demo: setup data
	$(PY) -m alveoflow.demo

test: setup data tools
	bash scripts/run_tests.sh $(PY) $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check alveoflow tests benchmarks examples
	$(VENV)/bin/mypy alveoflow/compiler alveoflow/runtime

clean-venv:
	rm -rf $(VENV)
