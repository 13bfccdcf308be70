package engine

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// The resources of an instance, as its OTLP exports reach the detector.
const (
	cpuUtil    = "process.cpu.utilization"
	memoryUtil = "process.memory.utilization"
	diskUtil   = "system.filesystem.utilization"
	instanceID = "service.instance.id"
	mountpoint = "system.filesystem.mountpoint"
)

// usage is a resource's share in use at `at` ms, for instance i, and
// whether that share is a fault's (not noise).
type usage func(resource string, i, at int) (float64, bool)

// healthyUsage is the simulator's healthy instances: CPU about 0.25,
// memory 0.4, disk 0.55, noisy.
func healthyUsage(rng *rand.Rand) usage {
	return func(resource string, _, _ int) (float64, bool) {
		switch resource {
		case cpuUtil:
			return 0.25 + 0.04*rng.NormFloat64(), false
		case memoryUtil:
			return 0.4 + 0.008*rng.NormFloat64(), false
		}
		return 0.55 + 0.003*rng.NormFloat64(), false
	}
}

// on replaces resource's usage on instance 1 from `from` ms until `to`.
func on(base usage, resource string, from, to int, bad func(at int) float64) usage {
	return func(r string, i, at int) (float64, bool) {
		if r == resource && i == 1 && at >= from && at < to {
			return bad(at), true
		}
		return base(r, i, at)
	}
}

// resourceExports makes two model-server instances' resource exports,
// every 500ms over [0, 200s).
func resourceExports(u usage) (out []events.Point, firstBad int) {
	firstBad = -1
	for at := 0; at < 200_000; at += 500 {
		for i, id := range []string{"model-server-0", "model-server-1"} {
			for _, r := range []string{cpuUtil, memoryUtil, diskUtil} {
				v, bad := u(r, i, at)
				if bad && v >= 0.9 && firstBad < 0 {
					firstBad = at
				}
				attrs := map[string]string{instanceID: id}
				if r == diskUtil {
					attrs[mountpoint] = "/var/lib/model"
				}
				out = append(out, events.Point{Name: r, Value: min(max(v, 0), 1), TimeUnixNano: t0 + ms(at),
					Service: "model-server", Attributes: attrs})
			}
		}
	}
	return out, firstBad
}

// The default saturation rules over two instances' resource metrics: a
// resource saturated for longer than `for` fires its rule for that
// instance alone, started at (about) its first saturated export; healthy noise, a
// busy instance just under the threshold and a 10s spike fire nothing.
func TestDefaultSaturationRules(t *testing.T) {
	f, err := rules.Load("")
	if err != nil {
		t.Fatal(err)
	}
	flat := func(v float64) func(int) float64 { return func(int) float64 { return v } }
	tests := []struct {
		name     string
		usage    func(rng *rand.Rand) usage
		wantRule string
	}{
		{name: "healthy", usage: healthyUsage},
		{name: "busy under the threshold", usage: func(rng *rand.Rand) usage {
			return on(healthyUsage(rng), cpuUtil, 0, 200_000, func(int) float64 { return 0.87 + 0.03*rng.NormFloat64() })
		}},
		{name: "10s CPU spike", usage: func(rng *rand.Rand) usage {
			return on(healthyUsage(rng), cpuUtil, 40_000, 50_000, flat(0.98))
		}},
		{name: "CPU exhausted", wantRule: "cpu_saturation", usage: func(rng *rand.Rand) usage {
			return on(healthyUsage(rng), cpuUtil, 40_000, 200_000, func(int) float64 { return 0.96 + 0.04*rng.Float64() })
		}},
		// memory_exhaustion's leak: 12 MB/s of a 2 GB limit from 0.4, past
		// 0.9 after about 83s.
		{name: "memory leak", wantRule: "memory_saturation", usage: func(rng *rand.Rand) usage {
			return on(healthyUsage(rng), memoryUtil, 40_000, 200_000, func(at int) float64 {
				return min(0.4+0.006*float64(at-40_000)/1000+0.008*rng.NormFloat64(), 1)
			})
		}},
		{name: "disk full", wantRule: "disk_saturation", usage: func(rng *rand.Rand) usage {
			return on(healthyUsage(rng), diskUtil, 40_000, 200_000, func(int) float64 { return 0.95 + 0.003*rng.NormFloat64() })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			points, firstBad := resourceExports(tc.usage(rand.New(rand.NewPCG(1, 2))))
			fired, at := detectInExports(t, f.Rules, points)
			if !firedOnly(t, fired, tc.wantRule) {
				return
			}
			d := fired[0]
			if d.Labels[instanceID] != "model-server-1" || d.Service != "model-server" || !strings.Contains(d.Summary, "model-server-1") {
				t.Errorf("anomaly on %v (%s), want instance model-server-1", d.Labels, d.Summary)
			}
			// A leak's noise crosses 0.9 back and forth for a second or two
			// before the whole run holds.
			if started := (d.StartedUnixNano - t0) / ms(1); started < int64(firstBad) || started > int64(firstBad)+3000 {
				t.Errorf("started at +%dms, want the first saturated export, +%dms, or within 3s of it", started, firstBad)
			}
			if lag := at - d.StartedUnixNano; lag < ms(30_000) || lag > ms(32_000) {
				t.Errorf("detected %dms of event time after the start, want `for` (30s) to 32s", lag/ms(1))
			}
		})
	}
}
