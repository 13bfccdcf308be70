package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// field reads one label of a point: a point field or an attribute.
type field func(p *events.Point) string

func fieldFor(name string) field {
	switch name {
	case "service":
		return func(p *events.Point) string { return p.Service }
	case "model":
		return func(p *events.Point) string { return p.Model }
	case "model_version":
		return func(p *events.Point) string { return p.ModelVersion }
	}
	return func(p *events.Point) string { return p.Attributes[name] }
}

type matcher struct {
	get  field
	want string
}

// rule is a compiled rules.Rule with its series, by group key.
type rule struct {
	spec      rules.Rule
	window    int64
	forNs     int64
	resolveNs int64
	agg       aggregator
	// stepAgg aggregates one step's points for `for` (see track); scale
	// turns a step's sum or count into the window's terms.
	stepAgg aggregator
	scale   float64
	// perPoint is true when the aggregate is a value of the points (avg,
	// min, max, percentiles), so that one point can breach on its own.
	perPoint bool
	// perExport is true when the points come in exports, several points of
	// one time that only mean something together (a ratio's two counters,
	// a histogram's buckets): one export can breach on its own.
	perExport bool
	// inputs are the point names the rule reads; keyOf tells its samples
	// apart (nil: all are alike, k = 0), and is false for a point it
	// cannot use.
	inputs  []string
	keyOf   func(p *events.Point) (float64, bool)
	cond    func(v float64) bool
	match   []matcher
	groupBy []field
	summary *template.Template
	series  map[string]*series
}

func compile(spec rules.Rule, step time.Duration) (*rule, error) {
	agg, err := aggregatorFor(spec.Aggregate, spec.Window)
	if err != nil {
		return nil, err
	}
	stepAgg, err := aggregatorFor(spec.Aggregate, step)
	if err != nil {
		return nil, err
	}
	cond, err := condition(spec.Op, spec.Threshold)
	if err != nil {
		return nil, err
	}
	tmpl, err := spec.Template()
	if err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	r := &rule{spec: spec, window: int64(spec.Window), forNs: int64(spec.For), resolveNs: int64(spec.ResolveAfter()),
		agg: agg, stepAgg: stepAgg, scale: 1, perPoint: true, cond: cond, summary: tmpl, series: map[string]*series{}}
	r.inputs = []string{spec.Metric}
	switch {
	case spec.Aggregate == "sum", spec.Aggregate == "count":
		r.scale, r.perPoint = float64(spec.Window)/float64(step), false
	case spec.Aggregate == "rate":
		r.perPoint = false
	case spec.Aggregate == rules.AggregateRatio:
		r.perPoint, r.perExport, r.inputs = false, true, []string{spec.Metric, spec.Denominator}
		r.keyOf = func(p *events.Point) (float64, bool) {
			if p.Name == spec.Metric {
				return numerator, true
			}
			return denominator, true
		}
	case strings.HasPrefix(spec.Aggregate, rules.HistogramPrefix):
		r.perPoint, r.perExport, r.inputs, r.keyOf = false, true, []string{spec.Metric + "_bucket"}, bucketBound
	}
	for k, v := range spec.Match {
		r.match = append(r.match, matcher{get: fieldFor(k), want: v})
	}
	for _, g := range spec.GroupBy {
		r.groupBy = append(r.groupBy, fieldFor(g))
	}
	return r, nil
}

func condition(op string, threshold float64) (func(float64) bool, error) {
	switch op {
	case ">":
		return func(v float64) bool { return v > threshold }, nil
	case ">=":
		return func(v float64) bool { return v >= threshold }, nil
	case "<":
		return func(v float64) bool { return v < threshold }, nil
	case "<=":
		return func(v float64) bool { return v <= threshold }, nil
	}
	return nil, fmt.Errorf("unknown op %q", op)
}

func (r *rule) matches(p *events.Point) bool {
	for _, m := range r.match {
		if m.get(p) != m.want {
			return false
		}
	}
	return true
}

// groupKey appends the point's group label values to buf, each followed by
// a separator that cannot occur in a label.
func (r *rule) groupKey(buf []byte, p *events.Point) []byte {
	for _, g := range r.groupBy {
		buf = append(buf, g(p)...)
		buf = append(buf, 0xff)
	}
	return buf
}

// seriesFor finds or creates the series of a group key. The map lookup with
// string(key) does not allocate; only a new series copies the key.
func (r *rule) seriesFor(key []byte, p *events.Point) *series {
	if s, ok := r.series[string(key)]; ok {
		return s
	}
	labels := make(map[string]string, len(r.groupBy))
	for i, name := range r.spec.GroupBy {
		labels[name] = r.groupBy[i](p)
	}
	s := &series{labels: labels, fingerprint: fingerprint(r.spec.Name, labels)}
	r.series[string(key)] = s
	return s
}

// fingerprint identifies a rule's series stably across restarts: a hash of
// the rule name and the sorted group labels.
func fingerprint(rule string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(rule)
	for _, k := range keys {
		fmt.Fprintf(&b, "\x00%s=%s", k, labels[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}
