package record

import (
	"context"
	"math/rand/v2"

	"go.opentelemetry.io/otel/trace"
)

// seededIDs makes trace and span ids from the recording's seed, so that
// prediction ids (trace ids) repeat with the seed too. Spans are made on
// the serving goroutine only.
type seededIDs struct{ rng *rand.Rand }

func newSeededIDs(seed uint64) *seededIDs { return &seededIDs{rng: rand.New(rand.NewPCG(seed, 0x1d5))} }

func (g *seededIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var t trace.TraceID
	for i := range t {
		t[i] = byte(g.rng.Uint32())
	}
	return t, g.NewSpanID(ctx, t)
}

func (g *seededIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var s trace.SpanID
	for i := range s {
		s[i] = byte(g.rng.Uint32())
	}
	return s
}
