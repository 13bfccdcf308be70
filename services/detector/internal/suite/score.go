package suite

import (
	"math"
	"slices"
	"time"
)

// Kind is one scenario kind of the suite: the fault the simulator
// injects, the rules whose anomalies count as catching it, and, while no
// detector of the engine can catch it, why (Awaiting).
type Kind struct {
	Name     string
	Rules    []string
	Awaiting string
	// MaxMedianDelay, when set, replaces the suite's bound on the median
	// delay, for a fault that cannot be seen sooner; the table says so.
	MaxMedianDelay time.Duration
	// DelayBound says why MaxMedianDelay is set.
	DelayBound string
}

// Scoring sets how anomalies are judged against the truth.
type Scoring struct {
	// Grace is how long after a fault ends an anomaly still belongs to it
	// (windows still hold the fault's data; labels arrive late).
	Grace time.Duration
	// Warmup is the start of each recording that is not scored: baselines
	// fill then.
	Warmup time.Duration
	// Step is the engine's evaluation step, the unit of delays in windows.
	Step time.Duration
}

// Run is the score of one recording.
type Run struct {
	Kind string
	Seed uint64
	// Faults and Caught count the faults and the ones a matching rule
	// caught; Delays are first detection minus fault start, per catch.
	Faults, Caught int
	Delays         []time.Duration
	// FalseAlarms are anomalies raised in healthy time, which lasts
	// Healthy.
	FalseAlarms []Detection
	Healthy     time.Duration
}

// Score judges a recording's detections. An anomaly of one of the kind's
// rules raised from a fault's start to its end plus the grace catches it;
// any anomaly raised in healthy time (after the warm-up, outside every
// fault and its grace) is a false alarm. Other rules' anomalies during a
// fault are neither: a bad version also lowers accuracy.
func Score(k Kind, truth Truth, ds []Detection, sc Scoring) Run {
	run := Run{Kind: k.Name, Seed: truth.Seed, Faults: len(truth.Faults)}
	start, end := time.UnixMilli(truth.StartUnixMs).Add(sc.Warmup), time.UnixMilli(truth.EndUnixMs)
	run.Healthy = end.Sub(start)
	inFault := func(at time.Time) bool {
		for _, f := range truth.Faults {
			if !at.Before(time.UnixMilli(f.StartUnixMs)) && !at.After(time.UnixMilli(f.EndUnixMs).Add(sc.Grace)) {
				return true
			}
		}
		return false
	}
	for _, f := range truth.Faults {
		run.Healthy -= time.UnixMilli(f.EndUnixMs).Add(sc.Grace).Sub(time.UnixMilli(f.StartUnixMs))
		if first, ok := firstCatch(k, f, ds, sc.Grace); ok {
			run.Caught++
			run.Delays = append(run.Delays, first.Sub(time.UnixMilli(f.StartUnixMs)))
		}
	}
	for _, d := range ds {
		if !d.At.Before(start) && !inFault(d.At) {
			run.FalseAlarms = append(run.FalseAlarms, d)
		}
	}
	return run
}

func firstCatch(k Kind, f Fault, ds []Detection, grace time.Duration) (time.Time, bool) {
	from, to := time.UnixMilli(f.StartUnixMs), time.UnixMilli(f.EndUnixMs).Add(grace)
	for _, d := range ds { // in time order
		if slices.Contains(k.Rules, d.Rule) && !d.At.Before(from) && !d.At.After(to) {
			return d.At, true
		}
	}
	return time.Time{}, false
}

// Summary is one kind's row of the table.
type Summary struct {
	Kind     string
	Awaiting string
	// DelayBound is the kind's own delay bound, when it has one.
	DelayBound string
	Runs       int
	Recall     float64
	// FalseAlarms counts them over HealthyHours; PerHour is their rate.
	FalseAlarms  int
	HealthyHours float64
	PerHour      float64
	// MedianDelay and P95Delay are over the caught faults (0 with none).
	MedianDelay, P95Delay time.Duration
}

// Summarize adds up a kind's runs.
func Summarize(k Kind, runs []Run) Summary {
	s := Summary{Kind: k.Name, Awaiting: k.Awaiting, DelayBound: k.DelayBound, Runs: len(runs)}
	faults, caught := 0, 0
	var delays []time.Duration
	for _, r := range runs {
		faults, caught = faults+r.Faults, caught+r.Caught
		delays = append(delays, r.Delays...)
		s.FalseAlarms += len(r.FalseAlarms)
		s.HealthyHours += r.Healthy.Hours()
	}
	if faults > 0 {
		s.Recall = float64(caught) / float64(faults)
	}
	if s.HealthyHours > 0 {
		s.PerHour = float64(s.FalseAlarms) / s.HealthyHours
	}
	s.MedianDelay, s.P95Delay = quantile(delays, 0.5), quantile(delays, 0.95)
	return s
}

// quantile is the nearest-rank quantile q of ds (0 for none).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max(0, int(math.Ceil(q*float64(len(s))))-1)]
}
