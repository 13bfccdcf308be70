package ingestbench

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Shape of every export request: benchServices resources (service.name
// bench-svc-N) of itemsPerService items each, as an SDK or a Collector
// batching several services sends them.
const (
	benchServices   = 10
	itemsPerRequest = 10000
	itemsPerService = itemsPerRequest / benchServices
)

// signal is one OTLP signal: its path and how to build its nth request.
type signal struct {
	name, path, table string
	build             func(n int, base time.Time) []byte
	// rejected reads the items the receiver's answer says it rejected.
	rejected func(answer []byte) (int64, error)
}

var signals = []signal{
	{"metrics", "/v1/metrics", "metrics", metricsRequest, rejectedPoints},
	{"spans", "/v1/traces", "spans", tracesRequest, rejectedSpans},
	{"logs", "/v1/logs", "logs", logsRequest, rejectedRecords},
}

// at is the time of the nth request: a millisecond apart, so that no two
// requests carry the same content (the ingest service derives event ids
// from content, and JetStream drops a repeated id).
func at(n int, base time.Time) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(base.Add(time.Duration(n) * time.Millisecond))
}

// metricsRequest is a gauge of itemsPerService series per service, one
// data point each, with two attributes like an SDK's.
func metricsRequest(n int, base time.Time) []byte {
	md := pmetric.NewMetrics()
	ts := at(n, base)
	for s := range benchServices {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", fmt.Sprintf("bench-svc-%d", s))
		rm.Resource().Attributes().PutStr("ml.model.name", "fraud")
		g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		g.SetName("request.latency_ms")
		dps := g.SetEmptyGauge().DataPoints()
		for i := range itemsPerService {
			dp := dps.AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(float64(i%97) + 0.5)
			dp.Attributes().PutStr("route", fmt.Sprintf("/predict/%d", i))
			dp.Attributes().PutStr("ml.model.version", "v2")
		}
	}
	raw, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		panic(err)
	}
	return raw
}

// tracesRequest holds traces of ten spans (a server span and nine
// children) with an attribute each.
func tracesRequest(n int, base time.Time) []byte {
	td := ptrace.NewTraces()
	ts := at(n, base)
	for s := range benchServices {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("bench-svc-%d", s))
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range itemsPerService {
			sp := spans.AppendEmpty()
			sp.SetTraceID(traceID(n, s, i/10))
			sp.SetSpanID(spanID(n, s, i))
			if i%10 != 0 {
				sp.SetParentSpanID(spanID(n, s, i-i%10))
				sp.SetKind(ptrace.SpanKindClient)
			} else {
				sp.SetKind(ptrace.SpanKindServer)
			}
			sp.SetName("POST /predict")
			sp.SetStartTimestamp(ts)
			sp.SetEndTimestamp(ts + 3e6)
			sp.Attributes().PutStr("http.route", "/predict")
		}
	}
	raw, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	return raw
}

// logsRequest holds INFO records with a body and an attribute.
func logsRequest(n int, base time.Time) []byte {
	ld := plog.NewLogs()
	ts := at(n, base)
	for s := range benchServices {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("bench-svc-%d", s))
		recs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := range itemsPerService {
			r := recs.AppendEmpty()
			r.SetTimestamp(ts + pcommon.Timestamp(i))
			r.SetSeverityNumber(plog.SeverityNumberInfo)
			r.SetSeverityText("INFO")
			r.Body().SetStr(fmt.Sprintf("served prediction %d of request %d", i, n))
			r.Attributes().PutStr("http.route", "/predict")
		}
	}
	raw, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		panic(err)
	}
	return raw
}

func traceID(n, s, i int) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint32(id[0:], uint32(n))
	binary.BigEndian.PutUint32(id[4:], uint32(s))
	binary.BigEndian.PutUint32(id[8:], uint32(i))
	id[15] = 1
	return id
}

func spanID(n, s, i int) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint16(id[0:], uint16(n))
	binary.BigEndian.PutUint16(id[2:], uint16(s))
	binary.BigEndian.PutUint32(id[4:], uint32(i)+1)
	return id
}
