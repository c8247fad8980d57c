# Kervan: every target does its own set-up on a fresh machine (python3 is all it needs).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
PY := .venv/bin/python
UV_VERSION := 0.13.9

.PHONY: setup demo test check lint typecheck contracts bench clean browser

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

## Bytecode is written ahead, once: a shell with PYTHONDONTWRITEBYTECODE set would otherwise compile
## every module again in each process (a corridor node, a test's child server) at every start.
setup: .venv/.synced
	@$(PY) -m compileall -q src

## make demo: the planner tour, then a seeded corridor node on http://127.0.0.1:8000 (SQLite, no services)
demo: setup
	$(PY) -m kervan.demo

## make test: lint, types and the whole test suite (PostgreSQL/NATS tests run when reachable; in CI they must)
test: setup check browser
	$(PY) -m pytest -n 2 -p xdist --dist loadfile

## make browser: Debian's chromium for the browser tests (installed only when missing; needs root)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; \
	fi

check: lint typecheck contracts

lint: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench

typecheck: setup
	.venv/bin/mypy

## make contracts: the rings of the architecture as import contracts (pyproject.toml [tool.importlinter])
contracts: setup
	.venv/bin/lint-imports

## make bench: every benchmark; each writes bench/results/<name>.json
bench: setup
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf .venv $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
