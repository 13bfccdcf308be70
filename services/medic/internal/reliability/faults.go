package reliability

import (
	"context"
	"fmt"
	"time"
)

// Fault is one fault of a run: Arm sets it up before the scenario starts
// (a trigger on the bus); Recover, run after the scenario started, waits
// until it struck and undoes it (restarts what was killed).
type Fault interface {
	Arm(h *Harness)
	Recover(ctx context.Context, h *Harness) error
}

// Kill is kill -9 of Process within milliseconds of the first event of
// type After on the bus, then a restart with the same flags and env.
type Kill struct {
	Process string
	After   string
	struck  chan strike
}

type strike struct {
	ev      Event
	latency time.Duration
	err     error
	// calls and posts are what the control API and the webhook had got
	// when the process died: whether the kill came before the effect.
	calls, posts int
}

// Arm implements Fault.
func (k *Kill) Arm(h *Harness) {
	k.struck = make(chan strike, 1)
	h.Observer.Once(k.After, func(ev Event) {
		seen := time.Now()
		err := h.Stack.Kill(k.Process)
		k.struck <- strike{ev: ev, latency: seen.Sub(ev.Meta.Time), err: err,
			calls: len(h.Control.Calls(nil)), posts: len(h.Webhook.Calls(nil))}
	})
}

// Recover implements Fault.
func (k *Kill) Recover(ctx context.Context, h *Harness) error {
	s, err := await(ctx, k.struck, k.After)
	if err != nil {
		return err
	}
	if s.err != nil {
		return s.err
	}
	h.T.Logf("killed %s with SIGKILL %s after %s %s was stamped (the control API had %d calls, the webhook %d posts); restarting it",
		k.Process, s.latency.Round(time.Millisecond), s.ev.Meta.Type, s.ev.Meta.ID, s.calls, s.posts)
	start := time.Now()
	if err := h.Stack.Restart(ctx, k.Process); err != nil {
		return err
	}
	h.T.Logf("%s ready again %.1fs after the restart", k.Process, time.Since(start).Seconds())
	return nil
}

// Outage cuts the ClickHouse proxy on the first event of type After, for
// Duration, then restores it.
type Outage struct {
	After    string
	Duration time.Duration
	struck   chan strike
}

// Arm implements Fault.
func (o *Outage) Arm(h *Harness) {
	o.struck = make(chan strike, 1)
	h.Observer.Once(o.After, func(ev Event) {
		h.ClickHouse.Off()
		o.struck <- strike{ev: ev}
	})
}

// Recover implements Fault.
func (o *Outage) Recover(ctx context.Context, h *Harness) error {
	if _, err := await(ctx, o.struck, o.After); err != nil {
		return err
	}
	h.T.Logf("ClickHouse cut off for %s", o.Duration)
	// The outage lasts a set time by design; nothing is being waited for.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.Duration):
	}
	h.ClickHouse.On()
	h.T.Logf("ClickHouse reachable again")
	return nil
}

func await(ctx context.Context, c <-chan strike, typ string) (strike, error) {
	select {
	case s := <-c:
		return s, nil
	case <-ctx.Done():
		return strike{}, fmt.Errorf("no %s on the bus to strike at: %w", typ, ctx.Err())
	case <-time.After(3 * time.Minute):
		return strike{}, fmt.Errorf("no %s on the bus within 3m to strike at", typ)
	}
}
