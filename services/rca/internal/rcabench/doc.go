// Package rcabench measures the on-demand analysis (engine.Analyze) over a
// 30-minute window of about a million spans and a million log lines, and
// over multiples of that, in ClickHouse. The data is a call tree of 16
// services with one fault injected mid-window at its deepest dependency,
// so the benchmark also checks that the analysis still names the right
// cause at that size. Everything lives in test files: it runs only with
// MEDIC_INTEGRATION=1 and MEDIC_BENCH=1 (make bench-rca), never in make test.
package rcabench
