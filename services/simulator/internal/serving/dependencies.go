package serving

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ErrFeatureLookup is the feature-service's failure under
// erroring_dependency.
var ErrFeatureLookup = errors.New("feature lookup failed: connection reset by peer")

// erroringShare is the share of feature lookups erroring_dependency fails.
const erroringShare = 0.3

// Slowdowns of the model-server, in median milliseconds: an instance whose
// CPU is exhausted queues its requests; the config change's thread pool
// of one slows every instance.
const (
	exhaustedSlowdownMs = 150
	configSlowdownMs    = 120
)

// StoreInstruments are the feature-store's lookup counters: lookups asked
// and lookups that found no row, per feature, as a data source reports
// them.
type StoreInstruments struct {
	values, missing metric.Int64Counter
}

// NewStoreInstruments creates the feature-store's counters on its meter.
func NewStoreInstruments(m metric.Meter) (*StoreInstruments, error) {
	values, err1 := m.Int64Counter("lookup.values", metric.WithDescription("feature rows asked of the store"), metric.WithUnit("{1}"))
	missing, err2 := m.Int64Counter("lookup.missing", metric.WithDescription("feature rows the store did not have"), metric.WithUnit("{1}"))
	return &StoreInstruments{values: values, missing: missing}, errors.Join(err1, err2)
}

// lookupStore is the feature-store's span under the feature-service's: it
// serves merchant_risk, which an upstream_data_outage leaves without rows.
// It returns the features as the store left them and the lookup's latency.
func (p *Pipeline) lookupStore(fctx context.Context, at time.Time, truth model.Features) (model.Features, float64) {
	if p.Tracers.Store == nil {
		return truth, 0
	}
	latency := model.LogNormal(p.rng, 2, 0.3)
	_, span := p.Tracers.Store.Start(fctx, "GET /rows", trace.WithTimestamp(at), trace.WithSpanKind(trace.SpanKindServer))
	found := !p.Faults.Active(fault.UpstreamDataOutage)
	if !found {
		truth.MerchantRisk = nil
	}
	span.SetAttributes(attribute.String(AttrFeature, "merchant_risk"), attribute.Int("feature_store.rows", bit(found)))
	span.End(trace.WithTimestamp(at.Add(ms(latency))))
	if p.StoreMetrics != nil {
		attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrFeature, "merchant_risk")))
		p.StoreMetrics.values.Add(fctx, 1, attrs)
		p.StoreMetrics.missing.Add(fctx, int64(bit(!found)), attrs)
	}
	return truth, latency + hopMs
}

// modelSlowdown is what the model-server's faults add to a request that
// instance i serves.
func (p *Pipeline) modelSlowdown(i int) float64 {
	var extra float64
	if p.exhausted(i) {
		extra += model.LogNormal(p.rng, exhaustedSlowdownMs, 0.3)
	}
	if p.Faults.Active(fault.ConfigChange) {
		extra += model.LogNormal(p.rng, configSlowdownMs, 0.3)
	}
	return extra
}

// exhausted reports whether instance i's CPU is exhausted: cpu_exhaustion
// hits the last instance, so that the others stay healthy beside it.
func (p *Pipeline) exhausted(i int) bool {
	n := len(p.Tracers.ModelInstances)
	return n > 0 && i == n-1 && p.Faults.Active(fault.CPUExhaustion)
}

// ObserveCPU reports instance i's process.cpu.utilization (0 to 1) on the
// instance's own meter, as a process's resource metrics are: around a
// quarter when healthy, near 1 when exhausted.
func (p *Pipeline) ObserveCPU(m metric.Meter, i int, seed uint64) error {
	var mu sync.Mutex // the reader's callbacks may overlap a manual collect
	rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
	_, err := m.Float64ObservableGauge("process.cpu.utilization", metric.WithUnit("1"),
		metric.WithDescription("share of the CPU the instance used"),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			mu.Lock()
			defer mu.Unlock()
			u := 0.25 + 0.04*rng.NormFloat64()
			if p.exhausted(i) {
				u = 0.96 + 0.04*rng.Float64()
			}
			o.Observe(min(max(u, 0), 1))
			return nil
		}))
	return err
}
