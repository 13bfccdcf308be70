package app

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// envTwins are the env twins of the flags; the tests clear them all so the
// environment of the test run does not leak in.
var envTwins = []string{"HTTP_ADDR", "SIM_CONTROL_ADDR", "LOG_LEVEL", "OTEL_EXPORTER_OTLP_PROTOCOL", "SIM_METRIC_INTERVAL",
	"SIM_CHANGES_URL", "SIM_CHANGES_TOKEN", "SIM_KAFKA_BROKERS", "SIM_KAFKA_TOPIC", "SIM_RPS", "SIM_SEED", "SIM_LABEL_DELAY",
	"SIM_MAX_PENDING_LABELS", "SIM_STATS_KEEP", "SHUTDOWN_TIMEOUT"}

// parse parses args as main does, with env set first.
func parse(t *testing.T, env map[string]string, args ...string) (Options, error) {
	t.Helper()
	for _, k := range envTwins {
		unsetenv(t, k)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var o Options
	fs := flag.NewFlagSet(Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := o.Parse(fs, args)
	return o, err
}

func TestOptionDefaults(t *testing.T) {
	o, err := parse(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{HTTPAddr: ":8080", ControlAddr: ":8090", LogLevel: "info", Protocol: "http/protobuf",
		MetricInterval: 500 * time.Millisecond, KafkaTopic: "inference-log", RPS: 50, Seed: 1, ModelInstances: 2, LabelDelay: 5 * time.Second,
		MaxPendingLabels: 200000, StatsKeep: 5 * time.Minute, ShutdownTimeout: 20 * time.Second}
	if got, want := fmt.Sprintf("%+v", o), fmt.Sprintf("%+v", want); got != want {
		t.Errorf("defaults\n%s\nwant\n%s", got, want)
	}
}

// Every flag has an env twin, and the flag wins when both are set.
func TestFlagsAndEnvTwins(t *testing.T) {
	tests := []struct {
		flag, env, value string
		got              func(Options) any
		want             any
	}{
		{"http-addr", "HTTP_ADDR", ":9000", func(o Options) any { return o.HTTPAddr }, ":9000"},
		{"control-addr", "SIM_CONTROL_ADDR", "", func(o Options) any { return o.ControlAddr }, ""},
		{"log-level", "LOG_LEVEL", "debug", func(o Options) any { return o.LogLevel }, "debug"},
		{"otlp-protocol", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", func(o Options) any { return o.Protocol }, "grpc"},
		{"metric-interval", "SIM_METRIC_INTERVAL", "2s", func(o Options) any { return o.MetricInterval }, 2 * time.Second},
		{"changes-url", "SIM_CHANGES_URL", "http://ingest:8080/v1/changes", func(o Options) any { return o.ChangesURL }, "http://ingest:8080/v1/changes"},
		{"changes-token", "SIM_CHANGES_TOKEN", "s3cret", func(o Options) any { return o.ChangesToken }, "s3cret"},
		{"kafka-brokers", "SIM_KAFKA_BROKERS", "k1:9092,k2:9092", func(o Options) any { return o.KafkaBrokers }, "k1:9092,k2:9092"},
		{"kafka-topic", "SIM_KAFKA_TOPIC", "preds", func(o Options) any { return o.KafkaTopic }, "preds"},
		{"rps", "SIM_RPS", "12.5", func(o Options) any { return o.RPS }, 12.5},
		{"seed", "SIM_SEED", "99", func(o Options) any { return o.Seed }, uint64(99)},
		{"label-delay", "SIM_LABEL_DELAY", "1m", func(o Options) any { return o.LabelDelay }, time.Minute},
		{"max-pending-labels", "SIM_MAX_PENDING_LABELS", "10", func(o Options) any { return o.MaxPendingLabels }, 10},
		{"stats-keep", "SIM_STATS_KEEP", "1h", func(o Options) any { return o.StatsKeep }, time.Hour},
		{"shutdown-timeout", "SHUTDOWN_TIMEOUT", "3s", func(o Options) any { return o.ShutdownTimeout }, 3 * time.Second},
	}
	if len(tests) != len(envTwins) {
		t.Fatalf("%d flags tested, %d env twins", len(tests), len(envTwins))
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			if o, err := parse(t, nil, "--"+tc.flag+"="+tc.value); err != nil || tc.got(o) != tc.want {
				t.Errorf("flag: %v (%v), want %v", tc.got(o), err, tc.want)
			}
			if o, err := parse(t, map[string]string{tc.env: tc.value}); err != nil || tc.got(o) != tc.want {
				t.Errorf("env %s: %v (%v), want %v", tc.env, tc.got(o), err, tc.want)
			}
		})
	}
	o, err := parse(t, map[string]string{"SIM_RPS": "7"}, "--rps", "8")
	if err != nil || o.RPS != 8 {
		t.Errorf("flag and env: rps %v (%v), want the flag's 8", o.RPS, err)
	}
}

// A value that is refused names the flag and its env twin, whichever of the
// two the operator set; an env value that does not parse fails naming it.
func TestBadOptions(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string // in the error
	}{
		{name: "no traffic", args: []string{"--rps", "0"}, want: []string{"--rps", "SIM_RPS"}},
		{name: "no traffic by env", env: map[string]string{"SIM_RPS": "0"}, want: []string{"--rps", "SIM_RPS"}},
		{name: "unknown protocol", args: []string{"--otlp-protocol", "thrift"}, want: []string{"--otlp-protocol", "OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"}},
		{name: "unknown protocol by env", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, want: []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}},
		{name: "no HTTP address", args: []string{"--http-addr="}, want: []string{"--http-addr", "HTTP_ADDR"}},
		{name: "no metric interval", args: []string{"--metric-interval", "0s"}, want: []string{"--metric-interval", "SIM_METRIC_INTERVAL"}},
		{name: "no pending labels", env: map[string]string{"SIM_MAX_PENDING_LABELS": "0"}, want: []string{"--max-pending-labels", "SIM_MAX_PENDING_LABELS"}},
		{name: "no stats window", args: []string{"--stats-keep", "0s"}, want: []string{"--stats-keep", "SIM_STATS_KEEP"}},
		{name: "no shutdown time", args: []string{"--shutdown-timeout", "0s"}, want: []string{"--shutdown-timeout", "SHUTDOWN_TIMEOUT"}},
		{name: "Kafka without a topic", args: []string{"--kafka-brokers", "k:9092", "--kafka-topic="}, want: []string{"--kafka-topic", "SIM_KAFKA_TOPIC"}},
		{name: "negative seed by env", env: map[string]string{"SIM_SEED": "-1"}, want: []string{"SIM_SEED", `"-1"`}},
		{name: "negative seed by flag", args: []string{"--seed", "-1"}, want: []string{"seed"}},
		{name: "rate that is no number by env", env: map[string]string{"SIM_RPS": "fast"}, want: []string{"SIM_RPS", "fast"}},
		{name: "delay that is no duration by env", env: map[string]string{"SIM_LABEL_DELAY": "soon"}, want: []string{"SIM_LABEL_DELAY", "soon"}},
		{name: "bound that is no number by env", env: map[string]string{"SIM_MAX_PENDING_LABELS": "many"}, want: []string{"SIM_MAX_PENDING_LABELS"}},
		{name: "two bad env values", env: map[string]string{"SIM_SEED": "x", "SHUTDOWN_TIMEOUT": "y"}, want: []string{"SIM_SEED", "SHUTDOWN_TIMEOUT"}},
		{name: "unknown flag", args: []string{"--flush-interval", "1s"}, want: []string{"flush-interval"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.env, tc.args...)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}
