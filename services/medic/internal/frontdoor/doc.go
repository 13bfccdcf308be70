// Package frontdoor holds the end-to-end tests of Medic's front door: each
// drives a real transport (the OpenTelemetry SDK over gRPC and HTTP, the
// Collector's OTLP/HTTP JSON, Kafka, Alertmanager's webhook) into a real
// ingest process, and checks what arrives on the bus and, through the real
// archiver process, in ClickHouse. They run under MEDIC_INTEGRATION=1
// (make test) against CLICKHOUSE_ADDR.
package frontdoor
