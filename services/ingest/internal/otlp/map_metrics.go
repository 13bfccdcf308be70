package otlp

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/medic-sre/medic/pkg/events"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// metricMapper maps one request's metrics; it holds the request's clock
// reading and its tally.
type metricMapper struct {
	r   *Receiver
	now time.Time
	rj  *rejects
	out []events.Point
}

// mapMetrics turns md into points, rejecting bad data points into rj.
func (r *Receiver) mapMetrics(md pmetric.Metrics, rj *rejects) []events.Point {
	m := &metricMapper{r: r, now: r.cfg.Now(), rj: rj, out: make([]events.Point, 0, md.DataPointCount())}
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		o, err := resourceOrigin(rm.Resource())
		if err != nil {
			rj.add(ReasonUTF8, err.Error(), resourcePoints(rm))
			continue
		}
		sms := rm.ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m.metric(o, ms.At(k))
			}
		}
	}
	return m.out
}

// resourcePoints counts the data points under one resource.
func resourcePoints(rm pmetric.ResourceMetrics) int {
	md := pmetric.NewMetrics()
	rm.CopyTo(md.ResourceMetrics().AppendEmpty())
	return md.DataPointCount()
}

// metric maps one metric's data points by its type.
func (m *metricMapper) metric(o origin, mt pmetric.Metric) {
	name := mt.Name()
	switch {
	case name == "":
		m.rj.add(ReasonMissingName, "a metric has no name", dataPoints(mt))
		return
	case !utf8.ValidString(name):
		m.rj.add(ReasonUTF8, fmt.Sprintf("metric name %q is not valid UTF-8", name), dataPoints(mt))
		return
	}
	switch mt.Type() {
	case pmetric.MetricTypeGauge:
		m.numbers(o, name, mt.Gauge().DataPoints(), false, false)
	case pmetric.MetricTypeSum:
		s := mt.Sum()
		delta := s.AggregationTemporality() == pmetric.AggregationTemporalityDelta
		m.numbers(o, name, s.DataPoints(), s.IsMonotonic(), delta)
	case pmetric.MetricTypeHistogram:
		h := mt.Histogram()
		cumulative := h.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		dps := h.DataPoints()
		for i := range dps.Len() {
			m.histogram(o, name, dps.At(i), cumulative)
		}
	case pmetric.MetricTypeSummary:
		dps := mt.Summary().DataPoints()
		for i := range dps.Len() {
			m.summary(o, name, dps.At(i))
		}
	case pmetric.MetricTypeExponentialHistogram:
		m.rj.add(ReasonUnsupported, fmt.Sprintf("metric %q is an exponential histogram, which Medic does not take; send explicit bucket histograms (the SDKs' default)", name), dataPoints(mt))
	default:
		m.rj.add(ReasonUnknownType, fmt.Sprintf("metric %q has no known data type", name), 1)
	}
}

// dataPoints counts a metric's data points.
func dataPoints(mt pmetric.Metric) int {
	switch mt.Type() {
	case pmetric.MetricTypeGauge:
		return mt.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return mt.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return mt.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return mt.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return mt.Summary().DataPoints().Len()
	}
	return 1
}

// point is one data point's common part: its series and time.
type point struct {
	name string
	sc   scoped
	t    int64
	key  uint64
}

// begin reads a data point's scope and time, or rejects it.
func (m *metricMapper) begin(o origin, name string, attrs pcommon.Map, ts pcommon.Timestamp) (point, bool) {
	sc, err := o.scope(attrs)
	if err != nil {
		m.rj.add(ReasonUTF8, fmt.Sprintf("metric %q: %v", name, err), 1)
		return point{}, false
	}
	t, err := m.r.checkTime(ts, m.now)
	if err != nil {
		m.rj.add(ReasonFuture, fmt.Sprintf("metric %q: %v", name, err), 1)
		return point{}, false
	}
	return point{name: name, sc: sc, t: t, key: seriesKey(name, sc)}, true
}

// emit appends the points of one data point once all their values pass,
// and admits its series; otherwise it rejects the data point whole.
func (m *metricMapper) emit(p point, pts []events.Point) {
	for _, q := range pts {
		if err := checkValue(q.Value); err != nil {
			m.reject(p.name, err)
			return
		}
	}
	if err := m.r.series.admit(p.key, p.sc.service, m.now); err != nil {
		m.reject(p.name, err)
		return
	}
	m.out = append(m.out, pts...)
}

// reject counts a data point rejected for err.
func (m *metricMapper) reject(name string, err error) {
	reason := ReasonOutOfRange
	var card errCardinality
	switch {
	case errors.Is(err, errNaN):
		reason = ReasonNaN
	case errors.As(err, &card):
		reason = ReasonCardinality
	}
	m.rj.add(reason, fmt.Sprintf("metric %q: %v", name, err), 1)
}

// mk builds a Medic point of p's series.
func (p point) mk(name string, v float64, attrs map[string]string) events.Point {
	return events.Point{Name: name, Value: v, TimeUnixNano: p.t, Service: p.sc.service, Model: p.sc.model, ModelVersion: p.sc.version, Attributes: attrs}
}

// numbers maps gauge and sum data points.
func (m *metricMapper) numbers(o origin, name string, dps pmetric.NumberDataPointSlice, monotonic, delta bool) {
	for i := range dps.Len() {
		dp := dps.At(i)
		if dp.Flags().NoRecordedValue() {
			continue
		}
		p, ok := m.begin(o, name, dp.Attributes(), dp.Timestamp())
		if !ok {
			continue
		}
		var v float64
		switch dp.ValueType() {
		case pmetric.NumberDataPointValueTypeInt:
			v = float64(dp.IntValue())
		case pmetric.NumberDataPointValueTypeDouble:
			v = dp.DoubleValue()
		default:
			m.rj.add(ReasonUnknownType, fmt.Sprintf("metric %q: a data point has no value", name), 1)
			continue
		}
		pts := []events.Point{p.mk(name, v, p.sc.attrs)}
		switch {
		case monotonic && delta:
			if start := int64(dp.StartTimestamp()); start > 0 && p.t > start {
				pts = append(pts, p.mk(name+"_rate", v/float64(p.t-start)*1e9, p.sc.attrs))
			}
		case monotonic:
			m.cumulative(p, int64(dp.StartTimestamp()), v, pts)
			continue
		}
		m.emit(p, pts)
	}
}

// cumulative maps a cumulative monotonic sum's point, adding its rate.
func (m *metricMapper) cumulative(p point, start int64, v float64, pts []events.Point) {
	if err := checkValue(v); err != nil {
		m.reject(p.name, err)
		return
	}
	res, err := m.r.series.cumulative(p.key, p.sc.service, m.now, start, p.t, v)
	if err != nil {
		m.reject(p.name, err)
		return
	}
	if res.ok && checkValue(res.rate) == nil {
		pts = append(pts, p.mk(p.name+"_rate", res.rate, p.sc.attrs))
	}
	m.out = append(m.out, pts...)
}

// histogram maps an explicit bucket histogram the way Prometheus lays one
// out: cumulative _bucket counts by le, _count, _sum (and, for a delta
// histogram, _min and _max). A cumulative histogram is stored as its
// increase since the series' previous point, so that every stored point
// counts one export interval whatever the temporality.
func (m *metricMapper) histogram(o origin, name string, dp pmetric.HistogramDataPoint, cumulative bool) {
	if dp.Flags().NoRecordedValue() {
		return
	}
	p, ok := m.begin(o, name, dp.Attributes(), dp.Timestamp())
	if !ok {
		return
	}
	bounds, counts := dp.ExplicitBounds(), dp.BucketCounts()
	if counts.Len() != 0 && counts.Len() != bounds.Len()+1 {
		m.rj.add(ReasonInvalidPoint, fmt.Sprintf("histogram %q has %d bucket counts for %d bounds; OTLP wants one more count than bounds", name, counts.Len(), bounds.Len()), 1)
		return
	}
	hp := histPoint{start: int64(dp.StartTimestamp()), t: p.t, buckets: counts.AsRaw(), count: dp.Count(), sum: dp.Sum(), hasSum: dp.HasSum()}
	if cumulative {
		m.cumulativeHistogram(p, bounds.AsRaw(), hp)
		return
	}
	pts := histogramPoints(p, bounds.AsRaw(), hp)
	if dp.HasMin() {
		pts = append(pts, p.mk(name+"_min", dp.Min(), p.sc.attrs))
	}
	if dp.HasMax() {
		pts = append(pts, p.mk(name+"_max", dp.Max(), p.sc.attrs))
	}
	m.emit(p, pts)
}

// cumulativeHistogram maps a cumulative histogram's point to its delta
// over the series' previous one. Its _min and _max cover the series' whole
// life, not the interval, so they are not kept.
func (m *metricMapper) cumulativeHistogram(p point, bounds []float64, hp histPoint) {
	if hp.hasSum {
		if err := checkValue(hp.sum); err != nil {
			m.reject(p.name, err)
			return
		}
	}
	hp.layout = boundsLayout(bounds)
	d, ok, err := m.r.series.cumulativeHistogram(p.key, p.sc.service, m.now, hp, m.r.cfg.FirstIntervalMax)
	if err != nil {
		m.reject(p.name, err)
		return
	}
	if ok {
		m.emit(p, histogramPoints(p, bounds, d))
	}
}

// histogramPoints lays hp out as _bucket points (le-cumulative, when it
// has buckets), _count and _sum.
func histogramPoints(p point, bounds []float64, hp histPoint) []events.Point {
	pts := make([]events.Point, 0, len(hp.buckets)+4)
	// A histogram without bucket counts has only a count and a sum.
	if len(hp.buckets) > 0 {
		var cum uint64
		for i, b := range bounds {
			cum += hp.buckets[i]
			pts = append(pts, p.mk(p.name+"_bucket", float64(cum), withAttr(p.sc.attrs, "le", formatBound(b))))
		}
		pts = append(pts, p.mk(p.name+"_bucket", float64(cum+hp.buckets[len(bounds)]), withAttr(p.sc.attrs, "le", "+Inf")))
	}
	pts = append(pts, p.mk(p.name+"_count", float64(hp.count), p.sc.attrs))
	if hp.hasSum {
		pts = append(pts, p.mk(p.name+"_sum", hp.sum, p.sc.attrs))
	}
	return pts
}

// summary maps a summary: a point per quantile, _sum and _count.
func (m *metricMapper) summary(o origin, name string, dp pmetric.SummaryDataPoint) {
	if dp.Flags().NoRecordedValue() {
		return
	}
	p, ok := m.begin(o, name, dp.Attributes(), dp.Timestamp())
	if !ok {
		return
	}
	qs := dp.QuantileValues()
	pts := make([]events.Point, 0, qs.Len()+2)
	for i := range qs.Len() {
		q := qs.At(i)
		pts = append(pts, p.mk(name, q.Value(), withAttr(p.sc.attrs, "quantile", formatBound(q.Quantile()))))
	}
	pts = append(pts, p.mk(name+"_sum", dp.Sum(), p.sc.attrs), p.mk(name+"_count", float64(dp.Count()), p.sc.attrs))
	m.emit(p, pts)
}

// withAttr returns a copy of attrs with k set to v.
func withAttr(attrs map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(attrs)+1)
	maps.Copy(out, attrs)
	out[k] = v
	return out
}

// formatBound renders a bucket bound or quantile as Prometheus does.
func formatBound(f float64) string {
	if math.IsInf(f, +1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// errNaN marks a value that is not a finite number.
var errNaN = errors.New("value is NaN or infinite")

// checkValue accepts the finite values within the points schema's range.
func checkValue(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return errNaN
	}
	if math.Abs(v) > maxValue {
		return fmt.Errorf("value %g is beyond ±%g", v, maxValue)
	}
	return nil
}

// checkTime returns ts in Unix nanoseconds, the receive time when ts is
// unset, and rejects a time too far ahead of now. Old times pass.
func (r *Receiver) checkTime(ts pcommon.Timestamp, now time.Time) (int64, error) {
	if ts == 0 {
		return now.UnixNano(), nil
	}
	limit := now.Add(r.cfg.MaxFutureSkew)
	if uint64(ts) > uint64(limit.UnixNano()) {
		return 0, fmt.Errorf("time %s is more than %s ahead of the receiver's clock (MaxFutureSkew)",
			ts.AsTime().UTC().Format(time.RFC3339), r.cfg.MaxFutureSkew)
	}
	return int64(ts), nil
}
