# `make run` and `make test` do every set-up step on a fresh Debian machine.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLIENT := clients/typescript
NODE_STAMP := $(CLIENT)/node_modules/.installed
DEBIAN_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-ell tesseract-ocr-fra \
	tesseract-ocr-spa tesseract-ocr-deu espeak-ng postgresql-client chromium fonts-dejavu-core
PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

.PHONY: run test lint check-system system-deps clean client-types screenshot

run: $(STAMP) check-system
	$(BIN)/langproc serve

test: $(STAMP) check-system $(NODE_STAMP) lint
	@if [ -z "$$LANGPROC_TEST_DATABASE_URL" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		export LANGPROC_TEST_DATABASE_URL="$(PG_URL)"; fi; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "no tests ran"; exit 1; fi; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The TypeScript client's tools (openapi-typescript, tsc) and the packages its tests use.
$(NODE_STAMP): $(CLIENT)/package.json $(CLIENT)/package-lock.json | check-system
	cd $(CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# Regenerates the client's types after the API changed (a test says when).
client-types: $(STAMP) $(NODE_STAMP)
	$(BIN)/langproc openapi > $(CLIENT)/openapi.json
	cd $(CLIENT) && node_modules/.bin/openapi-typescript openapi.json -o src/schema.d.ts

# Refreshes docs/web-page.png, the README's picture of the built-in page, from the browser test.
screenshot: $(STAMP) check-system
	LANGPROC_SCREENSHOT=$(CURDIR)/docs/web-page.png $(BIN)/python -m pytest -q \
		tests/api/test_web_page.py -k upload_follow_live

# Installs the Debian packages when we are root and they are missing; otherwise says what to do.
check-system:
	@missing=""; \
	for pkg in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing Debian packages:$$missing"; \
			echo "install them with: sudo apt-get install$$missing"; exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) var
