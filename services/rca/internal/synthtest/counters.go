package synthtest

import (
	"fmt"
	"strconv"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
)

// ExportInterval is how often the simulated SDK exports its counters.
const ExportInterval = 500 * time.Millisecond

// features are the features the feature-service serves; feature_nulls
// nulls merchant_risk, as in the simulator.
var features = []string{"amount", "account_age_days", "merchant_risk"}

// series is one counter series: a metric with its attributes.
type series struct {
	service, name, version, feature string
}

// latencyBounds are the histograms' bucket bounds in milliseconds.
var latencyBounds = []float64{5, 10, 25, 50, 100, 250, 500, 1000}

// histogram is a cumulative explicit-bucket histogram.
type histogram struct {
	sum, count float64
	// buckets counts the values up to each of latencyBounds, then all.
	buckets []float64
}

func (h *histogram) observe(v float64) {
	h.sum += v
	h.count++
	for i, le := range latencyBounds {
		if v <= le {
			h.buckets[i]++
		}
	}
	h.buckets[len(latencyBounds)]++
}

// counters accumulates requests into cumulative counters and histograms
// and exports them every ExportInterval as the ingest service maps an OTLP
// export: each counter's running total as <name>, and from its second
// export on the increase per second since the previous one as
// <name>_rate; each histogram as <name>_bucket (attribute le), <name>_sum
// and <name>_count, running totals all.
type counters struct {
	next   time.Time
	order  []series
	totals map[series]float64
	// sent is each series' total at its last export; absent before its
	// first, which yields no rate.
	sent       map[series]float64
	histOrder  []series
	histograms map[series]*histogram
	exports    int
}

func newCounters(start time.Time) *counters {
	return &counters{next: start.Add(ExportInterval), totals: map[series]float64{}, sent: map[series]float64{},
		histograms: map[series]*histogram{}}
}

// observe records v in the histogram s.
func (c *counters) observe(s series, v float64) {
	h, ok := c.histograms[s]
	if !ok {
		h = &histogram{buckets: make([]float64, len(latencyBounds)+1)}
		c.histograms[s] = h
		c.histOrder = append(c.histOrder, s)
	}
	h.observe(v)
}

// add counts v on s; a series exists from its first add, as in an SDK.
func (c *counters) add(s series, v float64) {
	if _, ok := c.totals[s]; !ok {
		c.order = append(c.order, s)
	}
	c.totals[s] += v
}

// exportUntil writes every export due up to t.
func (c *counters) exportUntil(t time.Time, out *[][]any) {
	for !c.next.After(t) {
		c.export(c.next, out)
		c.next = c.next.Add(ExportInterval)
	}
}

func (c *counters) export(at time.Time, out *[][]any) {
	id := fmt.Sprintf("export-%d", c.exports)
	c.exports++
	i := 0
	emit := func(s series, name string, v float64, attrs map[string]string) {
		p := events.Point{Name: name, Value: v, TimeUnixNano: at.UnixNano(), Service: s.service, ModelVersion: s.version,
			Attributes: attrs}
		if s.service != "feature-service" {
			p.Model = Model
		}
		if s.feature != "" {
			p.Attributes = map[string]string{"feature": s.feature}
		}
		*out = append(*out, archive.PointRow(id, i, p))
		i++
	}
	for _, s := range c.order {
		total := c.totals[s]
		emit(s, s.name, total, nil)
		if prev, ok := c.sent[s]; ok {
			emit(s, s.name+"_rate", (total-prev)/ExportInterval.Seconds(), nil)
		}
		c.sent[s] = total
	}
	for _, s := range c.histOrder {
		h := c.histograms[s]
		for i, n := range h.buckets {
			le := "+Inf"
			if i < len(latencyBounds) {
				le = strconv.FormatFloat(latencyBounds[i], 'f', -1, 64)
			}
			emit(s, s.name+"_bucket", n, map[string]string{"le": le})
		}
		emit(s, s.name+"_sum", h.sum, nil)
		emit(s, s.name+"_count", h.count, nil)
	}
}

// count adds a request to the counters the simulator's services keep. The
// gateway and the model-server count per model version; the
// feature-service counts per feature and names no model, since it serves
// every model.
//
// Errors and missing values are counted only when they happen, so their
// series start late and their first increase yields no rate, as with an
// SDK that is asked to add only then.
func (g *generator) count(r req) {
	c := g.counters
	c.exportUntil(r.t, &g.data.Metrics)
	c.add(series{service: "gateway", name: "requests", version: r.version}, 1)
	c.add(series{service: "model-server", name: "predictions", version: r.version}, 1)
	if r.failed {
		c.add(series{service: "gateway", name: "request.errors", version: r.version}, 1)
		c.add(series{service: "model-server", name: "prediction.errors", version: r.version}, 1)
	}
	c.observe(series{service: "gateway", name: "request.latency_ms", version: r.version}, r.latencyMs())
	c.observe(series{service: "feature-service", name: "feature.latency_ms"}, r.featureMs)
	c.observe(series{service: "model-server", name: "prediction.latency_ms", version: r.version}, r.modelMs)
	for _, f := range features {
		c.add(series{service: "feature-service", name: "feature.values", feature: f}, 1)
		if r.missing > 0 && f == "merchant_risk" {
			c.add(series{service: "feature-service", name: "feature.missing", feature: f}, 1)
		}
	}
}
