package reliability

import (
	"sync"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/nats-io/nats.go"
)

// Observer follows Medic's events on core NATS as they are published, to
// act within milliseconds of one (a kill at the worst moment). What the
// stream holds is read separately (EventLog): core NATS delivers nothing
// while the server is down.
type Observer struct {
	sub      *nats.Subscription
	mu       sync.Mutex
	triggers []*trigger
}

type trigger struct {
	typ   string
	fired bool
	fn    func(Event)
}

// Observe subscribes to medic.events.> on nc.
func Observe(nc *nats.Conn) (*Observer, error) {
	o := &Observer{}
	sub, err := nc.Subscribe("medic.events.>", o.handle)
	if err != nil {
		return nil, err
	}
	o.sub = sub
	return o, nil
}

// Once runs fn, on the subscription's goroutine, for the first event of
// type typ published from now on.
func (o *Observer) Once(typ string, fn func(Event)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.triggers = append(o.triggers, &trigger{typ: typ, fn: fn})
}

func (o *Observer) handle(m *nats.Msg) {
	ev, err := events.Parse(m.Data)
	if err != nil {
		return
	}
	o.mu.Lock()
	var run []func(Event)
	for _, t := range o.triggers {
		if !t.fired && t.typ == ev.Meta.Type {
			t.fired = true
			run = append(run, t.fn)
		}
	}
	o.mu.Unlock()
	for _, fn := range run {
		fn(ev)
	}
}

// Close stops following.
func (o *Observer) Close() { _ = o.sub.Unsubscribe() }
