package bus_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/prometheus/client_golang/prometheus"
)

// Two buses in one process (two services in one test) each register their
// metrics on their own registry, without colliding, and count apart. With
// the metrics as promauto globals, both counted on the default registry.
func TestTwoBusesCountApart(t *testing.T) {
	url := servicetest.StartNATS(t).URL()
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	var buses []*bus.Bus
	for _, reg := range regs {
		b := connectWith(t, url, bus.DefaultStreamLimits(), &bytes.Buffer{})
		b.SetMetrics(bus.NewMetrics(reg))
		buses = append(buses, b)
	}
	ctx := context.Background()
	for i := range 2 {
		if _, err := buses[0].Emit(ctx, "apart-"+string(rune('a'+i)), events.ChangeRecorded{ChangeID: "c", Kind: "deploy", Service: "s", TimeUnixNano: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []float64{2, 0} {
		got, err := published(regs[i])
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("bus %d counts %v published events, want %v", i, got, want)
		}
	}
}

// published sums medic_bus_published_total on reg.
func published(reg *prometheus.Registry) (float64, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "medic_bus_published_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n, nil
}
