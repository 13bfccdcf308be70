package frontdoor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/medic/internal/stack"
)

// logFaultTemplate is the simulator's log_errors line as the archiver
// mines it: the shard, the request and the count masked. A request id of
// digits only (1 in 2,000) masks as <NUM>, and then Drain makes it <*>:
// the template is told by its prefix.
const (
	logFaultTemplate = "feature cache shard <HEX> rejected write for request <HEX>: <NUM> entries evicted"
	logFaultPrefix   = "feature cache shard <HEX> rejected write for request "
)

// A log-only failure, end to end: the simulator's feature-service starts
// logging a new error line (log_errors: spans and metrics unchanged); its
// records go through the ingest service and the bus to the archiver, which
// mines them into templates; and the rca service, asked about the
// feature-service's logs, ranks that template first and names it. Medic
// reads nothing of the simulator but its telemetry.
func TestLogOnlyFailureEndToEnd(t *testing.T) {
	integration(t)
	t.Parallel()
	st, db := startWithSimulator(t)
	ctx := context.Background()
	seconds := func(q string, args ...any) int64 {
		var n int64
		if err := db.Conn().QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Logf("%s: %v", q, err)
		}
		return n
	}
	// A baseline: 40 s of healthy traffic in ClickHouse.
	const baseline = 40 * time.Second
	eventually(t, baseline+rowsTimeout, func() string {
		n := seconds("SELECT toInt64(max(time)) - toInt64(min(time)) FROM spans WHERE service = 'feature-service'")
		if n < int64(baseline/time.Second) {
			return fmt.Sprintf("%d s of feature-service spans, want %s", n, baseline)
		}
		return ""
	})
	if n := seconds("SELECT toInt64(count()) FROM log_templates WHERE service = 'feature-service'"); n != 0 {
		t.Fatalf("%d template rows of the healthy feature-service", n)
	}
	faultAt := time.Now()
	control(t, http.MethodPost, st.ControlURL+"/v1/faults", `{"kind":"log_errors"}`)
	// 20 s of the fault (20 lines a second), mined.
	eventually(t, 20*time.Second+rowsTimeout, func() string {
		n := seconds(`SELECT toInt64(sum(count)) FROM (
			SELECT count FROM log_templates WHERE service = 'feature-service' AND startsWith(template, ?)
			LIMIT 1 BY batch_id, service, template_id, severity, bucket)`, logFaultPrefix)
		if n < 380 {
			return fmt.Sprintf("%d lines of %q... mined, want 380", n, logFaultPrefix)
		}
		return ""
	})
	to := time.Now().Add(-2 * time.Second) // the archiver's last batch may be under way
	body := fmt.Sprintf(`{"from": %d, "to": %d, "baseline": "35s", "symptom": {"service": "feature-service", "metric": "logs"}}`,
		faultAt.Add(-5*time.Second).Unix(), to.Unix())
	var got struct {
		Confidence float64 `json:"confidence"`
		Candidates []struct {
			Rank        int                `json:"rank"`
			Kind        string             `json:"kind"`
			ID          string             `json:"id"`
			Score       float64            `json:"score"`
			Explanation string             `json:"explanation"`
			Evidence    map[string]float64 `json:"evidence"`
		} `json:"candidates"`
	}
	raw := control(t, http.MethodPost, st.Procs["rca"].HTTPURL+"/v1/analyses", body)
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
	for _, c := range got.Candidates {
		t.Logf("#%d %-12s %-50s %.3f %s\n    evidence %v", c.Rank, c.Kind, c.ID, c.Score, c.Explanation, c.Evidence)
	}
	t.Logf("confidence %.2f", got.Confidence)
	if len(got.Candidates) == 0 {
		t.Fatalf("no candidates: %s", raw)
	}
	top := got.Candidates[0]
	// The request id is 16 hex digits; one in about 1,800 is digits only
	// and masks as <NUM>, and once the miner has seen one it generalises
	// that position to <*>: either text is the fault's template.
	if top.Rank != 1 || top.Kind != "log_template" || !strings.Contains(top.Explanation, logFaultPrefix) ||
		!strings.Contains(top.Explanation, " <NUM> entries evicted") {
		t.Fatalf("top candidate %+v, want the template %q", top, logFaultTemplate)
	}
	if len(got.Candidates) > 1 && got.Candidates[1].Rank == 1 {
		t.Fatalf("rank 1 is shared: %+v", got.Candidates[:2])
	}
	if got.Confidence < 0.6 {
		t.Fatalf("confidence %.2f, want at least 0.6", got.Confidence)
	}
}

// startWithSimulator runs the simulator and, of Medic, the ingest service,
// the archiver and the rca service, on a fresh database, until the test
// ends.
func startWithSimulator(t *testing.T) (*stack.Stack, *store.Store) {
	t.Helper()
	db := storetest.New(t)
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Config{BinDir: binaries(t), WorkDir: work, ClickHouseAddr: storetest.Addr(),
		Database: db.Database(), Only: []string{"archiver", "ingest", "rca"}, Env: []string{"SIM_RPS=20"},
		Progress: stack.LogTo(t)})
	if err != nil {
		t.Log(stack.LogTails(work, 40))
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Stop(); err != nil {
			t.Errorf("stack stop: %v", err)
		}
		if t.Failed() {
			t.Log(stack.LogTails(work, 40))
		}
	})
	return st, db
}

// control sends body to url and returns the answer, failing the test
// unless it is a 2xx.
func control(t *testing.T, method, url, body string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", method, url, resp.Status, out.String())
	}
	return out.Bytes()
}
