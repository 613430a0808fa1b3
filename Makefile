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

## build: bin/caddy (Caddy + standard modules + kassa) and the demo backend;
## GOTAGS adds build tags (BENCHMARKS.md's kassa_zeroguest experiment)
GOTAGS ?=
build:
	$(GO) build -tags '$(GOTAGS)' -o $(BIN)/caddy ./caddy
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
	$(GO) vet -tags kassa_zeroguest ./plugin/engine
	$(GO) test -count=1 -tags kassa_zeroguest -run '^TestZeroGuest$$' ./plugin/engine
	$(GO) test -count=1 -timeout 20m ./...

test-js: build
	@if [ -f wasm/js/package.json ]; then cd wasm/js && npm ci --no-audit --no-fund && npm test; else echo "test-js: no wasm/js package yet"; fi

## fuzz: every fuzz target for FUZZTIME each (the documented long run: 10m).
## FUZZTIME=smoke runs each target for its execution count below instead:
## a count has no wall-clock deadline, so it cannot hit Go 1.26's fuzz
## coordinator race (golang/go#75804: a bare "context deadline exceeded" at
## the end of a timed run, with no failing input).
FUZZTIME ?= 10m
FUZZ := ./core/jsonscan:FuzzCheck:100000 ./core/validate:FuzzValidate:100000 ./core/sign:FuzzSign:100000 \
	./core/sign:FuzzPureHMAC:100000 ./core/sign:FuzzBinary:100000 ./plugin/engine:FuzzEngines:3000 ./plugin/payneteasy:FuzzPayneteasyHTTP:3000 ./plugin/payneteasy:FuzzCheckFields:5000 \
	./plugin/smarts:FuzzSmartsHTTP:3000 ./plugin/voyado:FuzzVoyadoHTTP:3000
fuzz:
	@set -e; for t in $(FUZZ); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; time=$(FUZZTIME); \
		if [ "$$time" = smoke ]; then time=$${rest#*:}x; fi; \
		echo "== $$name ($$pkg, $$time)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $$time $(FUZZFLAGS) $$pkg; \
	done

## fuzz-smoke: the short fuzz run of make test and CI (a few seconds a target)
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=smoke FUZZFLAGS=-fuzzminimizetime=2s

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
	bench/load.sh 5 5
