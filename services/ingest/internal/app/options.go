package app

import (
	"flag"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/ingest/internal/backlog"
	"github.com/medic-sre/medic/services/ingest/internal/otlp"
)

// Name is the service's name, in logs, metrics and its NATS user.
const Name = "ingest"

// Options configure the ingest service.
type Options struct {
	Service service.Options
	// OTLPGRPCAddr and OTLPHTTPAddr are where the OTLP receivers listen:
	// 4317 and 4318 are every OpenTelemetry SDK's and Collector's defaults.
	OTLPGRPCAddr, OTLPHTTPAddr string
	OTLP                       otlp.Config
	// AlertsToken guards the Alertmanager and Grafana webhooks and the
	// change endpoint (/v1/changes) on the runtime's port; empty leaves
	// them off.
	AlertsToken string
	// KafkaBrokers, KafkaGroup and KafkaConfig configure the Kafka source;
	// no brokers leaves it off.
	KafkaBrokers, KafkaGroup, KafkaConfig string
	// Backlog bounds how far behind the archiver may fall before the
	// receivers push back; zero fields take backlog's defaults.
	Backlog backlog.Options
}

// RegisterFlags declares the ingest service's flags, each with an env twin.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	o.Service.Name = Name
	o.Service.RegisterFlags(fs)
	o.OTLP = otlp.DefaultConfig()
	flagenv.StringVar(fs, &o.OTLPGRPCAddr, "otlp-grpc-addr", "OTLP_GRPC_ADDR", ":4317", "address of the OTLP/gRPC receiver (empty: none)")
	flagenv.StringVar(fs, &o.OTLPHTTPAddr, "otlp-http-addr", "OTLP_HTTP_ADDR", ":4318", "address of the OTLP/HTTP receiver, /v1/metrics, /v1/traces, /v1/logs (empty: none)")
	flagenv.BytesVar(fs, &o.OTLP.MaxBodyBytes, "otlp-max-body-bytes", "OTLP_MAX_BODY_BYTES", o.OTLP.MaxBodyBytes, "largest OTLP request, before and after gzip; larger ones are refused with 413")
	flagenv.DurationVar(fs, &o.OTLP.MaxFutureSkew, "otlp-max-future-skew", "OTLP_MAX_FUTURE_SKEW", o.OTLP.MaxFutureSkew, "how far ahead of this clock a timestamp may be; later items are rejected (old ones, a backfill, are accepted)")
	flagenv.IntVar(fs, &o.OTLP.MaxSeriesPerService, "otlp-max-series-per-service", "OTLP_MAX_SERIES_PER_SERVICE", o.OTLP.MaxSeriesPerService, "cardinality limit: metric series per service; new series past it are rejected, naming the limit")
	flagenv.DurationVar(fs, &o.OTLP.FirstIntervalMax, "otlp-histogram-first-interval-max", "OTLP_HISTOGRAM_FIRST_INTERVAL_MAX", o.OTLP.FirstIntervalMax, "a cumulative histogram's first point is stored whole when it covers at most this since its start time (a fresh process), otherwise it only seeds the per-interval deltas")
	flagenv.IntVar(fs, &o.OTLP.MaxInFlight, "otlp-max-in-flight", "OTLP_MAX_IN_FLIGHT", o.OTLP.MaxInFlight, "OTLP requests handled at once; more are answered 429 / RESOURCE_EXHAUSTED so that senders back off")
	flagenv.SecretVar(fs, &o.AlertsToken, "alerts-token", "ALERTS_TOKEN", "bearer token of the Alertmanager (/v1/alerts/alertmanager) and Grafana (/v1/alerts/grafana) webhooks and of the change endpoint (/v1/changes) on --http-addr; empty: none of them")
	flagenv.StringVar(fs, &o.KafkaBrokers, "kafka-brokers", "KAFKA_BROKERS", "", "comma-separated Kafka brokers to read telemetry and inference-log topics from; empty: no Kafka source")
	flagenv.StringVar(fs, &o.KafkaGroup, "kafka-group", "KAFKA_GROUP", "medic-ingest", "Kafka consumer group")
	flagenv.StringVar(fs, &o.KafkaConfig, "kafka-config", "KAFKA_CONFIG", "", "YAML file of the Kafka topics and their field mappings (needed with --kafka-brokers)")
	flagenv.Uint64Var(fs, &o.Backlog.MaxBacklog, "max-backlog", "MAX_BACKLOG", backlog.DefaultMaxBacklog, "telemetry events any archiver consumer may have pending before OTLP is answered 429 / RESOURCE_EXHAUSTED and Kafka reads pause")
	flagenv.FloatVar(fs, &o.Backlog.MaxStreamFill, "max-stream-fill", "MAX_STREAM_FILL", backlog.DefaultMaxStreamFill, "share of the telemetry stream's byte limit that events the archiver has not read may fill before the receivers push back (0..1)")
	flagenv.DurationVar(fs, &o.Backlog.Every, "backlog-check-every", "BACKLOG_CHECK_EVERY", backlog.DefaultEvery, "how often to read the archiver's backlog from JetStream")
	flagenv.DurationVar(fs, &o.OTLP.PublishTimeout, "otlp-publish-timeout", "OTLP_PUBLISH_TIMEOUT", o.OTLP.PublishTimeout, "how long a request waits for JetStream to acknowledge its data before it is answered 503 / UNAVAILABLE")
}

// Validate checks the ingest service's own options before anything connects.
func (o *Options) Validate() error {
	switch {
	case o.OTLPGRPCAddr == "" && o.OTLPHTTPAddr == "":
		return fmt.Errorf("--otlp-grpc-addr (OTLP_GRPC_ADDR) and --otlp-http-addr (OTLP_HTTP_ADDR) are both empty: nothing to receive")
	case o.OTLP.MaxBodyBytes <= 0:
		return fmt.Errorf("--otlp-max-body-bytes (OTLP_MAX_BODY_BYTES) must be above 0")
	case o.OTLP.MaxSeriesPerService <= 0:
		return fmt.Errorf("--otlp-max-series-per-service (OTLP_MAX_SERIES_PER_SERVICE) must be above 0")
	case o.OTLP.FirstIntervalMax <= 0:
		return fmt.Errorf("--otlp-histogram-first-interval-max (OTLP_HISTOGRAM_FIRST_INTERVAL_MAX) must be above 0")
	case o.OTLP.MaxInFlight <= 0:
		return fmt.Errorf("--otlp-max-in-flight (OTLP_MAX_IN_FLIGHT) must be above 0")
	case o.KafkaBrokers != "" && o.KafkaConfig == "":
		return fmt.Errorf("--kafka-brokers (KAFKA_BROKERS) is set but --kafka-config (KAFKA_CONFIG) is empty: name the YAML file of the topics to read")
	case o.OTLP.MaxFutureSkew < 0 || o.OTLP.PublishTimeout <= 0:
		return fmt.Errorf("--otlp-max-future-skew must not be negative and --otlp-publish-timeout must be above 0")
	}
	if err := o.Backlog.Validate(); err != nil {
		return fmt.Errorf("--max-stream-fill (MAX_STREAM_FILL): %w", err)
	}
	s := o.Service
	s.Name = Name
	return s.Validate()
}

// shutdownGrace bounds how long in-flight OTLP requests may finish.
const shutdownGrace = 10 * time.Second
