package verify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/remediator/internal/action"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
	"github.com/medic-sre/medic/services/remediator/internal/verify"
)

// exports are counter exports as ingest writes them: every 500 ms one event
// with, per version, the rates of predictions and prediction errors, and
// the running totals (which a ratio check must not read).
type exports struct {
	rows [][]any
	n    int
}

// add writes count exports from start, each giving per version its
// predictions and errors per second; a negative rate leaves the metric out.
func (e *exports) add(start time.Time, count int, service string, rates map[string][2]float64) {
	for i := range count {
		at := start.Add(time.Duration(i) * 500 * time.Millisecond)
		id := fmt.Sprintf("export-%d", e.n)
		e.n++
		idx := 0
		point := func(name, version string, v float64) {
			e.rows = append(e.rows, []any{at, at.UnixNano(), name, v, service, "fraud", version, []string{}, []string{}, id, uint32(idx)})
			idx++
		}
		for version, r := range rates {
			if r[0] >= 0 {
				point("predictions_rate", version, r[0])
				point("predictions", version, 1e6)
			}
			if r[1] >= 0 {
				point("prediction.errors_rate", version, r[1])
				point("prediction.errors", version, 1e6)
			}
		}
	}
}

// defaultVerify is the check of the default rollback runbook, which these
// tests hold to what the simulator exports.
func defaultVerify(t *testing.T) runbook.Verify {
	t.Helper()
	f, err := runbook.Load("", action.Default("http://serving.invalid", action.NewClient(0)))
	if err != nil {
		t.Fatal(err)
	}
	for _, rb := range f.Runbooks {
		if rb.Name == "rollback-bad-model-version" {
			want := runbook.Verify{Metric: "prediction.errors_rate / predictions_rate", Service: "model-server",
				Aggregate: runbook.AggregateRatio, Below: 0.05, Window: 5 * time.Second, MinPoints: 8, Timeout: time.Minute}
			if *rb.Verify != want {
				t.Fatalf("default verify = %+v, these tests are written for %+v", *rb.Verify, want)
			}
			return *rb.Verify
		}
	}
	t.Fatal("no default runbook rollback-bad-model-version")
	return runbook.Verify{}
}

// A ratio check measures sum(errors) / sum(predictions) over the points
// after the step and in the window, counts the predictions' points, and
// keeps waiting while no predictions arrive.
func TestWaitRatio(t *testing.T) {
	now := time.Now()
	stepEnd := now.Add(-6 * time.Second)
	recent := now.Add(-4500 * time.Millisecond) // 10 exports up to now
	base := defaultVerify(t)
	// Long enough for a query on a loaded machine (300 ms ran out in a full
	// `make test`); the failing cases wait all of it.
	base.Timeout = 2 * time.Second
	tests := []struct {
		name     string
		write    func(e *exports)
		change   func(*runbook.Verify)
		wantErr  bool
		wantN    uint64
		wantText string
	}{
		{name: "recovered", wantN: 10, write: func(e *exports) {
			e.add(now.Add(-7*time.Second), 2, "model-server", map[string][2]float64{"v2": {40, 20}}) // before the step
			e.add(recent, 10, "model-server", map[string][2]float64{"v1": {40, 1}})
			e.add(recent, 10, "gateway", map[string][2]float64{"v2": {40, 20}}) // another service
		}},
		{name: "weighted by requests across versions", wantN: 20, write: func(e *exports) {
			// 1 + 1 errors over 40 + 0 requests: the rolled-back version's
			// zero rates add points but no requests.
			e.add(recent, 10, "model-server", map[string][2]float64{"v1": {40, 1}, "v2": {0, 1}})
		}, change: func(v *runbook.Verify) { v.Below = 0.051 }},
		{name: "still failing", wantN: 10, wantErr: true, write: func(e *exports) {
			e.add(recent, 10, "model-server", map[string][2]float64{"v1": {40, 10}})
		}, wantText: "prediction.errors_rate / predictions_rate ratio 0.25 still above 0.05"},
		{name: "a redelivered export counts once", wantN: 10, wantErr: true, write: func(e *exports) {
			e.add(recent, 10, "model-server", map[string][2]float64{"v1": {40, 1}})
			e.rows = append(e.rows, e.rows...)
		}, change: func(v *runbook.Verify) { v.MinPoints = 11 }, wantText: "over 10 points, fewer than the 11 needed"},
		{name: "errors but no predictions", wantN: 0, wantErr: true, write: func(e *exports) {
			e.add(recent, 10, "model-server", map[string][2]float64{"v1": {-1, 1}})
		}, wantText: "no predictions_rate points arrived"},
		{name: "no requests served", wantN: 10, wantErr: true, write: func(e *exports) {
			e.add(recent, 10, "model-server", map[string][2]float64{"v1": {0, 0}})
		}, wantText: "ratio +Inf still above 0.05"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := storetest.New(t)
			var e exports
			tc.write(&e)
			if err := st.Insert(context.Background(), "metrics", columns, e.rows); err != nil {
				t.Fatal(err)
			}
			c := base
			if tc.change != nil {
				tc.change(&c)
			}
			v := &verify.Verifier{Conn: st.Conn(), Interval: 50 * time.Millisecond, Now: func() time.Time { return now }}
			r, err := v.Wait(context.Background(), c, stepEnd.UnixNano())
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, verify.ErrNotRecovered)) {
				t.Fatalf("err %v (value %v over %d points), want failure=%v", err, r.Value, r.Points, tc.wantErr)
			}
			if r.Points != tc.wantN {
				t.Fatalf("judged %d points (value %v), want %d", r.Points, r.Value, tc.wantN)
			}
			if tc.wantText != "" && !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("err %q, want it to say %q", err, tc.wantText)
			}
		})
	}
}
