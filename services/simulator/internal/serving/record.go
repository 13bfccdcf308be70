package serving

import (
	"context"
	"sync"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Attribute keys of the OpenTelemetry ML conventions Medic documents: they
// fill the model columns of Medic's metrics, spans and logs.
const (
	AttrModel        = "ml.model.name"
	AttrModelVersion = "ml.model.version"
	// AttrFeature names a feature on the feature-service's counters.
	AttrFeature = "feature"
)

// latencyBoundsMs are the latency histograms' buckets: fine where the
// alerting thresholds (hundreds of ms) sit, unlike the SDK's default.
var latencyBoundsMs = []float64{1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 2000, 5000}

// Instruments are the serving path's metrics, per tier, as a service
// instrumented with OpenTelemetry records them: counters and histograms,
// aggregated by the SDK and exported every interval.
type Instruments struct {
	requests, requestErrors       metric.Int64Counter
	requestLatency                metric.Float64Histogram
	featureValues, featureMissing metric.Int64Counter
	featureLatency                metric.Float64Histogram
	predictions, predictionErrors metric.Int64Counter
	predictionLatency, score      metric.Float64Histogram
	labels, labelsCorrect         metric.Int64Counter
}

// NewInstruments creates the instruments on each tier's meter.
func NewInstruments(gateway, features, modelServer metric.Meter) (*Instruments, error) {
	var in Instruments
	var errs []error
	counter := func(m metric.Meter, name, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit("{1}"))
		errs = append(errs, err)
		return c
	}
	latency := func(m metric.Meter, name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit("ms"),
			metric.WithExplicitBucketBoundaries(latencyBoundsMs...))
		errs = append(errs, err)
		return h
	}
	in.requests = counter(gateway, "requests", "requests answered by the gateway")
	in.requestErrors = counter(gateway, "request.errors", "requests the gateway answered with an error")
	in.requestLatency = latency(gateway, "request.latency_ms", "gateway request latency")
	in.featureValues = counter(features, "feature.values", "feature values asked for, per feature")
	in.featureMissing = counter(features, "feature.missing", "feature values served null, per feature")
	in.featureLatency = latency(features, "feature.latency_ms", "feature lookup latency")
	in.predictions = counter(modelServer, "predictions", "predictions asked of the model server")
	in.predictionErrors = counter(modelServer, "prediction.errors", "predictions that failed")
	in.predictionLatency = latency(modelServer, "prediction.latency_ms", "model inference latency")
	score, err := modelServer.Float64Histogram("prediction.score", metric.WithDescription("fraud score"),
		metric.WithExplicitBucketBoundaries(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9))
	in.score = score
	errs = append(errs, err)
	in.labels = counter(modelServer, "labels", "ground-truth labels received for past predictions")
	in.labelsCorrect = counter(modelServer, "labels.correct", "labels that agreed with the prediction")
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return &in, nil
}

// record adds one request to the instruments. Error counters are added to
// on every request (by 0 or 1), so their series exist from the first
// request of a version on and a rate is known before the first failure.
func (in *Instruments) record(ctx context.Context, r Result) {
	mv := metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrModel, model.Name), attribute.String(AttrModelVersion, r.Version)))
	failed := int64(bit(r.Failed()))
	in.requests.Add(ctx, 1, mv)
	in.requestErrors.Add(ctx, failed, mv)
	in.requestLatency.Record(ctx, r.LatencyMs, mv)

	in.featureLatency.Record(ctx, r.FeatureMs, mv)
	if r.FeatureErr != nil {
		// The feature-service failed: it served no features and the model
		// was not asked.
		return
	}
	for _, f := range []struct {
		name    string
		missing bool
	}{{"amount", false}, {"account_age_days", false}, {"merchant_risk", r.Features.MerchantRisk == nil}} {
		attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrModel, model.Name),
			attribute.String(AttrModelVersion, r.Version), attribute.String(AttrFeature, f.name)))
		in.featureValues.Add(ctx, 1, attrs)
		in.featureMissing.Add(ctx, int64(bit(f.missing)), attrs)
	}

	in.predictions.Add(ctx, 1, mv)
	in.predictionErrors.Add(ctx, failed, mv)
	in.predictionLatency.Record(ctx, r.Prediction.LatencyMs, mv)
	if !r.Failed() {
		in.score.Record(ctx, r.Prediction.Score, mv)
	}
}

// label counts one ground-truth label, attributed to the version that made
// the prediction.
func (in *Instruments) label(ctx context.Context, l pendingLabel) {
	mv := metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrModel, model.Name), attribute.String(AttrModelVersion, l.version)))
	in.labels.Add(ctx, 1, mv)
	in.labelsCorrect.Add(ctx, int64(bit(l.correct)), mv)
}

// pendingLabel is a label waiting for its arrival time.
type pendingLabel struct {
	due     time.Time
	version string
	correct bool
	// id and fraud are the prediction's id and its true class, for the
	// label log.
	id    string
	fraud bool
}

// Label is a ground-truth label as it arrives: the prediction it labels
// and the true class, at its arrival time.
type Label struct {
	PredictionID string
	Fraud        bool
	At           time.Time
}

// Labels holds labels until they arrive; it is bounded, the oldest dropped
// first, and safe for concurrent use.
type Labels struct {
	Max     int
	mu      sync.Mutex
	pending []pendingLabel // in due order: every label waits the same delay
	dropped uint64
}

func (q *Labels) add(l pendingLabel) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(q.pending, l)
	if over := len(q.pending) - q.Max; q.Max > 0 && over > 0 {
		q.pending = q.pending[over:]
		q.dropped += uint64(over)
	}
}

// due removes and returns the labels that arrived by now.
func (q *Labels) due(now time.Time) []pendingLabel {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for n < len(q.pending) && !q.pending[n].due.After(now) {
		n++
	}
	out := append([]pendingLabel(nil), q.pending[:n]...)
	q.pending = append(q.pending[:0], q.pending[n:]...)
	return out
}

// Dropped counts the labels dropped past the bound.
func (q *Labels) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// record turns a request into its metrics, its stats entry and, for a
// scored request, the label that arrives LabelDelay later.
func (p *Pipeline) record(ctx context.Context, r Result) {
	p.Stats.Record(r.At, r.LatencyMs, r.Failed())
	p.Metrics.record(ctx, r)
	if p.Inference != nil {
		p.Inference.Write(r)
	}
	if r.Failed() {
		return
	}
	p.Labels.add(pendingLabel{due: r.At.Add(p.LabelDelay), version: r.Version, correct: (r.Prediction.Score >= 0.5) == r.Fraud,
		id: r.ID, fraud: r.Fraud})
}

// deliverLabels counts the labels that arrived by now, and hands each to
// the label log when there is one.
func (p *Pipeline) deliverLabels(ctx context.Context, now time.Time) {
	for _, l := range p.Labels.due(now) {
		p.Metrics.label(ctx, l)
		if p.LabelLog != nil {
			p.LabelLog.WriteLabel(Label{PredictionID: l.id, Fraud: l.fraud, At: l.due})
		}
	}
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}
