package query_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/callgraph"
	"github.com/medic-sre/medic/services/rca/internal/query"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
)

// The calls are the child-to-parent pairs across services, once each,
// whether a span was written once or twice.
func TestCallEdges(t *testing.T) {
	base := time.Now().Truncate(time.Second)
	rows := spanRows(t, base)
	st := storetest.New(t)
	ctx := context.Background()
	for _, batch := range [][][]any{rows, rows[:3]} {
		if err := st.Insert(ctx, "spans", synthtest.SpanColumns, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := query.New(st.Conn()).CallEdges(ctx, query.Range{From: base.UnixNano(), To: base.Add(time.Second).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, compareEdges)
	want := []callgraph.Edge{{Caller: "feature-service", Callee: "model-server"}, {Caller: "gateway", Callee: "feature-service"}}
	if !slices.Equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
}

func compareEdges(a, b callgraph.Edge) int {
	return cmp.Or(cmp.Compare(a.Caller, b.Caller), cmp.Compare(a.Callee, b.Callee))
}

// Each service's mean of one metric per second, each point once, and only
// that metric.
func TestMetricByService(t *testing.T) {
	base := time.Now().Truncate(time.Second)
	var rows [][]any
	add := func(ev string, i int, service, name string, v float64) {
		rows = append(rows, archive.PointRow(ev, i, events.Point{Name: name, Value: v, Service: service, TimeUnixNano: base.UnixNano()}))
	}
	add("e1", 0, "api", "svc.latency", 2)
	add("e1", 1, "api", "svc.latency", 4)
	add("e2", 0, "db", "svc.latency", 1)
	add("e2", 1, "db", "svc.errors", 9)
	st := storetest.New(t)
	ctx := context.Background()
	for _, batch := range [][][]any{rows, rows[:1]} {
		if err := st.Insert(ctx, "metrics", archive.MetricColumns, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := query.New(st.Conn()).MetricByService(ctx, "svc.latency", query.Range{From: base.UnixNano(), To: base.Add(time.Second).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b query.MetricBucket) int { return cmp.Compare(a.Service, b.Service) })
	want := []query.MetricBucket{{Service: "api", Bucket: base.Unix(), Value: 3}, {Service: "db", Bucket: base.Unix(), Value: 1}}
	if !slices.Equal(got, want) {
		t.Errorf("rows %+v, want %+v", got, want)
	}
}
