package inferencemap

import (
	"slices"
	"time"

	"github.com/medic-sre/medic/pkg/config"
	"github.com/medic-sre/medic/pkg/events"
)

// ValidateLabel checks the mapping of a label topic: a prediction id and a
// label, and none of the fields only a prediction has.
func (m *Mapping) ValidateLabel(at ...any) []error {
	field := func(msg string, path ...any) error { return config.Field(msg, append(slices.Clone(at), path...)...) }
	var errs []error
	if m.PredictionID == "" {
		errs = append(errs, field("a label topic needs the prediction id's field", "prediction_id"))
	}
	if m.Label == "" {
		errs = append(errs, field("a label topic needs the label's field", "label"))
	}
	for _, f := range []struct{ name, path string }{{"latency_ms", m.LatencyMS}, {"prediction", m.Prediction}} {
		if f.path != "" {
			errs = append(errs, field("a label topic has no "+f.name+": its records are labels", f.name))
		}
	}
	if len(m.Features) > 0 {
		errs = append(errs, field("a label topic has no features: its records are labels", "features"))
	}
	return append(errs, m.ValidatePaths(at...)...)
}

// MapLabel turns one label record into the point inference.label, whose
// attribute prediction_id names the prediction it labels, stamped at the
// label's time (when it became known, not when the prediction was made:
// the detector's join puts the outcome back at the prediction's time).
// The service is the record's, else default_service, else fallback; model
// and version are optional, as the join takes them from the prediction.
func (m *Mapping) MapLabel(raw []byte, recordTime time.Time, fallback string) ([]events.Point, error) {
	obj, err := DecodeObject(raw)
	if err != nil {
		return nil, err
	}
	if m.DefaultService == "" {
		withFallback := *m
		withFallback.DefaultService = fallback
		m = &withFallback
	}
	p, err := m.scope(obj, recordTime)
	if err != nil {
		return nil, err
	}
	id, err := m.predictionID(obj)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, Reject(ReasonMissingField, m.PredictionID, "the record has no prediction id")
	}
	v, ok := lookup(obj, m.Label)
	if !ok {
		return nil, Reject(ReasonMissingField, m.Label, "the record has no label")
	}
	if p.Value, err = number(v, m.Label); err != nil {
		return nil, err
	}
	p.Name = PointLabel
	withPredictionID(&p, id)
	return []events.Point{p}, nil
}

// maxPredictionIDLen bounds a prediction id: it becomes an attribute and a
// key of the detector's join.
const maxPredictionIDLen = 256

// predictionID reads the record's prediction id; "" when the mapping has
// no such field or the record lacks it.
func (m *Mapping) predictionID(obj map[string]any) (string, error) {
	if m.PredictionID == "" {
		return "", nil
	}
	v, ok := lookup(obj, m.PredictionID)
	if !ok {
		return "", nil
	}
	id, err := text(v, m.PredictionID)
	if err != nil {
		return "", err
	}
	if len(id) > maxPredictionIDLen {
		return "", Reject(ReasonOutOfRange, m.PredictionID, "%d bytes is longer than %d", len(id), maxPredictionIDLen)
	}
	return id, nil
}

// withPredictionID sets p's prediction_id attribute, when there is an id.
func withPredictionID(p *events.Point, id string) {
	if id == "" {
		return
	}
	p.Attributes = map[string]string{AttrPredictionID: id}
}
