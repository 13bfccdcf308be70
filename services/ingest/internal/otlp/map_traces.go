package otlp

import (
	"encoding/hex"
	"fmt"
	"unicode/utf8"

	"github.com/medic-sre/medic/pkg/events"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// spanKinds names OTLP span kinds as the spans schema does.
var spanKinds = map[ptrace.SpanKind]string{
	ptrace.SpanKindUnspecified: "unspecified",
	ptrace.SpanKindInternal:    "internal",
	ptrace.SpanKindServer:      "server",
	ptrace.SpanKindClient:      "client",
	ptrace.SpanKindProducer:    "producer",
	ptrace.SpanKindConsumer:    "consumer",
}

// mapTraces turns td into spans, rejecting bad spans into rj.
func (r *Receiver) mapTraces(td ptrace.Traces, rj *rejects) []events.Span {
	now := r.cfg.Now()
	out := make([]events.Span, 0, td.SpanCount())
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		o, err := resourceOrigin(rs.Resource())
		if err != nil {
			n := 0
			for j := range rs.ScopeSpans().Len() {
				n += rs.ScopeSpans().At(j).Spans().Len()
			}
			rj.add(ReasonUTF8, err.Error(), n)
			continue
		}
		for j := range rs.ScopeSpans().Len() {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := range spans.Len() {
				if s, ok := r.span(o, spans.At(k), now, rj); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// span maps one span, or rejects it.
func (r *Receiver) span(o origin, sp ptrace.Span, now timeNow, rj *rejects) (events.Span, bool) {
	name := sp.Name()
	switch {
	case sp.TraceID().IsEmpty() || sp.SpanID().IsEmpty():
		rj.add(ReasonInvalidID, fmt.Sprintf("span %q has an empty trace or span id", name), 1)
		return events.Span{}, false
	case name == "":
		rj.add(ReasonMissingName, "a span has no name", 1)
		return events.Span{}, false
	case !utf8.ValidString(name) || !utf8.ValidString(sp.Status().Message()):
		rj.add(ReasonUTF8, fmt.Sprintf("span name or status message %q is not valid UTF-8", name), 1)
		return events.Span{}, false
	}
	sc, err := o.scope(sp.Attributes())
	if err != nil {
		rj.add(ReasonUTF8, fmt.Sprintf("span %q: %v", name, err), 1)
		return events.Span{}, false
	}
	start, err := r.checkTime(sp.StartTimestamp(), now)
	if err == nil {
		_, err = r.checkTime(sp.EndTimestamp(), now)
	}
	if err != nil {
		rj.add(ReasonFuture, fmt.Sprintf("span %q: %v", name, err), 1)
		return events.Span{}, false
	}
	end := int64(sp.EndTimestamp())
	if end == 0 {
		end = start
	}
	traceID, spanID := sp.TraceID(), sp.SpanID()
	s := events.Span{
		TraceID: hex.EncodeToString(traceID[:]), SpanID: hex.EncodeToString(spanID[:]),
		Name: name, Kind: spanKinds[sp.Kind()], StartUnixNano: start, EndUnixNano: end,
		StatusCode: uint8(sp.Status().Code()), StatusMessage: sp.Status().Message(),
		Service: sc.service, Model: sc.model, ModelVersion: sc.version, Attributes: sc.attrs,
	}
	if s.Kind == "" {
		s.Kind = "unspecified"
	}
	if s.StatusCode > 2 {
		s.StatusCode = 0
	}
	if p := sp.ParentSpanID(); !p.IsEmpty() {
		s.ParentSpanID = hex.EncodeToString(p[:])
	}
	return s, true
}
