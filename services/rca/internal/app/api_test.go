package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/api"
	"github.com/medic-sre/medic/services/rca/internal/app"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
)

// The running service answers POST /v1/analyses on its own port, behind
// its token and window limit: a slow dependency recorded two days ago
// ranks feature-service first.
func TestOnDemandAnalysisOverHTTP(t *testing.T) {
	nats := servicetest.StartNATS(t)
	st := storetest.New(t)
	sc := synthtest.Scenario{Fault: synthtest.SlowDependency, FaultAt: time.Now().Add(-48 * time.Hour).Truncate(time.Second),
		Baseline: 3 * time.Minute, FaultFor: 30 * time.Second, RPS: 50, Seed: 5}
	data, err := synthtest.Generate(sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := data.Insert(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	svc := startService(t, nats.URL(), st, func(o *app.Options) { o.APIToken, o.MaxAnalysisWindow = "t0ken", 10*time.Minute })

	body := fmt.Sprintf(`{"from": %d, "to": %d, "symptom": {"service": "gateway", "metric": "latency"}}`,
		sc.FaultAt.Add(-10*time.Second).Unix(), sc.FaultAt.Add(30*time.Second).Unix())
	if code, msg := postTo(t, svc.URL, "", body, nil); code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d %s, want 401", code, msg)
	}
	long := fmt.Sprintf(`{"from": %d, "to": %d, "symptom": {"service": "gateway"}}`, sc.FaultAt.Add(-time.Hour).Unix(), sc.FaultAt.Unix())
	if code, msg := postTo(t, svc.URL, "t0ken", long, nil); code != http.StatusBadRequest || !strings.Contains(msg, "10m0s (--max-analysis-window") {
		t.Fatalf("an hour's window: %d %s, want 400 naming the 10m limit", code, msg)
	}
	var got api.Analysis
	if code, msg := postTo(t, svc.URL, "t0ken", body, &got); code != http.StatusOK {
		t.Fatalf("status %d: %s", code, msg)
	}
	if len(got.Candidates) == 0 || got.Candidates[0].Name != "feature-service" {
		t.Fatalf("candidates %+v, want feature-service first", got.Candidates)
	}
}

// postTo posts body to the service's analyses endpoint and decodes a 200
// into out; it returns the status and the raw body.
func postTo(t *testing.T, url, token, body string, out any) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/analyses", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}
