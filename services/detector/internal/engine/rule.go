package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
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

	// cellKind says whether the series keep their windows as cells of
	// sums (see cells.go), and what they sum; cellStep is a cell's span
	// (0: one cell an export), cellWidth its sums (a histogram's grow with
	// its bounds). cellAgg and stepCellAgg are agg and stepAgg over cells;
	// bounds are the histogram bounds the series share.
	cellKind             cellKind
	cellStep             int64
	cellWidth            int
	cellAgg, stepCellAgg cellAggregator
	bounds               [][]float64
	// better says which of two values an extreme cell keeps (min, max).
	better func(a, b float64) bool

	// kind is the rule's detector; for a baseline-relative one (zscore,
	// ewma), zcond tests a z-score against the limit, and newBaseline
	// makes a series' baseline (nil for a threshold rule).
	kind        string
	zcond       func(z float64) bool
	newBaseline func() baseline
	// windowSteps, baselineSteps, ringStride (steps a slot) and ringLen
	// (slots) size a zscore ring; alpha is an ewma's smoothing per step;
	// baselineSeconds is the evidence's baseline span.
	windowSteps, baselineSteps int64
	ringStride                 int64
	ringLen                    int
	minBaseline                int
	alpha                      float64
	baselineSeconds            float64
	// noData is the rule's no_data action, taken once a window has been
	// empty for noDataNs.
	noData   string
	noDataNs int64

	// ml is set for the ML detectors (drift, missing_rate, out_of_range,
	// volume, canary), which judge tumbling windows (see mlrule.go).
	ml *mlRule
}

func compile(spec rules.Rule, step time.Duration) (*rule, error) {
	if spec.ML() {
		return compileML(spec, step)
	}
	agg, err := aggregatorFor(spec.Aggregate, spec.Window)
	if err != nil {
		return nil, err
	}
	stepAgg, err := aggregatorFor(spec.Aggregate, step)
	if err != nil {
		return nil, err
	}
	tmpl, err := spec.Template()
	if err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	r := &rule{spec: spec, window: int64(spec.Window), forNs: int64(spec.For), resolveNs: int64(spec.ResolveAfter()),
		agg: agg, stepAgg: stepAgg, scale: 1, perPoint: true, summary: tmpl, series: map[string]*series{},
		kind: spec.Kind(), noData: spec.NoDataAction(), noDataNs: int64(spec.NoDataGrace())}
	if err := r.compileDetector(step); err != nil {
		return nil, err
	}
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
	r.compileCells(step)
	for k, v := range spec.Match {
		r.match = append(r.match, matcher{get: fieldFor(k), want: v})
	}
	for _, g := range spec.GroupBy {
		r.groupBy = append(r.groupBy, fieldFor(g))
	}
	return r, nil
}

// compileDetector sets up the rule's comparison: a fixed threshold, or a
// z-score limit and the baseline each series keeps.
func (r *rule) compileDetector(step time.Duration) error {
	spec := r.spec
	if !spec.BaselineRelative() {
		cond, err := condition(spec.Op, spec.Threshold)
		r.cond = cond
		return err
	}
	limit := spec.Limit()
	switch spec.Op {
	case ">":
		r.zcond = func(z float64) bool { return z > limit }
	case "<":
		r.zcond = func(z float64) bool { return z < -limit }
	case rules.OpAbs:
		r.zcond = func(z float64) bool { return math.Abs(z) > limit }
	default:
		return fmt.Errorf("op %q is not one of %s for detector %s", spec.Op, strings.Join(rules.BaselineOps, ", "), r.kind)
	}
	r.minBaseline = spec.MinBaseline()
	r.windowSteps = ceilDiv(int64(spec.Window), int64(step))
	switch r.kind {
	case rules.DetectorZScore:
		r.baselineSteps = ceilDiv(int64(spec.BaselineSpan()), int64(step))
		r.baselineSeconds = spec.BaselineSpan().Seconds()
		// A slot every other step once windows are 10 steps or more (see
		// zscoreBaseline); the +1 is the stride being filled.
		r.ringStride = 1
		if r.windowSteps >= 10 {
			r.ringStride = 2
		}
		n := ceilDiv(r.windowSteps+r.baselineSteps, r.ringStride) + 1
		if n > maxRing {
			return fmt.Errorf("baseline %v and window %v are %d slots of %v; at most %d: shorten the baseline, or lengthen the window or --eval-interval",
				spec.BaselineSpan(), spec.Window, n, time.Duration(r.ringStride)*step, maxRing)
		}
		r.ringLen = int(n)
		r.newBaseline = func() baseline { return &zscoreBaseline{} }
	case rules.DetectorEWMA:
		r.alpha = spec.Smoothing(step)
		// An EWMA's weights have a mean age of 1/alpha steps.
		r.baselineSeconds = step.Seconds() / r.alpha
		r.newBaseline = func() baseline { return &ewmaBaseline{} }
	default:
		return fmt.Errorf("unknown detector %q", r.kind)
	}
	return nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

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
// hasSeries reports whether the rule has a series of that group key.
func (r *rule) hasSeries(key []byte) bool {
	_, ok := r.series[string(key)]
	return ok
}

func (r *rule) seriesFor(key []byte, p *events.Point) *series {
	if s, ok := r.series[string(key)]; ok {
		return s
	}
	labels := make([]string, len(r.groupBy))
	for i, get := range r.groupBy {
		labels[i] = get(p)
	}
	s := &series{labels: labels}
	if r.newBaseline != nil {
		s.base = r.newBaseline()
	}
	if r.ml != nil {
		s.ml = r.newMLState(p)
	}
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
