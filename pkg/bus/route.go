package bus

import (
	"context"
	"fmt"
	"slices"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
)

// Route hands the events of some types to a typed handler; On makes one.
// The bus decodes and validates each event once, before its handler runs.
type Route struct {
	types []string
	run   func(ctx context.Context, d delivery) error
}

// On routes the events whose data decodes into T (events.TypesOf) to h.
// h returns nil once the event's effect is durable, outcome.Permanent when
// no retry can help, outcome.RetryIn when the event is early, or another
// error to have the event redelivered after a backoff.
func On[T events.Data](h func(ctx context.Context, m events.Meta, d T) error) Route {
	return Route{types: events.TypesOf[T](), run: func(ctx context.Context, d delivery) error {
		data, err := dataAs[T](d)
		if err != nil {
			return outcome.Permanent(err)
		}
		return h(ctx, events.MetaOf(d.ev), data)
	}}
}

// dataAs is d's data as T: as checking decoded it, or decoded now.
func dataAs[T events.Data](d delivery) (T, error) {
	if data, ok := d.data.(T); ok {
		return data, nil
	}
	return events.As[T](d.ev)
}

// Types lists the event types the route takes.
func (r Route) Types() []string { return slices.Clone(r.types) }

// Consume runs the route of each event's type, one event at a time, in
// stream order. An event of a type no route takes is dead-lettered with
// the reason.
func (b *Bus) Consume(ctx context.Context, spec ConsumerSpec, routes ...Route) (*Consumer, error) {
	if len(routes) == 0 {
		return nil, fmt.Errorf("consumer %s: no routes (make them with bus.On)", spec.Durable)
	}
	table := map[string]Route{}
	for _, rt := range routes {
		if rt.run == nil {
			return nil, fmt.Errorf("consumer %s: a zero Route (make routes with bus.On)", spec.Durable)
		}
		for _, t := range rt.types {
			if _, dup := table[t]; dup {
				return nil, fmt.Errorf("consumer %s: two routes for %s", spec.Durable, t)
			}
			table[t] = rt
		}
	}
	spec.BatchSize = 1
	return b.consume(ctx, spec, func(ctx context.Context, msgs []delivery, r *runner) {
		for _, d := range msgs {
			rt, ok := table[d.ev.Type()]
			if !ok {
				r.settle(d, noRoute(spec.Durable, d.ev.Type()))
				continue
			}
			r.settle(d, r.traced(ctx, []delivery{d}, func(ctx context.Context) error { return rt.run(ctx, d) }))
		}
	})
}

// noRoute is the permanent error of an event no route of a consumer takes:
// the consumer's filter subjects let through a type it has no handler for.
func noRoute(durable, eventType string) error {
	return outcome.Permanent(fmt.Errorf("%w: consumer %s does not handle %s (check its filter subjects)", events.ErrInvalid, durable, eventType))
}

// BatchRoute hands batches of events of one payload type to a typed
// handler; OnBatch makes one.
type BatchRoute struct {
	types []string
	run   func(ctx context.Context, msgs []delivery, r *runner)
}

// OnBatch routes batches of the events whose data decodes into T to h. The
// batch is one unit: all its events are acked when h returns nil, and all
// are retried or dead-lettered otherwise. To dead-letter only some items
// and ack the rest, h returns outcome.Reject with their ids. An event of
// another type is dead-lettered before h sees the batch.
func OnBatch[T events.Data](h func(ctx context.Context, items []events.Item[T]) error) BatchRoute {
	types := events.TypesOf[T]()
	return BatchRoute{types: types, run: func(ctx context.Context, msgs []delivery, r *runner) {
		items := make([]events.Item[T], 0, len(msgs))
		kept := msgs[:0:0]
		for _, d := range msgs {
			if !slices.Contains(types, d.ev.Type()) {
				r.settle(d, noRoute(r.spec.Durable, d.ev.Type()))
				continue
			}
			data, err := dataAs[T](d)
			if err != nil {
				r.settle(d, outcome.Permanent(err))
				continue
			}
			items = append(items, events.Item[T]{Meta: events.MetaOf(d.ev), Data: data})
			kept = append(kept, d)
		}
		if len(kept) > 0 {
			r.batch(ctx, kept, func(ctx context.Context) error { return h(ctx, items) })
		}
	}}
}

// OnRawBatch routes batches of events of every type to h, each with its
// data as it is on the wire (checked all the same, see events.Read):
// for the archiver, which stores every event whatever its type.
func OnRawBatch(h func(ctx context.Context, items []events.Raw) error) BatchRoute {
	return BatchRoute{types: nil, run: func(ctx context.Context, msgs []delivery, r *runner) {
		items := make([]events.Raw, len(msgs))
		for i, d := range msgs {
			items[i] = events.Raw{Meta: events.MetaOf(d.ev), Data: d.ev.Data()}
		}
		r.batch(ctx, msgs, func(ctx context.Context) error { return h(ctx, items) })
	}}
}

// ConsumeItems runs route over batches of events, shaped by the spec's
// BatchSize and BatchLinger.
func (b *Bus) ConsumeItems(ctx context.Context, spec ConsumerSpec, route BatchRoute) (*Consumer, error) {
	if route.run == nil {
		return nil, fmt.Errorf("consumer %s: a zero BatchRoute (make it with bus.OnBatch)", spec.Durable)
	}
	return b.consume(ctx, spec, route.run)
}
