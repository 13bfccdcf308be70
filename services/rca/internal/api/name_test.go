package api

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

func TestNameOf(t *testing.T) {
	tests := []struct {
		name  string
		cause events.Cause
		want  string
	}{
		{name: "service", cause: events.Cause{Kind: events.CauseService, ID: "service:gateway", Service: "gateway"}, want: "gateway"},
		{name: "instance", cause: events.Cause{Kind: events.CauseService, ID: "instance:model-server/model-server-1", Service: "model-server"},
			want: "model-server-1"},
		{name: "model version", cause: events.Cause{Kind: events.CauseModelVersion, Model: "fraud", ModelVersion: "v2"}, want: "fraud@v2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nameOf(tc.cause); got != tc.want {
				t.Errorf("nameOf = %q, want %q", got, tc.want)
			}
		})
	}
}
