package analysis

import (
	"cmp"
	"slices"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/callgraph"
)

// Input is everything one analysis needs.
type Input struct {
	// Symptom is the symptom's metric name, for summaries.
	Symptom string
	// SymptomStart is S, in unix nanoseconds.
	SymptomStart     int64
	Baseline, Window Range
	// Y is the symptom's series.
	Y          Series
	Candidates []Candidate
	Changes    []Change
	// MaxCauses bounds the causes returned; 0 means no bound.
	MaxCauses int
	// Graph is who calls whom among the candidates' services; when it
	// has calls, the services' scores are weighed by a walk over it (see
	// weighByGraph).
	Graph callgraph.Graph
	// BaselineSufficient says whether the baseline held enough data to
	// compare against; without it, confidence stays low (see Confidence).
	BaselineSufficient bool
}

// Result is the ranked causes, how sure the analysis is of rank 1 and, where
// a change explains rank 1, when the fault started.
type Result struct {
	Causes []events.Cause
	// FaultStartedUnixNano is the time of the change every rank-1 cause
	// points at; 0 when there is none or they disagree.
	FaultStartedUnixNano int64
	// Tie is true when more than one cause has rank 1.
	Tie bool
	// Confidence is in [0, 1]; see Confidence.
	Confidence float64
	// Signals names, by cause ID, the signal a cause was scored by
	// (SignalChange for a change), so that its evidence can be traced to
	// the query that read it.
	Signals map[string]string
}

// SignalChange is the signal of a change cause in Result.Signals.
const SignalChange = "change"

// scored is a candidate's cause with the change nearest to it, if any.
type scored struct {
	cause  events.Cause
	change *Change
	// signal is the name of the signal the cause was scored by.
	signal string
}

// Analyze scores every candidate and change and ranks them, best first.
// Candidates that score 0 are left out: they explain none of the symptom.
// Causes whose scores are equal (see SameScore) share a rank; their order in
// the list is by kind and ID only so that output is deterministic, and means
// nothing.
func Analyze(in Input) Result {
	frame := NewFrame(in.Y, in.Baseline, in.Window)
	if len(frame.Window) == 0 {
		return Result{}
	}
	all := make([]scored, 0, len(in.Candidates)+len(in.Changes))
	for _, c := range in.Candidates {
		all = append(all, scoreCandidate(in, frame, c))
	}
	weighByGraph(in.Graph, all)
	all = append(all, scoreChanges(in, all)...)
	all = slices.DeleteFunc(all, func(s scored) bool { return s.cause.Score <= 0 })
	slices.SortFunc(all, func(a, b scored) int {
		if c := cmp.Compare(b.cause.Score, a.cause.Score); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.cause.Kind, b.cause.Kind), cmp.Compare(a.cause.ID, b.cause.ID))
	})
	rankAll(all)
	res := Result{Confidence: Confidence(all, in.BaselineSufficient)}
	if in.MaxCauses > 0 && len(all) > in.MaxCauses {
		all = all[:in.MaxCauses]
	}
	return finish(res, all)
}

// rankAll gives each cause, sorted best first, its rank: one more than the
// causes before it, or the rank of the cause that leads its group of equal
// scores. Comparing with the group's leader, not the neighbour, keeps a run
// of near-equal scores from drifting into one long tie.
func rankAll(all []scored) {
	lead := 0
	for i := range all {
		if i == 0 || !SameScore(all[i].cause.Score, all[lead].cause.Score) {
			lead = i
		}
		all[i].cause.Rank = lead + 1
	}
}

// finish lists the causes, attaches to each its nearest change (so that a
// reader can tell causes that are one explanation, such as a version and
// the deploy of it, from rivals), and dates the fault at that change when
// every rank-1 cause points at the same one.
func finish(res Result, all []scored) Result {
	var fault *Change
	agree := true
	for i := range all {
		c := all[i].cause
		if c.Kind != events.CauseChange && all[i].change != nil {
			c.ChangeID = all[i].change.ID
		}
		if c.Rank == 1 {
			if i > 0 {
				res.Tie = true
			}
			switch ch := all[i].change; {
			case ch == nil:
				agree = false
			case fault == nil:
				fault = ch
			case fault.ID != ch.ID:
				agree = false
			}
		}
		res.Causes = append(res.Causes, c)
		if res.Signals == nil {
			res.Signals = map[string]string{}
		}
		res.Signals[c.ID] = all[i].signal
	}
	if agree && fault != nil {
		res.FaultStartedUnixNano = fault.TimeUnixNano
	}
	return res
}

// scoreCandidate scores a candidate by its best signal.
func scoreCandidate(in Input, f Frame, c Candidate) scored {
	best, bestScore := Components{}, -1.0
	var bestSignal Signal
	ev := map[string]float64{}
	for _, sig := range c.Signals {
		comp := Measure(sig.X, in.Y, f)
		if sig.Gauge {
			var ok bool
			if comp, ok = measureGaugeOver(sig.X, in.Y, f); !ok {
				continue
			}
		}
		s := signalScore(comp, sig.Weight, c.Specificity)
		ev["signal_"+sig.Name] = s
		if s > bestScore {
			best, bestScore, bestSignal = comp, s, sig
		}
	}
	bestScore = max(bestScore, 0)
	out := scored{cause: events.Cause{Kind: c.Kind, ID: c.ID, Service: c.Service, Model: c.Model, ModelVersion: c.ModelVersion}}
	prox := 0.0
	if ch, p, ok := nearestChange(c, in.Changes, in.SymptomStart); ok {
		out.change, prox = &ch, p
		ev["change_seconds_before_symptom"] = secondsBefore(in.SymptomStart, ch.TimeUnixNano)
	}
	out.cause.Score = bestScore * (1 + 0.5*prox)
	for k, v := range c.Evidence {
		ev[k] = v
	}
	ev["corr"], ev["lift"], ev["explained"] = best.Corr, best.Lift, best.Explained
	ev["lag_buckets"], ev["precedence"] = float64(best.Lag), best.Precedence
	if best.HasOnsets {
		ev["onset_lead_buckets"] = best.Lead
	}
	if best.Departed {
		ev["departed"] = 1
	}
	if best.Coverage > 0 {
		ev["window_coverage"] = best.Coverage
	}
	ev["mean_baseline"], ev["mean_window"] = best.MeanBaseline, best.MeanWindow
	ev["weight"], ev["specificity"], ev["proximity"] = bestSignal.Weight, c.Specificity, prox
	out.cause.Evidence = ev
	out.signal = bestSignal.Name
	out.cause.Summary = candidateSummary(c, bestSignal.Name, best.Explained, in, out.change, len(f.Baseline) == 0)
	return out
}

// scoreChanges turns each change into a cause scored from the best
// candidate it touches.
func scoreChanges(in Input, cands []scored) []scored {
	out := make([]scored, 0, len(in.Changes))
	for i, ch := range in.Changes {
		prox := Proximity(in.SymptomStart, ch.TimeUnixNano)
		touched := 0.0
		for j, c := range in.Candidates {
			if ch.Touches(c) {
				touched = max(touched, cands[j].cause.Score)
			}
		}
		out = append(out, scored{change: &in.Changes[i], signal: SignalChange, cause: events.Cause{
			Kind: events.CauseChange, ID: "change:" + ch.ID, ChangeID: ch.ID,
			Score:   prox * touched * changeFactor,
			Service: ch.Service, Model: ch.Model, ModelVersion: ch.ModelVersion,
			Summary: changeSummary(ch, in.SymptomStart),
			Evidence: map[string]float64{"proximity": prox, "touched_score": touched,
				"change_seconds_before_symptom": secondsBefore(in.SymptomStart, ch.TimeUnixNano)},
		}})
	}
	return out
}

func secondsBefore(s, t int64) float64 { return float64(s-t) / float64(BucketNanos) }
