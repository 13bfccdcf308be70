package serving

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/points"
	"github.com/medic-sre/medic/services/simulator/internal/stats"
	"go.opentelemetry.io/otel/attribute"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

type rig struct {
	pipe  *Pipeline
	spans *tracetest.SpanRecorder
	logs  *bytes.Buffer
}

func newRig(t *testing.T, faults ...string) rig {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tracer := func(service string) *sdktrace.TracerProvider {
		res := sdkresource.NewSchemaless(attribute.String("service.name", service))
		return sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(rec))
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
	var logs bytes.Buffer
	p := &Pipeline{Registry: reg, Faults: set, Points: points.NewBuffer(1<<20, nil), Stats: stats.NewWindow(time.Hour),
		LabelDelay: 5 * time.Second, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		Tracers: Tracers{Gateway: tracer(Gateway).Tracer("t"), Features: tracer(FeatureService).Tracer("t"), Model: tracer(ModelServer).Tracer("t")}}
	p.Seed(42)
	return rig{pipe: p, spans: rec, logs: &logs}
}

func TestFaultsShowInRequests(t *testing.T) {
	tests := []struct {
		name                string
		faults              []string
		minErr, maxErr      float64
		minMissing, maxMiss float64
		minP50, maxP50      float64
		wantVersion         string
	}{
		{name: "healthy", minErr: 0, maxErr: 0.02, minP50: 20, maxP50: 35, wantVersion: model.V1},
		{name: "bad model version", faults: []string{fault.BadModelVersion}, minErr: 0.3, maxErr: 0.4, minP50: 25, maxP50: 40, wantVersion: model.V2},
		{name: "feature nulls", faults: []string{fault.FeatureNulls}, minErr: 0.55, maxErr: 0.65, minMissing: 0.55, maxMiss: 0.65, minP50: 20, maxP50: 35, wantVersion: model.V1},
		{name: "slow dependency", faults: []string{fault.SlowDependency}, minErr: 0, maxErr: 0.02, minP50: 420, maxP50: 440, wantVersion: model.V1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.faults...)
			const n = 4000
			t0 := time.Now()
			var failed, missing int
			lat := make([]float64, 0, n)
			for i := range n {
				res := r.pipe.Serve(context.Background(), t0.Add(time.Duration(i)*time.Millisecond))
				if res.Version != tc.wantVersion {
					t.Fatalf("served by %s, want %s", res.Version, tc.wantVersion)
				}
				if res.Failed() {
					failed++
				}
				if res.Features.MerchantRisk == nil {
					missing++
				}
				lat = append(lat, res.LatencyMs)
			}
			slices.Sort(lat)
			errRate, missRate, p50 := float64(failed)/n, float64(missing)/n, lat[n/2]
			t.Logf("error rate %.3f, missing %.3f, p50 %.1fms", errRate, missRate, p50)
			if errRate < tc.minErr || errRate > tc.maxErr || missRate < tc.minMissing || missRate > tc.maxMiss || p50 < tc.minP50 || p50 > tc.maxP50 {
				t.Errorf("out of range: error rate %.3f [%v,%v], missing %.3f [%v,%v], p50 %.1f [%v,%v]",
					errRate, tc.minErr, tc.maxErr, missRate, tc.minMissing, tc.maxMiss, p50, tc.minP50, tc.maxP50)
			}
			if s := r.pipe.Stats.Summary(t0.Add(n*time.Millisecond), time.Hour); s.Requests != n || s.ErrorRate != errRate {
				t.Errorf("stats %+v, want %d requests at error rate %v", s, n, errRate)
			}
		})
	}
}
