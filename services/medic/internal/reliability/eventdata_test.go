package reliability_test

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/medic/internal/reliability"
)

// Field reads a top-level string of an event's data as it is on the wire.
func TestField(t *testing.T) {
	ev := reliability.Event{Meta: events.Meta{ID: "e1", Type: events.TypeNotificationSent},
		Data: events.NotificationSent{NotificationID: "n1", IncidentID: "i1", Receiver: "webhook", About: events.TypeIncidentOpened, Attempts: 1}}
	for name, want := range map[string]string{"incident_id": "i1", "about": events.TypeIncidentOpened, "notification_id": "n1", "status_code": "", "nope": ""} {
		if got := reliability.Field(ev, name); got != want {
			t.Errorf("Field(%s) = %q, want %q", name, got, want)
		}
	}
}
