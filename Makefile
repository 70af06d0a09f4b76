# Each target sets up .venv on its own, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean vendor

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/takeitdown serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/hashing.py
	@for b in bench/registry.py bench/index.py; do \
		if [ -f $$b ]; then $(BIN)/python $$b || exit 1; fi; \
	done

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) takeitdown-data .pytest_cache

# Refresh the submission page's vendored MD5 (hash-wasm from npm). Needs npm; `make run` and
# `make test` do not: the built file is committed in web/vendor/.
HASH_WASM_VERSION ?= 4.13.0
WEB_VENDOR := src/takeitdown/registry/web/vendor/hash-wasm
vendor:
	rm -rf build/vendor && mkdir -p build/vendor
	cd build/vendor && npm pack --silent hash-wasm@$(HASH_WASM_VERSION) >/dev/null && tar xzf hash-wasm-$(HASH_WASM_VERSION).tgz
	cp build/vendor/package/dist/md5.umd.min.js build/vendor/package/LICENSE $(WEB_VENDOR)/
	printf 'hash-wasm %s from npm: dist/md5.umd.min.js (MIT, see LICENSE). Refresh: make vendor\n' $(HASH_WASM_VERSION) > $(WEB_VENDOR)/VERSION
	rm -rf build/vendor
