package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/services/medic/internal/demo"
	"github.com/medic-sre/medic/services/medic/internal/stack"
)

// upOptions are `medic up`'s flags.
type upOptions struct {
	store                            store.Config
	binDir, workDir, natsURL         string
	grpcAddr, httpAddr, ingestAddr   string
	token, webhookURL, webhookSecret string
	withSimulator                    bool
}

// Up runs Medic for the user's own system until ctx ends (Ctrl-C): NATS
// (embedded unless --nats-url), ClickHouse (CLICKHOUSE_ADDR, or the private
// one scripts/clickhouse.sh starts), and the seven services, each its own
// supervised process. It prints where to send telemetry, alerts and
// changes.
func Up(ctx context.Context, args []string) error {
	return up(ctx, args, os.Stdout)
}

func up(ctx context.Context, args []string, out io.Writer) error {
	var o upOptions
	fs := clickHouseFlags("medic up", &o.store)
	exe, _ := os.Executable()
	flagenv.StringVar(fs, &o.binDir, "bin-dir", "MEDIC_BIN_DIR", filepath.Dir(exe), "directory holding the service binaries")
	flagenv.StringVar(fs, &o.workDir, "work-dir", "MEDIC_WORK_DIR", filepath.Join(os.TempDir(), "medic-up"), "directory for NATS data and process logs")
	flagenv.StringVar(fs, &o.natsURL, "nats-url", "NATS_URL", "", "use this NATS server instead of an embedded one")
	flagenv.StringVar(fs, &o.grpcAddr, "otlp-grpc-addr", "MEDIC_OTLP_GRPC_ADDR", "127.0.0.1:4317", "OTLP/gRPC receiver (empty: a free port); 0.0.0.0:4317 to take other machines' telemetry")
	flagenv.StringVar(fs, &o.httpAddr, "otlp-http-addr", "MEDIC_OTLP_HTTP_ADDR", "127.0.0.1:4318", "OTLP/HTTP receiver (empty: a free port)")
	flagenv.StringVar(fs, &o.ingestAddr, "ingest-addr", "MEDIC_INGEST_ADDR", "127.0.0.1:8088", "alert webhooks and /v1/changes (empty: a free port)")
	flagenv.SecretVar(fs, &o.token, "token", "MEDIC_INGEST_TOKEN", "bearer token of the alert webhooks and /v1/changes (empty: a new one per run, printed)")
	flagenv.StringVar(fs, &o.webhookURL, "webhook-url", "MEDIC_WEBHOOK_URL", "", "where the notifier posts incidents (empty: a local sink that prints them)")
	flagenv.SecretVar(fs, &o.webhookSecret, "webhook-secret", "MEDIC_WEBHOOK_SECRET", "signing secret of --webhook-url (whsec_<base64>)")
	flagenv.BoolVar(fs, &o.withSimulator, "with-simulator", "MEDIC_WITH_SIMULATOR", false, "also run the simulator, sending through the front door like any system")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	if o.webhookURL != "" && o.webhookSecret == "" {
		return fmt.Errorf("--webhook-url is set but --webhook-secret (MEDIC_WEBHOOK_SECRET) is empty: the notifier signs every post")
	}
	if !addrGiven(fs) {
		addr, err := privateClickHouse(ctx, out)
		if err != nil {
			return err
		}
		o.store.Addr = addr
	}
	s, err := openStore(ctx, o.store, 30*time.Second)
	if err != nil {
		return err
	}
	version, _ := s.Conn().ServerVersion()
	_ = s.Close() // only the migrations went through it
	fmt.Fprintf(out, "medic: ClickHouse %v at %s, database %s\n", version, o.store.Addr, o.store.Database)

	if o.webhookURL == "" {
		sink, err := demo.StartWebhookSink(demo.SinkOptions{OnPost: func(b []byte) { printNotificationTo(out, b) }})
		if err != nil {
			return err
		}
		defer func() { _ = sink.Close() }()
		o.webhookURL, o.webhookSecret = sink.URL, sink.Secret
		fmt.Fprintf(out, "medic: notifications go to a local sink that prints them (set --webhook-url to page your people)\n")
	}
	_ = os.RemoveAll(filepath.Join(o.workDir, "nats"))
	st, err := stack.Start(ctx, stack.Config{BinDir: o.binDir, WorkDir: o.workDir, ClickHouseAddr: o.store.Addr,
		Database: o.store.Database, NATSURL: o.natsURL, Progress: out, NoSimulator: !o.withSimulator,
		OTLPGRPCAddr: o.grpcAddr, OTLPHTTPAddr: o.httpAddr, IngestHTTPAddr: o.ingestAddr, IngestToken: o.token,
		WebhookURL: o.webhookURL, WebhookSecret: o.webhookSecret})
	if err != nil {
		return err
	}
	printEndpoints(out, st, o)
	st.Supervise(ctx)
	fmt.Fprintln(out, "medic: stopping (each service drains its in-flight messages)...")
	if err := st.Stop(); err != nil {
		return err
	}
	fmt.Fprintln(out, "medic: stopped")
	return nil
}

// printEndpoints says where the front door is, in the words of the tools
// that will send to it.
func printEndpoints(out io.Writer, st *stack.Stack, o upOptions) {
	fmt.Fprintf(out, `
Medic is up. Point your system at it:

  OpenTelemetry SDKs and Collectors (metrics, traces, logs):
    OTLP/gRPC  %[1]s      export OTEL_EXPORTER_OTLP_ENDPOINT=http://%[1]s OTEL_EXPORTER_OTLP_PROTOCOL=grpc
    OTLP/HTTP  http://%[2]s    export OTEL_EXPORTER_OTLP_ENDPOINT=http://%[2]s
  Prometheus Alertmanager webhook:  %[3]s/v1/alerts/alertmanager   (Authorization: Bearer %[4]s)
  Grafana alerting webhook:         %[3]s/v1/alerts/grafana
  Deploys and config changes:       curl -H 'Authorization: Bearer %[4]s' -d '{"kind":"deploy","service":"my-svc","model":"m","model_version":"v2"}' %[3]s/v1/changes
  Kafka (telemetry JSON or inference logs): restart with KAFKA_BROKERS=host:9092 KAFKA_CONFIG=topics.yaml (see README)
  SQL over the history:             medic sql "SELECT * FROM incidents FINAL"   (CLICKHOUSE_ADDR=%[5]s)

`, st.OTLPGRPCAddr, st.OTLPHTTPAddr, st.IngestURL, st.IngestToken, o.store.Addr)
	if rca, ok := st.Procs["rca"]; ok {
		fmt.Fprintf(out, "  Root-cause analysis of any window:  medic rca --rca-url %s --from TIME --to TIME --symptom service=NAME\n\n", rca.HTTPURL)
	}
	if st.ControlURL != "" {
		fmt.Fprintf(out, "  The simulator sends through that door; break it with:\n    curl -X POST %s/v1/faults -d '{\"kind\":\"bad_model_version\"}'\n\n", st.ControlURL)
	}
	fmt.Fprintf(out, "Logs of every process are in %s. Ctrl-C stops everything.\n", filepath.Join(o.workDir, "logs"))
}

// privateClickHouse starts the private ClickHouse `make demo` uses, with
// scripts/clickhouse.sh from the working directory or beside the binary.
func privateClickHouse(ctx context.Context, out io.Writer) (string, error) {
	exe, _ := os.Executable()
	var script string
	for _, dir := range []string{".", filepath.Join(filepath.Dir(exe), "..", "..")} {
		if p := filepath.Join(dir, "scripts", "clickhouse.sh"); fileExists(p) {
			script = p
			break
		}
	}
	if script == "" {
		return "", fmt.Errorf("%w: CLICKHOUSE_ADDR is not set and scripts/clickhouse.sh is not here to start a private one; "+
			"run from the repository (or `make up`), or export CLICKHOUSE_ADDR=host:9000", ErrNoClickHouse)
	}
	fmt.Fprintf(out, "medic: CLICKHOUSE_ADDR is not set; starting the private ClickHouse (%s start)\n", script)
	if b, err := exec.CommandContext(ctx, script, "start").CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: %s start: %v\n%s", ErrNoClickHouse, script, err, b)
	}
	b, err := exec.CommandContext(ctx, script, "addr").Output()
	if err != nil {
		return "", fmt.Errorf("%s addr: %w", script, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// addrGiven reports whether the ClickHouse address came from a flag or
// CLICKHOUSE_ADDR rather than the default.
func addrGiven(fs *flag.FlagSet) bool {
	given := os.Getenv("CLICKHOUSE_ADDR") != ""
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "clickhouse-addr" })
	return given
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
