package app

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/telemetry"
)

// Name is the program's name, in its logs.
const Name = "simulator"

// Options configure the simulator. Each flag has an environment twin; the
// OTLP endpoint, headers and protocol are the OpenTelemetry SDK's standard
// OTEL_EXPORTER_OTLP_* variables.
type Options struct {
	// HTTPAddr serves /healthz, /readyz, /metrics and the control API.
	HTTPAddr string
	// ControlAddr serves the control API on a listener of its own as well;
	// empty serves it on HTTPAddr only.
	ControlAddr string
	LogLevel    string
	// Protocol is the OTLP protocol (OTEL_EXPORTER_OTLP_PROTOCOL).
	Protocol string
	// MetricInterval is how often metrics are exported.
	MetricInterval time.Duration
	// ChangesURL and ChangesToken are where deploys and rollbacks are
	// announced (Medic's ingest /v1/changes); empty: nowhere.
	ChangesURL, ChangesToken string
	// KafkaBrokers and KafkaTopic send the inference log (one JSON line
	// per prediction) to Kafka; no brokers: no inference log.
	KafkaBrokers, KafkaTopic string
	// KafkaLabelsTopic, when set with KafkaBrokers, gets each label as it
	// arrives (one JSON line: prediction id, label, time).
	KafkaLabelsTopic string
	// RPS is the synthetic traffic rate.
	RPS  float64
	Seed uint64
	// ModelInstances is how many instances (pods) the model-server runs
	// as, each exporting its own spans and resource metrics; 0: none
	// apart from the model-server's process-wide telemetry.
	ModelInstances int
	// LabelDelay is how long ground-truth labels take to arrive.
	LabelDelay time.Duration
	// MaxPendingLabels bounds the labels waiting to arrive.
	MaxPendingLabels int
	// StatsKeep is the longest window /v1/stats answers for.
	StatsKeep       time.Duration
	ShutdownTimeout time.Duration

	// envErrs are env values that did not parse; Parse reports them.
	envErrs []error
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.HTTPAddr == "":
		return fmt.Errorf("--http-addr (HTTP_ADDR) is empty: give an address such as :8080")
	case o.Protocol != telemetry.ProtocolGRPC && o.Protocol != telemetry.ProtocolHTTP:
		return fmt.Errorf("--otlp-protocol (OTEL_EXPORTER_OTLP_PROTOCOL) is %q: use %q or %q", o.Protocol, telemetry.ProtocolGRPC, telemetry.ProtocolHTTP)
	case o.MetricInterval <= 0:
		return fmt.Errorf("--metric-interval (SIM_METRIC_INTERVAL) must be above 0")
	case o.RPS <= 0:
		return fmt.Errorf("--rps (SIM_RPS) must be above 0, got %v", o.RPS)
	case o.ModelInstances < 0:
		return fmt.Errorf("--model-instances (SIM_MODEL_INSTANCES) must be 0 or more, got %d", o.ModelInstances)
	case o.MaxPendingLabels <= 0:
		return fmt.Errorf("--max-pending-labels (SIM_MAX_PENDING_LABELS) must be above 0")
	case o.StatsKeep <= 0:
		return fmt.Errorf("--stats-keep (SIM_STATS_KEEP) must be above 0")
	case o.KafkaBrokers != "" && o.KafkaTopic == "":
		return fmt.Errorf("--kafka-brokers (SIM_KAFKA_BROKERS) is set but --kafka-topic (SIM_KAFKA_TOPIC) is empty")
	case o.KafkaLabelsTopic != "" && o.KafkaBrokers == "":
		return fmt.Errorf("--kafka-labels-topic (SIM_KAFKA_LABELS_TOPIC) is set but --kafka-brokers (SIM_KAFKA_BROKERS) is empty")
	case o.ShutdownTimeout <= 0:
		return fmt.Errorf("--shutdown-timeout (SHUTDOWN_TIMEOUT) must be above 0")
	}
	return nil
}

// RegisterFlags declares the flags, each defaulting to its env twin.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	str := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, envOr(env, def), usage+" ("+env+")")
	}
	dur := func(p *time.Duration, name, env string, def time.Duration, usage string) {
		fs.DurationVar(p, name, envParse(&o.envErrs, env, def, time.ParseDuration), usage+" ("+env+")")
	}
	str(&o.HTTPAddr, "http-addr", "HTTP_ADDR", ":8080", "address of /healthz, /readyz, /metrics and the control API")
	str(&o.ControlAddr, "control-addr", "SIM_CONTROL_ADDR", ":8090", "address of a second listener for the control API (empty: none)")
	str(&o.LogLevel, "log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	str(&o.Protocol, "otlp-protocol", "OTEL_EXPORTER_OTLP_PROTOCOL", telemetry.ProtocolHTTP, "OTLP protocol: grpc or http/protobuf; the endpoint is OTEL_EXPORTER_OTLP_ENDPOINT")
	dur(&o.MetricInterval, "metric-interval", "SIM_METRIC_INTERVAL", 500*time.Millisecond, "how often metrics are exported (OTEL_METRIC_EXPORT_INTERVAL, in ms, wins when set)")
	str(&o.ChangesURL, "changes-url", "SIM_CHANGES_URL", "", "where deploys and rollbacks are POSTed, e.g. http://ingest:8080/v1/changes (empty: nowhere)")
	str(&o.ChangesToken, "changes-token", "SIM_CHANGES_TOKEN", "", "bearer token of --changes-url")
	str(&o.KafkaBrokers, "kafka-brokers", "SIM_KAFKA_BROKERS", "", "comma-separated Kafka brokers for the inference log (empty: no inference log)")
	str(&o.KafkaTopic, "kafka-topic", "SIM_KAFKA_TOPIC", "inference-log", "Kafka topic of the inference log")
	str(&o.KafkaLabelsTopic, "kafka-labels-topic", "SIM_KAFKA_LABELS_TOPIC", "", "Kafka topic of the label log, each label written when it arrives (empty: none)")
	fs.Float64Var(&o.RPS, "rps", envParse(&o.envErrs, "SIM_RPS", 50, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }), "synthetic requests per second (SIM_RPS)")
	fs.Uint64Var(&o.Seed, "seed", envParse(&o.envErrs, "SIM_SEED", 1, func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }), "random seed of the synthetic traffic (SIM_SEED)")
	fs.IntVar(&o.ModelInstances, "model-instances", envParse(&o.envErrs, "SIM_MODEL_INSTANCES", 2, strconv.Atoi), "instances (pods) of the model-server, each with its own service.instance.id and k8s.pod.name (SIM_MODEL_INSTANCES)")
	dur(&o.LabelDelay, "label-delay", "SIM_LABEL_DELAY", 5*time.Second, "how long ground-truth labels take to arrive")
	fs.IntVar(&o.MaxPendingLabels, "max-pending-labels", envParse(&o.envErrs, "SIM_MAX_PENDING_LABELS", 200000, strconv.Atoi), "labels kept until they arrive; past it the oldest are dropped (SIM_MAX_PENDING_LABELS)")
	dur(&o.StatsKeep, "stats-keep", "SIM_STATS_KEEP", 5*time.Minute, "longest window /v1/stats answers for")
	dur(&o.ShutdownTimeout, "shutdown-timeout", "SHUTDOWN_TIMEOUT", 20*time.Second, "how long shutdown may take to flush telemetry")
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// envParse reads an env default; a value that does not parse goes to errs,
// so that the program fails at start naming it.
func envParse[T any](errs *[]error, key string, def T, parse func(string) (T, error)) T {
	v, ok := os.LookupEnv(key)
	if !ok {
		return def
	}
	out, err := parse(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q: %w", key, v, err))
		return def
	}
	return out
}

// Parse reads flags and env into o.
func (o *Options) Parse(fs *flag.FlagSet, args []string) error {
	o.RegisterFlags(fs)
	if len(o.envErrs) > 0 {
		return fmt.Errorf("bad environment: %w", errors.Join(o.envErrs...))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	return o.Validate()
}
