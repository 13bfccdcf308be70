package gate_test

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/remediator/internal/gate"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

func ptr(v float64) *float64 { return &v }

func TestCheck(t *testing.T) {
	top := events.Cause{Rank: 1, Kind: events.CauseModelVersion, ID: "fraud@v2", Score: 0.9}
	second := events.Cause{Rank: 2, Kind: events.CauseService, ID: "gateway", Score: 0.3}
	near := events.Cause{Rank: 2, Kind: events.CauseService, ID: "gateway", Score: 0.85}
	sure := events.RCACompleted{Confidence: 0.9, Baseline: events.Baseline{Sufficient: true, Points: 300, Seconds: 300},
		Causes: []events.Cause{top, second}}
	with := func(f func(*events.RCACompleted)) events.RCACompleted {
		r := sure
		r.Causes = append([]events.Cause(nil), sure.Causes...)
		f(&r)
		return r
	}
	rb := &runbook.Runbook{Name: "rollback"}
	strict := &runbook.Runbook{Name: "strict", Match: runbook.Match{MinConfidence: ptr(0.95)}}
	lenient := &runbook.Runbook{Name: "lenient", Match: runbook.Match{MinConfidence: ptr(0.1), MinMargin: ptr(0)}}
	th := gate.Thresholds{MinConfidence: gate.DefaultMinConfidence, MinMargin: gate.DefaultMinMargin}
	tests := []struct {
		name       string
		rca        events.RCACompleted
		rb         *runbook.Runbook
		wantReason string // empty: act
		wantDetail string
	}{
		{name: "sure and clear", rca: sure, rb: rb},
		{name: "alone at rank 1", rca: with(func(r *events.RCACompleted) { r.Causes = r.Causes[:1] }), rb: rb},
		{name: "tie flagged", rca: with(func(r *events.RCACompleted) { r.Tie = true }), rb: rb, wantReason: events.EscalationTiedCauses,
			wantDetail: "the analysis reports rank 1 tied (fraud@v2, score 0.9); no single cause to act on"},
		{name: "two causes at rank 1", rca: with(func(r *events.RCACompleted) { r.Causes[1].Rank = 1 }), rb: rb, wantReason: events.EscalationTiedCauses,
			wantDetail: "rank 1 is shared by 2 causes (fraud@v2 and others, score 0.9); no single cause to act on"},
		{name: "thin baseline", rca: with(func(r *events.RCACompleted) {
			r.Baseline = events.Baseline{Points: 3, Seconds: 12.345678, Detail: "simulator just started"}
		}), rb: rb, wantReason: events.EscalationThinBaseline,
			wantDetail: "baseline too thin to compare against: 3 points over 12.3s (simulator just started)"},
		{name: "no cause", rca: with(func(r *events.RCACompleted) { r.Causes = nil }), rb: rb, wantReason: events.EscalationNoRunbook,
			wantDetail: "the analysis names no cause to act on"},
		{name: "no runbook", rca: sure, wantReason: events.EscalationNoRunbook, wantDetail: "no runbook fits the rank-1 cause model_version fraud@v2"},
		{name: "low confidence", rca: with(func(r *events.RCACompleted) { r.Confidence = 0.41234 }), rb: rb, wantReason: events.EscalationLowConfidence,
			wantDetail: "confidence 0.412 is below 0.6 for runbook rollback (cause fraud@v2)"},
		{name: "confidence at the minimum acts", rca: with(func(r *events.RCACompleted) { r.Confidence = 0.6 }), rb: rb},
		{name: "runbook asks for more", rca: sure, rb: strict, wantReason: events.EscalationLowConfidence,
			wantDetail: "confidence 0.9 is below 0.95 for runbook strict (cause fraud@v2)"},
		{name: "low margin", rca: with(func(r *events.RCACompleted) { r.Causes[1] = near }), rb: rb, wantReason: events.EscalationLowMargin,
			wantDetail: "rank 1 fraud@v2 (score 0.9) leads rank 2 gateway (score 0.85) by 0.0556, below 0.2 for runbook rollback"},
		{name: "runbook accepts less", rca: with(func(r *events.RCACompleted) { r.Causes[1] = near; r.Confidence = 0.2 }), rb: lenient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := gate.Check(tc.rca, top, tc.rb, th)
			if d.Act != (tc.wantReason == "") || d.Reason != tc.wantReason || d.Detail != tc.wantDetail {
				t.Fatalf("got %+v\nwant reason %q detail %q", d, tc.wantReason, tc.wantDetail)
			}
		})
	}
}

func withChange(c events.Cause, change string) events.Cause {
	c.ChangeID = change
	return c
}

func TestMargin(t *testing.T) {
	c := func(rank int, id string, score float64) events.Cause {
		return events.Cause{Rank: rank, Kind: events.CauseService, ID: id, Score: score}
	}
	tests := []struct {
		name   string
		causes []events.Cause
		want   float64
		wantOK bool
	}{
		{name: "half", causes: []events.Cause{c(1, "a", 1), c(2, "b", 0.5)}, want: 0.5, wantOK: true},
		{name: "best other counts, not list order", causes: []events.Cause{c(1, "a", 1), c(3, "c", 0.1), c(2, "b", 0.9)}, want: 0.1, wantOK: true},
		{name: "alone", causes: []events.Cause{c(1, "a", 1)}, want: 1},
		{name: "the same change is no rival", causes: []events.Cause{withChange(c(1, "v2", 1), "deploy"), withChange(c(2, "chg", 0.86), "deploy"), c(3, "svc", 0.3)},
			want: 0.7, wantOK: true},
		{name: "non-positive top", causes: []events.Cause{c(1, "a", 0), c(2, "b", -1)}, want: 0, wantOK: true},
		{name: "negative second clamps", causes: []events.Cause{c(1, "a", 1), c(2, "b", -3)}, want: 1, wantOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _, ok := gate.Margin(tc.causes, tc.causes[0])
			if ok != tc.wantOK || m < tc.want-1e-9 || m > tc.want+1e-9 {
				t.Fatalf("margin %v ok %v, want %v %v", m, ok, tc.want, tc.wantOK)
			}
		})
	}
}
