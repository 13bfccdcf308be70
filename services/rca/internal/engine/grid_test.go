package engine_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/callgraph"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// Metrics exported every five minutes, each service a few seconds apart
// from the others (as a CloudWatch-style export sends them), meet in
// buckets of the data's own step: the slow callee is found from its
// metric alone, and the call graph puts it above its caller, which only
// inherits its latency.
func TestAnalyzeMetricsSampledEveryFiveMinutes(t *testing.T) {
	const step = 300 * time.Second
	start := time.Unix(1_700_000_000, 0)
	faultAt := start.Add(20 * step)
	rng := rand.New(rand.NewPCG(1, 2))
	var rows [][]any
	point := func(service string, at time.Time, v float64) {
		rows = append(rows, archive.PointRow("ev-"+service+at.String(), 0,
			events.Point{Name: "svc.latency", Value: v, Service: service, TimeUnixNano: at.UnixNano()}))
	}
	for i := range 25 {
		at := start.Add(time.Duration(i) * step)
		slow := 0.0
		if !at.Before(faultAt) {
			slow = 2 + rng.Float64()
		}
		db := 0.05 + 0.01*rng.Float64() + slow
		api := db + 0.02 + 0.01*rng.Float64()
		point("frontend", at, api+0.1+0.01*rng.Float64())
		point("api", at.Add(4*time.Second), api)
		point("db", at.Add(7*time.Second), db)
		point("cache", at.Add(3*time.Second), 0.01+0.01*rng.Float64())
	}
	st := storetest.New(t)
	if err := st.Insert(context.Background(), "metrics", archive.MetricColumns, rows); err != nil {
		t.Fatal(err)
	}
	cfg := engine.DefaultConfig
	cfg.CallGraph = callgraph.New(callgraph.Edge{Caller: "frontend", Callee: "api"}, callgraph.Edge{Caller: "api", Callee: "db"},
		callgraph.Edge{Caller: "api", Callee: "cache"})
	eng := engine.New(query.New(st.Conn()), cfg)
	sym, err := engine.ParseSymptom("frontend", "", "svc.latency", "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Analyze(context.Background(), engine.Request{Symptom: sym,
		Baseline: analysis.Range{From: start.UnixNano(), To: faultAt.UnixNano()},
		Window:   analysis.Range{From: faultAt.UnixNano(), To: faultAt.Add(5 * step).UnixNano()}, AnalyzedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Causes {
		t.Logf("#%d %s %.3f graph %.2f: %s", c.Rank, c.ID, c.Score, c.Evidence["graph"], c.Summary)
	}
	if len(res.Causes) < 2 || res.Causes[0].Service != "db" || res.Causes[1].Service != "api" {
		t.Fatalf("causes %+v, want db first and api second", res.Causes)
	}
}
