package incident

import "github.com/medic-sre/medic/pkg/events"

// sourceRank orders the ways a fault start is found: a change event the
// analysis points at beats an estimate from the symptoms, which beats
// nothing.
var sourceRank = map[string]int{
	events.FaultStartUnknown:      0,
	events.FaultStartSymptomOnset: 1,
	events.FaultStartChange:       2,
}

// FaultStart is when the incident's fault started and how that was found
// (events.FaultStart).
func (s *State) FaultStart() (unixNano int64, source string) {
	return events.FaultStart(s.FaultStartedUnixNano, s.FaultStartSource)
}

// proposeFaultStart takes a candidate fault start if it is better than the
// one held: a change beats an estimate, and between two of the same kind the
// earlier wins, since the incident began when its first fault did. It
// reports whether the fault start changed.
func (s *State) proposeFaultStart(unixNano int64, source string) bool {
	if unixNano <= 0 || sourceRank[source] == 0 {
		return false
	}
	at, cur := s.FaultStart()
	switch {
	case sourceRank[source] < sourceRank[cur]:
		return false
	case sourceRank[source] == sourceRank[cur] && unixNano >= at:
		return false
	}
	s.FaultStartedUnixNano, s.FaultStartSource = unixNano, source
	return true
}

// rcaFaultStartSource is how an analysis found its fault start. An analysis
// that gives a time but no source is read as rca.completed.v1 defined its
// fault start: the time of the change its top cause points at.
func rcaFaultStartSource(r events.RCACompleted) string {
	if r.FaultStartSource == "" {
		return events.FaultStartChange
	}
	return r.FaultStartSource
}
