package correlate

import "time"

// UnknownIncidentWait is how long an event naming an incident (or an
// anomaly) that the correlator does not know is retried before it is
// dead-lettered. Such an event is most likely early: the event that creates
// its incident failed and waits for its own redelivery, which comes after
// the consumer's AckWait when a replica died, after the bus's backoff (up
// to 15 s) when a step failed, and up to StaleClaimAge after its group was
// claimed when the group's opener was lost. The wait outlasts all of them;
// outcome.Waits measures it.
const UnknownIncidentWait = 3 * time.Minute

// unknownRetryIn is the redelivery delay of an event that waits for its
// incident: short at first, when the incident is most likely only a
// moment late, and growing to the bus's longest backoff.
func unknownRetryIn(waited time.Duration) time.Duration {
	return min(max(waited/2, time.Second), 15*time.Second)
}
