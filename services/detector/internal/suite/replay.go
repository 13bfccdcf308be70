package suite

import (
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// Detection is one anomaly the rules raised on a recording.
type Detection struct {
	Rule    string
	Service string
	// At is when the engine raised it (its evaluation time); Started is
	// when, by its evidence, the data went bad.
	At, Started time.Time
}

// Replay feeds the recording's points to a fresh engine one evaluation
// step at a time, on simulated time, and returns the anomalies raised.
func Replay(rs []rules.Rule, step time.Duration, points []events.Point) ([]Detection, error) {
	e, err := engine.New(rs, step)
	if err != nil {
		return nil, err
	}
	if len(points) == 0 {
		return nil, nil
	}
	var out []Detection
	first := points[0].TimeUnixNano
	t := first - first%int64(step) + int64(step)
	last := points[len(points)-1].TimeUnixNano
	for i := 0; t <= last+int64(step); t += int64(step) {
		j := i
		for j < len(points) && points[j].TimeUnixNano <= t {
			j++
		}
		e.Observe(points[i:j], 0, t)
		i = j
		for _, em := range e.Evaluate(time.Unix(0, t)) {
			if d, ok := em.Data.(events.AnomalyDetected); ok {
				out = append(out, Detection{Rule: d.Rule, Service: d.Service,
					At: time.Unix(0, d.DetectedUnixNano), Started: time.Unix(0, d.StartedUnixNano)})
			}
		}
	}
	return out, nil
}
