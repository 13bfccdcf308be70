# Medic's build, test and demo entry points. Every target does its own
# set-up: `make demo` and `make test` work on a fresh Debian machine with Go.

SHELL := /bin/bash
GO ?= go
ROOT := $(CURDIR)
BIN := $(ROOT)/.cache/bin
PROGRAMS := archiver ingest correlator detector rca remediator notifier simulator medic
# Every module of the workspace, as package patterns for one `go test` run.
MODULE_PATTERNS = $(shell $(GO) list -m -f '{{.Dir}}/...')
# Per test binary. A full run takes 14-19 minutes on two cores, its longest
# packages 10-15 (the RCA, demo and reliability suites, run at once); the
# slowest of those ran 923 s, too close to a 20-minute limit.
TEST_TIMEOUT ?= 30m
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(BIN)/golangci-lint

.PHONY: all build test test-short demo up bench bench-ingest bench-rca soak soak-detector lint fmt vet precommit clickhouse clean

all: build

## build: compile every program into .cache/bin
build: $(PROGRAMS:%=build-%)

build-%:
	@mkdir -p $(BIN)
	cd services/$* && $(GO) build -o $(BIN)/$* .

## clickhouse: install (apt, when missing) and start a private ClickHouse
clickhouse:
	@scripts/clickhouse.sh start >/dev/null

## test: set up ClickHouse, build, and run every module's tests, end to end included
test: build clickhouse
	MEDIC_INTEGRATION=1 MEDIC_BIN_DIR=$(BIN) CLICKHOUSE_ADDR=$$(scripts/clickhouse.sh addr) \
		$(GO) test -p 4 -count=1 -timeout $(TEST_TIMEOUT) $(MODULE_PATTERNS)

## test-short: unit and integration tests without the end-to-end run
test-short: clickhouse
	CLICKHOUSE_ADDR=$$(scripts/clickhouse.sh addr) $(GO) test -short -count=1 $(MODULE_PATTERNS)

## demo: run Medic on one machine and recover a bad model deploy
demo: build clickhouse
	CLICKHOUSE_ADDR=$$(scripts/clickhouse.sh addr) MEDIC_WORK_DIR=$(ROOT)/.cache/demo $(BIN)/medic demo

## up: run Medic for your own system until Ctrl-C (OTLP on 4317/4318, alert
## webhooks and /v1/changes on 8088); UP_FLAGS=--with-simulator adds the simulator
up: build clickhouse
	CLICKHOUSE_ADDR=$$(scripts/clickhouse.sh addr) MEDIC_WORK_DIR=$(ROOT)/.cache/up $(BIN)/medic up $(UP_FLAGS)

## bench: run the benchmarks (numbers go in BENCHMARKS.md)
bench: clickhouse
	CLICKHOUSE_ADDR=$$(scripts/clickhouse.sh addr) $(GO) test -run '^$$' -bench . -benchmem $(MODULE_PATTERNS)

## bench-ingest: OTLP metrics, spans and logs through the ingest and archiver
## binaries into ClickHouse, beside the raw JetStream and ClickHouse ceilings
## of the same run; the table goes to .cache/ingest-bench.md (numbers go in
## BENCHMARKS.md). Not part of `make test`.
bench-ingest: build clickhouse
	cd services/medic && MEDIC_BENCH=1 MEDIC_BIN_DIR=$(BIN) CLICKHOUSE_ADDR=$$($(ROOT)/scripts/clickhouse.sh addr) \
		MEDIC_BENCH_REPORT=$(ROOT)/.cache/ingest-bench.md \
		$(GO) test -count=1 -timeout 30m -run '^TestFrontDoorThroughput$$' -v ./internal/ingestbench/

## bench-rca: one on-demand analysis (engine.Analyze) over a 30-minute window
## of 1M spans and 1M log lines per RCA_BENCH_SCALES step ("1,10": 1M and
## 10M), loaded into a fresh ClickHouse database (numbers go in
## BENCHMARKS.md). Not part of `make test`.
RCA_BENCH_SCALES ?= 1
bench-rca: clickhouse
	cd services/rca && MEDIC_INTEGRATION=1 MEDIC_BENCH=1 MEDIC_BENCH_SCALES=$(RCA_BENCH_SCALES) \
		CLICKHOUSE_ADDR=$$($(ROOT)/scripts/clickhouse.sh addr) \
		$(GO) test -count=1 -timeout 60m -run '^$$' -bench '^BenchmarkAnalyzeWindow$$' -benchtime 3x -v ./internal/rcabench/

## soak: run the stack for SOAK (30m) at SOAK_POINTS (20000) points/s with a
## fault every 2 minutes; reports memory, consumer lag and recoveries in
## .cache/soak-report.md (numbers go in BENCHMARKS.md). Not part of `make test`.
SOAK ?= 30m
SOAK_POINTS ?= 20000
soak: build clickhouse
	cd services/medic && MEDIC_INTEGRATION=1 MEDIC_BIN_DIR=$(BIN) CLICKHOUSE_ADDR=$$($(ROOT)/scripts/clickhouse.sh addr) \
		MEDIC_SOAK=$(SOAK) MEDIC_SOAK_POINTS=$(SOAK_POINTS) MEDIC_SOAK_REPORT=$(ROOT)/.cache/soak-report.md \
		$(GO) test -count=1 -timeout 90m -run '^TestSoak$$' -v ./internal/reliability/

## soak-detector: the detector's engine on the wall clock for SOAK (30m) at
## constant cardinality (3000 series, every detector kind); fails if the heap
## grows more than 10% once windows are full. Not part of `make test`.
soak-detector:
	cd services/detector && MEDIC_DETECTOR_SOAK=$(SOAK) $(GO) test -count=1 -timeout 90m -run '^TestSoakMemory$$' -v ./internal/engine/

## lint: gofmt, go vet and golangci-lint (.golangci.yml) over every module
lint: vet $(GOLANGCI_LINT)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	@for dir in $$($(GO) list -m -f '{{.Dir}}'); do \
		echo "golangci-lint $${dir#$(ROOT)/}"; (cd $$dir && $(GOLANGCI_LINT) run ./...) || exit 1; \
	done

# golangci-lint is built once (about 2 minutes) into the ignored .cache/bin.
$(GOLANGCI_LINT):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

vet:
	$(GO) vet $(MODULE_PATTERNS)

## fmt: format every Go file
fmt:
	gofmt -w $$(git ls-files '*.go')

precommit: fmt lint test

clean:
	scripts/clickhouse.sh stop
	rm -rf .cache/bin .cache/demo
