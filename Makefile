# davgate developer and CI targets. CI runs .ci/run, which installs the
# end-to-end clients and then runs `make test`.

GO        ?= go
FUZZTIME  ?= 10s
# FUZZTIME for `make fuzz` (the longer run).
FUZZLONG  ?= 2m
BENCHTIME ?= 1s
CONFIG    ?= configs/demo.yaml

.PHONY: all test build run race fuzz fuzz-short bench check fmt vet e2e e2e-radicale lint vuln tidy

all: build

## test: vet, race-enabled tests (including the e2e clients), short fuzz of every target
test: vet race fuzz-short

## build: compile every package and the davgate binary into bin/
build:
	$(GO) build ./...
	$(GO) build -o bin/davgate ./cmd/davgate

## run: serve the demo config
run:
	$(GO) run ./cmd/davgate serve -config $(CONFIG)

## race: all tests with the race detector
race:
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

## fmt: fail when gofmt would change a file
fmt:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## fuzz-short: every Fuzz target for FUZZTIME (10s) each
fuzz-short:
	GO=$(GO) FUZZTIME=$(FUZZTIME) .ci/fuzz

## fuzz: every Fuzz target for FUZZLONG (2m) each
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZLONG) .ci/fuzz

## bench: benchmarks only
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## check: gofmt clean, vet, race
check: fmt vet race

## e2e: the real-client tests against davgate, verbose
e2e:
	$(GO) test -count=1 -v ./cmd/davgate/e2e/

## e2e-radicale: the same clients against Radicale (checks the client scripts)
e2e-radicale:
	DAVGATE_E2E_TARGET=radicale $(GO) test -count=1 -v ./cmd/davgate/e2e/

## lint, vuln, tidy: need golangci-lint v2 / govulncheck on PATH
lint:
	golangci-lint run ./...

vuln:
	govulncheck ./...

tidy:
	$(GO) mod tidy -diff
