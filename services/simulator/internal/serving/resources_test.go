package serving

import (
	"context"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// instanceGauges collects one instance's resource metrics: the value of
// each, by name.
func instanceGauges(t *testing.T, r *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[float64]:
				out[m.Name] = d.DataPoints[0].Value
				if m.Name == "system.filesystem.utilization" {
					if v, _ := d.DataPoints[0].Attributes.Value(attribute.Key("system.filesystem.mountpoint")); v.AsString() != ModelVolume {
						t.Errorf("filesystem mountpoint %q", v.AsString())
					}
				}
			case metricdata.Sum[int64]:
				if d.IsMonotonic {
					t.Errorf("%s is monotonic: an up-down counter reads as a gauge", m.Name)
				}
				out[m.Name] = float64(d.DataPoints[0].Value)
			}
		}
	}
	return out
}

// Two instances' CPU, memory and disk: healthy values that stay within a
// few percent, and the last instance saturated by cpu_exhaustion or by
// memory_exhaustion's leak (90s of it is past the limit) while the first
// stays healthy.
func TestResourceMetrics(t *testing.T) {
	tests := []struct {
		name                string
		fault               string
		since               time.Duration
		cpuBusy, memoryFull bool
	}{
		{name: "healthy"},
		{name: "cpu exhaustion", fault: fault.CPUExhaustion, cpuBusy: true},
		{name: "memory leak under way", fault: fault.MemoryExhaustion, since: 10 * time.Second},
		{name: "memory exhausted", fault: fault.MemoryExhaustion, since: 90 * time.Second, memoryFull: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Pipeline{Faults: fault.NewSet(), Tracers: Tracers{ModelInstances: []trace.Tracer{noop.Tracer{}, noop.Tracer{}}}}
			if tc.fault != "" {
				if _, err := p.Faults.Inject(tc.fault, time.Now().Add(-tc.since), time.Time{}); err != nil {
					t.Fatal(err)
				}
			}
			var readers []*sdkmetric.ManualReader
			for i := range 2 {
				r := sdkmetric.NewManualReader()
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
				t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
				if err := p.ObserveResources(mp.Meter("t"), i, 7); err != nil {
					t.Fatal(err)
				}
				readers = append(readers, r)
			}
			for range 50 {
				for i, r := range readers {
					g := instanceGauges(t, r)
					last := i == 1
					cpu, mem, disk := g["process.cpu.utilization"], g["process.memory.utilization"], g["system.filesystem.utilization"]
					if (cpu >= 0.9) != (last && tc.cpuBusy) || !last && (cpu < 0.1 || cpu > 0.4) {
						t.Fatalf("instance %d CPU %.3f", i, cpu)
					}
					if (mem >= 0.9) != (last && tc.memoryFull) || !last && (mem < 0.36 || mem > 0.44) {
						t.Fatalf("instance %d memory %.3f", i, mem)
					}
					if disk < 0.53 || disk > 0.57 {
						t.Fatalf("instance %d disk %.3f, want about 0.55", i, disk)
					}
					if bytes := g["process.memory.usage"]; bytes/MemoryLimitBytes-mem > 1e-6 || mem-bytes/MemoryLimitBytes > 1e-6 {
						t.Fatalf("instance %d usage %v bytes, utilization %v of %v", i, bytes, mem, MemoryLimitBytes)
					}
				}
			}
		})
	}
}
