package otlp

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// benchMetrics builds a request shaped like an SDK's export: services ×
// series gauges and cumulative counters with a few attributes each, one
// data point per series.
func benchMetrics(services, series int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	now := pcommon.NewTimestampFromTime(time.Now())
	for s := range services {
		rm := md.ResourceMetrics().AppendEmpty()
		ra := rm.Resource().Attributes()
		ra.PutStr("service.name", fmt.Sprintf("svc-%d", s))
		ra.PutStr("k8s.pod.name", fmt.Sprintf("svc-%d-0", s))
		ra.PutStr("ml.model.name", "fraud")
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		g := ms.AppendEmpty()
		g.SetName("latency_ms")
		gd := g.SetEmptyGauge().DataPoints()
		c := ms.AppendEmpty()
		c.SetName("requests")
		sum := c.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for i := range series / 2 {
			for _, dp := range []pmetric.NumberDataPoint{gd.AppendEmpty(), sum.DataPoints().AppendEmpty()} {
				dp.SetTimestamp(now)
				dp.SetStartTimestamp(now - 1e9)
				dp.SetDoubleValue(float64(i))
				dp.Attributes().PutStr("ml.model.version", "v2")
				dp.Attributes().PutStr("route", fmt.Sprintf("/predict/%d", i))
			}
		}
	}
	return md
}

// advance moves every data point of md one second on and its value up, as
// the next export of the same series would.
func advance(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for j := range ms.Len() {
			var dps pmetric.NumberDataPointSlice
			if ms.At(j).Type() == pmetric.MetricTypeGauge {
				dps = ms.At(j).Gauge().DataPoints()
			} else {
				dps = ms.At(j).Sum().DataPoints()
			}
			for k := range dps.Len() {
				dp := dps.At(k)
				dp.SetTimestamp(dp.Timestamp() + 1e9)
				dp.SetDoubleValue(dp.DoubleValue() + 10)
			}
		}
	}
}

// newBenchReceiver builds a receiver whose clock runs a year ahead, so that
// the points advance moves forward stay within MaxFutureSkew however many
// iterations run.
func newBenchReceiver(b *testing.B, pub Publisher) *Receiver {
	b.Helper()
	r, err := New(Config{MaxSeriesPerService: 100000, Now: func() time.Time { return time.Now().Add(time.Hour * 24 * 365) }},
		pub, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkMapMetrics measures the mapping alone: pdata to events, with
// rates, cardinality checks, splitting and content ids; no NATS.
func BenchmarkMapMetrics(b *testing.B) {
	md := benchMetrics(10, 1000)
	r := newBenchReceiver(b, nil)
	points := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		advance(md)
		b.StartTimer()
		var rj rejects
		for _, bt := range r.pointBatches(r.mapMetrics(md, &rj), &rj) {
			points += bt.items
		}
		if rj.n > 0 {
			b.Fatal(rj.message())
		}
	}
	b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkExportMetricsBus measures an export end to end into an
// embedded JetStream through a real bus: mapping, schema validation and
// publishing with acks.
func BenchmarkExportMetricsBus(b *testing.B) {
	bus := servicetest.Bus(b)
	md := benchMetrics(10, 1000)
	r := newBenchReceiver(b, bus)
	ctx := context.Background()
	points := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		advance(md)
		b.StartTimer()
		res, err := r.ConsumeMetrics(ctx, md)
		if err != nil || res.Rejected > 0 {
			b.Fatal(err, res.Message)
		}
		points += res.Accepted
	}
	b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
}
