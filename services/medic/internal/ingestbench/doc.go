// Package ingestbench measures Medic's front door end to end: OTLP export
// requests into the real ingest service, through JetStream, into the real
// archiver and ClickHouse, beside the raw ceilings of JetStream publish and
// ClickHouse insert measured in the same run (TestFrontDoorThroughput, run
// by `make bench-ingest`; numbers go in BENCHMARKS.md).
package ingestbench
