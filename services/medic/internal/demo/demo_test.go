package demo_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/medic/internal/demo"
	"github.com/medic-sre/medic/services/medic/internal/history"
	"github.com/medic-sre/medic/services/medic/internal/stack"
)

// repoRoot is three levels above this package's module root.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
}

// binaries returns MEDIC_BIN_DIR (set by `make test`), or builds the
// programs into a temporary directory.
func binaries(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("MEDIC_BIN_DIR"); dir != "" {
		return dir
	}
	dir := t.TempDir()
	for _, name := range append([]string{"simulator"}, stack.Services...) {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), ".")
		cmd.Dir = filepath.Join(repoRoot(t), "services", name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return dir
}

// TestEndToEnd does what `make demo` does, over real NATS and real
// ClickHouse, and checks the outcome a user would check.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; drop -short to run it")
	}
	s := storetest.New(t)
	bins := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	work := t.TempDir()
	sink := startSink(t)
	st, err := stack.Start(ctx, stack.Config{BinDir: bins, WorkDir: work, ClickHouseAddr: storetest.Addr(),
		Database: s.Database(), Progress: stack.LogTo(t), WebhookURL: sink.URL, WebhookSecret: sink.Secret})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = st.Stop()
		}
		if t.Failed() {
			t.Log(stack.LogTails(work, 40))
		}
	}()
	res, err := demo.Run(ctx, st, s.Conn(), demo.Options{Baseline: demo.DefaultBaseline, Timeout: 90 * time.Second, Out: stack.LogTo(t)})
	if err != nil {
		t.Fatal(err)
	}

	if len(res.IncidentsOpened) != 1 {
		t.Fatalf("incidents opened on the bus: %v, want exactly one", res.IncidentsOpened)
	}
	var incidents uint64
	if err := s.Conn().QueryRow(ctx, "SELECT count() FROM incidents FINAL").Scan(&incidents); err != nil || incidents != 1 {
		t.Fatalf("incidents in ClickHouse: %d (%v), want 1", incidents, err)
	}
	if res.TopCause == nil || res.TopCause.Kind != "model_version" || res.TopCause.ModelVersion != "v2" {
		t.Fatalf("rank-1 cause %+v, want the bad model version fraud@v2", res.TopCause)
	}
	in := res.Incident
	if in.TopCauseKind != "model_version" || in.RemediationOutcome != "succeeded" || in.Status != "resolved" {
		t.Fatalf("incident row %+v", in)
	}
	if in.Detected == 0 || in.Mitigated == 0 || in.Resolved == 0 || in.FaultStarted == 0 {
		t.Fatalf("incident times missing: %+v", in)
	}
	if in.FaultStarted > in.Detected || in.Detected > in.Mitigated || in.Mitigated > in.Resolved {
		t.Fatalf("incident times out of order: %+v", in)
	}
	if res.ErrorRateAfter >= 0.02 {
		t.Fatalf("simulator error rate after recovery %.3f, want < 2%%", res.ErrorRateAfter)
	}
	if res.Durations.MTTD <= 0 || res.Durations.MTTR < res.Durations.MTTD {
		t.Fatalf("durations %+v", res.Durations)
	}
	checkWebhook(t, sink, in.ID)

	st2 := st
	stopped = true
	if err := st2.Stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	checkREADMEQueries(t, s.Conn(), repoRoot(t))
	t.Logf("MTTD %.2fs MTTA %.2fs TTM %.2fs MTTR %.2fs", res.Durations.MTTD, res.Durations.MTTA, res.Durations.TimeToMitigate, res.Durations.MTTR)
}

// startSink starts the demo's webhook sink for one test.
func startSink(t *testing.T) *demo.WebhookSink {
	t.Helper()
	sink, err := demo.StartWebhookSink(demo.SinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	return sink
}

// webhookPosts is what the notifier posted to the demo's sink, each with a
// signature that verified.
func webhookPosts(t *testing.T, sink *demo.WebhookSink) []map[string]any {
	t.Helper()
	if n := sink.Rejected(); n > 0 {
		t.Fatalf("the webhook sink refused %d posts (bad signature or stale)", n)
	}
	var posts []map[string]any
	for _, raw := range sink.Posts() {
		var p map[string]any
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		posts = append(posts, p)
	}
	return posts
}

// checkWebhook checks that the notifier posted the incident's opening and
// resolution once each.
func checkWebhook(t *testing.T, sink *demo.WebhookSink, incident string) {
	t.Helper()
	posts := webhookPosts(t, sink)
	about := map[string]int{}
	for _, p := range posts {
		if p["incident_id"] == incident {
			about[p["about"].(string)]++
		}
	}
	if about["incident.opened"] != 1 || about["incident.resolved"] != 1 {
		t.Fatalf("webhook posts for %s: %v (all: %v)", incident, about, posts)
	}
}

// checkREADMEQueries runs every ```sql block of the README.
func checkREADMEQueries(t *testing.T, conn history.Querier, root string) {
	t.Helper()
	queries := storetest.SQLBlocks(t, filepath.Join(root, "README.md"))
	if len(queries) < 3 {
		t.Fatalf("README has %d SQL examples, want 3", len(queries))
	}
	for i, q := range queries {
		var sb strings.Builder
		n, err := history.Print(context.Background(), conn, q, &sb)
		if err != nil || n == 0 {
			t.Fatalf("README query %d returned %d rows (%v):\n%s", i+1, n, err, q)
		}
		t.Logf("README query %d:\n%s", i+1, sb.String())
	}
}
