# Each target sets up .venv on its own. A fresh machine needs Python 3.11+ with venv and a C++
# compiler (pdqhash ships only a source distribution); see README.md, "Set up".
#
# Two install stamps: `make run` installs only what the services need (the default install);
# test, test-fast, lint and bench add the test tools and the ray extra (so the Ray tests run),
# and bench adds faiss on top.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test test-fast bench lint clean vendor

$(RUN_STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

# atheris (the fuzz extra) only where a wheel exists (Linux): elsewhere the fuzz tests skip.
$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[test,ray]'
	$(BIN)/pip install --quiet --only-binary atheris -e '.[fuzz]' \
		|| echo "make: no atheris wheel for this platform; the atheris fuzz tests will skip"
	touch $@

$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

run: $(RUN_STAMP)
	$(BIN)/takeitdown serve

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q

# The inner loop: no browser, nothing marked slow (the PostgreSQL variants still run if it answers).
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -m 'not browser and not slow'

bench: $(BENCH_STAMP)
	$(BIN)/python bench/hashing.py
	@for b in bench/registry.py bench/index.py; do \
		if [ -f $$b ]; then $(BIN)/python $$b || exit 1; fi; \
	done

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench fuzz tools
	$(BIN)/ruff format --check src tests bench fuzz tools
	$(BIN)/mypy src
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) takeitdown-data .pytest_cache

# Refresh the in-browser hasher's vendored MD5 (hash-wasm) and MP4 demuxer (mp4box) from npm.
# Needs npm; `make run` and `make test` do not: the built files are committed in webshared/vendor/.
HASH_WASM_VERSION ?= 4.13.0
WEB_VENDOR := src/takeitdown/webshared/vendor/hash-wasm
# The MP4 demuxer the page loads only when it hashes a video (decoding forward with WebCodecs).
# Its ES module build is three files, renamed .js (served as JavaScript whatever the system's
# MIME table says) with their imports adjusted and source-map comments dropped.
MP4BOX_VERSION ?= 2.4.1
MP4BOX_VENDOR := src/takeitdown/webshared/vendor/mp4box
vendor:
	rm -rf build/vendor && mkdir -p build/vendor
	cd build/vendor && npm pack --silent hash-wasm@$(HASH_WASM_VERSION) >/dev/null && tar xzf hash-wasm-$(HASH_WASM_VERSION).tgz
	cp build/vendor/package/dist/md5.umd.min.js build/vendor/package/LICENSE $(WEB_VENDOR)/
	printf 'hash-wasm %s from npm: dist/md5.umd.min.js (MIT, see LICENSE). Refresh: make vendor\n' $(HASH_WASM_VERSION) > $(WEB_VENDOR)/VERSION
	rm -rf build/vendor && mkdir -p build/vendor
	cd build/vendor && npm pack --silent mp4box@$(MP4BOX_VERSION) >/dev/null && tar xzf mp4box-$(MP4BOX_VERSION).tgz
	rm -rf $(MP4BOX_VENDOR) && mkdir -p $(MP4BOX_VENDOR)
	cd build/vendor/package/dist && for f in mp4box.all.mjs styp-*.mjs rolldown-runtime-*.mjs; do \
		sed -E -e 's#from "\./(styp|rolldown-runtime)-[A-Za-z0-9_-]{8}\.mjs"#from "./\1.js"#' \
			-e '/^\/\/# sourceMappingURL=/d' $$f \
			> $(CURDIR)/$(MP4BOX_VENDOR)/$$(echo $$f | sed -E 's/(-[A-Za-z0-9_-]{8})?\.mjs$$/.js/'); \
	done
	cp build/vendor/package/LICENSE $(MP4BOX_VENDOR)/
	printf 'mp4box %s from npm: dist/mp4box.all.mjs and its two chunks as .js (BSD-3-Clause, see LICENSE). Refresh: make vendor\n' $(MP4BOX_VERSION) > $(MP4BOX_VENDOR)/VERSION
	rm -rf build/vendor
