package app

import (
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv/flagenvtest"
)

// The ingest service's flags keep their env twins, its defaults are the
// OTLP ports every SDK uses, and a bad value names the flag and its twin.
func TestOptions(t *testing.T) {
	flagenvtest.Run(t, func() *Options { return &Options{} }, []flagenvtest.Case{
		{Name: "defaults"},
		{Name: "nothing to receive", Args: []string{"--otlp-grpc-addr", "", "--otlp-http-addr", ""}, Want: []string{"--otlp-grpc-addr", "OTLP_HTTP_ADDR"}},
		{Name: "kafka without topics", Env: map[string]string{"KAFKA_BROKERS": "kafka:9092"}, Want: []string{"--kafka-config", "KAFKA_CONFIG"}},
		{Name: "no series allowed", Env: map[string]string{"OTLP_MAX_SERIES_PER_SERVICE": "0"}, Want: []string{"--otlp-max-series-per-service", "OTLP_MAX_SERIES_PER_SERVICE"}},
		{Name: "no first histogram interval", Env: map[string]string{"OTLP_HISTOGRAM_FIRST_INTERVAL_MAX": "0s"}, Want: []string{"--otlp-histogram-first-interval-max", "OTLP_HISTOGRAM_FIRST_INTERVAL_MAX"}},
		{Name: "stream fill above 1", Env: map[string]string{"MAX_STREAM_FILL": "1.5"}, Want: []string{"--max-stream-fill", "MAX_STREAM_FILL"}},
		{Name: "unparsable backlog", Args: []string{"--max-backlog", "-1"}, Want: []string{"max-backlog"}},
		{Name: "unparsable body limit", Env: map[string]string{"OTLP_MAX_BODY_BYTES": "big"}, Want: []string{"OTLP_MAX_BODY_BYTES"}},
	})
}

func TestOptionDefaults(t *testing.T) {
	var o Options
	if err := flagenvtest.Parse(t, &o, nil); err != nil {
		t.Fatal(err)
	}
	if o.OTLPGRPCAddr != ":4317" || o.OTLPHTTPAddr != ":4318" || o.KafkaGroup != "medic-ingest" || o.AlertsToken != "" || o.OTLP.MaxBodyBytes <= 0 ||
		o.Backlog.MaxBacklog != 2000 || o.Backlog.MaxStreamFill != 0.9 || o.Backlog.Every != time.Second {
		t.Errorf("defaults %+v", o)
	}
}
