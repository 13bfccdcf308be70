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

// kind is how one telemetry type is cut into events: an item's estimated
// JSON size, what of it names the content (for the event id), and the
// event that holds a run of items.
type kind[T any] struct {
	what, eventType string
	size            func(T) int
	hash            func(*hasher, T)
	event           func(source string, run []T) events.Data
}

// batches splits items into events of bounded items and bytes, each with an
// id derived from its content, so that a retried request folds.
func batches[T any](r *Receiver, k kind[T], items []T, rj *rejects) []batch {
	runs, big := chunk(items, k.size, r.cfg.MaxEventItems, r.cfg.MaxEventBytes)
	r.tooBig(rj, k.what, big)
	out := make([]batch, len(runs))
	for i, run := range runs {
		h := newHasher()
		for _, it := range run {
			k.hash(h, it)
		}
		out[i] = batch{id: h.id(k.eventType), data: k.event(r.cfg.Source, run), items: len(run)}
	}
	return out
}

var pointKind = kind[events.Point]{what: "metric point", eventType: events.TypeTelemetryPoints,
	size: func(p events.Point) int {
		return itemOverhead + len(p.Name) + len(p.Service) + len(p.Model) + len(p.ModelVersion) + attrsSize(p.Attributes)
	},
	hash: func(h *hasher, p events.Point) {
		h.str(p.Name)
		h.f64(p.Value)
		h.i64(p.TimeUnixNano)
		h.str(p.Service)
		h.str(p.Model)
		h.str(p.ModelVersion)
		h.attrs(p.Attributes)
	},
	event: func(source string, run []events.Point) events.Data {
		return events.TelemetryPoints{Source: source, Points: run}
	}}

var spanKind = kind[events.Span]{what: "span", eventType: events.TypeTelemetrySpans,
	size: func(s events.Span) int {
		return itemOverhead + 64 + len(s.Name) + len(s.StatusMessage) + len(s.Service) + len(s.Model) + len(s.ModelVersion) + attrsSize(s.Attributes)
	},
	hash: func(h *hasher, s events.Span) {
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
	},
	event: func(source string, run []events.Span) events.Data {
		return events.TelemetrySpans{Source: source, Spans: run}
	}}

var logKind = kind[events.LogRecord]{what: "log record", eventType: events.TypeTelemetryLogs,
	size: func(l events.LogRecord) int {
		return itemOverhead + 64 + len(l.Severity) + len(l.Body) + len(l.Service) + len(l.Model) + len(l.ModelVersion) + attrsSize(l.Attributes)
	},
	hash: func(h *hasher, l events.LogRecord) {
		h.i64(l.TimeUnixNano)
		h.str(l.Severity)
		h.str(l.Body)
		h.str(l.TraceID)
		h.str(l.SpanID)
		h.str(l.Service)
		h.str(l.Model)
		h.str(l.ModelVersion)
		h.attrs(l.Attributes)
	},
	event: func(source string, run []events.LogRecord) events.Data {
		return events.TelemetryLogs{Source: source, Records: run}
	}}

// pointBatches, spanBatches and logBatches split each type into events.
func (r *Receiver) pointBatches(pts []events.Point, rj *rejects) []batch {
	return batches(r, pointKind, pts, rj)
}

func (r *Receiver) spanBatches(spans []events.Span, rj *rejects) []batch {
	return batches(r, spanKind, spans, rj)
}

func (r *Receiver) logBatches(recs []events.LogRecord, rj *rejects) []batch {
	return batches(r, logKind, recs, rj)
}

// tooBig counts items too large for one event.
func (r *Receiver) tooBig(rj *rejects, what string, n int) {
	if n > 0 {
		rj.add(ReasonTooLarge, fmt.Sprintf("a %s is larger than one event may be (MaxEventBytes %d)", what, r.cfg.MaxEventBytes), n)
	}
}
