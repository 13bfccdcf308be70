// Package labeljoin joins ground-truth labels to the predictions they
// label, by prediction id, across the label delay. A prediction point
// (inference.prediction with a prediction_id attribute) is remembered in a
// store that outlives the detector, for as long as its label may take; a
// label point (inference.label with the same attribute) marks it joined
// (by that label: once per prediction, and again for a redelivery of the
// same event, see Store.Take) and becomes outcome points (see rules.PointCorrect and the others)
// stamped at the PREDICTION's time, with the prediction's service, model
// and model version. A quality rule then judges each version on its own
// predictions' labels, at the times they were made: late labels of a
// version that was rolled back land in that version's past, never in the
// current model's present.
//
// Prediction ids never become series of the engine: they are keys of the
// store only, and the outcome points carry no id.
package labeljoin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// Point names and the attribute the ingest service gives them.
const (
	PointPrediction  = "inference.prediction"
	PointLabel       = "inference.label"
	AttrPredictionID = "prediction_id"
)

// Prediction is what the join remembers of one prediction.
type Prediction struct {
	Service      string  `json:"s"`
	Model        string  `json:"m,omitempty"`
	ModelVersion string  `json:"v,omitempty"`
	TimeUnixNano int64   `json:"t"`
	Score        float64 `json:"y"`
	// JoinedBy names the label that joined the prediction (its event id
	// and place in the event), empty while it waits.
	JoinedBy string `json:"j,omitempty"`
}

// Reasons a prediction is not kept.
var (
	// ErrFull means the store holds as many predictions as it may.
	ErrFull = errors.New("prediction store full")
	// ErrBadID means the prediction id cannot be a key of the store.
	ErrBadID = errors.New("prediction id unusable as a key")
)

// Store keeps predictions by id, across restarts, for the label window.
type Store interface {
	// Remember keeps p under id; ErrFull when there is no room, ErrBadID
	// when id cannot be kept.
	Remember(ctx context.Context, id string, p Prediction) error
	// Take returns the prediction under id and marks it joined by the
	// label `by`, so that a label sent twice counts once; false when there
	// is none (never seen, aged out, or joined by another label). The
	// label that joined it gets it again.
	Take(ctx context.Context, id, by string) (Prediction, bool, error)
	// Joined returns the prediction under id if the label `by` joined it.
	Joined(ctx context.Context, id, by string) (Prediction, bool, error)
}

// Joiner turns prediction and label points into outcome points.
type Joiner struct {
	store     Store
	threshold float64
	metrics   *Metrics
	log       *slog.Logger
}

// New makes a joiner over store. threshold splits scores and labels into
// classes: at or above it is the positive class.
func New(log *slog.Logger, store Store, threshold float64, m *Metrics) *Joiner {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Joiner{store: store, threshold: threshold, metrics: m, log: log}
}

// Join remembers the predictions among pts, the points of event eventID,
// and joins the labels, in order, returning the outcome points of the
// labels that found their prediction. A label without a known prediction
// is counted, never an error; a full store is counted and its prediction
// dropped. An error is the store's failure, which a retry may cure: the
// caller redelivers the event, and its labels find the predictions they
// joined before the failure again.
func (j *Joiner) Join(ctx context.Context, eventID string, pts []events.Point) ([]events.Point, error) {
	var out []events.Point
	for i := range pts {
		p := &pts[i]
		id := p.Attributes[AttrPredictionID]
		if id == "" {
			continue
		}
		switch p.Name {
		case PointPrediction:
			if err := j.remember(ctx, id, p); err != nil {
				return out, err
			}
		case PointLabel:
			var err error
			if out, err = j.label(ctx, id, labelName(eventID, i), p, out); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// Rejoin is the outcome points of the labels among pts (of event eventID)
// that joined their predictions before: what Join returned for them, for a
// restarted detector that replays the event to rebuild its windows. It
// remembers nothing and counts nothing.
func (j *Joiner) Rejoin(ctx context.Context, eventID string, pts []events.Point) ([]events.Point, error) {
	var out []events.Point
	for i := range pts {
		p := &pts[i]
		id := p.Attributes[AttrPredictionID]
		if id == "" || p.Name != PointLabel {
			continue
		}
		pred, ok, err := j.store.Joined(ctx, id, labelName(eventID, i))
		if err != nil {
			return out, fmt.Errorf("rejoin label: %w", err)
		}
		if ok {
			out = append(out, j.outcomes(pred, p.Value)...)
		}
	}
	return out, nil
}

// labelName names the i-th point of an event, the label that joins a
// prediction: a redelivery of the event names it the same.
func labelName(eventID string, i int) string { return eventID + "#" + strconv.Itoa(i) }

func (j *Joiner) remember(ctx context.Context, id string, p *events.Point) error {
	err := j.store.Remember(ctx, id, Prediction{Service: p.Service, Model: p.Model, ModelVersion: p.ModelVersion,
		TimeUnixNano: p.TimeUnixNano, Score: p.Value})
	switch {
	case errors.Is(err, ErrFull):
		j.metrics.dropped.WithLabelValues("full").Inc()
		return nil
	case errors.Is(err, ErrBadID):
		j.metrics.dropped.WithLabelValues("bad_id").Inc()
		return nil
	case err != nil:
		return fmt.Errorf("remember prediction: %w", err)
	}
	j.metrics.remembered.Inc()
	return nil
}

func (j *Joiner) label(ctx context.Context, id, by string, p *events.Point, out []events.Point) ([]events.Point, error) {
	pred, ok, err := j.store.Take(ctx, id, by)
	if err != nil {
		return out, fmt.Errorf("join label: %w", err)
	}
	if !ok {
		j.metrics.unmatched.Inc()
		return out, nil
	}
	j.metrics.joined.Inc()
	return append(out, j.outcomes(pred, p.Value)...), nil
}

// outcomes are a labelled prediction's outcome points: whether it was
// right, its cell of the confusion matrix, and its errors (for a
// classifier's score, the squared error is its Brier score).
func (j *Joiner) outcomes(pred Prediction, label float64) []events.Point {
	predicted, actual := pred.Score >= j.threshold, label >= j.threshold
	correct, cell := 0.0, rules.PointFN
	switch {
	case predicted && actual:
		correct, cell = 1, rules.PointTP
	case predicted:
		cell = rules.PointFP
	case !actual:
		correct, cell = 1, rules.PointTN
	}
	diff := math.Abs(pred.Score - label)
	at := func(name string, v float64) events.Point {
		return events.Point{Name: name, Value: v, TimeUnixNano: pred.TimeUnixNano, Service: pred.Service,
			Model: pred.Model, ModelVersion: pred.ModelVersion}
	}
	return []events.Point{at(rules.PointCorrect, correct), at(cell, 1),
		at(rules.PointAbsError, diff), at(rules.PointSqError, diff*diff)}
}
