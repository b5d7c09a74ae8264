# SkinGuard: `make run` starts the whole system locally, `make test` runs every test.
# Both set up everything they need on a fresh machine with Python 3.11 (no Docker).

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install browser sdk run test test-unit fuzz lint typecheck bench bench-ingest bench-training bench-gateway bench-memory bench-webapp bench-quality chaos protos clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The environment: every workspace package plus dev tools, pinned by uv.lock.
install: $(UV)
	$(UV) sync --frozen --all-packages --python 3.11

# Headless Chromium for the browser tests (tests/browser) and bench-webapp: Debian's package,
# installed once (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get install -y --no-install-recommends chromium \
		|| { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; }; }

# The TypeScript SDK's packages (tests/clients runs its tests with Node 20+): `npm ci` when
# node_modules is missing or older than package-lock.json, else nothing.
SDK := clients/typescript
sdk: $(SDK)/node_modules/.package-lock.json

$(SDK)/node_modules/.package-lock.json: $(SDK)/package-lock.json
	npm ci --prefix $(SDK) --no-audit --no-fund
	@touch $@

run: install
	$(BIN)/skinguard-dev run

test: install browser sdk
	$(BIN)/pytest

test-unit: install sdk
	$(BIN)/pytest -m "not integration"

# Thousands of hostile cases against the real services (SKINGUARD_FUZZ_SECONDS per property,
# default 120): prints the answers by status, the slowest answer and the peak memory.
fuzz: install
	HYPOTHESIS_PROFILE=fuzz SKINGUARD_FUZZ_SECONDS=$${SKINGUARD_FUZZ_SECONDS:-120} $(BIN)/pytest tests/fuzz -q

lint: install
	$(BIN)/ruff check services tests bench

typecheck: install
	$(BIN)/mypy services/*/skinguard_*

# Benchmarks print figures (no assertions); `make bench` runs them all.
bench: bench-ingest bench-training bench-gateway bench-memory bench-webapp

bench-ingest: install
	$(BIN)/python bench/ingest.py

bench-training: install
	$(BIN)/python bench/training.py

bench-gateway: install
	$(BIN)/python bench/gateway.py

bench-memory: install
	$(BIN)/python bench/upload_memory.py

# Labels per minute of a scripted keyboard user in the web app, and key press -> next photo shown.
bench-webapp: install browser
	$(BIN)/python bench/webapp_labelling.py

# Outages of growing length (S3, then PostgreSQL) under upload load: codes, worst latency,
# recovery time and the objects = rows check per fault.
chaos: install
	$(BIN)/python bench/chaos.py

# The default recipe trained on HAM10000, judged on its test split and on isic2020 (held out): about an hour.
bench-quality: install
	$(BIN)/python bench/quality.py

# Regenerate the gRPC stubs from protos/ (the generated code is committed; a test checks it is current).
protos: install
	$(BIN)/python protos/generate.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
