# callscope — two commands for a new user: `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run install build test bench bench-results fuzz chaos replicas figures verify-packaging clean

## run: build and start callscope on the embedded defaults (SQLite under ./data, 127.0.0.1:8123); Ctrl-C stops it cleanly
run: build
	./bin/callscope serve

## install: install callscope into $(go env GOPATH)/bin
install:
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/callscope

## build: build bin/callscope
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/callscope ./cmd/callscope

## test: the whole suite; installs what it needs and starts a throwaway PostgreSQL
test:
	./scripts/test.sh

## bench: the benchmarks with their figures
bench:
	./scripts/test.sh --bench

## bench-results: results-webhook ingestion against the real server, driven by wrk
bench-results:
	./scripts/bench-results.sh

## fuzz: each fuzz target for FUZZTIME (default 20s)
fuzz:
	./scripts/fuzz.sh

## chaos: kill the real server with SIGKILL while calls process and webhooks deliver; check nothing is lost
chaos:
	./scripts/chaos.sh

## replicas: two servers on one PostgreSQL and S3 under load, one killed; check work is done once and reads agree
replicas:
	./scripts/replicas.sh

## figures: results ingestion, GET /active and pipeline throughput on SQLite and on PostgreSQL with one and two replicas
figures:
	./scripts/figures.sh

## verify-packaging: check the systemd unit and the image's install steps in a clean Debian tree (root, debootstrap)
verify-packaging:
	./scripts/verify-packaging.sh

clean:
	rm -rf bin
