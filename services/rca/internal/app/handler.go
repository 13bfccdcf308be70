package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/rca/internal/engine"
)

// handler runs one analysis per incident opened or updated.
type handler struct {
	rt     *service.Runtime
	settle time.Duration
	engine *engine.Engine
}

// task turns a trigger event into the analysis it asks for, and the time
// the settle delay counts from. An event no retry can read is Permanent.
func task(ev cloudevents.Event) (engine.Task, int64, error) {
	switch ev.Type() {
	case events.TypeIncidentUpdated:
		up, err := events.As[events.IncidentUpdated](ev)
		if err != nil {
			return engine.Task{}, 0, bus.Permanent(err)
		}
		return engine.UpdatedTask(ev.ID(), up), up.UpdatedUnixNano, nil
	default:
		inc, err := events.As[events.IncidentOpened](ev)
		if err != nil {
			return engine.Task{}, 0, bus.Permanent(err)
		}
		return engine.OpenedTask(ev.ID(), inc), inc.OpenedUnixNano, nil
	}
}

// handle returns Permanent for a trigger no retry can analyse, and the
// query or publish error otherwise, so the bus retries with backoff.
func (h *handler) handle(ctx context.Context, ev cloudevents.Event) error {
	t, at, err := task(ev)
	if err != nil {
		return err
	}
	log := h.rt.Log.With("incident", t.IncidentID, "analysis", t.AnalysisID, "trigger", t.Trigger)
	if err := wait(ctx, settleFor(at, h.settle, time.Now())); err != nil {
		return err
	}
	res, err := h.engine.Analyze(ctx, t, time.Now())
	if errors.Is(err, engine.ErrNoSymptom) {
		return bus.Permanent(fmt.Errorf("incident %s (%s): %w", t.IncidentID, t.Trigger, err))
	}
	if err != nil {
		log.Warn("analysis failed; will retry", "err", err)
		return fmt.Errorf("analyse incident %s (%s): %w (is ClickHouse up?)", t.IncidentID, t.Trigger, err)
	}
	if _, err := h.rt.Bus.Emit(ctx, EventID(t.AnalysisID), res); err != nil {
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
