package remediate

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/services/remediator/internal/action"
	"github.com/medic-sre/medic/services/remediator/internal/gate"
	"github.com/medic-sre/medic/services/remediator/internal/incident"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

const testRunbooks = `
runbooks:
  - name: rollback
    match: {cause_kind: model_version}
    steps:
      - {name: roll back, action: model.rollback, with: {model: "{{.Cause.Model}}"}}
`

// fakeRollback counts its calls.
type fakeRollback struct {
	mu    sync.Mutex
	calls int
}

func (*fakeRollback) Name() string                  { return "model.rollback" }
func (*fakeRollback) Check(map[string]string) error { return nil }
func (f *fakeRollback) Run(context.Context, action.Request) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return "rolled back", nil
}

func (f *fakeRollback) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// world is an executor on a real bus, behind a real durable consumer
// whose handler results are kept.
type world struct {
	b      *bus.Bus
	x      *Executor
	action *fakeRollback
	view   *incident.View
	mu     sync.Mutex
	errs   []error
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{b: servicetest.Bus(t), action: &fakeRollback{}}
	reg := action.NewRegistry(w.action)
	books, err := runbook.Parse("test", []byte(testRunbooks), reg)
	if err != nil {
		t.Fatal(err)
	}
	view, err := incident.Open(context.Background(), w.b.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	w.view = view
	w.x = &Executor{Runbooks: books, Actions: reg, Bus: w.b, Log: slog.New(slog.DiscardHandler),
		StepTimeout: 100 * time.Millisecond, Margin: 100 * time.Millisecond, Incidents: view,
		Gate: gate.Thresholds{MinConfidence: gate.DefaultMinConfidence, MinMargin: gate.DefaultMinMargin}}
	if err := w.x.Open(context.Background(), w.b.JetStream()); err != nil {
		t.Fatal(err)
	}
	return w
}

// open records in the view an incident of one anomaly, detected a minute
// ago, as its incident.opened would.
func (w *world) open(t *testing.T, id string) {
	t.Helper()
	detected := time.Now().Add(-time.Minute).UnixNano()
	o := events.IncidentOpened{IncidentID: id, DetectedUnixNano: detected, OpenedUnixNano: detected,
		Anomalies: []events.AnomalyRef{{AnomalyID: "a-" + id}}}
	if err := w.view.Apply(context.Background(), id, func(r incident.Record) incident.Record { return incident.Opened(r, o) }); err != nil {
		t.Fatal(err)
	}
}

// consume starts the consumer; a delivery that fails comes back after
// 50-100ms.
func (w *world) consume(t *testing.T) {
	t.Helper()
	c, err := w.b.Consume(context.Background(), bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "remediator",
		FilterSubjects: []string{events.Subject(events.TypeRCACompleted)}, RetryBase: 50 * time.Millisecond,
		RetryMax: 100 * time.Millisecond, MaxDeliver: 100, Prefetch: 1},
		bus.On(func(ctx context.Context, m events.Meta, d events.RCACompleted) error {
			err := w.x.Handle(ctx, m, d)
			w.mu.Lock()
			w.errs = append(w.errs, err)
			w.mu.Unlock()
			return err
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Drain(context.Background()) })
}

func (w *world) results() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

func (w *world) outcomes(t *testing.T) []cloudevents.Event {
	t.Helper()
	return servicetest.ReadEvents(t, w.b.JetStream(), bus.StreamEvents, "medic.events.remediation.>")
}

var testCause = events.Cause{Rank: 1, Kind: events.CauseModelVersion, ID: "fraud@v2", Score: 0.9, Model: "fraud", ModelVersion: "v2"}

func analysis(incident string) events.RCACompleted {
	now := time.Now().UnixNano()
	return events.RCACompleted{IncidentID: incident, AnalysisID: "an-" + uuid.NewString(), Trigger: events.TriggerOpened,
		AnomalyIDs: []string{"a-" + incident}, Confidence: 0.9, Baseline: events.Baseline{Seconds: 300, Points: 300, Sufficient: true},
		Symptom: "prediction.error", WindowStartUnixNano: now - 1e10, WindowEndUnixNano: now,
		AnalyzedUnixNano: now, Causes: []events.Cause{testCause}}
}

// An execution left running by a remediator that died is waited for until
// its deadline (its message is not acked), then reported failed as
// interrupted, once, without running the actions again.
func TestRunningExecutionLeftBehind(t *testing.T) {
	tests := []struct {
		name         string
		started      time.Duration // before now
		deadline     time.Duration // from now; 0: the record has none
		wantWaitedOn bool          // the first deliveries fail as still running
	}{
		{name: "past its deadline", started: time.Minute, deadline: -time.Second},
		{name: "before its deadline", started: time.Second, deadline: 700 * time.Millisecond, wantWaitedOn: true},
		{name: "from a remediator without deadlines, long ago", started: time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			incident := "inc-" + uuid.NewString()
			w.open(t, incident)
			execID := ExecutionID(incident, testCause)
			now := time.Now()
			left := record{State: stateRunning, StartedUnixNano: now.Add(-tc.started).UnixNano(),
				Outcome: events.Remediation{ExecutionID: execID, IncidentID: incident, Runbook: "rollback", CauseID: "fraud@v2",
					StartedUnixNano: now.Add(-tc.started).UnixNano()}}
			if tc.deadline != 0 {
				left.DeadlineUnixNano = now.Add(tc.deadline).UnixNano()
			}
			if _, err := w.x.guard.store.Create(context.Background(), execID, left); err != nil {
				t.Fatal(err)
			}
			w.consume(t)
			if _, err := w.b.Emit(context.Background(), uuid.NewString(), analysis(incident)); err != nil {
				t.Fatal(err)
			}
			if tc.wantWaitedOn {
				checkWaitedOn(t, w, left.DeadlineUnixNano)
			}
			servicetest.WaitConsumed(t, w.b.JetStream(), bus.StreamEvents, "remediator")
			checkInterrupted(t, w, execID)
		})
	}
}

// checkWaitedOn waits for a redelivery and checks that every delivery
// before the deadline failed as still running and published nothing.
func checkWaitedOn(t *testing.T, w *world, deadline int64) {
	t.Helper()
	servicetest.Poll(t, "a redelivery", func() bool { return len(w.results()) >= 2 })
	if time.Now().UnixNano() >= deadline {
		t.Fatal("the test machine is too slow: the deadline passed before the redelivery could be checked")
	}
	for i, err := range w.results()[:2] {
		if !errors.Is(err, ErrStillRunning) || outcome.IsPermanent(err) {
			t.Fatalf("delivery %d before the deadline: %v, want a transient ErrStillRunning", i+1, err)
		}
	}
	if n := len(w.outcomes(t)); n != 0 {
		t.Fatalf("%d remediation events before the deadline, want none", n)
	}
}

func checkInterrupted(t *testing.T, w *world, execID string) {
	t.Helper()
	evs := w.outcomes(t)
	if len(evs) != 1 || evs[0].Type() != events.TypeRemediationFailed || evs[0].ID() != events.DerivedID(events.TypeRemediationFailed, execID) {
		t.Fatalf("remediation events %v, want one remediation.failed of the execution", evs)
	}
	rem := servicetest.As[events.RemediationFailed](t, evs[0]).Remediation
	if rem.Error != Interrupted || len(rem.Steps) != 1 || rem.Steps[0].Status != statusFailed || rem.FinishedUnixNano == 0 {
		t.Fatalf("outcome %+v", rem)
	}
	if n := w.action.Calls(); n != 0 {
		t.Fatalf("the action ran %d times, want 0: an interrupted runbook is not run again", n)
	}
	r, _, err := w.x.guard.get(context.Background(), execID)
	if err != nil || r.State != stateFinished || r.OutcomeType != events.TypeRemediationFailed {
		t.Fatalf("record %+v (%v), want finished as failed", r, err)
	}
}

// A fresh execution records when it started and its deadline: the sum of
// its step timeouts, its verify timeout and the margin.
func TestExecutionRecordsItsDeadline(t *testing.T) {
	w := newWorld(t)
	w.consume(t)
	incident := "inc-" + uuid.NewString()
	w.open(t, incident)
	if _, err := w.b.Emit(context.Background(), uuid.NewString(), analysis(incident)); err != nil {
		t.Fatal(err)
	}
	servicetest.WaitConsumed(t, w.b.JetStream(), bus.StreamEvents, "remediator")
	r, _, err := w.x.guard.get(context.Background(), ExecutionID(incident, testCause))
	if err != nil {
		t.Fatal(err)
	}
	want := r.StartedUnixNano + int64(200*time.Millisecond) // one step of 100ms, no verify, 100ms margin
	if r.State != stateFinished || r.StartedUnixNano == 0 || r.DeadlineUnixNano != want || w.action.Calls() != 1 {
		t.Fatalf("record %+v after %d calls, want finished with deadline %d", r, w.action.Calls(), want)
	}
}

// A run that ends after another delivery took it over publishes the
// recorded (interrupted) outcome, not its own: one execution, one outcome.
func TestLateRunKeepsTheTakeover(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	execID := "exec-" + uuid.NewString()
	rem := events.Remediation{ExecutionID: execID, IncidentID: "inc-1", Runbook: "rollback", StartedUnixNano: 1}
	rev, err := w.x.guard.store.Create(ctx, execID, record{State: stateRunning, StartedUnixNano: 1, DeadlineUnixNano: 2, Outcome: rem})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.x.closeInterrupted(ctx, w.x.Log, &w.x.Runbooks.Runbooks[0], rev, record{State: stateRunning, Outcome: rem}, Interrupted); err != nil {
		t.Fatal(err)
	}
	done := rem
	done.Steps, done.FinishedUnixNano = []events.Step{{Name: "roll back", Action: "model.rollback", Status: statusSucceeded}}, 3
	if err := w.x.conclude(ctx, w.x.Log, w.x.newLease(w.x.Log, rev, record{State: stateRunning, Outcome: rem}), done); err != nil {
		t.Fatal(err)
	}
	checkInterrupted(t, w, execID)
}
