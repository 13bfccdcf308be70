package notify_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/kv"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/services/notifier/internal/notify"
)

// Replicas remembering anomalies of one incident at once lose none of them,
// and remembering one again changes nothing.
func TestKVMemoryKeepsEveryAnomaly(t *testing.T) {
	tests := []struct {
		name    string
		buckets func(t *testing.T) kv.Buckets
	}{
		{name: "jetstream", buckets: func(t *testing.T) kv.Buckets { return kv.JetStream(servicetest.Bus(t).JetStream()) }},
		{name: "memory", buckets: func(*testing.T) kv.Buckets { return kv.NewMemory() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { testKeepsEveryAnomaly(t, tc.buckets(t)) })
	}
}

func testKeepsEveryAnomaly(t *testing.T, b kv.Buckets) {
	ctx := context.Background()
	const replicas = 6
	mems := make([]*notify.KVMemory, replicas)
	for i := range mems {
		m, err := notify.NewKVMemory(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		mems[i] = m
	}
	if got, err := mems[0].Anomalies(ctx, "inc-1"); err != nil || got != nil {
		t.Fatalf("unknown incident: %v, %v; want nil, nil", got, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, replicas*2)
	for i, m := range mems {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shared := events.AnomalyRef{AnomalyID: "a0", Rule: "r", Metric: "m", Service: "s"}
			own := events.AnomalyRef{AnomalyID: fmt.Sprintf("a%d", i+1), Rule: "r", Metric: "m", Service: "s"}
			errs <- m.Remember(ctx, "inc-1", []events.AnomalyRef{shared, own})
			errs <- m.Remember(ctx, "inc-1", []events.AnomalyRef{own})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := mems[0].Anomalies(ctx, "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range got {
		ids = append(ids, a.AnomalyID)
	}
	sort.Strings(ids)
	if want := "[a0 a1 a2 a3 a4 a5 a6]"; fmt.Sprint(ids) != want {
		t.Fatalf("remembered %v, want %s", ids, want)
	}
}
