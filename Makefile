# The few commands a maintainer needs. Each target creates the environment if it is missing.
#   make book     build the website into _build/html/
#   make test     lint, unit/property/structure tests, re-execute the chapters (nbval), build the
#                 site, then open every page in headless Chromium
#   make refresh  re-execute the chapters in place after changing code (store the new outputs)
#   make cpu-paths  which CPU kernels the pinned runs use, and whether each pin matters here
#   make bench    benchmarks side by side with scikit-learn
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard book/[0-9][0-9]_*.ipynb))

.PHONY: env book test lint unit nbval nbval-altered nbval-gpu site refresh bench cpu-paths clean

env: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt "torch==2.13.0" -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

_vendor/.versions: tools/vendor_js.sh
	tools/vendor_js.sh

book: $(STAMP) _vendor/.versions
	$(BIN)/jupyter-book build . -W -n --keep-going

lint: $(STAMP)
	$(BIN)/ruff check ebmlab tests tools book
	$(BIN)/ruff format --check ebmlab tests tools
	$(BIN)/ruff format --check --line-length 79 book/*.ipynb  # fits the code column of a page

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q --ignore=tests/site

# The browser test needs Debian's Chromium (Playwright drives it; it downloads no browser).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

site: $(STAMP) /usr/bin/chromium
	$(BIN)/python -m pytest tests/site -q

# The reproducibility policy (CONTRIBUTING.md): tests and refreshes run on the same CPU code
# paths, threads and deterministic kernels on every x86-64 machine with AVX2 (tools/cpu_paths.py).
PINNED = $(shell $(BIN)/python tools/cpu_paths.py pinned)
ALTERED = $(shell $(BIN)/python tools/cpu_paths.py altered)

NBVAL := $(BIN)/python -m pytest -q -p no:cacheprovider --nbval $(CHAPTERS) \
	--nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300

# Re-execute every chapter on the pinned paths and compare with the stored outputs: exactly, or
# within the tolerance a cell declares (tests/nbval_tolerance.py). book/conftest.py enforces the
# time budget. Then again on a materially different path, the stand-in for another machine.
nbval: $(STAMP)
	env $(PINNED) $(NBVAL)
	$(MAKE) --no-print-directory nbval-altered

# torch's scalar kernels, MKL's SSE2 branch, oneDNN's SSE4.1 kernels, two threads: numbers move,
# and every chapter must still pass within its declared tolerances.
nbval-altered: $(STAMP)
	env $(ALTERED) EBMLAB_TIME_BUDGET=off $(NBVAL)

test: lint unit nbval book site

# Every chapter on CUDA against the stored CPU outputs, with the same tolerances (a GPU machine,
# .github/workflows/gpu.yml). The time budget is for the CPU. Deterministic algorithms are not
# requested here: torch raises on a CUDA operation that has none, and no GPU run has yet checked
# the chapters for such operations.
nbval-gpu: $(STAMP)
	EBMLAB_DEVICE=cuda EBMLAB_TIME_BUDGET=off $(NBVAL)

refresh: $(STAMP)
	env $(PINNED) $(BIN)/python tools/refresh.py $(CHAPTERS)
	$(BIN)/python tools/status_page.py

cpu-paths: $(STAMP)
	env $(PINNED) $(BIN)/python tools/cpu_paths.py report
	$(BIN)/python tools/cpu_paths.py verify

bench: $(STAMP)
	$(BIN)/ebmlab bench all

clean:
	rm -rf _build
