package query_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/query"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
)

// Spans and resource metrics of two model-server instances, one named by
// service.instance.id and one by k8s.pod.name only, plus a gateway span
// that names none and a call that failed in the instance's child.
func TestInstanceBehaviourAndResources(t *testing.T) {
	base := time.Now().Truncate(time.Second)
	row := func(id, parent, service string, dur time.Duration, failed bool, keys, values []string) []any {
		status := uint8(1)
		if failed {
			status = 2
		}
		return []any{base, base.UnixNano(), base.Add(dur).UnixNano(), int64(dur), "t-" + id, id, parent, service, "predict", "server",
			status, "", "fraud", "v1", keys, values}
	}
	ms := time.Millisecond
	spans := [][]any{
		row("g", "", "gateway", 100*ms, true, []string{}, []string{}),
		row("a", "g", "model-server", 30*ms, false, []string{"service.instance.id", "k8s.pod.name"}, []string{"ms-0", "pod-0"}),
		row("b", "g", "model-server", 50*ms, true, []string{"k8s.pod.name"}, []string{"pod-1"}),
		row("b2", "", "model-server", 10*ms, false, []string{"k8s.pod.name"}, []string{"pod-1"}),
	}
	st := storetest.New(t)
	ctx := context.Background()
	if err := st.Insert(ctx, "spans", synthtest.SpanColumns, spans); err != nil {
		t.Fatal(err)
	}
	point := func(name, pod string, v float64) events.Point {
		return events.Point{Name: name, Value: v, TimeUnixNano: base.UnixNano(), Service: "model-server",
			Attributes: map[string]string{"k8s.pod.name": pod}}
	}
	batch := telemetry(t, "b-1", point("process.cpu.utilization", "pod-1", 0.9), point("process.cpu.utilization", "pod-1", 0.7),
		point("process.cpu.utilization", "pod-0", 0.2), point("requests", "pod-0", 5))
	if err := archive.WritePoints(ctx, st, []events.Item[events.TelemetryPoints]{batch}); err != nil {
		t.Fatal(err)
	}
	r := query.New(st.Conn())
	rg := query.Range{From: base.UnixNano(), To: base.Add(time.Second).UnixNano()}

	got, err := r.InstanceBehaviour(ctx, "", rg)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b query.InstanceBucket) int { return strings.Compare(a.Instance, b.Instance) })
	want := []query.InstanceBucket{
		{Service: "model-server", Instance: "ms-0", Bucket: base.Unix(), Spans: 1, SelfLatencyMsSum: 30},
		{Service: "model-server", Instance: "pod-1", Bucket: base.Unix(), Spans: 2, SelfErrors: 1, SelfLatencyMsSum: 60},
	}
	if !slices.Equal(got, want) {
		t.Errorf("instance behaviour = %+v, want %+v", got, want)
	}

	res, err := r.InstanceResources(ctx, rg)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(res, func(a, b query.ResourceBucket) int { return strings.Compare(a.Instance, b.Instance) })
	if len(res) != 2 || res[0].Instance != "pod-0" || res[1].Instance != "pod-1" ||
		math.Abs(res[0].Value-0.2) > 1e-9 || math.Abs(res[1].Value-0.8) > 1e-9 || res[1].Name != "process.cpu.utilization" {
		t.Errorf("instance resources = %+v, want pod-0 at 0.2 and pod-1 at 0.8 of process.cpu.utilization", res)
	}
}
