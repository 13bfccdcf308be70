package notify_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/services/notifier/internal/notify"
)

// flakyLedger fails as many writes as failures says, then keeps records.
type flakyLedger struct {
	mu       sync.Mutex
	failures int
	writes   int
	records  map[string]notify.Record
}

func (l *flakyLedger) Delivered(_ context.Context, id string) (notify.Record, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.records[id]
	return r, ok, nil
}

func (l *flakyLedger) MarkDelivered(_ context.Context, id string, r notify.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	if l.writes <= l.failures {
		return errors.New("nats: timeout")
	}
	l.records[id] = r
	return nil
}

// countingReceiver accepts every notification and counts them.
type countingReceiver struct{ sends int }

func (r *countingReceiver) Name() string { return "test" }

func (r *countingReceiver) Send(context.Context, notify.Message) (notify.Delivery, error) {
	r.sends++
	return notify.Delivery{StatusCode: 200, Attempts: 1}, nil
}

// emitter keeps the ids of the events published.
type emitter struct{ ids []string }

func (e *emitter) Emit(_ context.Context, id string, _ events.Data) (events.Meta, error) {
	e.ids = append(e.ids, id)
	return events.Meta{ID: id}, nil
}

// A ledger write that fails after the receiver answered 2xx is retried
// without posting again: in the handler, then on the next delivery.
func TestLedgerFailureDoesNotPostAgain(t *testing.T) {
	tests := []struct {
		name       string
		failures   int // ledger writes that fail
		deliveries int // of the same event; the last one must succeed
		wantErrs   int // deliveries that fail
	}{
		{name: "recorded first time", failures: 0, deliveries: 1},
		{name: "recorded on a retry in the handler", failures: 2, deliveries: 1},
		{name: "recorded on the next delivery", failures: 3, deliveries: 2, wantErrs: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ledger := &flakyLedger{failures: tc.failures, records: map[string]notify.Record{}}
			recv, out := &countingReceiver{}, &emitter{}
			n := &notify.Notifier{Receiver: recv, Ledger: ledger, Bus: out, Log: slog.New(slog.DiscardHandler),
				MarkAttempts: 3, MarkBackoff: time.Millisecond}
			m, in := openedEvent()
			var errs int
			for range tc.deliveries {
				if err := n.Opened(context.Background(), m, in); err != nil {
					if outcome.IsPermanent(err) {
						t.Fatalf("permanent error %v", err)
					}
					errs++
				}
			}
			if recv.sends != 1 || errs != tc.wantErrs {
				t.Fatalf("%d posts and %d failed deliveries, want 1 and %d", recv.sends, errs, tc.wantErrs)
			}
			id := events.DerivedID("notification", m.ID)
			if _, ok := ledger.records[id]; !ok || len(out.ids) != 1 || out.ids[0] != id {
				t.Fatalf("recorded %v, published %v; want %s in both", ledger.records, out.ids, id)
			}
		})
	}
}

func openedEvent() (events.Meta, events.IncidentOpened) {
	return events.Meta{ID: "evt-1", Type: events.TypeIncidentOpened, Source: "medic/test"}, events.IncidentOpened{IncidentID: "inc-1", GroupKey: "model=fraud",
		Title: "prediction.error high", Severity: events.SeverityCritical, StartedUnixNano: t0, DetectedUnixNano: t0, OpenedUnixNano: t0,
		Anomalies: []events.AnomalyRef{{AnomalyID: "a1", Rule: "r1", Metric: "m", Service: "s"}}}
}
