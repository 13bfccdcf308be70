package kafka

import (
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

// Names of the points an inference record becomes. A point is made only for
// a field that is mapped and present in the record, except the missing
// features count, made whenever features are mapped.
const (
	PointLatency    = "inference.latency_ms"
	PointPrediction = "inference.prediction"
	PointLabel      = "inference.label"
	// PointFeaturesMissing counts the mapped features that a record lacks
	// (absent or null), so that its average over records, divided by the
	// number of features, is the missing rate.
	PointFeaturesMissing = "inference.features_missing"
	// PointFeaturePrefix + name is a feature's value.
	PointFeaturePrefix = "feature."
	// PointFeaturePrefix + name + PointMissingSuffix is 1 in a record that
	// lacks that feature.
	PointMissingSuffix = ".missing"
	// AttrPredictionID is the attribute of prediction and label points
	// that names their prediction, where the mapping has its field.
	AttrPredictionID = "prediction_id"
)

// MapRecord turns one inference record into points, all at the record's
// timestamp (recordTime when the mapping has none or the record lacks it),
// with the record's service, model and version. An error is a *RecordError:
// the record is malformed, or a mapped field holds a wrong type, a value
// that is not finite or out of bounds, or a bad time.
func (m *Mapping) MapRecord(raw []byte, recordTime time.Time) ([]events.Point, error) {
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	base, err := m.scope(obj, recordTime)
	if err != nil {
		return nil, err
	}
	id, err := m.predictionID(obj)
	if err != nil {
		return nil, err
	}
	var pts []events.Point
	add := func(name string, v float64) {
		p := base
		p.Name, p.Value = name, v
		pts = append(pts, p)
	}
	for _, f := range []struct{ name, path string }{{PointLatency, m.LatencyMS}, {PointPrediction, m.Prediction}, {PointLabel, m.Label}} {
		if f.path == "" {
			continue
		}
		if v, ok := lookup(obj, f.path); ok {
			n, err := number(v, f.path)
			if err != nil {
				return nil, err
			}
			add(f.name, n)
			if f.name != PointLatency {
				withPredictionID(&pts[len(pts)-1], id)
			}
		}
	}
	if len(m.Features) == 0 {
		return pts, nil
	}
	missing := 0
	for _, path := range m.Features {
		name := PointFeaturePrefix + featureName(path)
		v, ok := lookup(obj, path)
		if !ok {
			missing++
			add(name+PointMissingSuffix, 1)
			continue
		}
		n, err := number(v, path)
		if err != nil {
			return nil, err
		}
		add(name, n)
	}
	add(PointFeaturesMissing, float64(missing))
	return pts, nil
}

// scope is the point every value of the record shares: time, service,
// model and version.
func (m *Mapping) scope(obj map[string]any, recordTime time.Time) (events.Point, error) {
	p := events.Point{Service: m.DefaultService, TimeUnixNano: recordTime.UnixNano()}
	if recordTime.IsZero() || p.TimeUnixNano < 0 || p.TimeUnixNano >= maxUnixNano {
		p.TimeUnixNano = 0
	}
	if m.Timestamp != "" {
		if v, ok := lookup(obj, m.Timestamp); ok {
			unit := timestampUnits[m.TimestampUnit]
			if unit == 0 {
				unit = timestampUnits["ms"]
			}
			ns, err := timestamp(v, unit, m.Timestamp)
			if err != nil {
				return p, err
			}
			p.TimeUnixNano = ns
		}
	}
	for _, f := range []struct {
		path string
		dst  *string
	}{{m.Service, &p.Service}, {m.Model, &p.Model}, {m.Version, &p.ModelVersion}} {
		if f.path == "" {
			continue
		}
		if v, ok := lookup(obj, f.path); ok {
			s, err := text(v, f.path)
			if err != nil {
				return p, err
			}
			*f.dst = s
		}
	}
	if p.Service == "" {
		return p, reject(ReasonMissingField, m.Service, "the record names no service and the mapping has no default_service")
	}
	if p.TimeUnixNano == 0 {
		return p, reject(ReasonBadTimestamp, m.Timestamp, "the record has no time")
	}
	return p, nil
}
