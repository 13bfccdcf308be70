package verify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
	"github.com/medic-sre/medic/services/remediator/internal/verify"
)

var columns = []string{"time", "time_unix_nano", "name", "value", "service", "model", "model_version",
	"attr_keys", "attr_values", "event_id", "point_index"}

// Points before the last step ended, or outside the window, or of another
// service, must not decide recovery.
func TestWaitJudgesOnlyRecentPointsAfterTheStep(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Now()
	stepEnd := now.Add(-time.Second).UnixNano()
	var rows [][]any
	add := func(at time.Time, service string, v float64, n int) {
		for i := range n {
			ns := at.UnixNano() + int64(i)
			rows = append(rows, []any{at, ns, "prediction.error", v, service, "", "", []string{}, []string{}, "e", uint32(len(rows))})
		}
	}
	add(now.Add(-1500*time.Millisecond), "model-server", 1, 50) // before the step ended
	add(now.Add(-500*time.Millisecond), "model-server", 0.01, 10)
	add(now.Add(-400*time.Millisecond), "gateway", 1, 50)
	add(now.Add(-time.Hour), "model-server", 1, 50) // long before, outside the window
	if err := st.Insert(ctx, "metrics", columns, rows); err != nil {
		t.Fatal(err)
	}
	base := runbook.Verify{Metric: "prediction.error", Service: "model-server", Aggregate: "avg", Below: 0.05,
		Window: 10 * time.Minute, MinPoints: 10, Timeout: 300 * time.Millisecond}
	tests := []struct {
		name    string
		since   int64
		change  func(*runbook.Verify)
		wantErr bool
		wantN   uint64
	}{
		{name: "after the step", since: stepEnd, wantN: 10},
		{name: "from the start of the window", since: 0, wantErr: true, wantN: 60},
		{name: "too few points", since: stepEnd, change: func(v *runbook.Verify) { v.MinPoints = 11 }, wantErr: true, wantN: 10},
		{name: "max over the points", since: stepEnd, change: func(v *runbook.Verify) { v.Aggregate = "max"; v.Below = 0.001 }, wantErr: true, wantN: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			if tc.change != nil {
				tc.change(&c)
			}
			v := &verify.Verifier{Conn: st.Conn(), Interval: 50 * time.Millisecond}
			r, err := v.Wait(ctx, c, tc.since)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, verify.ErrNotRecovered)) {
				t.Fatalf("err %v, want failure=%v", err, tc.wantErr)
			}
			if r.Points != tc.wantN {
				t.Fatalf("judged %d points, want %d", r.Points, tc.wantN)
			}
		})
	}
}
