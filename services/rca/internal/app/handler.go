package app

import (
	"context"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/rca/internal/engine"
)

// handler runs one analysis per incident opened or updated.
type handler struct {
	rt     *service.Runtime
	settle time.Duration
	engine *engine.Engine
}

// opened analyses a newly opened incident.
func (h *handler) opened(ctx context.Context, m events.Meta, inc events.IncidentOpened) error {
	return h.analyse(ctx, engine.OpenedTask(m.ID, inc), inc.OpenedUnixNano)
}

// updated analyses an incident again once anomalies joined it.
func (h *handler) updated(ctx context.Context, m events.Meta, up events.IncidentUpdated) error {
	return h.analyse(ctx, engine.UpdatedTask(m.ID, up), up.UpdatedUnixNano)
}

// analyse runs t once the settle delay after at has passed. It returns
// Permanent for a trigger no retry can analyse, and the query or publish
// error otherwise, so the bus retries with backoff.
func (h *handler) analyse(ctx context.Context, t engine.Task, at int64) error {
	log := h.rt.Log.With("incident", t.IncidentID, "analysis", t.AnalysisID, "trigger", t.Trigger)
	if err := wait(ctx, settleFor(at, h.settle, time.Now())); err != nil {
		return err
	}
	req, err := h.engine.IncidentRequest(t, time.Now())
	if err != nil {
		// Only the incident's symptom can fail here, and no retry changes it.
		return outcome.Permanent(fmt.Errorf("incident %s (%s): %w", t.IncidentID, t.Trigger, err))
	}
	res, err := h.engine.Analyze(ctx, req)
	if err != nil {
		log.Warn("analysis failed; will retry", "err", err)
		return fmt.Errorf("analyse incident %s (%s): %w (is ClickHouse up?)", t.IncidentID, t.Trigger, err)
	}
	if _, err := h.rt.Bus.Emit(ctx, EventID(t.AnalysisID), res.RCACompleted); err != nil {
		return fmt.Errorf("publish rca.completed for %s: %w", t.IncidentID, err)
	}
	top := "none"
	if len(res.Causes) > 0 {
		top = res.Causes[0].ID
	}
	log.Info("rca completed", "symptom", res.Symptom, "causes", len(res.Causes), "top_cause", top,
		"confidence", res.Confidence, "tie", res.Tie, "baseline_sufficient", res.Baseline.Sufficient,
		"fault_start_source", res.FaultStartSource)
	return nil
}
