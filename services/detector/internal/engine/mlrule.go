package engine

import (
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/mlstats"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// Sizes of an ML series' memory.
const (
	// driftSample is the sample a drift window keeps for KS and for the
	// first PSI bin edges (4 bytes a value).
	driftSample = 64
	// canarySample is the sample per version a canary window keeps for
	// Mann–Whitney.
	canarySample = 128
	// maxVersions bounds the versions a canary series tells apart; a
	// rollout has two or three at once.
	maxVersions = 4
	// maxGrace is the longest a tumbling window waits past its end for
	// points that arrive out of order before it is judged.
	maxGrace = 5 * time.Second
)

// mlRule is what an ML rule (drift, missing_rate, out_of_range, volume,
// canary, unseen_category) adds to a compiled rule. Its series judge tumbling windows of the
// rule's window, each once, grace after it ends.
type mlRule struct {
	width, grace int64
	// ringLen is how many windows a series keeps: the current one, the one
	// after it and the reference, lag or baseline before it.
	ringLen    int
	minPoints  int
	limit      float64
	cond       func(v float64) bool
	zcond      func(z float64) bool
	reference  string
	refSeconds float64

	// drift
	refWindows, lagWindows int64
	bins                   int
	categorical            bool
	profile                *profileReference
	// unseen_category: the profile's categories
	known []float64
	// out_of_range
	lo, hi float64
	// volume
	minBaseline int
	// canary
	alt mlstats.Alternative
}

// mlState is an ML series' memory.
type mlState struct {
	win windows
	// closed: windows below it have been judged; points for them are late.
	closed int64
	// firstWin is the window of the series' first point: partial, so a
	// volume rule does not count it.
	firstWin int64
	rng      uint64
	recent   recentPoints
	// edges are a drift series' PSI bins, taken from its first full window
	// (nil until then); cats the categories of a categorical one.
	edges []float64
	// versions are a canary series' windows per model version.
	versions map[string]windows
	// open are a quality series' windows not judged yet, by index.
	open map[int64]*slot
	// cats are an unseen_category series' values and windows.
	cats   *categoryState
	result mlResult
}

// mlResult is the evidence of the last window judged.
type mlResult struct {
	value, expected, statistic, pValue float64
	hasP                               bool
	severity                           string
	candidate, baseline                string
	// unseen names an unseen_category window's unseen values.
	unseen string
}

// mlVerdict is what judging a window found.
type mlVerdict int

const (
	// undecided: too little data, in the window or its reference.
	undecided mlVerdict = iota
	empty
	normal
	anomalous
)

func compileML(spec rules.Rule, step time.Duration) (*rule, error) {
	tmpl, err := spec.Template()
	if err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	width := int64(spec.Window)
	if width%int64(step) != 0 {
		return nil, fmt.Errorf("window %v is not a whole number of evaluation steps (%v)", spec.Window, step)
	}
	m := &mlRule{width: width, minPoints: spec.MLMinPoints(), limit: spec.MLLimit(), ringLen: 2}
	m.grace = min(width/10, int64(maxGrace))
	m.grace -= m.grace % int64(step)
	r := &rule{spec: spec, window: width, forNs: int64(spec.For), resolveNs: int64(spec.ResolveAfter()),
		summary: tmpl, series: map[string]*series{}, kind: spec.Kind(), noData: spec.NoDataAction(),
		noDataNs: int64(spec.NoDataGrace()), inputs: []string{spec.Metric}, ml: m}
	if err := m.compileKind(spec, r, step); err != nil {
		return nil, err
	}
	for k, v := range spec.Match {
		r.match = append(r.match, matcher{get: fieldFor(k), want: v})
	}
	for _, g := range spec.GroupBy {
		r.groupBy = append(r.groupBy, fieldFor(g))
	}
	return r, nil
}

func (m *mlRule) compileKind(spec rules.Rule, r *rule, step time.Duration) error {
	var err error
	switch r.kind {
	case rules.DetectorDrift:
		return m.compileDrift(spec)
	case rules.DetectorMissingRate:
		r.inputs = append(r.inputs, spec.Metric+rules.MissingSuffix)
		m.cond, err = condition(spec.MLOp(), m.limit)
	case rules.DetectorOutOfRange:
		m.lo, m.hi = spec.Bounds[0], spec.Bounds[1]
		m.cond, err = condition(spec.MLOp(), m.limit)
	case rules.DetectorVolume:
		m.minBaseline = spec.MLMinBaseline()
		m.refWindows = int64(spec.BaselineSpan()) / m.width
		m.refSeconds = spec.BaselineSpan().Seconds()
		m.ringLen = int(m.refWindows) + 2
		m.zcond, err = zcondition(spec.MLOp(), m.limit)
	case rules.DetectorQuality:
		return m.compileQuality(spec, r, int64(step))
	case rules.DetectorUnseen:
		return m.compileUnseen(spec, r)
	case rules.DetectorCanary:
		m.alt = mlstats.TwoSided
		switch spec.MLOp() {
		case ">":
			m.alt = mlstats.CandidateGreater
		case "<":
			m.alt = mlstats.CandidateLess
		}
	default:
		return fmt.Errorf("unknown detector %q", r.kind)
	}
	return err
}

func zcondition(op string, limit float64) (func(float64) bool, error) {
	switch op {
	case ">":
		return func(z float64) bool { return z > limit }, nil
	case "<":
		return func(z float64) bool { return z < -limit }, nil
	case rules.OpAbs:
		return func(z float64) bool { return z > limit || z < -limit }, nil
	}
	return nil, fmt.Errorf("unknown op %q", op)
}

func (r *rule) newMLState(p *events.Point) *mlState {
	m := r.ml
	st := &mlState{rng: uint64(p.TimeUnixNano) | 1, firstWin: p.TimeUnixNano / m.width, closed: -1}
	switch r.kind {
	case rules.DetectorDrift:
		st.win = newWindows(m.ringLen, m.bins, driftSample)
		if m.profile != nil {
			st.edges = m.profile.edges
		}
	case rules.DetectorCanary:
		st.versions = map[string]windows{}
	case rules.DetectorQuality:
		st.open = map[int64]*slot{}
	case rules.DetectorUnseen:
		st.cats = newCategoryState(m)
	default:
		st.win = newWindows(m.ringLen, 0, 0)
	}
	return st
}

// pointFate says what became of a point offered to an ML series.
type pointFate uint8

const (
	taken pointFate = iota
	late
	duplicate
	dropped
	badBucket
	overLimit
)

// observeML adds a point to an ML series' window.
func (r *rule) observeML(s *series, p *events.Point) pointFate {
	m, st := r.ml, s.ml
	idx := p.TimeUnixNano / m.width
	if idx < st.closed {
		return late
	}
	if r.kind != rules.DetectorQuality && st.recent.seen(pointHash(p.Name, p.ModelVersion, p.TimeUnixNano, p.Value)) {
		return duplicate
	}
	var fate pointFate
	switch r.kind {
	case rules.DetectorQuality:
		fate = r.addOutcome(st, idx, p)
	case rules.DetectorDrift:
		fate = r.addDrift(st, idx, p.Value)
	case rules.DetectorCanary:
		fate = r.addCanary(st, idx, p)
	case rules.DetectorUnseen:
		fate = r.addCategory(st, idx, p.Value)
	default:
		fate = r.addCount(st, idx, p)
	}
	if fate == taken {
		s.touch(p)
	}
	return fate
}

// touch records a taken point's time and scope, as series.add does.
func (s *series) touch(p *events.Point) {
	if s.lastTick == 0 && (s.first == 0 || p.TimeUnixNano < s.first) {
		s.first = p.TimeUnixNano
	}
	if p.TimeUnixNano >= s.newest {
		s.newest, s.service, s.model, s.version = p.TimeUnixNano, p.Service, p.Model, p.ModelVersion
	}
}

// evaluateML judges the window that ended grace before t, if one did.
func (r *rule) evaluateML(s *series, t int64, now time.Time, e *Engine, out []Emission) []Emission {
	m, st := r.ml, s.ml
	if (t-m.grace)%m.width != 0 {
		return out
	}
	idx := (t-m.grace)/m.width - 1
	if idx < st.closed {
		return out
	}
	st.closed = idx + 1
	var v mlVerdict
	switch r.kind {
	case rules.DetectorDrift:
		v = r.judgeDrift(st, idx, &e.scratch)
	case rules.DetectorVolume:
		v = r.judgeVolume(st, idx, &e.scratch)
	case rules.DetectorCanary:
		v = r.judgeCanary(st, idx, &e.scratch)
	case rules.DetectorQuality:
		v = r.judgeQuality(st, idx)
	case rules.DetectorUnseen:
		v = r.judgeUnseen(st, idx)
	default:
		v = r.judgeShare(st, idx)
	}
	switch v {
	case empty:
		s.runStart, s.value = 0, 0
		return r.noDataAt(s, t, now, out)
	case undecided:
		return out
	}
	if s.noData {
		out = r.resolve(s, t, now, events.ResolvedDataReturned, out)
	}
	s.value = st.result.value
	if v == anomalous {
		if s.runStart == 0 {
			s.runStart = idx * m.width
		}
		return r.conditionTrue(s, t, now, out)
	}
	s.runStart = 0
	return r.conditionFalse(s, t, now, out)
}

// The labels a canary anomaly adds to its series' labels.
const (
	canaryCandidateLabel = "candidate_version"
	canaryBaselineLabel  = "baseline_version"
)

// mlEvidence fills an ML anomaly's evidence from the window it fired on.
func (r *rule) mlEvidence(s *series, d *events.AnomalyDetected) {
	res := s.ml.result
	d.Detector, d.WindowSeconds = r.kind, r.spec.Window.Seconds()
	if r.kind == rules.DetectorDrift {
		d.Detector = r.kind + "_" + r.driftMethod()
	}
	expected, stat := res.expected, res.statistic
	d.Expected, d.Statistic = &expected, &stat
	if res.hasP {
		p := res.pValue
		d.PValue = &p
	}
	d.BaselineSeconds, d.Reference = r.ml.refSeconds, r.ml.reference
	if res.severity != "" {
		d.Severity = res.severity
	}
	if res.candidate != "" {
		d.ModelVersion = res.candidate
		d.Labels = maps.Clone(d.Labels)
		if d.Labels == nil {
			d.Labels = map[string]string{}
		}
		d.Labels[canaryCandidateLabel], d.Labels[canaryBaselineLabel] = res.candidate, res.baseline
	}
	if r.kind == rules.DetectorUnseen {
		d.Labels = maps.Clone(d.Labels)
		if d.Labels == nil {
			d.Labels = map[string]string{}
		}
		d.Labels[unseenValuesLabel] = res.unseen
	}
}

// mlHoldsNothing reports whether an ML series' windows have all passed.
func (r *rule) mlHoldsNothing(s *series) bool {
	if len(s.ml.open) > 0 {
		return false
	}
	return s.lastTick-s.newest > int64(r.ml.ringLen)*r.ml.width+r.ml.grace
}

func formatDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}
