package correlate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// An event naming an incident the correlator does not know waits for it by
// time, not by a count of attempts: it is retried (as a wait, which the
// consumer's MaxDeliver does not count) until UnknownIncidentWait has passed
// since it was published or first seen, whichever is later, and only then
// dead-lettered with the reason. An incident that appears within the wait
// takes the event.
func TestUnknownIncidentWaitsByAge(t *testing.T) {
	t0 := time.Now()
	tests := []struct {
		name      string
		published time.Time       // the event's time
		attempts  []time.Duration // after t0, each must be retried
		open      bool            // the incident opens before the last attempt
		last      time.Duration   // after t0
		wantDLQ   bool
	}{
		{name: "dead-lettered once it waited long enough", published: t0,
			attempts: []time.Duration{0, time.Second, time.Minute, UnknownIncidentWait - time.Second},
			last:     UnknownIncidentWait + time.Second, wantDLQ: true},
		{name: "an event that sat in the stream waits the full time from when it is first seen",
			published: t0.Add(-10 * time.Minute), attempts: []time.Duration{0, 2 * time.Minute},
			last: UnknownIncidentWait + time.Second, wantDLQ: true},
		{name: "not a moment before the wait is over", published: t0.Add(-10 * time.Minute),
			attempts: []time.Duration{0, 2 * time.Minute, UnknownIncidentWait - time.Millisecond},
			last:     UnknownIncidentWait - time.Millisecond},
		{name: "its incident created by a late redelivery takes it", published: t0,
			attempts: []time.Duration{0, 30 * time.Second, 2 * time.Minute}, open: true, last: 2*time.Minute + time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nats := servicetest.StartNATS(t)
			h, _ := replica(t, nats.URL(), func(b *bus.Bus) Emitter { return b })
			ctx, at := context.Background(), t0
			h.now = func() time.Time { return at }
			det := detectedEvent(t, "a1")
			id := events.DerivedID("incident", "model=fraud", "a1")
			rca := rcaEvent(t, id, t0.UnixNano())
			rca.SetTime(tc.published)
			for _, d := range tc.attempts {
				at = t0.Add(d)
				if err := handle(ctx, h, rca); err == nil || outcome.IsPermanent(err) {
					t.Fatalf("attempt at +%s: %v, want a wait for the incident", d, err)
				}
			}
			if tc.open {
				if err := handle(ctx, h, det); err != nil {
					t.Fatal(err)
				}
			}
			at = t0.Add(tc.last)
			err := handle(ctx, h, rca)
			switch {
			case tc.open && err != nil:
				t.Fatalf("after its incident opened: %v", err)
			case tc.wantDLQ && (!outcome.IsPermanent(err) || !strings.Contains(err.Error(), "unknown after waiting") || !strings.Contains(err.Error(), id)):
				t.Fatalf("at +%s: %v, want it dead-lettered naming its unknown incident", tc.last, err)
			case !tc.open && !tc.wantDLQ && (err == nil || outcome.IsPermanent(err)):
				t.Fatalf("at +%s: %v, want it still waiting", tc.last, err)
			}
		})
	}
}
