package synthtest

import (
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
)

// SpanColumns are the columns of the spans table, in the order of Data.Spans.
// The metrics and events tables' columns are archive.MetricColumns and
// archive.EventColumns.
var SpanColumns = []string{"time", "start_unix_nano", "end_unix_nano", "duration_ns", "trace_id", "span_id",
	"parent_span_id", "service", "name", "kind", "status_code", "status_message", "model", "model_version",
	"attr_keys", "attr_values"}

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// Fixed overheads of the simulated hops, as in the simulator.
const (
	gatewayOverheadMs = 1.0
	hopMs             = 0.5
)

// spans writes the request's trace as the simulator does: the gateway calls
// the feature-service, then the model-server, so both are the gateway's
// children. A failed prediction fails the gateway's span too, as the error
// propagates to the caller; the feature-service's span stays ok.
func (g *generator) spans(r req) {
	gw := g.hex(8)
	fAt := r.t.Add(ms(gatewayOverheadMs))
	mAt := fAt.Add(ms(r.featureMs + hopMs))
	end := mAt.Add(ms(r.modelMs + hopMs))
	g.span(r, g.hex(8), gw, "feature-service", "GET /features", fAt, ms(r.featureMs), false)
	g.span(r, g.hex(8), gw, "model-server", "predict", mAt, ms(r.modelMs), r.failed)
	g.span(r, gw, "", "gateway", "POST /predict", r.t, end.Sub(r.t), r.failed)
}

func (g *generator) span(r req, id, parent, service, name string, start time.Time, d time.Duration, failed bool) {
	status, msg := uint8(1), ""
	if failed {
		status, msg = 2, "prediction failed"
	}
	g.data.Spans = append(g.data.Spans, []any{start.UTC(), start.UnixNano(), start.Add(d).UnixNano(), int64(d),
		r.trace, id, parent, service, name, "server", status, msg, Model, r.version, []string{}, []string{}})
}

// latencyMs is the request's latency as the gateway sees it.
func (r req) latencyMs() float64 { return gatewayOverheadMs + r.featureMs + hopMs + r.modelMs + hopMs }

// metrics writes the points each service reports for the request.
func (g *generator) metrics(r req) {
	failed := 0.0
	if r.failed {
		failed = 1
	}
	points := []events.Point{
		{Name: "request.latency_ms", Value: r.latencyMs(), Service: "gateway"},
		{Name: "request.error", Value: failed, Service: "gateway"},
		{Name: "feature.latency_ms", Value: r.featureMs, Service: "feature-service"},
		{Name: "feature.missing_ratio", Value: r.missing, Service: "feature-service"},
		{Name: "prediction.latency_ms", Value: r.modelMs, Service: "model-server"},
		{Name: "prediction.error", Value: failed, Service: "model-server"},
	}
	if !r.failed {
		points = append(points, events.Point{Name: "prediction.score", Value: g.rng.Float64() * 0.2, Service: "model-server"})
	}
	for i, p := range points {
		p.TimeUnixNano, p.Model, p.ModelVersion = r.t.UnixNano(), Model, r.version
		g.data.Metrics = append(g.data.Metrics, archive.PointRow("ev-"+r.trace, i, p))
	}
}

// changes records a gateway config change long before the fault, which must
// not be blamed, and the deploy of v2 for bad_model_version. The other
// faults are injected without a change, as in the simulator.
func (g *generator) changes() error {
	old := events.ChangeRecorded{ChangeID: "chg-gateway-config", Kind: "config", Service: "gateway",
		TimeUnixNano: g.s.FaultAt.Add(-8 * time.Minute).UnixNano()}
	all := []events.ChangeRecorded{old}
	if at, ok := g.s.startOf(BadModelVersion); ok {
		g.data.Change = events.ChangeRecorded{ChangeID: "chg-deploy-v2", Kind: "deploy", Service: "model-server",
			Model: Model, ModelVersion: "v2", PreviousVersion: "v1", TimeUnixNano: at.UnixNano()}
		all = append(all, g.data.Change)
	}
	for _, c := range all {
		ev, err := events.NewWithID(events.DerivedID("change", c.ChangeID), "simulator", c)
		if err != nil {
			return err
		}
		ev.SetTime(time.Unix(0, c.TimeUnixNano))
		g.data.Events = append(g.data.Events, archive.EventRow(events.Raw{Meta: events.MetaOf(ev), Data: ev.Data()}))
	}
	return nil
}
