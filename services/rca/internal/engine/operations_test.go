package engine_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// shopTraces writes 10 requests a second from start to end: the storefront
// ("GET /") calls the catalog's "GET /items" and "GET /prices", and the
// catalog answers a health check ("GET /healthz") once a second. From
// faultAt on, "GET /prices" fails a third of the time and takes 200 ms more
// of its own; the storefront's request fails with it.
func shopTraces(t *testing.T, st *store.Store, start, faultAt, end time.Time) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 10))
	var rows [][]any
	span := func(trace, id, parent, service, name string, at time.Time, d time.Duration, failed bool) {
		status := uint8(1)
		if failed {
			status = 2
		}
		rows = append(rows, []any{at, at.UnixNano(), at.Add(d).UnixNano(), int64(d), trace, id, parent, service, name,
			"server", status, "", "", "", []string{}, []string{}})
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	for i, at := 0, start; at.Before(end); i, at = i+1, at.Add(100*time.Millisecond) {
		trace, root := fmt.Sprintf("%032x", i+1), fmt.Sprintf("%016x", 3*i+1)
		faulty := !at.Before(faultAt)
		items := ms(8 + 2*rng.Float64())
		prices, failed := ms(5+2*rng.Float64()), false
		if faulty {
			prices += 200 * time.Millisecond
			failed = rng.IntN(3) == 0
		}
		span(trace, fmt.Sprintf("%016x", 3*i+2), root, "catalog", "GET /items", at.Add(time.Millisecond), items, false)
		span(trace, fmt.Sprintf("%016x", 3*i+3), root, "catalog", "GET /prices", at.Add(time.Millisecond+items), prices, failed)
		span(trace, root, "", "storefront", "GET /", at, items+prices+ms(3+rng.Float64()), failed)
		if i%10 == 0 {
			span(fmt.Sprintf("%032x", 1<<40+i), fmt.Sprintf("%016x", 1<<40+i), "", "catalog", "GET /healthz", at, ms(1), false)
		}
	}
	if err := st.Insert(context.Background(), "spans", archive.SpanColumns, rows); err != nil {
		t.Fatal(err)
	}
}

// A faulty operation is proposed and ranks just below its service, above
// the service that merely called it; the catalog's healthy operations and
// the storefront's only one are not proposed, and the operation is no
// rival to its service in the confidence.
func TestFaultyOperationRanksJustBelowItsService(t *testing.T) {
	st := storetest.New(t)
	faultAt := time.Now().Add(-time.Minute).Truncate(time.Second)
	start, end := faultAt.Add(-2*time.Minute), faultAt.Add(30*time.Second)
	shopTraces(t, st, start, faultAt, end)
	eng := engine.New(query.New(st.Conn()), engine.DefaultConfig)
	for _, metric := range []string{"error", "latency"} {
		t.Run(metric, func(t *testing.T) {
			sym, err := engine.ParseSymptom("storefront", "", metric, "")
			if err != nil {
				t.Fatal(err)
			}
			from := faultAt.Add(-3 * time.Second)
			res, err := eng.Analyze(context.Background(), engine.Request{Symptom: sym,
				Baseline: analysis.Range{From: start.UnixNano(), To: from.UnixNano()},
				Window:   analysis.Range{From: from.UnixNano(), To: end.UnixNano()}, AnalyzedAt: end,
				AnalysisID: "rca-1", Trigger: events.TriggerOpened, IncidentID: "inc-1"})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Causes {
				t.Logf("#%d %-32s %.3f %s", c.Rank, c.ID, c.Score, c.Summary)
			}
			if _, err := events.NewWithID("x", "test", res.RCACompleted); err != nil {
				t.Fatalf("result does not validate against its schema: %v", err)
			}
			if len(res.Causes) < 2 || res.Causes[0].ID != "service:catalog" {
				t.Fatalf("causes %+v, want service:catalog first", res.Causes)
			}
			op := res.Causes[1]
			if op.ID != "operation:catalog/GET /prices" || op.Kind != events.CauseOperation || op.Service != "catalog" ||
				op.Rank != 2 {
				t.Fatalf("second cause %+v, want the operation GET /prices of the catalog", op)
			}
			if op.Score < 0.8*res.Causes[0].Score {
				t.Errorf("operation scores %.3f, service %.3f: want it just below", op.Score, res.Causes[0].Score)
			}
			if !strings.Contains(op.Summary, `operation "GET /prices" of service catalog`) {
				t.Errorf("summary %q does not name the operation", op.Summary)
			}
			if sql := res.SQL[op.ID]; len(sql) != 2 || !strings.Contains(sql[1], "AS op") {
				t.Errorf("the operation carries SQL %q: want the symptom's query and the span behaviour by operation", sql)
			}
			for _, q := range res.SQL[op.ID] {
				var n uint64
				if err := st.Conn().QueryRow(context.Background(), "SELECT count() FROM ("+q+")").Scan(&n); err != nil || n == 0 {
					t.Errorf("rerunning the operation's SQL: %d rows, %v\n%s", n, err, q)
				}
			}
			for _, c := range res.Causes {
				if c.ID == "operation:catalog/GET /items" || c.ID == "operation:catalog/GET /healthz" || strings.HasPrefix(c.ID, "operation:storefront/") {
					t.Errorf("a healthy or only operation was proposed: %+v", c)
				}
			}
			// Full margin: the confidence is rank 1's strength alone.
			if want := min(1, res.Causes[0].Score); !res.Baseline.Sufficient || math.Abs(res.Confidence-want) > 1e-9 {
				t.Errorf("confidence %.3f, want %.3f: the catalog's own operation is no rival of the catalog", res.Confidence, want)
			}
		})
	}
}

// A service with a dozen span names yields at most 5 operations, the ones
// whose errors rose; one with thousands (a name per URL) is not split at
// all: the service stands for them.
func TestOperationsAreBounded(t *testing.T) {
	for _, tc := range []struct {
		names, want int
	}{{names: 12, want: 5}, {names: 2000, want: 0}} {
		t.Run(fmt.Sprint(tc.names, " names"), func(t *testing.T) {
			st := storetest.New(t)
			faultAt := time.Now().Add(-time.Minute).Truncate(time.Second)
			start, end := faultAt.Add(-time.Minute), faultAt.Add(20*time.Second)
			var rows [][]any
			for i, at := 0, start; at.Before(end); i, at = i+1, at.Add(10*time.Millisecond) {
				// From faultAt on, the odd names fail: 6 of 12.
				n := i % tc.names
				failed := uint8(1)
				if !at.Before(faultAt) && n < 12 && n%2 == 1 {
					failed = 2
				}
				id := fmt.Sprintf("%016x", i+1)
				rows = append(rows, []any{at, at.UnixNano(), at.Add(time.Millisecond).UnixNano(), int64(time.Millisecond),
					fmt.Sprintf("%032x", i+1), id, "", "cms", fmt.Sprintf("GET /page/%d", n), "server", failed, "", "", "", []string{}, []string{}})
			}
			if err := st.Insert(context.Background(), "spans", archive.SpanColumns, rows); err != nil {
				t.Fatal(err)
			}
			from := faultAt.Add(-time.Second)
			sc := &engine.Scope{Symptom: engine.Symptom{Metric: "error", Service: "cms", Span: query.SpanErrors},
				Baseline: analysis.Range{From: start.UnixNano(), To: from.UnixNano()},
				Window:   analysis.Range{From: from.UnixNano(), To: end.UnixNano()}}
			cands, err := engine.Operations(context.Background(), query.New(st.Conn()), sc)
			if err != nil {
				t.Fatal(err)
			}
			if len(cands) != tc.want {
				t.Fatalf("%d operations proposed, want %d", len(cands), tc.want)
			}
			for _, c := range cands {
				var n int
				if _, err := fmt.Sscanf(c.ID, "operation:cms/GET /page/%d", &n); err != nil || n%2 == 0 {
					t.Errorf("proposed %s, whose errors did not rise", c.ID)
				}
				if !slices.ContainsFunc(c.Signals, func(s analysis.Signal) bool { return len(s.X) > 0 }) {
					t.Errorf("%s has no signal", c.ID)
				}
			}
		})
	}
}
