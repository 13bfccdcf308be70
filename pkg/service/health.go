package service

import (
	"context"
	"fmt"
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
	for {
		rt.health.setStore(rt.Store.Ready())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readiness returns the failing checks by name, with their reasons: nats,
// clickhouse, "consumer <name>" for each consumer that is lost, and service
// while it starts or stops. Every check reads state kept in memory.
func (rt *Runtime) readiness() map[string]string {
	failing := map[string]string{}
	if err := rt.Bus.Ready(); err != nil {
		failing["nats"] = err.Error()
	}
	if err := rt.health.storeErr(); err != nil {
		failing["clickhouse"] = err.Error()
	}
	for _, c := range rt.consumerList() {
		if err := c.Err(); err != nil {
			failing["consumer "+c.Name()] = err.Error()
		}
	}
	rt.mu.Lock()
	started, stopping := rt.started, rt.stopping
	rt.mu.Unlock()
	switch {
	case stopping:
		failing["service"] = "shutting down"
	case !started:
		failing["service"] = "starting"
	}
	return failing
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
