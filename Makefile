# Everything here is plain `go` underneath; see README.md.
GO ?= go
NODES ?= 1000
FUZZTIME ?= 3s
# bos --version prints this (default: git describe; empty = the version Go stamps).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)

.PHONY: all build run sim test race vet fmt bench bench-rolling bench-all fuzz ci clean

all: vet test build

build:            ## the one binary, in ./bin/bos
	$(GO) build -ldflags "$(if $(VERSION),-X main.version=$(VERSION))" -o bin/bos ./cmd/bos

run:              ## the main job: the whole stack on embedded defaults, booting NODES nodes
	$(GO) run ./cmd/bos up --nodes $(NODES) --boot

sim:              ## every simulator, no BOS
	$(GO) run ./cmd/bos sim --nodes $(NODES)

test:             ## the README's test command
	$(GO) test ./...

race:             ## the race detector on everything (needs cgo)
	$(GO) test -race -short ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench:            ## the loopback HTTP floor, then boots over processes against it (docs/benchmarks.md; BENCH_NODES=100000)
	$(GO) test -run '^$$' -bench . -benchtime 1s ./internal/benchfloor
	$(GO) test -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -timeout 60m ./e2e

bench-rolling:    ## rollout, CRUS and the staged path side by side at 1,000 nodes 70% busy, each against its ideal (docs/rollouts.md#figures)
	$(GO) test -run '^$$' -bench '^BenchmarkRollingSideBySide$$' -benchtime 1x -timeout 60m ./e2e

bench-all:        ## every benchmark of the module once, figures printed
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./...

fuzz:             ## every fuzz target for FUZZTIME each (CI: 3s), e.g. make fuzz FUZZTIME=2m
	FUZZTIME=$(FUZZTIME) bash .ci/fuzz

ci:               ## what CI runs
	bash .ci/run

clean:
	rm -rf bin
