package serving

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// withDependencies gives a rig's pipeline a feature-store and two
// model-server instances, each with providers of its own, recorded like
// the tiers.
func withDependencies(t *testing.T, r rig) rig {
	t.Helper()
	add := func(key string, attrs ...attribute.KeyValue) (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) {
		res := sdkresource.NewSchemaless(attrs...)
		tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(r.spans))
		r.readers[key] = sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(r.readers[key]))
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
		return tp, mp
	}
	tp, mp := add(FeatureStore, attribute.String("service.name", FeatureStore))
	r.pipe.Tracers.Store = tp.Tracer("t")
	store, err := NewStoreInstruments(mp.Meter("t"))
	if err != nil {
		t.Fatal(err)
	}
	r.pipe.StoreMetrics = store
	for i, id := range []string{"model-server-0", "model-server-1"} {
		tp, mp := add(id, attribute.String("service.name", ModelServer), attribute.String("service.instance.id", id),
			attribute.String("k8s.pod.name", id))
		r.pipe.Tracers.ModelInstances = append(r.pipe.Tracers.ModelInstances, tp.Tracer("t"))
		if err := r.pipe.ObserveCPU(mp.Meter("t"), i, 7); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// gauge is the last value of a gauge a reader exports.
func (s snapshot) gauge(key, name string) float64 {
	s.t.Helper()
	g, ok := s.metric(key, name).Data.(metricdata.Gauge[float64])
	if !ok || len(g.DataPoints) != 1 {
		s.t.Fatalf("%s/%s is not a gauge of one series", key, name)
	}
	return g.DataPoints[0].Value
}

// The new faults show where they bite, and nowhere else.
func TestDependencyFaults(t *testing.T) {
	tests := []struct {
		name            string
		faults          []string
		minErr, maxErr  float64
		featureErrors   bool
		missingFromStor bool
		// slow0, slow1: whether instance 0 and 1 serve slower than healthy.
		slow0, slow1 bool
		busy1        bool
	}{
		{name: "healthy", maxErr: 0.02},
		{name: "erroring dependency", faults: []string{"erroring_dependency"}, minErr: 0.25, maxErr: 0.36, featureErrors: true},
		{name: "upstream data outage", faults: []string{"upstream_data_outage"}, minErr: 0.99, maxErr: 1, missingFromStor: true},
		{name: "cpu exhaustion", faults: []string{"cpu_exhaustion"}, maxErr: 0.02, slow1: true, busy1: true},
		{name: "config change", faults: []string{"config_change"}, maxErr: 0.02, slow0: true, slow1: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := withDependencies(t, newRig(t, tc.faults...))
			const n = 2000
			t0 := time.Now()
			var failed, featureFailed int
			var predictMs [2]float64
			var served [2]int
			for i := range n {
				res := r.pipe.Serve(context.Background(), t0.Add(time.Duration(i)*time.Millisecond))
				failed += bit(res.Failed())
				if errors.Is(res.FeatureErr, ErrFeatureLookup) {
					featureFailed++
					continue
				}
				predictMs[res.Instance] += res.Prediction.LatencyMs
				served[res.Instance]++
			}
			errRate := float64(failed) / n
			if errRate < tc.minErr || errRate > tc.maxErr {
				t.Errorf("error rate %.3f, want [%v, %v]", errRate, tc.minErr, tc.maxErr)
			}
			if (featureFailed > 0) != tc.featureErrors || featureFailed != 0 && featureFailed != failed-countModelFailures(r) {
				t.Errorf("%d feature-service failures of %d; want some: %v, and only those beside the model's", featureFailed, failed, tc.featureErrors)
			}
			for i, slow := range []bool{tc.slow0, tc.slow1} {
				mean := predictMs[i] / float64(max(served[i], 1))
				if got := mean > 60; got != slow || served[i] == 0 {
					t.Errorf("instance %d served %d requests at %.1fms on average; want slow: %v", i, served[i], mean, slow)
				}
			}
			m := r.collect(t)
			values, missing := m.count(FeatureStore, "lookup.values"), m.count(FeatureStore, "lookup.missing")
			if values != n || (missing == values) != tc.missingFromStor || (missing == 0) == tc.missingFromStor {
				t.Errorf("the store counted %d lookups, %d missing; want %d, all missing: %v", values, missing, n, tc.missingFromStor)
			}
			if busy := m.gauge("model-server-1", "process.cpu.utilization"); (busy > 0.9) != tc.busy1 {
				t.Errorf("model-server-1 CPU %.2f; want exhausted: %v", busy, tc.busy1)
			}
			if idle := m.gauge("model-server-0", "process.cpu.utilization"); idle > 0.5 {
				t.Errorf("model-server-0 CPU %.2f, want a healthy one", idle)
			}
			checkTraceShapes(t, r)
		})
	}
}

// countModelFailures counts the model-server's failed spans.
func countModelFailures(r rig) int {
	n := 0
	for _, s := range r.spans.Ended() {
		if serviceOf(s) == ModelServer && s.Status().Code == codes.Error {
			n++
		}
	}
	return n
}

// checkTraceShapes checks that store spans sit under the feature-service's
// and that model-server spans carry their instance's resource.
func checkTraceShapes(t *testing.T, r rig) {
	t.Helper()
	features := map[string]bool{}
	for _, s := range r.spans.Ended() {
		if serviceOf(s) == FeatureService {
			features[s.SpanContext().SpanID().String()] = true
		}
	}
	for _, s := range r.spans.Ended() {
		switch serviceOf(s) {
		case FeatureStore:
			if !features[s.Parent().SpanID().String()] {
				t.Fatalf("store span %s is not under a feature-service span", s.Name())
			}
		case ModelServer:
			id, _ := s.Resource().Set().Value("service.instance.id")
			pod, _ := s.Resource().Set().Value("k8s.pod.name")
			if id.AsString() == "" || id != pod {
				t.Fatalf("model-server span with instance %q, pod %q", id.AsString(), pod.AsString())
			}
		}
	}
}
