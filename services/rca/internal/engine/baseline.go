package engine

import (
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// judgeBaseline says whether the baseline's coverage of the symptom meets
// the configured minimums, and if not, why, in words for the event.
func judgeBaseline(c query.Coverage, cfg Config) events.Baseline {
	b := events.Baseline{Seconds: float64(c.Seconds), Points: int64(c.Points)}
	covered := time.Duration(c.Seconds) * time.Second
	switch {
	case c.Seconds == 0:
		b.Detail = fmt.Sprintf("baseline empty: the symptom has no data in the %v before the incident window, so nothing shows what normal was; need %v with data and %d points",
			cfg.Baseline, cfg.MinBaseline, cfg.MinBaselinePoints)
	case covered < cfg.MinBaseline || int64(c.Points) < int64(cfg.MinBaselinePoints):
		b.Detail = fmt.Sprintf("baseline thin: %v with data and %d points, need %v and %d",
			covered, c.Points, cfg.MinBaseline, cfg.MinBaselinePoints)
	default:
		b.Sufficient = true
		b.Detail = fmt.Sprintf("baseline: %v with data, %d points", covered, c.Points)
	}
	return b
}
