package verify_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
	"github.com/medic-sre/medic/services/remediator/internal/verify"
)

// outageConn is the real ClickHouse connection, except that queries number
// from..to (from 1) fail at once, as they do while ClickHouse is down.
type outageConn struct {
	driver.Conn
	from, to int32
	calls    atomic.Int32
}

func (o *outageConn) QueryRow(ctx context.Context, q string, args ...any) driver.Row {
	if n := o.calls.Add(1); n >= o.from && n <= o.to {
		down, cancel := context.WithCancelCause(ctx)
		cancel(errors.New("dial tcp: connection refused"))
		return o.Conn.QueryRow(down, q, args...)
	}
	return o.Conn.QueryRow(ctx, q, args...)
}

// A failing query is no verdict: Wait polls through an outage and judges
// recovery once queries answer; when the outage outlasts the timeout it
// says it could not verify, never that the system did not recover.
func TestWaitThroughAnOutage(t *testing.T) {
	st := storetest.New(t)
	now := time.Now()
	var rows [][]any
	for i := range 12 {
		rows = append(rows, []any{now, now.UnixNano() + int64(i), "prediction.error", 0.01, "model-server", "", "", []string{}, []string{}, "e", uint32(i)})
	}
	if err := st.Insert(context.Background(), "metrics", columns, rows); err != nil {
		t.Fatal(err)
	}
	c := runbook.Verify{Metric: "prediction.error", Service: "model-server", Aggregate: "avg", Below: 0.05,
		Window: time.Minute, MinPoints: 10, Timeout: 400 * time.Millisecond}
	tests := []struct {
		name     string
		from, to int32
		below    float64
		wantErr  error
		wantText string
	}{
		{name: "outage then recovery", from: 1, to: 5, below: 0.05},
		{name: "outage outlasts the timeout", from: 1, to: 1 << 30, below: 0.05, wantErr: verify.ErrUnverifiable,
			wantText: "could not verify: ClickHouse unreachable: prediction.error queries failing after 400ms (0 checks answered)"},
		{name: "not recovered, then an outage until the timeout", from: 3, to: 1 << 30, below: 0.001, wantErr: verify.ErrUnverifiable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := c
			c.Below = tc.below
			v := &verify.Verifier{Conn: &outageConn{Conn: st.Conn(), from: tc.from, to: tc.to}, Interval: 20 * time.Millisecond}
			r, err := v.Wait(context.Background(), c, now.Add(-time.Second).UnixNano())
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if errors.Is(err, verify.ErrNotRecovered) {
				t.Fatalf("an outage was taken for a verdict: %v", err)
			}
			if !strings.HasPrefix(errString(err), tc.wantText) {
				t.Fatalf("err %q, want it to start %q", errString(err), tc.wantText)
			}
			if tc.wantErr == nil && r.Points != 12 {
				t.Fatalf("result %+v, want 12 points", r)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
