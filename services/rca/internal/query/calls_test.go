package query_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/query"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
)

// Calls are read from parent and child spans of different services; a
// call within a service is no edge.
func TestServiceCalls(t *testing.T) {
	base := time.Now().Truncate(time.Second)
	ms := time.Millisecond
	spans := []span{
		{id: "g", service: "gateway", name: "POST /predict", kind: "server", version: "v1", duration: 10 * ms},
		{id: "g-c", parent: "g", service: "gateway", name: "call", kind: "client", version: "v1", duration: 9 * ms},
		{id: "f", parent: "g-c", service: "feature-service", name: "GET /features", kind: "server", version: "v1", duration: 8 * ms},
		{id: "s", parent: "f", service: "feature-store", name: "GET /rows", kind: "server", version: "v1", duration: 2 * ms},
		{id: "m", parent: "g", service: "model-server", name: "predict", kind: "server", version: "v1", duration: 5 * ms},
		{id: "m2", parent: "g", service: "model-server", name: "predict", kind: "server", version: "v1", duration: 5 * ms},
	}
	var rows [][]any
	for _, s := range spans {
		row := s.row(base)
		row[4] = "t-1" // one trace: the helper gives each span its own
		rows = append(rows, row)
	}
	st := storetest.New(t)
	if err := st.Insert(context.Background(), "spans", synthtest.SpanColumns, rows); err != nil {
		t.Fatal(err)
	}
	got, err := query.New(st.Conn()).ServiceCalls(context.Background(), "", query.Range{From: base.UnixNano(), To: base.Add(time.Second).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b query.Call) int { return strings.Compare(a.Caller+a.Callee, b.Caller+b.Callee) })
	want := []query.Call{
		{Caller: "feature-service", Callee: "feature-store", Spans: 1},
		{Caller: "gateway", Callee: "feature-service", Spans: 1},
		{Caller: "gateway", Callee: "model-server", Spans: 2},
	}
	if !slices.Equal(got, want) {
		t.Errorf("calls = %+v, want %+v", got, want)
	}
}
