package app

import (
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/correlator/internal/correlate"
)

// lifecycleSpec is the correlator's durable consumer of the events that
// move incidents (correlate.Types).
func lifecycleSpec() bus.ConsumerSpec {
	subjects := make([]string, len(correlate.Types))
	for i, t := range correlate.Types {
		subjects[i] = events.Subject(t)
	}
	// 16 healthy deliveries span about 2.5 minutes of backoff, longer than
	// StaleClaimAge, so an anomaly waiting on an unsaved group claim is not
	// dead-lettered before it may take the group over.
	return bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: correlate.Durable, FilterSubjects: subjects, MaxDeliver: 16}
}

// lifecycleRoutes hands each of correlate.Types to its handler.
func lifecycleRoutes(h *correlate.Handler) []bus.Route {
	return []bus.Route{
		bus.On(h.Detected), bus.On(h.Resolved), bus.On(h.Analyzed),
		bus.On(h.RemediationStarted), bus.On(h.RemediationSucceeded), bus.On(h.RemediationFailed),
		bus.On(h.Escalated),
	}
}
