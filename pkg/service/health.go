package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/store"
)

// healthEvery is how often the runtime refreshes the state of dependencies
// that take time to ask (a ClickHouse ping waits up to its timeout while
// the server is down), so that /readyz answers from the last result at once.
const healthEvery = time.Second

// streamCheckEvery is how often each service refreshes the stream usage
// gauges (medic_stream_bytes and medic_stream_limit_bytes).
const streamCheckEvery = 15 * time.Second

// health is the cached state behind /readyz.
type health struct {
	store atomic.Pointer[error]
}

func newHealth() *health {
	h := &health{}
	h.setStore(fmt.Errorf("%w: not checked yet", store.ErrNotReady))
	return h
}

func (h *health) setStore(err error) { h.store.Store(&err) }

// storeErr is the last answer of the ClickHouse check.
func (h *health) storeErr() error { return *h.store.Load() }

// watchHealth refreshes the cached state every healthEvery until ctx ends.
func (rt *Runtime) watchHealth(ctx context.Context) {
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	if rt.Store == nil {
		return
	}
	for {
		rt.health.setStore(rt.Store.Ready())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readiness returns every check of /readyz by name, "ok" or "error: " and
// the reason, and the failing ones by name with their reasons: nats,
// clickhouse (only for a service that needs it), "consumer <name>" for
// each consumer, and service while it starts or stops. Every check reads
// state kept in memory.
func (rt *Runtime) readiness() (checks, failing map[string]string) {
	checks, failing = map[string]string{}, map[string]string{}
	check := func(name string, err error) {
		if err != nil {
			checks[name], failing[name] = "error: "+err.Error(), err.Error()
			return
		}
		checks[name] = "ok"
	}
	check("nats", rt.Bus.Ready())
	if rt.Store != nil {
		check("clickhouse", rt.health.storeErr())
	}
	for _, c := range rt.consumerList() {
		check("consumer "+c.Name(), c.Err())
	}
	rt.mu.Lock()
	started, stopping := rt.started, rt.stopping
	extra := maps.Clone(rt.checks)
	rt.mu.Unlock()
	for name, fn := range extra {
		check(name, fn())
	}
	switch {
	case stopping:
		check("service", errors.New("shutting down"))
	case !started:
		check("service", errors.New("starting"))
	default:
		check("service", nil)
	}
	return checks, failing
}

// consumersErr is the first consumer's error, if any. It depends on no
// server being reachable: Consumer.Err answers from cached state.
func (rt *Runtime) consumersErr() error {
	for _, c := range rt.consumerList() {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (rt *Runtime) consumerList() []*bus.Consumer {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]*bus.Consumer(nil), rt.consumers...)
}
