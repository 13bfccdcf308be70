package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/services/medic/internal/demo"
	"github.com/medic-sre/medic/services/medic/internal/stack"
)

// Demo runs the whole stack and the bad-model scenario; it fails when the
// incident does not recover.
func Demo(ctx context.Context, args []string) error {
	var cfg store.Config
	fs := clickHouseFlags("medic demo", &cfg)
	exe, _ := os.Executable()
	var binDir, workDir, natsURL string
	var baseline, timeout time.Duration
	flagenv.StringVar(fs, &binDir, "bin-dir", "MEDIC_BIN_DIR", filepath.Dir(exe), "directory holding the service binaries")
	flagenv.StringVar(fs, &workDir, "work-dir", "MEDIC_WORK_DIR", filepath.Join(os.TempDir(), "medic-demo"), "directory for NATS data and process logs")
	flagenv.StringVar(fs, &natsURL, "nats-url", "NATS_URL", "", "use this NATS server instead of an embedded one")
	flagenv.DurationVar(fs, &baseline, "baseline", "MEDIC_DEMO_BASELINE", demo.DefaultBaseline, "healthy traffic to collect before the fault (the analysis needs 45 s)")
	flagenv.DurationVar(fs, &timeout, "timeout", "MEDIC_DEMO_TIMEOUT", 90*time.Second, "how long to wait for recovery")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	out := os.Stdout
	start := time.Now()
	s, err := openStore(ctx, cfg, 15*time.Second)
	if err != nil {
		return err
	}
	// The services, not this process, write to ClickHouse, so a failed
	// close of this connection loses nothing.
	defer func() { _ = s.Close() }()
	version, _ := s.Conn().ServerVersion()
	fmt.Fprintf(out, "medic: ClickHouse %v at %s, database %s\n", version, cfg.Addr, cfg.Database)
	_ = os.RemoveAll(filepath.Join(workDir, "nats"))
	// The people Medic pages, played by a local sink that verifies the
	// notifier's signatures.
	sink, err := demo.StartWebhookSink(demo.SinkOptions{})
	if err != nil {
		return err
	}
	defer func() { _ = sink.Close() }()
	fmt.Fprintf(out, "medic: webhook sink at %s (Standard Webhooks signatures checked)\n", sink.URL)
	st, err := stack.Start(ctx, stack.Config{BinDir: binDir, WorkDir: workDir, ClickHouseAddr: cfg.Addr,
		Database: cfg.Database, NATSURL: natsURL, Progress: out, WebhookURL: sink.URL, WebhookSecret: sink.Secret})
	if err != nil {
		return err
	}
	res, runErr := demo.Run(ctx, st, s.Conn(), demo.Options{Baseline: baseline, Timeout: timeout, Out: out})
	fmt.Fprintln(out, "medic: stopping (each service drains its in-flight messages)...")
	stopErr := st.Stop()
	if runErr != nil {
		return runErr
	}
	if stopErr != nil {
		fmt.Fprintln(out, "medic: warning:", stopErr)
	}
	fmt.Fprintf(out, "medic: the webhook sink received %d verified notifications (%d refused)\n", len(sink.Posts()), sink.Rejected())
	fmt.Fprintf(out, "medic: demo finished in %.1fs\n", time.Since(start).Seconds())
	return verdict(res)
}

// verdict turns the scenario's result into the exit status.
func verdict(res demo.Result) error {
	switch {
	case res.IncidentID == "":
		return fmt.Errorf("%w: no incident was opened for the fault", ErrNotRecovered)
	case res.RemediationOutcome != "succeeded":
		return fmt.Errorf("%w: remediation %q for incident %s", ErrNotRecovered, res.RemediationOutcome, res.IncidentID)
	case !res.Resolved:
		return fmt.Errorf("%w: incident %s is still open", ErrNotRecovered, res.IncidentID)
	}
	fmt.Printf("medic: recovered: incident %s resolved, MTTD %.2fs, MTTR %.2fs\n", res.IncidentID, res.Durations.MTTD, res.Durations.MTTR)
	return nil
}
