package reliability_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/medic/internal/reliability"
	"github.com/medic-sre/medic/services/medic/internal/stack"
)

// baseline is the healthy traffic a run collects before the fault; with
// reliability.ShortBaselineEnv it is enough for a sure analysis.
const baseline = 20 * time.Second

// testRPS is the simulator's request rate in these runs: half its
// default. Ten full stacks writing spans and logs into one ClickHouse on
// two cores, beside the demo and RCA suites, drove the load average past
// 60 in a full `make test`, and the archiver fell over a minute behind
// (the rollback's check saw no points in its 60 s). Metric points do not
// depend on it: the SDK exports every 500 ms whatever the rate.
const testRPS = "SIM_RPS=25"

// TestReliability plays the bad-model scenario (rollback) under one fault
// per run, each on a fresh stack, and asserts every time the end state of
// the run without faults.
func TestReliability(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end reliability runs; drop -short to run them")
	}
	bins := binaries(t)
	runs := []struct {
		name  string
		fault func() reliability.Fault
		// over bounds the wait for the scenario to end after the fault: 90 s
		// (2 min for the outage) ran out in a full `make test` on two cores.
		over time.Duration
	}{
		{name: "no fault", over: 3 * time.Minute},
		{name: "kill correlator after incident.opened", over: 3 * time.Minute,
			fault: kill("correlator", events.TypeIncidentOpened)},
		{name: "kill detector after anomaly.detected", over: 3 * time.Minute,
			fault: kill("detector", events.TypeAnomalyDetected)},
		{name: "kill remediator after remediation.started", over: 3 * time.Minute,
			fault: kill("remediator", events.TypeRemediationStarted)},
		{name: "kill rca after incident.opened", over: 3 * time.Minute,
			fault: kill("rca", events.TypeIncidentOpened)},
		{name: "kill notifier after incident.opened", over: 3 * time.Minute,
			fault: kill("notifier", events.TypeIncidentOpened)},
		{name: "kill ingest after anomaly.detected", over: 3 * time.Minute,
			fault: kill("ingest", events.TypeAnomalyDetected)},
		{name: "kill archiver after anomaly.detected", over: 3 * time.Minute,
			fault: kill("archiver", events.TypeAnomalyDetected)},
		{name: "kill nats after rca.completed", over: 3 * time.Minute,
			fault: kill("nats", events.TypeRCACompleted)},
		{name: "clickhouse outage 60s after incident.opened", over: 4 * time.Minute,
			fault: func() reliability.Fault {
				return &reliability.Outage{After: events.TypeIncidentOpened, Duration: time.Minute}
			}},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			h := reliability.Start(t, reliability.Options{BinDir: bins, Env: []string{testRPS},
				ProcessEnv: map[string][]string{"rca": reliability.ShortBaselineEnv}})
			h.WaitBaseline(ctx, baseline)
			var f reliability.Fault
			if r.fault != nil {
				f = r.fault()
				f.Arm(h)
			}
			if err := h.Inject(ctx, "bad_model_version"); err != nil {
				t.Fatal(err)
			}
			if f != nil {
				if err := f.Recover(ctx, h); err != nil {
					t.Fatal(err)
				}
			}
			h.WaitOver(ctx, r.over)
			h.CheckEndState(ctx)
			t.Logf("run took %.0fs", time.Since(start).Seconds())
		})
	}
}

func kill(process, after string) func() reliability.Fault {
	return func() reliability.Fault { return &reliability.Kill{Process: process, After: after} }
}

// binaries returns MEDIC_BIN_DIR (set by `make test`), or builds the
// programs, medic included (it runs NATS), into a temporary directory.
func binaries(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("MEDIC_BIN_DIR"); dir != "" {
		return dir
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
	dir := t.TempDir()
	for _, name := range append([]string{"simulator", "medic"}, stack.Services...) {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), ".")
		cmd.Dir = filepath.Join(root, "services", name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return dir
}
