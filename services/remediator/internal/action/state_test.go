package action_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/medic-sre/medic/services/remediator/internal/action"
)

// stateJSON is the shape of the simulator's GET /v1/state, with a stats
// block long enough that an excerpt of the answer would not parse.
const stateJSON = `{"models":{"fraud":{"active_version":"v2","previous_version":"v1","versions":["v1","v2"],
"backup_version":"v0","failover":%s}},"faults":[],"stats":{"padding":"%s"}}`

func TestModelStateReadsTheServingVersion(t *testing.T) {
	tests := []struct {
		name        string
		failover    string
		model       string
		wantServing string
		wantErr     error
	}{
		{name: "active version serves", failover: "false", model: "fraud", wantServing: "v2"},
		{name: "backup serves during failover", failover: "true", model: "fraud", wantServing: "v0"},
		{name: "unknown model", failover: "false", model: "spam", wantErr: action.ErrRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				paths = append(paths, r.Method+" "+r.URL.Path+" key="+r.Header.Get("Idempotency-Key"))
				_, _ = w.Write([]byte(strings.Replace(strings.Replace(stateJSON, "%s", tc.failover, 1), "%s", strings.Repeat("x", 2000), 1)))
			}))
			defer srv.Close()
			reg := action.Default(srv.URL, newClient())
			if err := reg.CheckRead("model.state", map[string]string{"model": tc.model}); err != nil {
				t.Fatal(err)
			}
			r, _ := reg.Reader("model.state")
			fields, err := r.Read(context.Background(), action.Request{Key: "k", With: map[string]string{"model": tc.model}})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if fields["serving_version"] != tc.wantServing || (err == nil && fields["failover"] != tc.failover) {
				t.Fatalf("fields %v, want serving_version %q", fields, tc.wantServing)
			}
			if len(paths) != 1 || paths[0] != "GET /v1/state key=" {
				t.Fatalf("requests %v, want one GET /v1/state without an Idempotency-Key", paths)
			}
		})
	}
}

// A done_when check must name an action that only reads.
func TestCheckReadRefusesActionsThatAct(t *testing.T) {
	reg := action.Default("http://x", newClient())
	if err := reg.CheckRead("model.rollback", map[string]string{"model": "m"}); err == nil || !strings.Contains(err.Error(), "model.state") {
		t.Fatalf("err %v, want a refusal naming model.state", err)
	}
}
