package serving

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// A model-server instance's disk: the volume its model files and request
// logs live on, a little over half full, as steady as a disk is.
const (
	ModelVolume   = "/var/lib/model"
	ModelDevice   = "/dev/vdb"
	modelDiskUsed = 0.55
)

// ObserveResources reports instance i's CPU, memory and disk on the
// instance's own meter, under OpenTelemetry's semantic-convention names,
// as a process's and its host's resource metrics are:
// process.cpu.utilization (see ObserveCPU); process.memory.usage (bytes)
// and process.memory.utilization, the share of the instance's memory limit
// (MemoryLimitBytes) in use, about 0.4 (the name Medic's RCA reads with
// usage, as older conventions had it); and system.filesystem.utilization
// of its volume, about 0.55. memory_exhaustion leaks memory on the last
// instance, as cpu_exhaustion saturates its CPU.
func (p *Pipeline) ObserveResources(m metric.Meter, i int, seed uint64) error {
	if err := p.ObserveCPU(m, i, seed); err != nil {
		return err
	}
	usage, err1 := m.Int64ObservableUpDownCounter("process.memory.usage", metric.WithUnit("By"),
		metric.WithDescription("resident memory of the instance"))
	memory, err2 := m.Float64ObservableGauge("process.memory.utilization", metric.WithUnit("1"),
		metric.WithDescription("share of the instance's memory limit in use"))
	disk, err3 := m.Float64ObservableGauge("system.filesystem.utilization", metric.WithUnit("1"),
		metric.WithDescription("share of the instance's volume in use"))
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	volume := metric.WithAttributeSet(attribute.NewSet(attribute.String("system.device", ModelDevice),
		attribute.String("system.filesystem.mountpoint", ModelVolume)))
	var mu sync.Mutex // the reader's callbacks may overlap a manual collect
	rng := rand.New(rand.NewPCG(seed, uint64(i)+1<<32))
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		mu.Lock()
		defer mu.Unlock()
		bytes := p.instanceMemory(i, rng, time.Now())
		o.ObserveInt64(usage, int64(bytes))
		o.ObserveFloat64(memory, bytes/MemoryLimitBytes)
		o.ObserveFloat64(disk, min(max(modelDiskUsed+0.003*rng.NormFloat64(), 0), 1), volume)
		return nil
	}, usage, memory, disk)
	return err
}

// instanceMemory is instance i's resident memory at `at`: the
// model-server's usual size with a little noise, plus, on the last
// instance, memory_exhaustion's leak, up to the limit.
func (p *Pipeline) instanceMemory(i int, rng *rand.Rand, at time.Time) float64 {
	m := baseMemoryBytes[ModelServer] * (1 + 0.02*rng.NormFloat64())
	n := len(p.Tracers.ModelInstances)
	if f, ok := p.Faults.Get(fault.MemoryExhaustion); ok && n > 0 && i == n-1 {
		m += LeakBytesPerSecond * max(0, at.Sub(f.Since).Seconds())
	}
	return min(m, MemoryLimitBytes)
}
