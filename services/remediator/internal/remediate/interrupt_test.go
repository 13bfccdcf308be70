package remediate

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/services/remediator/internal/action"
	"github.com/medic-sre/medic/services/remediator/internal/gate"
	"github.com/medic-sre/medic/services/remediator/internal/incident"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

// recoverableRunbooks declare the rollback safe to repeat and visible in
// the serving system's state, as the default runbooks do.
const recoverableRunbooks = `
runbooks:
  - name: rollback
    match: {cause_kind: model_version}
    steps:
      - name: roll back
        action: model.rollback
        with: {model: "{{.Cause.Model}}"}
        idempotent: true
        done_when:
          action: model.state
          with: {model: "{{.Cause.Model}}"}
          field: serving_version
          not_equals: "{{.Cause.ModelVersion}}"
`

// servingSim is a serving system over HTTP serving fraud@v2 with v1
// before it. Its first rollback hangs, before or after taking effect, as a
// call does whose remediator is killed during it; a repeated
// Idempotency-Key is answered without acting again.
type servingSim struct {
	hangAfterApplying bool
	hung, release     chan struct{}

	mu               sync.Mutex
	active, previous string
	calls, rollbacks int
	keys             []string
	answered         map[string]bool
}

func newServingSim(hangAfterApplying bool) *servingSim {
	return &servingSim{hangAfterApplying: hangAfterApplying, hung: make(chan struct{}), release: make(chan struct{}),
		active: "v2", previous: "v1", answered: map[string]bool{}}
}

func (s *servingSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/v1/state" {
		s.mu.Lock()
		st := map[string]any{"models": map[string]any{"fraud": map[string]any{"active_version": s.active,
			"previous_version": s.previous, "backup_version": "v0", "failover": false}}}
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(st)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	s.calls++
	s.keys = append(s.keys, key)
	first, replay := s.calls == 1, s.answered[key]
	if first && !s.hangAfterApplying {
		s.mu.Unlock()
		s.hang(w)
		return
	}
	if !replay {
		s.active, s.previous = s.previous, ""
		s.rollbacks++
		s.answered[key] = true
	}
	s.mu.Unlock()
	if first {
		s.hang(w)
		return
	}
	_, _ = w.Write([]byte(`{"active_version":"v1"}`))
}

// hang holds the call until the test ends, then fails it.
func (s *servingSim) hang(w http.ResponseWriter) {
	close(s.hung)
	<-s.release
	w.WriteHeader(http.StatusServiceUnavailable)
}

func (s *servingSim) counts() (calls, rollbacks int, keys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.rollbacks, append([]string(nil), s.keys...)
}

// remediator is one executor on its own NATS connection behind the
// durable consumer, with the production AckWait and lease.
type remediator struct {
	b  *bus.Bus
	x  *Executor
	c  *bus.Consumer
	wg sync.WaitGroup
}

func startRemediator(t *testing.T, url string, serving string) *remediator {
	t.Helper()
	reg := action.Default(serving, action.NewClient(30*time.Second))
	books, err := runbook.Parse("test", []byte(recoverableRunbooks), reg)
	if err != nil {
		t.Fatal(err)
	}
	r := &remediator{b: servicetest.Connect(t, url)}
	view, err := incident.Open(context.Background(), r.b.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	r.x = &Executor{Runbooks: books, Actions: reg, Bus: r.b, Log: slog.New(slog.DiscardHandler),
		StepTimeout: time.Minute, Incidents: view,
		Gate: gate.Thresholds{MinConfidence: gate.DefaultMinConfidence, MinMargin: gate.DefaultMinMargin}}
	if err := r.x.Open(context.Background(), r.b.JetStream()); err != nil {
		t.Fatal(err)
	}
	r.c, err = r.b.Consume(context.Background(), bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "remediator",
		FilterSubjects: []string{events.Subject(events.TypeRCACompleted)}, AckWait: 10 * time.Second,
		RetryBase: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond, MaxDeliver: 100, Prefetch: 1},
		bus.On(func(ctx context.Context, m events.Meta, d events.RCACompleted) error {
			r.wg.Add(1)
			defer r.wg.Done()
			return r.x.Handle(ctx, m, d)
		}))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// kill stops the remediator dead: it takes no more messages, its
// connection is gone (no more progress signals, lease renewals or
// records), and the handler stuck in its action never finishes anything.
func (r *remediator) kill() {
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	_ = r.c.Drain(stopped)
	r.b.Conn().Close()
}

// A remediator killed during the rollback call, before the rollback took
// effect or after it took effect but before it heard back, is taken over
// by a new remediator on the same NATS within seconds: it reads the
// serving system's state, runs the rollback again only if it is not done
// (same Idempotency-Key), and reports success, never failure.
func TestInterruptedRunIsTakenOverWithinSeconds(t *testing.T) {
	tests := []struct {
		name              string
		hangAfterApplying bool
		wantCalls         int
		wantDetail        string
	}{
		{name: "killed before the rollback took effect", wantCalls: 2, wantDetail: "POST "},
		{name: "killed after the rollback took effect", hangAfterApplying: true, wantCalls: 1,
			wantDetail: `already done before the interruption: serving_version is "v1" (done when not "v2")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nats := servicetest.StartNATS(t)
			sim := newServingSim(tc.hangAfterApplying)
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			first := startRemediator(t, nats.URL(), srv.URL)
			t.Cleanup(func() { close(sim.release); first.wg.Wait() })

			id := "inc-" + uuid.NewString()
			detected := time.Now().Add(-time.Minute).UnixNano()
			opened := events.IncidentOpened{IncidentID: id, DetectedUnixNano: detected, OpenedUnixNano: detected,
				Anomalies: []events.AnomalyRef{{AnomalyID: "a-" + id}}}
			if err := first.x.Incidents.(*incident.View).Apply(context.Background(), id, func(r incident.Record) incident.Record { return incident.Opened(r, opened) }); err != nil {
				t.Fatal(err)
			}
			if _, err := first.b.Emit(context.Background(), uuid.NewString(), analysis(id)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-sim.hung:
			case <-time.After(30 * time.Second):
				t.Fatal("the rollback was never called")
			}
			first.kill()
			killed := time.Now()

			second := startRemediator(t, nats.URL(), srv.URL)
			execID := ExecutionID(id, testCause)
			var evs []cloudevents.Event
			servicetest.PollFor(t, "the outcome", 30*time.Second, func() bool {
				evs = servicetest.ReadEvents(t, second.b.JetStream(), bus.StreamEvents, "medic.events.remediation.>")
				return len(evs) >= 2
			})
			took := time.Since(killed)
			if len(evs) != 2 || evs[0].Type() != events.TypeRemediationStarted || evs[1].Type() != events.TypeRemediationSucceeded {
				t.Fatalf("events %v, want started then succeeded", evs)
			}
			if took > 15*time.Second {
				t.Fatalf("the outcome came %s after the kill, want within 15s", took)
			}
			rem := servicetest.As[events.RemediationSucceeded](t, evs[1]).Remediation
			if rem.ExecutionID != execID || len(rem.Steps) != 1 || rem.Steps[0].Status != statusSucceeded ||
				!strings.HasPrefix(rem.Steps[0].Detail, tc.wantDetail) {
				t.Fatalf("outcome %+v, want the step succeeded with detail %q", rem, tc.wantDetail)
			}
			calls, rollbacks, keys := sim.counts()
			if calls != tc.wantCalls || rollbacks != 1 {
				t.Fatalf("%d rollback calls, %d rollbacks done, want %d calls and one rollback", calls, rollbacks, tc.wantCalls)
			}
			for _, k := range keys {
				if k != StepKey(execID, 0) {
					t.Fatalf("keys %v, want every call under %s", keys, StepKey(execID, 0))
				}
			}
			t.Logf("outcome %s after the kill", took.Round(100*time.Millisecond))
		})
	}
}
