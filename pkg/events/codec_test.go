package events

import (
	"errors"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// samples holds one valid payload per event type; the test below fails when a
// schema is added without a Go type, or a Go type drifts from its schema.
func samples() []Data {
	now := int64(1_700_000_000_000_000_000)
	rem := Remediation{ExecutionID: "x1", IncidentID: "i1", Runbook: "rollback", StartedUnixNano: now, FinishedUnixNano: now,
		Steps: []Step{{Name: "roll back", Action: "model.rollback", Status: "succeeded"}}, Error: "verify timed out"}
	tr := IncidentTransition{IncidentID: "i1", AtUnixNano: now, Firing: []AnomalyRef{{AnomalyID: "a2", Rule: "r", Metric: "m", Service: "s"}},
		FaultStartSource: FaultStartSymptomOnset, AcknowledgedBy: "remediation:x1", TopCause: &Cause{Rank: 1, Kind: CauseModelVersion, ID: "fraud@v2", Score: 0.9},
		Remediation: &RemediationSummary{ExecutionID: "x1", Runbook: "rollback", Outcome: "succeeded"}}
	return []Data{
		TelemetryPoints{Source: "simulator", Points: []Point{{Name: "prediction.error", Value: 1, TimeUnixNano: now, Service: "model-server"}}},
		TelemetrySpans{Source: "simulator", Spans: []Span{{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
			ParentSpanID: "00f067aa0ba902b8", Name: "predict", Kind: "server", StartUnixNano: now, EndUnixNano: now + 1, StatusCode: 2,
			StatusMessage: "shape mismatch", Service: "model-server", Model: "fraud", ModelVersion: "v2", Attributes: map[string]string{"k": "v"}}}},
		TelemetryLogs{Source: "simulator", Records: []LogRecord{{TimeUnixNano: now, Severity: "WARN", Body: "prediction failed",
			TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Service: "model-server", Model: "fraud",
			ModelVersion: "v2", Attributes: map[string]string{"err": "shape mismatch"}}}},
		ChangeRecorded{ChangeID: "c1", Kind: "deploy", Service: "model-server", Model: "fraud", ModelVersion: "v2", TimeUnixNano: now},
		AnomalyDetected{AnomalyID: "a1", Rule: "r", Fingerprint: "f", Metric: "m", Severity: SeverityCritical, Service: "s", StartedUnixNano: now, DetectedUnixNano: now},
		AnomalyResolved{AnomalyID: "a1", Rule: "r", Fingerprint: "f", Metric: "m", Service: "s", ResolvedUnixNano: now},
		IncidentOpened{IncidentID: "i1", GroupKey: "model=fraud", Title: "t", Severity: SeverityCritical, StartedUnixNano: now, DetectedUnixNano: now, OpenedUnixNano: now,
			Anomalies: []AnomalyRef{{AnomalyID: "a1", Rule: "r", Metric: "m", Service: "s"}}},
		withStatus(tr, StatusAcknowledged), withStatus(tr, StatusMitigated), withStatus(tr, StatusResolved),
		IncidentUpdated{IncidentOpened: IncidentOpened{IncidentID: "i1", GroupKey: "model=fraud", Title: "t", Severity: SeverityCritical, StartedUnixNano: now, DetectedUnixNano: now, OpenedUnixNano: now,
			Anomalies: []AnomalyRef{{AnomalyID: "a1", Rule: "r", Metric: "m", Service: "s"}}}, AddedAnomalyIDs: []string{"a1"}, UpdatedUnixNano: now},
		RCACompleted{AnalysisID: "r1", Trigger: TriggerOpened, Confidence: 0.8, Baseline: Baseline{Seconds: 60, Points: 600, Sufficient: true},
			IncidentID: "i1", Symptom: "m", Causes: []Cause{{Rank: 1, Kind: CauseService, ID: "s", Score: 1, Evidence: map[string]float64{"corr": 1}}}},
		RemediationEscalated{EscalationID: "e1", IncidentID: "i1", Reason: EscalationLowConfidence, Detail: "confidence 0.2 below 0.6", EscalatedUnixNano: now,
			Cause: &Cause{Rank: 1, Kind: CauseService, ID: "s", Score: 1}},
		RemediationStarted{rem}, RemediationSucceeded{rem}, RemediationFailed{rem},
		NotificationSent{NotificationID: "n1", IncidentID: "i1", Receiver: "webhook", About: TypeIncidentOpened, Attempts: 1, SentUnixNano: now},
	}
}

func TestEveryTypeRoundTrips(t *testing.T) {
	var covered []string
	for _, d := range samples() {
		t.Run(d.EventType(), func(t *testing.T) {
			ev, err := New("test", d)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			raw, err := Encode(ev)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if back.ID() != ev.ID() || back.DataSchema() != SchemaURL(d.EventType()) || back.Subject() != d.EventSubject() {
				t.Fatalf("envelope changed: %v", back)
			}
		})
		covered = append(covered, d.EventType())
	}
	var known []string
	for _, k := range KnownTypes() {
		if !slices.Contains(Retired, k) {
			known = append(known, k)
		}
	}
	sort.Strings(known)
	sort.Strings(covered)
	if len(known) != len(covered) {
		t.Fatalf("schemas %v, Go types %v", known, covered)
	}
	for i := range known {
		if known[i] != covered[i] {
			t.Fatalf("schemas %v, Go types %v", known, covered)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := Encode(mustNew(t, ChangeRecorded{ChangeID: "c1", Kind: "deploy", Service: "s", TimeUnixNano: 1}))
	tests := []struct {
		name string
		raw  string
		want error
	}{
		{name: "not json", raw: "{oops", want: ErrInvalid},
		{name: "missing id", raw: `{"specversion":"1.0","type":"dev.medic.change.recorded.v1","source":"x"}`, want: ErrInvalid},
		{name: "unknown type", raw: `{"specversion":"1.0","id":"1","type":"dev.medic.nope.v1","source":"x","data":{}}`, want: ErrUnknownType},
		{name: "foreign type", raw: `{"specversion":"1.0","id":"1","type":"com.example.x","source":"x","data":{}}`, want: ErrUnknownType},
		{name: "schema violation", raw: `{"specversion":"1.0","id":"1","type":"dev.medic.change.recorded.v1","source":"x","datacontenttype":"application/json","data":{"change_id":"c","kind":"teleport","service":"s","time_unix_nano":1}}`, want: ErrInvalid},
		// Absurd but schema-shaped input: a value no metric has, and a time
		// past what ClickHouse's DateTime holds (it wrapped to 1982).
		{name: "value 1e308", raw: `{"specversion":"1.0","id":"1","type":"dev.medic.telemetry.points.v1","source":"x","datacontenttype":"application/json","data":{"source":"s","points":[{"name":"m","value":1e308,"time_unix_nano":1,"service":"s"}]}}`, want: ErrInvalid},
		{name: "year 2255", raw: `{"specversion":"1.0","id":"1","type":"dev.medic.telemetry.points.v1","source":"x","datacontenttype":"application/json","data":{"source":"s","points":[{"name":"m","value":1,"time_unix_nano":8993000000000000000,"service":"s"}]}}`, want: ErrInvalid},
		{name: "extra field", raw: `{"specversion":"1.0","id":"1","type":"dev.medic.change.recorded.v1","source":"x","datacontenttype":"application/json","data":{"change_id":"c","kind":"deploy","service":"s","time_unix_nano":1,"x":1}}`, want: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode([]byte(tc.raw)); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Decode(good); err != nil {
		t.Fatalf("good event rejected: %v", err)
	}
}

func TestAsChecksType(t *testing.T) {
	ev := mustNew(t, ChangeRecorded{ChangeID: "c1", Kind: "deploy", Service: "s", TimeUnixNano: 1})
	if _, err := As[AnomalyDetected](ev); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	c, err := As[ChangeRecorded](ev)
	if err != nil || c.ChangeID != "c1" {
		t.Fatalf("As: %v %+v", err, c)
	}
	if got := Subject(TypeTelemetryPoints); got != "medic.telemetry.points.v1" {
		t.Fatalf("subject %s", got)
	}
	if got := Subject(TypeIncidentOpened); got != "medic.events.incident.opened.v1" {
		t.Fatalf("subject %s", got)
	}
	// Two separate calls, so the test checks that the id is stable.
	first, second := DerivedID("a", "b"), DerivedID("a", "b")
	if first != second || first == DerivedID("ab") {
		t.Fatal("DerivedID must be stable and separate its parts")
	}
}

func mustNew(t *testing.T, d Data) cloudevents.Event {
	t.Helper()
	ev, err := New("test", d)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func withStatus(tr IncidentTransition, status string) IncidentTransition {
	tr.Status = status
	return tr
}

// One Go type carries the three transitions: its status picks the event
// type on the way out, the event type sets the status on the way in, and
// the status is no field of the data (the v2 schemas forbid extra fields).
func TestTransitionTypes(t *testing.T) {
	for _, status := range []string{StatusAcknowledged, StatusMitigated, StatusResolved} {
		t.Run(status, func(t *testing.T) {
			ev := mustNew(t, IncidentTransition{Status: status, IncidentID: "i1", AtUnixNano: 1})
			if want := "dev.medic.incident." + status + ".v2"; ev.Type() != want {
				t.Fatalf("type %s, want %s", ev.Type(), want)
			}
			if strings.Contains(string(ev.Data()), status) {
				t.Fatalf("status leaked into the data: %s", ev.Data())
			}
			back, err := As[IncidentTransition](ev)
			if err != nil || back.Status != status || back.IncidentID != "i1" {
				t.Fatalf("As: %v %+v", err, back)
			}
		})
	}
	if _, err := New("test", IncidentTransition{IncidentID: "i1", AtUnixNano: 1}); err == nil {
		t.Fatal("a transition without a status was published")
	}
	if _, err := As[IncidentTransition](mustNew(t, ChangeRecorded{ChangeID: "c1", Kind: "deploy", Service: "s", TimeUnixNano: 1})); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a change decoded as a transition: %v", err)
	}
}

// Parse gives every type Medic publishes its Go value, with the metadata.
func TestParseEveryType(t *testing.T) {
	for _, d := range samples() {
		t.Run(d.EventType(), func(t *testing.T) {
			ev := mustNew(t, d)
			raw, err := Encode(ev)
			if err != nil {
				t.Fatal(err)
			}
			it, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if it.Meta.ID != ev.ID() || it.Meta.Type != d.EventType() || !it.Meta.Time.Equal(ev.Time()) {
				t.Fatalf("meta %+v of %s", it.Meta, ev)
			}
			if !reflect.DeepEqual(it.Data, d) {
				t.Fatalf("data %#v, want %#v", it.Data, d)
			}
		})
	}
	if _, err := Parse([]byte(`{"specversion":"1.0","id":"1","type":"dev.medic.nope.v1","source":"x","data":{}}`)); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("unknown type: %v", err)
	}
}

// Every cause kind the Go code names is one the schemas of the events that
// carry causes accept.
func TestEveryCauseKindValidates(t *testing.T) {
	kinds := []string{CauseService, CauseModelVersion, CauseChange, CauseOperation, CauseFeature, CauseLogTemplate}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			cause := Cause{Rank: 1, Kind: kind, ID: kind + ":x", Score: 1}
			tr := IncidentTransition{IncidentID: "i1", AtUnixNano: 1, TopCause: &cause}
			for _, d := range []Data{
				RCACompleted{AnalysisID: "r1", Trigger: TriggerOpened, IncidentID: "i1", Symptom: "m", Causes: []Cause{cause}},
				RemediationEscalated{EscalationID: "e1", IncidentID: "i1", Reason: EscalationLowConfidence, Detail: "d", EscalatedUnixNano: 1, Cause: &cause},
				withStatus(tr, StatusAcknowledged), withStatus(tr, StatusMitigated), withStatus(tr, StatusResolved),
			} {
				if _, err := New("test", d); err != nil {
					t.Errorf("%s with a %s cause: %v", d.EventType(), kind, err)
				}
			}
		})
	}
}
