package synthtest

import (
	"fmt"
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

// counters accumulates requests into cumulative counters and exports them
// every ExportInterval as the ingest service maps an OTLP export: each
// series' running total as <name>, and from its second export on the
// increase per second since the previous one as <name>_rate.
type counters struct {
	next   time.Time
	order  []series
	totals map[series]float64
	// sent is each series' total at its last export; absent before its
	// first, which yields no rate.
	sent    map[series]float64
	exports int
}

func newCounters(start time.Time) *counters {
	return &counters{next: start.Add(ExportInterval), totals: map[series]float64{}, sent: map[series]float64{}}
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
	emit := func(s series, name string, v float64) {
		p := events.Point{Name: name, Value: v, TimeUnixNano: at.UnixNano(), Service: s.service, ModelVersion: s.version}
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
		emit(s, s.name, total)
		if prev, ok := c.sent[s]; ok {
			emit(s, s.name+"_rate", (total-prev)/ExportInterval.Seconds())
		}
		c.sent[s] = total
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
	for _, f := range features {
		c.add(series{service: "feature-service", name: "feature.values", feature: f}, 1)
		if r.missing > 0 && f == "merchant_risk" {
			c.add(series{service: "feature-service", name: "feature.missing", feature: f}, 1)
		}
	}
}
