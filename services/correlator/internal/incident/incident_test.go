package incident

import (
	"errors"
	"reflect"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

const now = int64(5_000)

func detected(id, rule, severity string, started, detectedAt int64) events.AnomalyDetected {
	return events.AnomalyDetected{AnomalyID: id, Rule: rule, Fingerprint: "fp-" + id, Metric: "latency_p99",
		Value: 2, Threshold: 1, Severity: severity, Summary: rule + " is high", StartedUnixNano: started,
		DetectedUnixNano: detectedAt, Service: "model-server", Model: "fraud", ModelVersion: "v2"}
}

func resolved(id string, at int64) events.AnomalyResolved {
	return events.AnomalyResolved{AnomalyID: id, Rule: "r", Fingerprint: "fp-" + id, Metric: "latency_p99",
		ResolvedUnixNano: at, Service: "model-server", Model: "fraud"}
}

func remediation(exec string, started, finished int64) events.Remediation {
	return events.Remediation{ExecutionID: exec, IncidentID: "inc", Runbook: "rollback_model",
		StartedUnixNano: started, FinishedUnixNano: finished}
}

func failed(exec string, started, finished int64, reason string) events.Remediation {
	r := remediation(exec, started, finished)
	r.Error = reason
	return r
}

func escalation(id, runbook, reason string) events.RemediationEscalated {
	return events.RemediationEscalated{EscalationID: id, IncidentID: "inc", Reason: reason, Runbook: runbook,
		Detail: "no runbook matches fraud@v2", EscalatedUnixNano: 2_000}
}

func dryRun(exec string, started, finished int64) events.Remediation {
	r := remediation(exec, started, finished)
	r.DryRun = true
	return r
}

var rca = events.RCACompleted{IncidentID: "inc", Symptom: "latency", FaultStartedUnixNano: 900,
	Causes: []events.Cause{
		{Rank: 1, Kind: events.CauseModelVersion, ID: "fraud@v2", Score: 0.9, ChangeID: "deploy-7"},
		{Rank: 2, Kind: events.CauseService, ID: "feature-service", Score: 0.2},
	}}

// step is one input to the state machine, named by its input event id, with
// the result it must have.
type step struct {
	event       string
	apply       func(s *State) (Result, error)
	wantChanged bool
	wantEmit    []string
}

func add(a events.AnomalyDetected, eventID string) step {
	return step{event: eventID, apply: func(s *State) (Result, error) { return s.AddAnomaly(a, eventID, now), nil }}
}

func escalate(e events.RemediationEscalated, eventID string) step {
	return step{event: eventID, apply: func(s *State) (Result, error) { return s.ApplyEscalation(e), nil }}
}

func resolve(r events.AnomalyResolved, eventID string) step {
	return step{event: eventID, apply: func(s *State) (Result, error) { return s.ResolveAnomaly(r, eventID) }}
}

func remediate(typ string, rem events.Remediation, eventID string) step {
	return step{event: eventID, apply: func(s *State) (Result, error) { return s.ApplyRemediation(typ, rem, eventID, now) }}
}

func analyze(r events.RCACompleted, eventID string) step {
	return step{event: eventID, apply: func(s *State) (Result, error) { return s.ApplyRCA(r), nil }}
}

func (s step) want(changed bool, emit ...string) step {
	s.wantChanged, s.wantEmit = changed, emit
	return s
}

func TestLifecycle(t *testing.T) {
	first := detected("a1", "latency", events.SeverityWarning, 1_000, 1_100)
	tests := []struct {
		name  string
		steps []step
		check func(t *testing.T, s *State)
	}{
		{
			name: "a second anomaly joins; the incident resolves with the last one",
			steps: []step{
				add(detected("a2", "errors", events.SeverityCritical, 800, 1_200), "e2").want(true, events.TypeIncidentUpdated),
				resolve(resolved("a1", 3_000), "e3").want(true),
				resolve(resolved("a2", 2_500), "e4").want(true, events.TypeIncidentResolved),
			},
			check: func(t *testing.T, s *State) {
				got := [...]any{s.Severity, s.StartedUnixNano, s.DetectedUnixNano, s.ResolvedUnixNano, s.Status(), s.Version, s.ResolvedBy}
				want := [...]any{events.SeverityCritical, int64(800), int64(1_100), int64(3_000), StatusResolved, uint64(4), "e4"}
				if got != want {
					t.Fatalf("severity, started, detected, resolved, status, version, resolved_by = %v, want %v", got, want)
				}
			},
		},
		{
			name: "rca, remediation and resolution carry their findings",
			steps: []step{
				analyze(rca, "e2").want(true),
				remediate(events.TypeRemediationStarted, remediation("x1", 2_000, 0), "e3").want(true),
				remediate(events.TypeRemediationSucceeded, remediation("x1", 2_000, 2_400), "e4").want(true, events.TypeIncidentAcknowledged, events.TypeIncidentMitigated),
				resolve(resolved("a1", 3_000), "e5").want(true, events.TypeIncidentResolved),
			},
			check: func(t *testing.T, s *State) {
				ev := s.resolvedEvent()
				got := [...]any{ev.FaultStartedUnixNano, ev.FaultStartSource, ev.AcknowledgedUnixNano, ev.AcknowledgedBy, ev.MitigatedUnixNano,
					ev.ResolvedUnixNano, ev.TopCause.ID, *ev.Remediation, len(ev.Firing)}
				want := [...]any{int64(900), events.FaultStartChange, int64(2_000), "remediation:x1", int64(2_400), int64(3_000), "fraud@v2",
					events.RemediationSummary{ExecutionID: "x1", Runbook: "rollback_model", Outcome: OutcomeSucceeded}, 0}
				if got != want {
					t.Fatalf("resolved event = %v, want %v", got, want)
				}
			},
		},
		{
			name: "redeliveries change nothing and republish only their own output",
			steps: []step{
				add(first, "e1").want(false, events.TypeIncidentOpened),
				add(first, "e1-copy").want(false),
				remediate(events.TypeRemediationSucceeded, remediation("x1", 2_000, 2_400), "e2").want(true, events.TypeIncidentAcknowledged, events.TypeIncidentMitigated),
				remediate(events.TypeRemediationSucceeded, remediation("x1", 2_000, 2_400), "e2").want(false, events.TypeIncidentAcknowledged, events.TypeIncidentMitigated),
				remediate(events.TypeRemediationSucceeded, remediation("x1", 2_100, 2_500), "e2-copy").want(false),
				analyze(rca, "e3").want(true),
				analyze(rca, "e3").want(false),
				resolve(resolved("a1", 3_000), "e4").want(true, events.TypeIncidentResolved),
				resolve(resolved("a1", 3_000), "e4").want(false, events.TypeIncidentResolved),
				resolve(resolved("a1", 3_100), "e4-copy").want(false),
			},
			check: func(t *testing.T, s *State) {
				if s.Version != 4 || s.AcknowledgedUnixNano != 2_000 || s.ResolvedUnixNano != 3_000 {
					t.Fatalf("version, acknowledged, resolved = %d, %d, %d; want 4, 2000, 3000", s.Version, s.AcknowledgedUnixNano, s.ResolvedUnixNano)
				}
			},
		},
		{
			name: "a started then failed remediation is recorded and acknowledges nothing",
			steps: []step{
				remediate(events.TypeRemediationStarted, remediation("x1", 2_000, 0), "e2").want(true),
				remediate(events.TypeRemediationFailed, failed("x1", 2_000, 2_100, "rollback: 503"), "e3").want(true),
			},
			check: func(t *testing.T, s *State) {
				want := events.RemediationSummary{ExecutionID: "x1", Runbook: "rollback_model", Outcome: OutcomeFailed, Detail: "rollback: 503"}
				if s.Status() != StatusOpen || *s.Remediation != want || s.AcknowledgedUnixNano != 0 || s.AcknowledgedBy != "" {
					t.Fatalf("status %s, remediation %+v, acknowledged %d by %q; want open, %+v, unacknowledged",
						s.Status(), s.Remediation, s.AcknowledgedUnixNano, s.AcknowledgedBy, want)
				}
			},
		},
		{
			name: "after a failure, the first success acknowledges at its own start",
			steps: []step{
				remediate(events.TypeRemediationStarted, remediation("x1", 2_000, 0), "e2").want(true),
				remediate(events.TypeRemediationFailed, failed("x1", 2_000, 2_100, "timeout"), "e3").want(true),
				remediate(events.TypeRemediationStarted, remediation("x2", 2_200, 0), "e4").want(true),
				remediate(events.TypeRemediationSucceeded, remediation("x2", 2_200, 2_600), "e5").want(true, events.TypeIncidentAcknowledged, events.TypeIncidentMitigated),
			},
			check: func(t *testing.T, s *State) {
				got := [...]any{s.Status(), s.AcknowledgedUnixNano, s.AcknowledgedBy, s.MitigatedUnixNano, s.Remediation.ExecutionID}
				want := [...]any{StatusMitigated, int64(2_200), "remediation:x2", int64(2_600), "x2"}
				if got != want {
					t.Fatalf("status, acknowledged, by, mitigated, execution = %v, want %v", got, want)
				}
			},
		},
		{
			name: "an escalation is recorded and the incident stays open and unacknowledged",
			steps: []step{
				escalate(escalation("esc-1", "", events.EscalationNoRunbook), "e2").want(true),
				escalate(escalation("esc-1", "", events.EscalationNoRunbook), "e2").want(false),
				// The resolution names the escalation with a runbook the
				// schema accepts (checkResult validates it).
				resolve(resolved("a1", 3_000), "e3").want(true, events.TypeIncidentResolved),
			},
			check: func(t *testing.T, s *State) {
				want := events.RemediationSummary{ExecutionID: "esc-1", Outcome: OutcomeEscalated, Detail: "no_runbook: no runbook matches fraud@v2"}
				if *s.Remediation != want || s.AcknowledgedUnixNano != 0 || s.MitigatedUnixNano != 0 || s.resolvedEvent().Remediation.Runbook != NoRunbook {
					t.Fatalf("remediation %+v, acknowledged %d, mitigated %d, resolved event's %+v; want %+v, 0, 0, runbook %q",
						s.Remediation, s.AcknowledgedUnixNano, s.MitigatedUnixNano, s.resolvedEvent().Remediation, want, NoRunbook)
				}
			},
		},
		{
			name: "an escalation after a remediation that succeeded leaves its summary",
			steps: []step{
				remediate(events.TypeRemediationSucceeded, remediation("x1", 2_000, 2_400), "e2").want(true, events.TypeIncidentAcknowledged, events.TypeIncidentMitigated),
				escalate(escalation("esc-1", "", events.EscalationLowMargin), "e3").want(false),
			},
			check: func(t *testing.T, s *State) {
				if s.Remediation.ExecutionID != "x1" || s.Remediation.Outcome != OutcomeSucceeded {
					t.Fatalf("remediation %+v; want x1 succeeded", s.Remediation)
				}
			},
		},
		{
			name: "a joining anomaly is announced once; its redelivery republishes, a copy does not",
			steps: []step{
				add(detected("a2", "errors", events.SeverityWarning, 1_500, 1_600), "e2").want(true, events.TypeIncidentUpdated),
				add(detected("a2", "errors", events.SeverityWarning, 1_500, 1_600), "e2").want(false, events.TypeIncidentUpdated),
				add(detected("a2", "errors", events.SeverityWarning, 1_500, 1_600), "e2-copy").want(false),
				add(first, "e1").want(false, events.TypeIncidentOpened),
				resolve(resolved("a1", 3_000), "e3").want(true),
				resolve(resolved("a2", 3_100), "e4").want(true, events.TypeIncidentResolved),
				// Resolved: no analysis is asked for any more.
				add(detected("a2", "errors", events.SeverityWarning, 1_500, 1_600), "e2").want(false),
			},
			check: func(t *testing.T, s *State) {
				if a := s.Anomalies[1]; a.JoinedBy != "e2" || a.JoinedUnixNano != now {
					t.Fatalf("joined anomaly %+v, want joined by e2 at now", a)
				}
			},
		},
		{
			name: "transitions list the anomalies still firing",
			steps: []step{
				add(detected("a2", "errors", events.SeverityWarning, 1_500, 1_600), "e2").want(true, events.TypeIncidentUpdated),
				resolve(resolved("a1", 2_000), "e3").want(true),
				remediate(events.TypeRemediationSucceeded, remediation("x1", 2_100, 2_400), "e4").want(true, events.TypeIncidentAcknowledged, events.TypeIncidentMitigated),
			},
			check: func(t *testing.T, s *State) {
				firing := s.mitigatedEvent().Firing
				if len(firing) != 1 || firing[0].AnomalyID != "a2" || len(s.resolvedEvent().Firing) != 1 {
					t.Fatalf("mitigated event's firing = %+v, want only a2", firing)
				}
			},
		},
		{
			name: "a dry run is recorded and neither acknowledges nor mitigates",
			steps: []step{
				remediate(events.TypeRemediationStarted, dryRun("x1", 2_000, 0), "e2").want(true),
				remediate(events.TypeRemediationSucceeded, dryRun("x1", 2_000, 2_400), "e3").want(false),
				// The resolution is still valid against its schema, which has
				// no dry_run outcome (checkResult validates it).
				resolve(resolved("a1", 3_000), "e4").want(true, events.TypeIncidentResolved),
			},
			check: func(t *testing.T, s *State) {
				if s.Remediation.Outcome != OutcomeDryRun || s.AcknowledgedUnixNano != 0 || s.MitigatedUnixNano != 0 || s.resolvedEvent().Remediation != nil {
					t.Fatalf("remediation %+v, acknowledged %d, mitigated %d, resolved event's remediation %+v; want dry_run, 0, 0, none",
						s.Remediation, s.AcknowledgedUnixNano, s.MitigatedUnixNano, s.resolvedEvent().Remediation)
				}
			},
		},
		{
			name: "a failed dry run is recorded as a dry run",
			steps: []step{
				remediate(events.TypeRemediationFailed, dryRun("x1", 2_000, 2_100), "e2").want(true),
			},
			check: func(t *testing.T, s *State) {
				if s.Status() != StatusOpen || s.Remediation.Outcome != OutcomeDryRun {
					t.Fatalf("status %s, remediation %+v; want open, dry_run", s.Status(), s.Remediation)
				}
			},
		},
		{
			name: "a dry run after a real remediation leaves its summary",
			steps: []step{
				remediate(events.TypeRemediationSucceeded, remediation("x1", 2_000, 2_400), "e2").want(true, events.TypeIncidentAcknowledged, events.TypeIncidentMitigated),
				remediate(events.TypeRemediationStarted, dryRun("x2", 2_500, 0), "e3").want(false),
			},
			check: func(t *testing.T, s *State) {
				if s.Status() != StatusMitigated || s.Remediation.ExecutionID != "x1" || s.Remediation.Outcome != OutcomeSucceeded {
					t.Fatalf("status %s, remediation %+v; want mitigated by x1", s.Status(), s.Remediation)
				}
			},
		},
		{
			name: "a success whose start was missed acknowledges and mitigates; a late start undoes nothing",
			steps: []step{
				remediate(events.TypeRemediationSucceeded, remediation("x1", 0, 0), "e2").want(true, events.TypeIncidentAcknowledged, events.TypeIncidentMitigated),
				remediate(events.TypeRemediationStarted, remediation("x1", 0, 0), "e3").want(false),
			},
			check: func(t *testing.T, s *State) {
				if s.Status() != StatusMitigated || s.Remediation.Outcome != OutcomeSucceeded || s.AcknowledgedUnixNano != now || s.MitigatedUnixNano != now {
					t.Fatalf("status %s, remediation %+v, times %d/%d; want mitigated, succeeded, now/now", s.Status(), s.Remediation, s.AcknowledgedUnixNano, s.MitigatedUnixNano)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, res := Open("inc", "model=fraud", first, "e1", now)
			checkResult(t, "e1", res, true, []string{events.TypeIncidentOpened})
			for _, st := range tc.steps {
				res, err := st.apply(s)
				if err != nil {
					t.Fatalf("%s: %v", st.event, err)
				}
				checkResult(t, st.event, res, st.wantChanged, st.wantEmit)
			}
			tc.check(t, s)
		})
	}
}

// checkResult compares a step's result and checks that every event it
// emits is valid against its JSON Schema.
func checkResult(t *testing.T, event string, res Result, changed bool, emit []string) {
	t.Helper()
	var got []string
	for _, d := range res.Emit {
		got = append(got, d.EventType())
		if _, err := events.NewWithID("id", "test", d); err != nil {
			t.Fatalf("%s: emitted %s is invalid: %v", event, d.EventType(), err)
		}
	}
	if res.Changed != changed || !reflect.DeepEqual(got, emit) {
		t.Fatalf("%s: changed=%v emit=%v, want changed=%v emit=%v", event, res.Changed, got, changed, emit)
	}
}

func TestOpened(t *testing.T) {
	s, _ := Open("inc", "model=fraud", detected("a1", "latency", events.SeverityWarning, 1_000, 1_100), "e1", now)
	got := s.Opened()
	if got.Title != "latency: latency is high" || got.StartedUnixNano != 1_000 || got.DetectedUnixNano != 1_100 ||
		got.OpenedUnixNano != now || len(got.Anomalies) != 1 || got.Anomalies[0].AnomalyID != "a1" {
		t.Fatalf("opened = %+v", got)
	}
}

func TestResolveUnknownAnomaly(t *testing.T) {
	s, _ := Open("inc", "model=fraud", detected("a1", "latency", events.SeverityWarning, 1_000, 1_100), "e1", now)
	if _, err := s.ResolveAnomaly(resolved("other", 2_000), "e2"); !errors.Is(err, ErrUnknownAnomaly) {
		t.Fatalf("err = %v, want ErrUnknownAnomaly", err)
	}
}

func analysis(faultStart int64, source string, analyzedAt int64, causeID string) events.RCACompleted {
	r := rca
	r.FaultStartedUnixNano, r.FaultStartSource, r.AnalyzedUnixNano = faultStart, source, analyzedAt
	r.Causes = []events.Cause{{Rank: 1, Kind: events.CauseService, ID: causeID, Score: 0.8}}
	return r
}

// Every incident gets a fault start: the first anomaly's onset until an
// analysis finds better. A change beats an estimate; among equals the
// earliest wins.
func TestFaultStart(t *testing.T) {
	tests := []struct {
		name       string
		openedAt   int64 // the first anomaly's started_unix_nano
		steps      []step
		wantAt     int64
		wantSource string
	}{
		{name: "no analysis: the first anomaly's onset", openedAt: 1_000, wantAt: 1_000, wantSource: events.FaultStartSymptomOnset},
		{name: "no onset and no analysis: unknown", openedAt: 0, wantAt: 0, wantSource: events.FaultStartUnknown},
		{name: "an earlier symptom's onset moves the estimate", openedAt: 1_000,
			steps:  []step{add(detected("a2", "errors", events.SeverityWarning, 800, 1_200), "e2")},
			wantAt: 800, wantSource: events.FaultStartSymptomOnset},
		{name: "a later estimate changes nothing", openedAt: 1_000,
			steps:  []step{analyze(analysis(1_200, events.FaultStartSymptomOnset, 2_000, "svc"), "e2")},
			wantAt: 1_000, wantSource: events.FaultStartSymptomOnset},
		{name: "an earlier estimate from the analysis wins", openedAt: 1_000,
			steps:  []step{analyze(analysis(950, events.FaultStartSymptomOnset, 2_000, "svc"), "e2")},
			wantAt: 950, wantSource: events.FaultStartSymptomOnset},
		{name: "a change beats an earlier estimate", openedAt: 1_000,
			steps:  []step{analyze(analysis(1_100, events.FaultStartChange, 2_000, "svc"), "e2")},
			wantAt: 1_100, wantSource: events.FaultStartChange},
		{name: "a change stays when an earlier symptom joins", openedAt: 1_000,
			steps: []step{analyze(analysis(900, events.FaultStartChange, 2_000, "svc"),
				"e2"), add(detected("a2", "errors", events.SeverityWarning, 700, 1_200), "e3")},
			wantAt: 900, wantSource: events.FaultStartChange},
		{name: "the earliest of two changes wins", openedAt: 1_000,
			steps: []step{analyze(analysis(900, events.FaultStartChange, 2_000, "svc"), "e2"),
				analyze(analysis(950, events.FaultStartChange, 2_500, "svc"), "e3"),
				analyze(analysis(880, events.FaultStartChange, 2_600, "svc"), "e4")},
			wantAt: 880, wantSource: events.FaultStartChange},
		{name: "an analysis with a time and no source found a change (rca.completed.v1)", openedAt: 1_000,
			steps:  []step{analyze(analysis(1_050, "", 2_000, "svc"), "e2")},
			wantAt: 1_050, wantSource: events.FaultStartChange},
		{name: "an unknown start from the analysis keeps the estimate", openedAt: 1_000,
			steps:  []step{analyze(analysis(0, events.FaultStartUnknown, 2_000, "svc"), "e2")},
			wantAt: 1_000, wantSource: events.FaultStartSymptomOnset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := Open("inc", "model=fraud", detected("a1", "latency", events.SeverityWarning, tc.openedAt, 1_100), "e1", now)
			for _, st := range tc.steps {
				if _, err := st.apply(s); err != nil {
					t.Fatalf("%s: %v", st.event, err)
				}
			}
			at, source := s.FaultStart()
			ev := s.resolvedEvent()
			if at != tc.wantAt || source != tc.wantSource || ev.FaultStartedUnixNano != at || ev.FaultStartSource != source {
				t.Fatalf("fault start %d (%s), transition %d (%s); want %d (%s)", at, source, ev.FaultStartedUnixNano, ev.FaultStartSource, tc.wantAt, tc.wantSource)
			}
		})
	}
}

// State saved before fault start sources were recorded took its fault start
// from a change.
func TestFaultStartOfOlderState(t *testing.T) {
	s := State{FaultStartedUnixNano: 900}
	if at, source := s.FaultStart(); at != 900 || source != events.FaultStartChange {
		t.Fatalf("fault start %d (%s), want 900 (change)", at, source)
	}
}

// The newest analysis names the top cause; an older one delivered late
// does not replace it.
func TestTopCauseFromNewestAnalysis(t *testing.T) {
	s, _ := Open("inc", "model=fraud", detected("a1", "latency", events.SeverityWarning, 1_000, 1_100), "e1", now)
	s.ApplyRCA(analysis(0, "", 3_000, "slow-dependency"))
	if res := s.ApplyRCA(analysis(0, "", 2_000, "fraud@v2")); res.Changed || s.TopCause.ID != "slow-dependency" {
		t.Fatalf("changed %v, top cause %s; want the newer analysis's slow-dependency kept", res.Changed, s.TopCause.ID)
	}
	if res := s.ApplyRCA(analysis(0, "", 4_000, "gateway")); !res.Changed || s.TopCause.ID != "gateway" {
		t.Fatalf("changed %v, top cause %s; want the newest analysis's gateway", res.Changed, s.TopCause.ID)
	}
}
