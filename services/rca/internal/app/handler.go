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

// handler analyses one incident per event.
type handler struct {
	rt     *service.Runtime
	settle time.Duration
	engine *engine.Engine
}

// handle returns Permanent for an incident no retry can analyse, and the
// query or publish error otherwise, so the bus retries with backoff.
func (h *handler) handle(ctx context.Context, ev cloudevents.Event) error {
	inc, err := events.As[events.IncidentOpened](ev)
	if err != nil {
		return bus.Permanent(err)
	}
	log := h.rt.Log.With("incident", inc.IncidentID)
	if err := wait(ctx, settleFor(inc.OpenedUnixNano, h.settle, time.Now())); err != nil {
		return err
	}
	res, err := h.engine.Analyze(ctx, inc, time.Now())
	if errors.Is(err, engine.ErrNoSymptom) {
		return bus.Permanent(fmt.Errorf("incident %s: %w", inc.IncidentID, err))
	}
	if err != nil {
		log.Warn("analysis failed; will retry", "err", err)
		return fmt.Errorf("analyse incident %s: %w (is ClickHouse up?)", inc.IncidentID, err)
	}
	if _, err := h.rt.Bus.Emit(ctx, EventID(inc.IncidentID), res); err != nil {
		return fmt.Errorf("publish rca.completed for %s: %w", inc.IncidentID, err)
	}
	top := "none"
	if len(res.Causes) > 0 {
		top = res.Causes[0].ID
	}
	log.Info("rca completed", "symptom", res.Symptom, "causes", len(res.Causes), "top_cause", top)
	return nil
}
