package serving

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/stats"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// rig is a pipeline instrumented as the service instruments it, one set of
// providers per tier, with the SDK's in-memory readers in place of the
// OTLP exporters.
type rig struct {
	pipe  *Pipeline
	spans *tracetest.SpanRecorder
	logs  *logRecorder
	// featureLogs are the feature-service's records.
	featureLogs *logRecorder
	readers     map[string]*sdkmetric.ManualReader // by tier
}

func newRig(t *testing.T, faults ...string) rig {
	t.Helper()
	r := rig{spans: tracetest.NewSpanRecorder(), logs: &logRecorder{}, featureLogs: &logRecorder{}, readers: map[string]*sdkmetric.ManualReader{}}
	tracers := map[string]*sdktrace.TracerProvider{}
	meters := map[string]*sdkmetric.MeterProvider{}
	var logs, featureLogs *sdklog.LoggerProvider
	for _, tier := range []string{Gateway, FeatureService, ModelServer} {
		res := sdkresource.NewSchemaless(attribute.String("service.name", tier))
		tracers[tier] = sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(r.spans))
		r.readers[tier] = sdkmetric.NewManualReader()
		meters[tier] = sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(r.readers[tier]))
		switch tier {
		case ModelServer:
			logs = sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(r.logs)))
		case FeatureService:
			featureLogs = sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(r.featureLogs)))
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, tier := range []string{Gateway, FeatureService, ModelServer} {
			_ = tracers[tier].Shutdown(ctx)
			_ = meters[tier].Shutdown(ctx)
		}
		_ = logs.Shutdown(ctx)
		_ = featureLogs.Shutdown(ctx)
	})
	inst, err := NewInstruments(meters[Gateway].Meter("t"), meters[FeatureService].Meter("t"), meters[ModelServer].Meter("t"))
	if err != nil {
		t.Fatal(err)
	}
	set := fault.NewSet()
	reg := model.NewRegistry([]string{model.V1, model.V2}, model.Backup, model.V1)
	for _, f := range faults {
		if _, err := set.Inject(f, time.Now(), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if f == fault.BadModelVersion {
			_, _, _ = reg.Deploy(model.V2)
		}
	}
	r.pipe = &Pipeline{Registry: reg, Faults: set, Metrics: inst, Labels: &Labels{Max: 1 << 20}, Stats: stats.NewWindow(time.Hour),
		LabelDelay: 5 * time.Second, Log: slog.New(otelslog.NewHandler("t", otelslog.WithLoggerProvider(logs))),
		FeaturesLog: slog.New(otelslog.NewHandler("t", otelslog.WithLoggerProvider(featureLogs))),
		Tracers:     Tracers{Gateway: tracers[Gateway].Tracer("t"), Features: tracers[FeatureService].Tracer("t"), Model: tracers[ModelServer].Tracer("t")}}
	r.pipe.Seed(42)
	return r
}

// collect reads every tier's metrics now.
func (r rig) collect(t *testing.T) snapshot {
	t.Helper()
	s := snapshot{t: t, tiers: map[string][]metricdata.Metrics{}}
	for tier, reader := range r.readers {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		for _, sm := range rm.ScopeMetrics {
			s.tiers[tier] = append(s.tiers[tier], sm.Metrics...)
		}
	}
	return s
}

// snapshot is the metrics of every tier at one collection.
type snapshot struct {
	t     *testing.T
	tiers map[string][]metricdata.Metrics
}

// exports reports whether tier exports name.
func (s snapshot) exports(tier, name string) bool {
	for _, m := range s.tiers[tier] {
		if m.Name == name {
			return true
		}
	}
	return false
}

// metric finds name among tier's metrics, failing the test when the tier
// does not export it.
func (s snapshot) metric(tier, name string) metricdata.Metrics {
	s.t.Helper()
	for _, m := range s.tiers[tier] {
		if m.Name == name {
			return m
		}
	}
	s.t.Fatalf("%s exports no %s", tier, name)
	return metricdata.Metrics{}
}

// has reports whether set holds every one of attrs.
func has(set attribute.Set, attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// count sums a counter's series that carry attrs.
func (s snapshot) count(tier, name string, attrs ...attribute.KeyValue) int64 {
	s.t.Helper()
	sum, ok := s.metric(tier, name).Data.(metricdata.Sum[int64])
	if !ok || !sum.IsMonotonic {
		s.t.Fatalf("%s/%s is not a counter", tier, name)
	}
	var n int64
	for _, dp := range sum.DataPoints {
		if has(dp.Attributes, attrs) {
			n += dp.Value
		}
	}
	return n
}

// histogram merges a histogram's series that carry attrs.
func (s snapshot) histogram(tier, name string, attrs ...attribute.KeyValue) (count uint64, sum float64) {
	s.t.Helper()
	h, ok := s.metric(tier, name).Data.(metricdata.Histogram[float64])
	if !ok {
		s.t.Fatalf("%s/%s is not a float histogram", tier, name)
	}
	for _, dp := range h.DataPoints {
		if has(dp.Attributes, attrs) {
			count += dp.Count
			sum += dp.Sum
		}
	}
	return count, sum
}

// versions are the model versions and names on every data point of every
// tier, as "name/version".
func (s snapshot) versions() map[string]bool {
	out := map[string]bool{}
	add := func(set attribute.Set) {
		name, _ := set.Value(AttrModel)
		version, _ := set.Value(AttrModelVersion)
		out[name.Emit()+"/"+version.Emit()] = true
	}
	for _, metrics := range s.tiers {
		for _, m := range metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes)
				}
			}
		}
	}
	return out
}

func version(v string) attribute.KeyValue { return attribute.String(AttrModelVersion, v) }
func feature(f string) attribute.KeyValue { return attribute.String(AttrFeature, f) }

// logRecorder is an in-memory log exporter.
type logRecorder struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (l *logRecorder) Export(_ context.Context, records []sdklog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range records {
		l.records = append(l.records, r.Clone())
	}
	return nil
}

func (l *logRecorder) Shutdown(context.Context) error   { return nil }
func (l *logRecorder) ForceFlush(context.Context) error { return nil }

func (l *logRecorder) all() []sdklog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sdklog.Record(nil), l.records...)
}

// logAttrs are a record's attributes as strings.
func logAttrs(r sdklog.Record) map[string]string {
	out := map[string]string{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		out[string(kv.Key)] = kv.Value.Emit()
		return true
	})
	return out
}
