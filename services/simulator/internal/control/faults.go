package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
)

// ErrFailoverOn refuses bad_model_version while the backup serves: the bad
// version would be deployed but answer no request.
var ErrFailoverOn = errors.New("failover to the backup version is on")

// ErrBadDuration is returned for a fault duration that is not above 0.
var ErrBadDuration = errors.New("fault duration must be above 0")

// Injected is the answer to a fault injection.
type Injected struct {
	Kind             string `json:"kind"`
	InjectedUnixNano int64  `json:"injected_unix_nano"`
	// EndsUnixNano is when a timed fault ends by itself; absent when it
	// lasts until cleared.
	EndsUnixNano int64  `json:"ends_unix_nano,omitempty"`
	ChangeID     string `json:"change_id,omitempty"`
	Warning      string `json:"warning,omitempty"`
}

// Cleared is the answer to clearing a fault.
type Cleared struct {
	Kind    string `json:"kind"`
	Cleared bool   `json:"cleared"`
	// Faults are the kinds still active.
	Faults   []string `json:"faults"`
	ChangeID string   `json:"change_id,omitempty"`
	Warning  string   `json:"warning,omitempty"`
}

// ActiveFault is one active fault as the state shows it.
type ActiveFault struct {
	Kind             string `json:"kind"`
	InjectedUnixNano int64  `json:"injected_unix_nano"`
	EndsUnixNano     int64  `json:"ends_unix_nano,omitempty"`
}

// timer ends one timed fault; seq tells a re-armed timer from the old one.
type timer struct {
	t   *time.Timer
	seq uint64
}

// Inject turns a fault on, for d when d is above 0, else until cleared.
// bad_model_version deploys v2, which is a change Medic sees on the bus
// like any other deploy. Injecting an active fault keeps its injection
// time; its end is the latest injection's.
func (c *Controller) Inject(ctx context.Context, kind string, d time.Duration, actor string) (Injected, error) {
	if err := fault.Check(kind); err != nil {
		return Injected{}, err
	}
	if d < 0 {
		return Injected{}, fmt.Errorf("%w, got %s", ErrBadDuration, d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out Injected
	if kind == fault.BadModelVersion {
		o, err := c.deployBad(ctx, actor)
		if err != nil {
			return out, err
		}
		out.ChangeID, out.Warning = o.ChangeID, o.Warning
	}
	if kind == fault.ConfigChange && !c.Faults.Active(kind) {
		out.ChangeID, out.Warning = c.announceConfig(ctx, actor, false)
	}
	now, until := c.Now(), time.Time{}
	if d > 0 {
		until = now.Add(d)
	}
	f, err := c.Faults.Inject(kind, now, until)
	if err != nil {
		return out, fmt.Errorf("inject %s: %w", kind, err)
	}
	c.arm(kind, d, actor)
	out.Kind, out.InjectedUnixNano, out.EndsUnixNano = kind, f.Since.UnixNano(), unixNano(f.Until)
	c.Log.InfoContext(ctx, "fault injected", "kind", kind, "actor", actor, "duration", d.String())
	return out, nil
}

// deployBad makes v2 serve. The caller holds c.mu.
func (c *Controller) deployBad(ctx context.Context, actor string) (Outcome, error) {
	r, err := c.registry(model.Name)
	if err != nil {
		return Outcome{}, err
	}
	if st := r.State(); st.Failover {
		return Outcome{}, fmt.Errorf("%w: %s serves %s; end the failover first", ErrFailoverOn, model.Name, st.Serving())
	}
	return c.apply(ctx, model.Name, actor, deploy(model.V2))
}

// Clear turns a fault off. Clearing an active bad_model_version rolls v2
// back, recorded as a change by actor, because the fault is listed exactly
// while v2 serves.
func (c *Controller) Clear(ctx context.Context, kind, actor string) (Cleared, error) {
	if err := fault.Check(kind); err != nil {
		return Cleared{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out, err := c.clear(ctx, kind, actor)
	if err != nil {
		return out, err
	}
	c.Log.InfoContext(ctx, "fault cleared", "kind", kind, "actor", actor)
	return out, nil
}

// clear is Clear with c.mu held.
func (c *Controller) clear(ctx context.Context, kind, actor string) (Cleared, error) {
	out := Cleared{Kind: kind, Cleared: true}
	if kind == fault.BadModelVersion && c.Faults.Active(kind) {
		o, err := c.apply(ctx, model.Name, actor, rollbackFromBad)
		if err != nil {
			return out, fmt.Errorf("roll back %s to end %s: %w", model.Name, kind, err)
		}
		out.ChangeID, out.Warning = o.ChangeID, o.Warning
	}
	if kind == fault.ConfigChange && c.Faults.Active(kind) {
		out.ChangeID, out.Warning = c.announceConfig(ctx, actor, true)
	}
	c.clearFault(kind)
	out.Faults = c.Faults.List()
	return out, nil
}

// rollbackFromBad rolls back, or deploys v1 when there is no previous
// version to roll back to.
func rollbackFromBad(r *model.Registry) (model.Switch, bool, error) {
	s, changed, err := rollback(r)
	if errors.Is(err, model.ErrNoPrevious) {
		return r.Deploy(model.V1)
	}
	return s, changed, err
}

// clearFault drops a fault and its timer. The caller holds c.mu.
func (c *Controller) clearFault(kind string) {
	// The kinds passed here are known, so Clear cannot fail.
	_ = c.Faults.Clear(kind)
	c.disarm(kind)
}

// ActiveFaults returns the active faults, sorted by kind.
func (c *Controller) ActiveFaults() []ActiveFault {
	faults := c.Faults.Faults()
	out := make([]ActiveFault, 0, len(faults))
	for _, f := range faults {
		out = append(out, ActiveFault{Kind: f.Kind, InjectedUnixNano: f.Since.UnixNano(), EndsUnixNano: unixNano(f.Until)})
	}
	return out
}

// arm ends kind by itself after d; d of 0 only drops an earlier timer.
// The caller holds c.mu.
func (c *Controller) arm(kind string, d time.Duration, actor string) {
	c.disarm(kind)
	if d <= 0 || c.stopped {
		return
	}
	if c.timers == nil {
		c.timers = map[string]timer{}
	}
	c.seq++
	seq := c.seq
	c.wg.Add(1)
	c.timers[kind] = timer{seq: seq, t: time.AfterFunc(d, func() {
		defer c.wg.Done()
		c.expire(kind, seq, actor)
	})}
}

// disarm drops kind's timer. The caller holds c.mu.
func (c *Controller) disarm(kind string) {
	tm, ok := c.timers[kind]
	if !ok {
		return
	}
	if tm.t.Stop() {
		c.wg.Done() // its callback will never run
	}
	delete(c.timers, kind)
}

// expire ends a timed fault, unless its timer was dropped or replaced
// meanwhile (the fault cleared, re-injected or the controller stopped).
func (c *Controller) expire(kind string, seq uint64, actor string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tm, ok := c.timers[kind]; !ok || tm.seq != seq {
		return
	}
	delete(c.timers, kind)
	// No request waits for this: the change event gets the sink's own
	// timeout.
	ctx := context.Background()
	if _, err := c.clear(ctx, kind, actor); err != nil {
		c.Log.ErrorContext(ctx, "timed fault did not end; clear it through the API", "err", err, "kind", kind)
		return
	}
	c.Log.InfoContext(ctx, "timed fault ended", "kind", kind, "actor", actor)
}

// Stop drops the timers of timed faults and waits for any that is firing.
// The faults stay as they are.
func (c *Controller) Stop() {
	c.mu.Lock()
	c.stopped = true
	for kind := range c.timers {
		c.disarm(kind)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// unixNano is t in unix nanoseconds, or 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
