// Package control is the simulator's control API: fault injection and the
// model actions (rollback, deploy, failover) that Medic's runbooks call.
// Every model switch is announced as a
// change (to Medic's /v1/changes) before the caller gets its answer, and the fault
// set follows what really serves: bad_model_version is listed exactly
// while the bad version answers requests.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/services/simulator/internal/changes"
	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
	"github.com/medic-sre/medic/services/simulator/internal/stats"
)

// ErrUnknownModel is returned for a model the simulator does not serve.
var ErrUnknownModel = errors.New("unknown model")

// ChangeSink announces a change (changes.Client.Post in the service).
type ChangeSink func(ctx context.Context, c changes.Change) error

// Controller applies control actions to the simulated system. Its
// actions run one at a time, so a model switch and the fault set it
// implies change together. Call Stop when done, to end its timers.
type Controller struct {
	Models  map[string]*model.Registry
	Faults  *fault.Set
	Stats   *stats.Window
	Changes ChangeSink
	Log     *slog.Logger
	Now     func() time.Time

	mu      sync.Mutex
	timers  map[string]timer // the timed faults' ends, by kind
	seq     uint64           // numbers the timers
	stopped bool
	wg      sync.WaitGroup // timer callbacks armed and not yet done
}

// Outcome is the answer to a model action.
type Outcome struct {
	model.State
	ChangeID string `json:"change_id,omitempty"`
	// Warning says the switch happened but its change was not delivered,
	// so the monitoring will not see it as a root-cause candidate.
	Warning string `json:"warning,omitempty"`
}

func (c *Controller) registry(name string) (*model.Registry, error) {
	r, ok := c.Models[name]
	if !ok {
		return nil, fmt.Errorf("%w %q: the simulator serves %q", ErrUnknownModel, name, model.Name)
	}
	return r, nil
}

// record publishes a switch; a failure is logged and returned as a warning,
// because the switch itself already happened.
func (c *Controller) record(ctx context.Context, name, actor string, s model.Switch) (string, string) {
	ev := changes.Change{ChangeID: uuid.NewString(), Kind: s.Kind, Description: s.Description, Actor: actor,
		PreviousVersion: s.Previous, TimeUnixNano: c.Now().UnixNano(), Service: serving.ModelServer,
		Model: name, ModelVersion: s.Version}
	if err := c.Changes(ctx, ev); err != nil {
		c.Log.ErrorContext(ctx, "change applied but not delivered to the monitoring; check the changes URL and token",
			"err", err, "change_id", ev.ChangeID, "kind", s.Kind, "model", name, "model_version", s.Version)
		return ev.ChangeID, "change applied but not delivered: " + err.Error()
	}
	c.Log.InfoContext(ctx, "model switched", "kind", s.Kind, "model", name, "model_version", s.Version,
		"previous_version", s.Previous, "actor", actor, "change_id", ev.ChangeID)
	return ev.ChangeID, ""
}

// apply runs a registry action and records its switch when one happened.
// The caller holds c.mu.
func (c *Controller) apply(ctx context.Context, name, actor string, act func(*model.Registry) (model.Switch, bool, error)) (Outcome, error) {
	r, err := c.registry(name)
	if err != nil {
		return Outcome{}, err
	}
	s, changed, err := act(r)
	if err != nil {
		return Outcome{State: r.State()}, err
	}
	out := Outcome{State: r.State()}
	if changed {
		if name == model.Name {
			c.syncModelFault(r)
		}
		out.ChangeID, out.Warning = c.record(ctx, name, actor, s)
	}
	return out, nil
}

// syncModelFault keeps bad_model_version listed exactly while the bad
// version serves: a rollback, a deploy of v1 or a failover to the backup
// ends it, and v2 serving again is a new injection with its own time.
func (c *Controller) syncModelFault(r *model.Registry) {
	bad := r.Serving() == model.V2
	switch {
	case bad && !c.Faults.Active(fault.BadModelVersion):
		// The kind is known, so Inject cannot fail.
		_, _ = c.Faults.Inject(fault.BadModelVersion, c.Now(), time.Time{})
	case !bad:
		c.clearFault(fault.BadModelVersion)
	}
}

func rollback(r *model.Registry) (model.Switch, bool, error) {
	s, err := r.Rollback()
	return s, err == nil, err
}

func deploy(version string) func(*model.Registry) (model.Switch, bool, error) {
	return func(r *model.Registry) (model.Switch, bool, error) { return r.Deploy(version) }
}

// Rollback makes the previous version active.
func (c *Controller) Rollback(ctx context.Context, name, actor string) (Outcome, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apply(ctx, name, actor, rollback)
}

// Deploy makes version active.
func (c *Controller) Deploy(ctx context.Context, name, version, actor string) (Outcome, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apply(ctx, name, actor, deploy(version))
}

// Failover routes traffic to the backup version, or back.
func (c *Controller) Failover(ctx context.Context, name string, on bool, actor string) (Outcome, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apply(ctx, name, actor, func(r *model.Registry) (model.Switch, bool, error) {
		s, changed := r.SetFailover(on)
		return s, changed, nil
	})
}

// StatsSummary summarises the gateway's requests over window.
func (c *Controller) StatsSummary(window time.Duration) stats.Summary {
	return c.Stats.Summary(c.Now(), window)
}
