package otlp

import (
	"fmt"

	"github.com/medic-sre/medic/pkg/events"
)

// itemOverhead is the JSON size of an item's keys and fixed fields, for the
// event size estimate.
const itemOverhead = 160

// attrsSize estimates the JSON size of attributes.
func attrsSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v) + 6
	}
	return n
}

// pointBatches splits points into events.
func (r *Receiver) pointBatches(pts []events.Point, rj *rejects) []batch {
	size := func(p events.Point) int {
		return itemOverhead + len(p.Name) + len(p.Service) + len(p.Model) + len(p.ModelVersion) + attrsSize(p.Attributes)
	}
	runs, big := chunk(pts, size, r.cfg.MaxEventItems, r.cfg.MaxEventBytes)
	r.tooBig(rj, "metric point", big)
	out := make([]batch, len(runs))
	for i, run := range runs {
		h := newHasher()
		for _, p := range run {
			h.str(p.Name)
			h.f64(p.Value)
			h.i64(p.TimeUnixNano)
			h.str(p.Service)
			h.str(p.Model)
			h.str(p.ModelVersion)
			h.attrs(p.Attributes)
		}
		out[i] = batch{id: h.id(events.TypeTelemetryPoints), data: events.TelemetryPoints{Source: r.cfg.Source, Points: run}, items: len(run)}
	}
	return out
}

// spanBatches splits spans into events.
func (r *Receiver) spanBatches(spans []events.Span, rj *rejects) []batch {
	size := func(s events.Span) int {
		return itemOverhead + 64 + len(s.Name) + len(s.StatusMessage) + len(s.Service) + len(s.Model) + len(s.ModelVersion) + attrsSize(s.Attributes)
	}
	runs, big := chunk(spans, size, r.cfg.MaxEventItems, r.cfg.MaxEventBytes)
	r.tooBig(rj, "span", big)
	out := make([]batch, len(runs))
	for i, run := range runs {
		h := newHasher()
		for _, s := range run {
			h.str(s.TraceID)
			h.str(s.SpanID)
			h.str(s.ParentSpanID)
			h.str(s.Name)
			h.str(s.Kind)
			h.i64(s.StartUnixNano)
			h.i64(s.EndUnixNano)
			h.i64(int64(s.StatusCode))
			h.str(s.StatusMessage)
			h.str(s.Service)
			h.str(s.Model)
			h.str(s.ModelVersion)
			h.attrs(s.Attributes)
		}
		out[i] = batch{id: h.id(events.TypeTelemetrySpans), data: events.TelemetrySpans{Source: r.cfg.Source, Spans: run}, items: len(run)}
	}
	return out
}

// logBatches splits log records into events.
func (r *Receiver) logBatches(recs []events.LogRecord, rj *rejects) []batch {
	size := func(l events.LogRecord) int {
		return itemOverhead + 64 + len(l.Severity) + len(l.Body) + len(l.Service) + len(l.Model) + len(l.ModelVersion) + attrsSize(l.Attributes)
	}
	runs, big := chunk(recs, size, r.cfg.MaxEventItems, r.cfg.MaxEventBytes)
	r.tooBig(rj, "log record", big)
	out := make([]batch, len(runs))
	for i, run := range runs {
		h := newHasher()
		for _, l := range run {
			h.i64(l.TimeUnixNano)
			h.str(l.Severity)
			h.str(l.Body)
			h.str(l.TraceID)
			h.str(l.SpanID)
			h.str(l.Service)
			h.str(l.Model)
			h.str(l.ModelVersion)
			h.attrs(l.Attributes)
		}
		out[i] = batch{id: h.id(events.TypeTelemetryLogs), data: events.TelemetryLogs{Source: r.cfg.Source, Records: run}, items: len(run)}
	}
	return out
}

// tooBig counts items too large for one event.
func (r *Receiver) tooBig(rj *rejects, what string, n int) {
	if n > 0 {
		rj.add(ReasonTooLarge, fmt.Sprintf("a %s is larger than one event may be (MaxEventBytes %d)", what, r.cfg.MaxEventBytes), n)
	}
}
