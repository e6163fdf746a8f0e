# Two entry points for a fresh machine (see README.md):
#   make demo   set everything up and build the demo drop into output/demo/
#   make test   set everything up (Python packages, Debian's chromium) and run the tests
#   make bench  every speed benchmark, with a summary against the targets (~15 minutes)
# make setup installs Debian's chromium too: it prints the reports' PDFs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SUDO    = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test bench setup setup-test pdf browser axe lint clean

$(BIN)/ims-atlas: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

setup: $(BIN)/ims-atlas pdf
	$(BIN)/python -m atlas.render.assets
	$(BIN)/python -m compileall -q atlas

demo: setup
	$(BIN)/ims-atlas build builders/demo.toml

# the reports' PDFs are printed by headless Chromium
pdf:
	@command -v chromium >/dev/null || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; }

# axe-core (package.json, pinned in package-lock.json): the browser tests' WCAG 2.2 AA check
axe: node_modules/axe-core/axe.min.js

node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

setup-test: setup browser axe

lint: setup
	$(BIN)/ruff check atlas tests benchmarks
	$(BIN)/ruff format --check atlas tests benchmarks
	$(BIN)/mypy

test: setup-test lint
	$(BIN)/python -m pytest -q

bench: setup-test
	$(BIN)/python benchmarks/all.py --runs 3

clean:
	rm -rf $(VENV) output/*/ .pytest_cache node_modules
