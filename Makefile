# The README's two commands are `make run` and `make test`; .ci/run is `make test`.
# Everything this builds goes to bin/ or .cache/ (both git-ignored) or Go's own caches.

GO       ?= go
VERSION  ?= $(shell git describe --tags --dirty 2>/dev/null || echo v0.1.0-dev)
FUZZTIME ?= 30s

.PHONY: run test deps testbed helm manifests vet build fuzz bench bench-load bench-propagation bench-scale clean

# README command 1: the quick start server on 127.0.0.1:1053.
run:
	$(GO) run ./cmd/peerdns -conf Corefile.example

# README command 2: every test, with the race detector, ending with go test's summary. The
# timeout leaves room for test/stockcoredns's first build of stock CoreDNS (minutes, cold).
test: deps testbed helm vet
	$(GO) test -race -count=1 -timeout 30m ./...

# Programs the tests run (dig), installed from Debian when missing.
deps:
	scripts/test-deps.sh

# Real kube-apiserver and etcd for the tests against real clusters (test/testbed), built once per
# machine into .cache/testbed/bin: about 9 minutes cold, 15 s with Go's cache warm, 0 s when current.
testbed:
	scripts/testbed.sh build

# The helm command line, built from Helm's own code (test/deploy/tools) into .cache/helm/bin, for
# the tests of the chart in deploy/helm: about 1.5 minutes cold, 0 s when current.
helm:
	scripts/helm.sh build

# deploy/peerdns.yaml from the chart in deploy/helm/peerdns (test/deploy checks it is current).
manifests: helm
	scripts/helm.sh manifests

vet:
	$(GO) vet ./...

# bin/peerdns and every other command under cmd/ that has a main package.
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/ ./cmd/...

# Each fuzz target for FUZZTIME; the corpora they grow stay in Go's cache.
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

# Benchmarks of the query path and the snapshot build; results also in .cache/bench.txt.
bench:
	mkdir -p .cache
	$(GO) test -run '^$$' -bench . -benchmem ./... | tee .cache/bench.txt

# peerdns, CoreDNS hosts and file, and Knot DNS under dnsperf, side by side (BENCHMARKS.md):
# about 17 minutes; as root, it installs dnsperf and knot when missing. Also LOAD="-mode memory"
# (resident memory with 100,000 services) and LOAD="-mode profile" (where the time goes).
bench-load:
	$(GO) run ./test/bench/load $(LOAD)

# Event-to-answer delay against a real API server: 200 Service changes (BENCHMARKS.md).
bench-propagation: testbed
	$(GO) run ./test/bench/propagation

# 20 real peers x 5,000 services: time to the first map, cost of a change, resident memory.
# About 6 minutes and 8 GB; also: make bench-scale SCALE="-clusters 4 -services 25000".
bench-scale: testbed
	$(GO) run ./test/bench/scale $(SCALE)

clean:
	rm -rf bin .cache
