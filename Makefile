# The front door. `make run` and `make test` do all the set-up a fresh Debian machine needs.
# CI runs `make lint` and `make test` (see .ci/run). Targets mirror CI one to one.

SHELL := /bin/bash
CARGO ?= cargo
# The wasm-bindgen CLI must match the `wasm-bindgen` crate pinned in Cargo.toml.
WASM_BINDGEN_VERSION := 0.2.106
WASM_PACK_VERSION := 0.13.1
APT_PACKAGES := chromium chromium-driver binaryen esbuild libssl-dev pkg-config haproxy
ADDR ?= 127.0.0.1:8080
DB ?= cobrowse.db
export CHROMEDRIVER ?= /usr/bin/chromedriver
export PATH := $(HOME)/.cargo/bin:$(PATH)

# Cargo's output directory: CARGO_TARGET_DIR when set (CI may share one), else ./target.
ifdef CARGO_TARGET_DIR
# Absolute, since the tests run from their package's directory.
export CARGO_TARGET_DIR := $(abspath $(CARGO_TARGET_DIR))
endif
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
WASM_OUT := $(TARGET_DIR)/wasm32-unknown-unknown/wasm-release/cobrowse_wasm.wasm
PKG := www/pkg

.PHONY: setup run test test-native test-wasm test-e2e test-postgres test-npm npm wasm bench fuzz-build lint bench-capture bench-relay bench-routing bench-messaging bench-cluster bench-e2e bench-hostile bench-call cluster

## setup: install what is missing (quiet when everything is present)
setup:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown
	@wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$" \
		|| $(CARGO) install --locked --quiet wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@wasm-pack --version 2>/dev/null | grep -q " $(WASM_PACK_VERSION)$$" \
		|| $(CARGO) install --locked --quiet wasm-pack --version $(WASM_PACK_VERSION)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@# PostgreSQL (the messaging store's production engine) and NATS, only when not answering.
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { \
		dpkg -s postgresql >/dev/null 2>&1 || { apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; \
		for f in /etc/postgresql/*/main/pg_hba.conf; do grep -q "^host all all 127.0.0.1/32 trust" $$f \
			|| sed -i '1i host all all 127.0.0.1/32 trust' $$f; done; \
		pg_ctlcluster --help >/dev/null 2>&1 && pg_lsclusters -h | awk '{print $$1, $$2}' | \
			while read v c; do pg_ctlcluster $$v $$c start; done; \
		for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
		su postgres -c "psql -qc \"CREATE ROLE root SUPERUSER LOGIN\"" >/dev/null 2>&1; \
		su postgres -c "createdb test" >/dev/null 2>&1; true; }
	@command -v nats-server >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null; }
	@(exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null || (nats-server -c ops/nats.conf >/dev/null 2>&1 &)

## wasm: build the browser library into www/pkg (size-optimised)
wasm: setup
	@$(CARGO) build --quiet -p cobrowse-wasm --target wasm32-unknown-unknown --profile wasm-release
	@wasm-bindgen --target web --no-typescript --out-dir $(PKG) --out-name cobrowse $(WASM_OUT)
	@wasm-opt -Oz --converge --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
		--enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
		$(PKG)/cobrowse_bg.wasm -o $(PKG)/cobrowse_bg.wasm
	@# Short import names in the wasm and the glue, then the glue and its snippets minified.
	@python3 crates/cobrowse-wasm/shrink-imports.py $(PKG) cobrowse
	@for f in $(PKG)/cobrowse.js $(PKG)/snippets/*/src/web/*.js; do \
		esbuild "$$f" --minify --format=esm --log-level=warning --outfile="$$f.min" --allow-overwrite \
		&& mv "$$f.min" "$$f" || exit 1; done
	@echo "www/pkg: wasm $$(gzip -9c $(PKG)/cobrowse_bg.wasm | wc -c) B gzip, glue $$(gzip -9c $(PKG)/cobrowse.js | wc -c) B gzip, snippets $$(cat $(PKG)/snippets/*/src/web/*.js | gzip -9c | wc -c) B gzip"
	@# The console's package: the same crate with the mirror, in its own target dir so the two
	@# builds do not overwrite each other's artefact.
	@$(CARGO) build --quiet -p cobrowse-wasm --features mirror --target wasm32-unknown-unknown \
		--profile wasm-release --target-dir $(TARGET_DIR)/console
	@wasm-bindgen --target web --no-typescript --out-dir $(PKG)/console --out-name console \
		$(TARGET_DIR)/console/wasm32-unknown-unknown/wasm-release/cobrowse_wasm.wasm
	@wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
		--enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
		$(PKG)/console/console_bg.wasm -o $(PKG)/console/console_bg.wasm

## npm: the customer library as an npm package (ES module + TypeScript declarations) from
## www/pkg, packed into $(TARGET_DIR)/npm/open-cobrowse-VERSION.tgz
NPM_OUT := $(TARGET_DIR)/npm
npm: wasm
	@rm -rf $(NPM_OUT) && mkdir -p $(NPM_OUT)/open-cobrowse/pkg
	@cp npm/package.json npm/index.js npm/index.d.ts npm/README.md $(NPM_OUT)/open-cobrowse/
	@cp -r $(PKG)/cobrowse.js $(PKG)/cobrowse_bg.wasm $(PKG)/snippets $(NPM_OUT)/open-cobrowse/pkg/
	@cd $(NPM_OUT) && npm pack --silent ./open-cobrowse > /dev/null
	@echo "npm: $$(ls $(NPM_OUT)/*.tgz) ($$(wc -c < $$(ls $(NPM_OUT)/*.tgz)) B)"

## test-npm: install the packed package into a scratch project, type-check and bundle a use
test-npm: npm
	$(CARGO) build --quiet -p relay --bin relay
	npm/test.sh $(NPM_OUT)/open-cobrowse-*.tgz $(TARGET_DIR)/debug/relay

## run: build and start the relay, serving the demo site and the agent console
run: wasm
	$(CARGO) run --release -p relay -- serve --addr $(ADDR) --db $(DB) --www www --seed-demo

## cluster: three relay nodes on PostgreSQL and NATS behind HAProxy on CLUSTER_ADDR
## (default 127.0.0.1:8080), a try-out of several nodes on one machine (ops/cluster.sh)
cluster: setup wasm
	$(CARGO) build --release -p relay
	RELAY=$(TARGET_DIR)/release/relay ops/cluster.sh

## test: every test (native, browser, end to end, and again on PostgreSQL)
test: setup wasm test-native test-wasm test-e2e test-postgres test-npm

test-native:
	$(CARGO) test --workspace --exclude e2e
	@# The conformance runner must fail a relay whose control gate is flipped (a feature only
	@# this line enables; no relay that runs is built with it).
	$(CARGO) test -p relay --features conformance-broken-gate --test conformance_broken
	$(CARGO) build --quiet --manifest-path fuzz/Cargo.toml

test-wasm: setup
	cd crates/cobrowse-wasm && wasm-pack test --headless --chrome --chromedriver $(CHROMEDRIVER)

test-e2e: wasm
	$(CARGO) build --quiet -p relay --bin relay
	$(CARGO) test -p e2e

## test-postgres: the relay's suites and the demo's end-to-end tests (sign in, co-browse, a
## message, a routed chat and call, a report) once more with every table on PostgreSQL
## (`--postgres`). Left out: the suites that read the SQLite file itself, and the store
## suites, which run on both engines already.
PG_RELAY_TESTS := pairing control grants encryption_rule robustness routing routing_cobrowse \
	reporting calls messaging_guest messaging_open messaging_rich messaging_routing
PG_E2E_TESTS := console messaging routing wallboard
test-postgres: setup wasm
	$(CARGO) build --quiet -p relay --bin relay
	RELAY_TEST_ENGINE=postgres $(CARGO) test -p relay $(addprefix --test ,$(PG_RELAY_TESTS))
	RELAY_TEST_ENGINE=postgres $(CARGO) test -p e2e $(addprefix --test ,$(PG_E2E_TESTS))

## lint: formatting and clippy, as CI checks them: the workspace natively, and the browser
## library for wasm32 too (its `web` module, every binding, only builds there), with and
## without the console's mirror
lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p cobrowse-wasm --target wasm32-unknown-unknown -- -D warnings
	@# The encryption crate must build for the page with no system RNG linked.
	$(CARGO) clippy -p e2ee --target wasm32-unknown-unknown -- -D warnings
	$(CARGO) clippy -p cobrowse-wasm --target wasm32-unknown-unknown --features mirror -- -D warnings

## fuzz-build: build the frame-decoding fuzz target (run it with `cargo fuzz`, see fuzz/README.md)
fuzz-build:
	$(CARGO) build --manifest-path fuzz/Cargo.toml

## bench: every benchmark below in turn, then BENCHMARKS.md (figures beside their same-run
## baselines, the machine, how busy it was) and bench/charts/*.svg; BENCH=capture,routing for some
bench:
	$(CARGO) run --quiet --release -p benchreport -- --keep $(TARGET_DIR)/bench $(if $(BENCH),--only $(BENCH))

## bench-capture: our capture against rrweb's recorder (npm dev-only peer) in one headless Chromium run
bench-capture: wasm
	@[ -d bench/node_modules ] || (cd bench && npm ci --no-audit --no-fund --silent)
	@node bench/capture.mjs

## bench-relay: the relay against a bare tokio-tungstenite forwarder (RELAY_BENCH_QUICK=1 for a short run)
bench-relay:
	$(CARGO) bench -p relay --bench relay

## bench-routing: routing decision time at 1,000 agents and 10,000 waiting against a naive scan, and at 10,000 agents and 100,000 waiting against the small case
bench-routing:
	$(CARGO) bench -p relay --bench routing

## bench-messaging: widget and webhook ingest through the relay against raw SQLite inserts
bench-messaging:
	$(CARGO) bench -p relay --bench messaging

## bench-cluster: co-browse frames whose sockets are on another node than their session (piped over NATS) against the same pair on the session's node, two nodes on the local PostgreSQL and NATS
bench-cluster: setup
	$(CARGO) bench -p relay --bench cluster

## bench-e2e: DOM change in the customer's page to its application in the mirror (two headless browsers, real relay) against a bare WebSocket echo
bench-e2e: wasm
	$(CARGO) build --quiet -p relay --bin relay
	$(CARGO) bench -p e2e --bench e2e

## bench-call: a call from the inbox, the customer's Accept to the first decoded video frame on each side (20 calls, two headless browsers with fake devices) against two peer connections in one page
bench-call: wasm
	$(CARGO) build --quiet -p relay --bin relay
	$(CARGO) bench -p e2e --bench call

## bench-hostile: a legitimate co-browse and chat pair with and without 200 hostile clients flooding sign-in, guest sign-up, pairing and uploads (release relay)
bench-hostile:
	$(CARGO) build --quiet --release -p relay --bin relay
	RELAY_BIN=$(abspath $(TARGET_DIR))/release/relay $(CARGO) bench -p e2e --bench hostile
