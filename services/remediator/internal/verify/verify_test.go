package verify_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
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

// A redelivered detector batch writes its points again; the copies must
// neither count towards min_points nor weigh in the aggregate.
func TestWaitCountsEachPointOnce(t *testing.T) {
	now := time.Now()
	point := func(batch string, i int, v float64) []any {
		return []any{now, now.UnixNano() + int64(i), "prediction.error", v, "model-server", "", "", []string{}, []string{}, batch, uint32(i)}
	}
	// batch writes n points of value v under one event id, copies times.
	batch := func(n int, v float64, copies int) [][]any {
		id := uuid.NewString()
		var rows [][]any
		for range copies {
			for i := range n {
				rows = append(rows, point(id, i, v))
			}
		}
		return rows
	}
	base := runbook.Verify{Metric: "prediction.error", Service: "model-server", Aggregate: "avg", Below: 0.05,
		Window: time.Minute, Timeout: 200 * time.Millisecond}
	tests := []struct {
		name      string
		inserts   [][][]any // each one insert, as a redelivery makes
		minPoints int
		wantErr   bool
		wantN     uint64
	}{
		{name: "copies do not make min_points", inserts: twice(batch(10, 0.01, 1)), minPoints: 15, wantErr: true, wantN: 10},
		{name: "copies of good points do not outweigh bad ones",
			inserts: [][][]any{batch(10, 0.01, 3), batch(2, 0.5, 1)}, minPoints: 1, wantErr: true, wantN: 12},
		{name: "distinct points still pass", inserts: [][][]any{batch(10, 0.01, 2), batch(10, 0.01, 1)}, minPoints: 20, wantN: 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := storetest.New(t)
			for _, rows := range tc.inserts {
				if err := st.Insert(context.Background(), "metrics", columns, rows); err != nil {
					t.Fatal(err)
				}
			}
			c := base
			c.MinPoints = tc.minPoints
			v := &verify.Verifier{Conn: st.Conn(), Interval: 50 * time.Millisecond}
			r, err := v.Wait(context.Background(), c, now.Add(-time.Second).UnixNano())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v (value %v over %d points), want failure=%v", err, r.Value, r.Points, tc.wantErr)
			}
			if r.Points != tc.wantN {
				t.Fatalf("judged %d points, want %d", r.Points, tc.wantN)
			}
		})
	}
}

// twice is one batch inserted twice, as a redelivery does.
func twice(rows [][]any) [][][]any { return [][][]any{rows, rows} }

// slowConn is the real ClickHouse connection, except that every query after
// the first n waits for its context to end first, as a query running when
// the timeout strikes does.
type slowConn struct {
	driver.Conn
	n     int
	calls atomic.Int32
}

func (s *slowConn) QueryRow(ctx context.Context, q string, args ...any) driver.Row {
	if int(s.calls.Add(1)) > s.n {
		<-ctx.Done()
	}
	return s.Conn.QueryRow(ctx, q, args...)
}

// A check that times out reports the last value it measured, not the
// query the timeout interrupted.
func TestWaitTimeoutReportsTheLastMeasurement(t *testing.T) {
	st := storetest.New(t)
	now := time.Now()
	var rows [][]any
	for i := range 12 {
		rows = append(rows, []any{now, now.UnixNano() + int64(i), "prediction.error", 0.6 + float64(i%2)*0.02, "model-server", "", "", []string{}, []string{}, "e", uint32(i)})
	}
	if err := st.Insert(context.Background(), "metrics", columns, rows); err != nil {
		t.Fatal(err)
	}
	c := runbook.Verify{Metric: "prediction.error", Service: "model-server", Aggregate: "avg", Below: 0.05,
		Window: time.Minute, MinPoints: 10, Timeout: 500 * time.Millisecond}
	tests := []struct {
		name string
		c    runbook.Verify
		want string
	}{
		{name: "value above the threshold", c: c, want: "system did not recover: prediction.error avg 0.61 still above 0.05 after 500ms (last of 2 checks)"},
		{name: "too few points", c: func() runbook.Verify { c := c; c.MinPoints = 20; c.Below = 1; return c }(),
			want: "system did not recover: prediction.error avg 0.61 over 12 points, fewer than the 20 needed, after 500ms (last of 2 checks)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &verify.Verifier{Conn: &slowConn{Conn: st.Conn(), n: 2}, Interval: 10 * time.Millisecond}
			r, err := v.Wait(context.Background(), tc.c, now.Add(-time.Second).UnixNano())
			if !errors.Is(err, verify.ErrNotRecovered) || err.Error() != tc.want {
				t.Fatalf("err %v\nwant %s", err, tc.want)
			}
			if r.Points != 12 {
				t.Fatalf("result %+v, want the last measurement of 12 points", r)
			}
		})
	}
}
