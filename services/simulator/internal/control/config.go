package control

import (
	"context"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/services/simulator/internal/changes"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
)

// ConfigChangeKind is the kind of the change config_change announces.
const ConfigChangeKind = "config"

// announceConfig records the model-server config change that
// config_change makes (or reverts), as a deploy pipeline's hook would,
// before the fault takes effect. A failure to deliver is a warning: the
// config changed all the same.
func (c *Controller) announceConfig(ctx context.Context, actor string, revert bool) (string, string) {
	desc := "model-server: inference.threads 8 -> 1"
	if revert {
		desc = "model-server: inference.threads 1 -> 8"
	}
	ev := changes.Change{ChangeID: uuid.NewString(), Kind: ConfigChangeKind, Description: desc, Actor: actor,
		TimeUnixNano: c.Now().UnixNano(), Service: serving.ModelServer}
	if err := c.Changes(ctx, ev); err != nil {
		c.Log.ErrorContext(ctx, "config changed but not delivered to the monitoring; check the changes URL and token",
			"err", err, "change_id", ev.ChangeID)
		return ev.ChangeID, "change applied but not delivered: " + err.Error()
	}
	c.Log.InfoContext(ctx, "config changed", "service", ev.Service, "description", desc, "actor", actor, "change_id", ev.ChangeID)
	return ev.ChangeID, ""
}
