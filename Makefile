# Everything here is plain `go` underneath; see README.md.
GO ?= go
NODES ?= 1000
FUZZTIME ?= 3s
# bos --version prints this (default: git describe; empty = the version Go stamps).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)

.PHONY: all build run sim test race vet fmt bench bench-rolling bench-all pgo fuzz ci clean

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

# The CPU profile every build of cmd/bos is optimized with (Go's profile-guided optimization:
# go build, go install and go run take cmd/bos/default.pgo by themselves).
PGO_NODES ?= 100000
PGO_DIR := bin/pgo
pgo:              ## refresh cmd/bos/default.pgo from CPU profiles of BOS and the simulators over a PGO_NODES-node boot (docs/benchmarks.md#profile-guided-optimization)
	rm -rf $(PGO_DIR) && mkdir -p $(PGO_DIR)
	$(GO) build -o $(PGO_DIR)/bos ./cmd/bos
	BENCH_BOS=$(CURDIR)/$(PGO_DIR)/bos BENCH_NODES=$(PGO_NODES) BENCH_PROFILE_DIR=$(CURDIR)/$(PGO_DIR) BENCH_SIM_CPUPROFILE=$(CURDIR)/$(PGO_DIR) \
		$(GO) test -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -timeout 60m ./e2e
	$(GO) tool pprof -proto $(PGO_DIR)/bos-$(PGO_NODES)-0*.pprof $(PGO_DIR)/sim-$(PGO_NODES)-*.prof > $(PGO_DIR)/default.pgo
	mv $(PGO_DIR)/default.pgo cmd/bos/default.pgo

fuzz:             ## every fuzz target for FUZZTIME each (CI: 3s), e.g. make fuzz FUZZTIME=2m
	FUZZTIME=$(FUZZTIME) bash .ci/fuzz

ci:               ## what CI runs
	bash .ci/run

clean:
	rm -rf bin
