# osintkit — `make help` lists the targets. Everything installs into .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.osintkit-installed
DEMO_OUT ?= demo-out
BENCH_VIDEO ?= ../shared/bench-video

.DEFAULT_GOAL := help
.PHONY: help install demo test lint docs bench bench-recall samples corpus fuzz clean

help: ## list the targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-8s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel

# Re-installed only when the package metadata changes.
$(STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

install: $(STAMP) ## create .venv and install osintkit with test extras

samples: install ## regenerate the benign samples (deterministic)
	$(PY) scripts/make_samples.py

demo: install ## set up and run the main job on the bundled samples
	$(PY) scripts/demo.py --out $(DEMO_OUT)

test: install ## set up and run the whole test suite (what CI runs)
	$(PY) -m pytest -q

corpus: ## fetch the full exif-samples corpus (pinned commit, hashes checked) to ../shared/corpus
	$(PYTHON) scripts/fetch_corpus.py $(if $(CORPUS),--dest $(CORPUS))

fuzz: install ## the property-based tests of hostile input, long run (~10 min; FUZZ_MINUTES)
	OSINTKIT_FUZZ_MINUTES=$${FUZZ_MINUTES:-10} $(PY) -m pytest -q -s tests/test_fuzz.py

lint: install ## ruff, with the settings in ruff.toml
	$(VENV)/bin/ruff check osintkit tests scripts

docs: install ## the documentation site (mkdocs-material, strict: no warnings) into site/
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

bench: install ## benchmarks (scripts/bench_*.py); figures go in docs/ (docs/benchmarks.md)
	@set -e; for b in scripts/bench_*.py; do echo "== $$b"; $(PY) $$b; done

bench-recall: install ## video recall on real clips (fetched, pinned: scripts/fetch_clips.py)
	$(PY) scripts/fetch_clips.py --dest $(BENCH_VIDEO)
	$(PY) scripts/bench_video.py --only recall --clips $(BENCH_VIDEO)/clips \
	  --photos $(BENCH_VIDEO)/photos --work $(BENCH_VIDEO)/work

clean: ## remove the venv and build leftovers
	rm -rf $(VENV) build *.egg-info .pytest_cache $(DEMO_OUT) site
