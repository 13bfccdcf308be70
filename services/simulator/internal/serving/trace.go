package serving

import (
	"context"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Fixed overheads of the simulated hops, in milliseconds.
const (
	gatewayOverheadMs = 1.0
	hopMs             = 0.5
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// trace runs one request through the three tiers, giving each span the
// simulated start and end times, so the trace looks like the real thing.
func (p *Pipeline) trace(ctx context.Context, at time.Time) Result {
	r := Result{At: at, Version: p.routeVersion()}
	attrs := trace.WithAttributes(attribute.String(AttrModel, model.Name), attribute.String(AttrModelVersion, r.Version))
	gctx, gw := p.Tracers.Gateway.Start(ctx, "POST /predict", trace.WithTimestamp(at), trace.WithSpanKind(trace.SpanKindServer), attrs)
	r.ID = gw.SpanContext().TraceID().String()

	truth := p.sampleFeatures(at)
	r.Fraud = p.groundTruth(truth)
	fAt := at.Add(ms(gatewayOverheadMs))
	fctx, fs := p.Tracers.Features.Start(gctx, "GET /features", trace.WithTimestamp(fAt), trace.WithSpanKind(trace.SpanKindServer), attrs)
	truth, storeMs := p.lookupStore(fctx, fAt.Add(ms(hopMs)), truth)
	r.Features, r.FeatureMs, r.FeatureErr = p.fetchFeatures(truth)
	r.FeatureMs += storeMs
	fEnd := fAt.Add(ms(r.FeatureMs))
	fs.SetAttributes(attribute.Float64("feature.missing_ratio", r.Features.MissingRatio()))
	if r.FeatureErr != nil {
		fs.SetStatus(codes.Error, r.FeatureErr.Error())
	}
	p.logFault(fctx, r.ID)
	fs.End(trace.WithTimestamp(fEnd))
	mEnd := fEnd
	if r.FeatureErr == nil {
		mEnd = p.serveModel(gctx, fEnd.Add(ms(hopMs)), &r, attrs)
	}

	end := mEnd.Add(ms(hopMs))
	r.LatencyMs = float64(end.Sub(at)) / float64(time.Millisecond)
	code := 200
	switch {
	case r.FeatureErr != nil:
		code = 500
		gw.SetStatus(codes.Error, "feature-service: "+r.FeatureErr.Error())
	case r.Failed():
		code = 500
		gw.SetStatus(codes.Error, "model-server: "+r.Prediction.Err.Error())
	}
	gw.SetAttributes(attribute.Int("http.response.status_code", code))
	gw.End(trace.WithTimestamp(end))
	return r
}

// serveModel runs the model-server's span, on the instance whose turn it
// is, and returns when it ended.
func (p *Pipeline) serveModel(gctx context.Context, mAt time.Time, r *Result, attrs trace.SpanStartEventOption) time.Time {
	tracer := p.Tracers.Model
	if n := len(p.Tracers.ModelInstances); n > 0 {
		r.Instance = p.served % n
		tracer = p.Tracers.ModelInstances[r.Instance]
	}
	p.served++
	mctx, ps := tracer.Start(gctx, "predict", trace.WithTimestamp(mAt), trace.WithSpanKind(trace.SpanKindServer), attrs)
	r.Prediction = p.predict(r.Version, r.Features, r.At)
	r.Prediction.LatencyMs += p.modelSlowdown(r.Instance)
	if err := r.Prediction.Err; err != nil {
		ps.SetStatus(codes.Error, err.Error())
		p.Log.WarnContext(mctx, "prediction failed", AttrModel, model.Name, AttrModelVersion, r.Version, "err", err)
	}
	mEnd := mAt.Add(ms(r.Prediction.LatencyMs))
	ps.End(trace.WithTimestamp(mEnd))
	return mEnd
}

func (p *Pipeline) predict(version string, f model.Features, at time.Time) model.Prediction {
	spec, err := model.Lookup(version)
	if err != nil {
		return model.Prediction{Err: err}
	}
	pred := spec.Predict(p.rng, f)
	if err := p.burstError(at); err != nil && pred.Err == nil {
		pred.Err = err
	}
	return pred
}
