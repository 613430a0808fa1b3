# kassa — see README.md. `make run` serves the demo; `make test` runs every test.

GO        ?= go
export GOFLAGS := -buildvcs=false
WASM      := wasm/kassa.wasm
WASMFLAGS := -buildmode=c-shared -trimpath -buildvcs=false -ldflags="-s -w"

.PHONY: all build wasm wasm-check wasm-size run test test-go test-js fuzz fuzz-smoke test-long soak bench bench-guest fmt vet clean debugger-samples

all: build

## wasm: rebuild the core's WebAssembly module (committed at wasm/kassa.wasm)
wasm:
	GOOS=wasip1 GOARCH=wasm $(GO) build $(WASMFLAGS) -o $(WASM) ./wasm/guest

## wasm-check: fail if the committed module differs from a fresh build
wasm-check:
	@tmp=$$(mktemp -d) && GOOS=wasip1 GOARCH=wasm $(GO) build $(WASMFLAGS) -o $$tmp/kassa.wasm ./wasm/guest && \
	if cmp -s $$tmp/kassa.wasm $(WASM); then echo "wasm-check: $(WASM) is up to date"; rm -rf $$tmp; \
	else echo "wasm-check: $(WASM) differs from a fresh build: run 'make wasm' and commit it" >&2; rm -rf $$tmp; exit 1; fi

## wasm-size: print the module's size, raw and gzipped
wasm-size:
	@echo "raw:  $$(wc -c < $(WASM)) bytes"; echo "gzip: $$(gzip -9 -c $(WASM) | wc -c) bytes"

fmt:
	gofmt -w core plugin wasm caddy examples

vet:
	$(GO) vet ./...

BIN := bin

## build: bin/caddy (Caddy + standard modules + kassa) and the demo backend
build:
	$(GO) build -o $(BIN)/caddy ./caddy
	$(GO) build -o $(BIN)/demo-backend ./examples/backend

## run: the demo on https://localhost:8443 (Ctrl-C stops both processes)
run: build
	@set -a; . examples/demo.env; set +a; \
	$(BIN)/demo-backend & backend=$$!; \
	trap 'kill $$backend 2>/dev/null' EXIT INT TERM; \
	$(BIN)/caddy run --config Caddyfile --adapter caddyfile

## test: every test — Go (with a real PostgreSQL), the wasm check, a short
## run of every fuzz target, Node and Chromium
test: test-go fuzz-smoke test-js

test-go: wasm-check
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

test-js: build
	@if [ -f wasm/js/package.json ]; then cd wasm/js && npm ci --no-audit --no-fund && npm test; else echo "test-js: no wasm/js package yet"; fi

## fuzz: every fuzz target for FUZZTIME each (the documented long run: 10m)
FUZZTIME ?= 10m
FUZZ := ./core/jsonscan:FuzzCheck ./core/validate:FuzzValidate ./core/sign:FuzzSign \
	./core/sign:FuzzPureHMAC ./plugin/engine:FuzzEngines ./plugin/payneteasy:FuzzPayneteasyHTTP \
	./plugin/smarts:FuzzSmartsHTTP ./plugin/voyado:FuzzVoyadoHTTP
fuzz:
	@set -e; for t in $(FUZZ); do \
		echo "== $${t#*:} ($${t%:*}, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $${t%:*}; \
	done

## fuzz-smoke: the short fuzz run of make test and CI
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5s FUZZFLAGS=-fuzzminimizetime=2s

## test-long: 60 s soak and 100,000-event outbox backlogs (bolt, PostgreSQL)
test-long: build
	KASSA_LONG=1 $(GO) test -count=1 -timeout 60m -v -run 'TestSoak|TestOutboxBacklog' ./plugin/hardening/

## soak: a long soak (SOAK=10m by default)
SOAK ?= 10m
soak: build
	KASSA_SOAK=$(SOAK) $(GO) test -count=1 -timeout 0 -v -run '^TestSoak$$' ./plugin/hardening/

clean:
	rm -rf $(BIN)

## debugger-samples: regenerate the debugger page's sample bodies from core/spec
debugger-samples:
	$(GO) run ./examples/debugger/gen > examples/debugger/samples.json

## bench-guest: the core's parts timed in one process, natively then under wazero
bench-guest:
	@echo "native:"; $(GO) run ./bench/guest
	@GOOS=wasip1 GOARCH=wasm $(GO) build -o $(BIN)/guest.wasm ./bench/guest && echo "wasm (wazero):" && $(GO) run ./bench/wasirun $(BIN)/guest.wasm

## bench: the core's Go benchmarks (native and wasm), then the end-to-end load test (needs wrk)
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./plugin/engine/
	$(GO) test -run '^$$' -bench BenchmarkStartup -benchtime 3x ./plugin/
	bench/load.sh 10
