package remediate

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/remediator/internal/gate"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

// EscalationID is the id of the escalation of an analysis: one per
// analysis, so a redelivery publishes the same event, which JetStream drops.
func EscalationID(analysisID string) string { return events.DerivedID("escalation", analysisID) }

// escalate hands the incident to people: it publishes remediation.escalated
// with the gate's reason and runs nothing.
func (x *Executor) escalate(ctx context.Context, log *slog.Logger, rca events.RCACompleted, top events.Cause, rb *runbook.Runbook, d gate.Decision) error {
	esc := events.RemediationEscalated{EscalationID: EscalationID(rca.AnalysisID), IncidentID: rca.IncidentID,
		AnalysisID: rca.AnalysisID, Reason: d.Reason, Detail: d.Detail, Confidence: rca.Confidence,
		EscalatedUnixNano: x.now().UnixNano()}
	if rb != nil {
		esc.Runbook = rb.Name
	}
	if top.ID != "" {
		esc.Cause = &top
	}
	if _, err := x.Bus.Emit(ctx, events.DerivedID(events.TypeRemediationEscalated, esc.EscalationID), esc); err != nil {
		return fmt.Errorf("publish escalation of analysis %s: %w", rca.AnalysisID, err)
	}
	log.Warn("not acting; incident escalated to people", "reason", d.Reason, "detail", d.Detail)
	return nil
}

// ExecutionID is the id of the remediation of one cause of an incident:
// a fresh analysis that names another cause runs its runbook, while the
// same cause is never remediated twice.
func ExecutionID(incidentID string, cause events.Cause) string {
	return events.DerivedID("remediation", incidentID, cause.Kind, cause.ID)
}
