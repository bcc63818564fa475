# Tokui: the README's commands. `make demo` runs the product, `make test` runs every test, `make bench` the benchmarks.
# Everything is set up from a clean clone by these targets (Python venv, npm packages, assets, translations).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv

.PHONY: demo test bench screenshots setup python assets messages bytecode browser lint serve clean

demo: setup ## Set up and run the demo on http://127.0.0.1:8000
	$(PY) -m tokui demo

serve: setup ## Run Tokui (no demo data) in one process
	$(PY) -m tokui serve

test: setup ## Set up and run every test: lint, types, import contracts, SQLite, PostgreSQL and browser tests
	bash scripts/run-tests

bench: setup ## Run every benchmark; each prints name=value lines with its data size
	bash scripts/run-benchmarks

screenshots: setup browser ## Take the README's and the user guide's screenshots from the demo (docs/screenshots)
	$(PY) scripts/docs-screenshots

setup: python assets messages bytecode

python: $(VENV)/.synced

$(VENV)/.synced: pyproject.toml uv.lock .python-version
	bash scripts/setup-python
	@touch $@

assets: src/tokui/web/static/tokui/.built

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

src/tokui/web/static/tokui/.built: node_modules/.installed $(shell find frontend -type f 2>/dev/null)
	npm run --silent build
	@touch $@

messages: python
	@command -v msgfmt >/dev/null || bash scripts/apt-install gettext
	cd src/tokui && ../../$(PY) -m tokui compilemessages --ignore=.venv -v 0

bytecode: python ## Tokui's own modules compiled ahead (see scripts/setup-python; unchanged files are skipped)
	@$(PY) -m compileall -q src/tokui >/dev/null

browser: ## Install Debian Chromium and Japanese fonts for the browser tests when missing
	bash scripts/setup-browser

lint: python
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) node_modules src/tokui/web/static/tokui var test-artifacts
