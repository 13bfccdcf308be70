package incident

import (
	"fmt"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

// Verdict is what the view says of an analysis.
type Verdict int

// Verdicts of Admit.
const (
	// Admitted: the incident exists, is open, and holds every anomaly the
	// analysis covers.
	Admitted Verdict = iota
	// Unconfirmed: the incident, or some anomaly of the analysis, is not
	// in the view yet. The incident event may still be in flight, so the
	// caller waits a bounded time before refusing.
	Unconfirmed
	// Refused: the analysis can never be acted on.
	Refused
	// Over: the incident resolved after the analysis was made; there is
	// nothing left to do, and nothing wrong with the analysis.
	Over
)

// Admit checks the analysis rca against the incident's record (found is
// false when the view has none) and says why when it is not Admitted.
func Admit(r Record, found bool, rca events.RCACompleted) (Verdict, string) {
	if !found {
		return Unconfirmed, fmt.Sprintf("incident %s does not exist (no incident.opened seen)", rca.IncidentID)
	}
	if r.Resolved() {
		at := time.Unix(0, r.ResolvedUnixNano).UTC().Format(time.RFC3339)
		if rca.AnalyzedUnixNano < r.ResolvedUnixNano {
			return Over, fmt.Sprintf("incident %s resolved at %s, after analysis %s", r.ID, at, rca.AnalysisID)
		}
		return Refused, fmt.Sprintf("incident %s was resolved at %s, before analysis %s", r.ID, at, rca.AnalysisID)
	}
	if len(rca.AnomalyIDs) == 0 {
		return Refused, fmt.Sprintf("analysis %s names no anomalies, so it cannot be checked against incident %s", rca.AnalysisID, r.ID)
	}
	var missing []string
	for _, id := range rca.AnomalyIDs {
		if !r.Has(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return Unconfirmed, fmt.Sprintf("anomalies %s of analysis %s are not members of incident %s",
			strings.Join(missing, ", "), rca.AnalysisID, r.ID)
	}
	return Admitted, ""
}
