package serving

import (
	"context"
	"time"
)

// LabelArrival is one ground-truth label that arrived: for a prediction of
// Version, and whether it agreed with that prediction.
type LabelArrival struct {
	Version string
	Correct bool
}

// ArrivedLabels counts the labels that arrived by now, as Run does, and
// returns them, for a caller that records the label stream itself (the
// recorder, which drives simulated time instead of calling Run).
func (p *Pipeline) ArrivedLabels(ctx context.Context, now time.Time) []LabelArrival {
	due := p.Labels.due(now)
	out := make([]LabelArrival, 0, len(due))
	for _, l := range due {
		p.Metrics.label(ctx, l)
		out = append(out, LabelArrival{Version: l.version, Correct: l.correct})
	}
	return out
}
