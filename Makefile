# instantly-sync — `make demo` to try it, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# import-linter lives in a venv of its own: it brings rich, which structlog
# imports at start-up whenever it is installed (~50 ms and ~5 MB per process).
TOOLS  := .venv-tools
IMPORT_LINTER ?= import-linter>=2.0

.PHONY: install install-service test lint deploy-check demo bench bench-compare soak screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The service's venv (docs/operations.md): the package and its runtime
# dependencies only, no test or profiling tools.
install-service:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet .

$(TOOLS)/.installed: Makefile
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --upgrade pip
	$(TOOLS)/bin/pip install --quiet '$(IMPORT_LINTER)'
	touch $@

lint: $(STAMP) $(TOOLS)/.installed
	$(BIN)/ruff check .
	PYTHONPATH=. $(TOOLS)/bin/lint-imports

# The alert rules and the systemd unit, with the tools that check them when present
# (.ci/run installs promtool; systemd-analyze exists only where systemd does).
deploy-check:
	@if command -v promtool >/dev/null; then \
		promtool check rules deploy/prometheus/alerts.yml && \
		promtool test rules deploy/prometheus/alerts_test.yml; \
	else echo "promtool not installed: alert rules not checked"; fi
	@if command -v systemd-analyze >/dev/null && [ -d /run/systemd/system ]; then \
		systemd-analyze verify deploy/instantly-sync.service; \
	else echo "systemd not running here: unit file not verified"; fi

# Runs against DATABASE_URL when set, else an embedded Postgres.
test: lint deploy-check
	$(BIN)/pytest -q -p no:cacheprovider

demo: $(STAMP)
	$(BIN)/instantly-sync demo

bench: $(STAMP)
	$(BIN)/python -m bench

# This checkout against another commit, alternated in one session: make bench-compare REF=main~3
bench-compare: $(STAMP)
	@test -n "$(REF)" || { echo "usage: make bench-compare REF=<commit> [SECTIONS='footprint ...'] [ROUNDS=3]"; exit 64; }
	$(BIN)/python -m bench.compare $(REF) $(SECTIONS) --rounds $(or $(ROUNDS),3)

# The console's pages in English and Dutch for docs/console.md (needs Chromium).
screenshots: $(STAMP)
	$(BIN)/python -m tests.console_screenshots

# Hostile conditions for about a minute (own embedded Postgres, loopback only).
soak: $(STAMP)
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) $(TOOLS) .instantly-sync *.egg-info
