package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// analysisJSON is an answer of the rca service, abridged.
const analysisJSON = `{
  "symptom": {"service": "gateway", "metric": "latency", "table": "spans"},
  "window_seconds": 40, "confidence": 0.8,
  "baseline": {"sufficient": true, "detail": "baseline: 2m0s with data, 6000 points"},
  "candidates": [
    {"rank": 1, "name": "feature-service", "id": "service:feature-service", "kind": "service", "score": 0.8,
     "explanation": "service feature-service explains 100% of the excess latency (its own latency, not its callees')"},
    {"rank": 2, "name": "chg-deploy-v2", "id": "change:chg-deploy-v2", "kind": "change", "score": 0.0123,
     "explanation": "deploy chg-deploy-v2 of fraud@v2 on model-server, 3m0s before the symptom"}
  ]
}
`

// rcaServer is an rca service that answers status and body, and keeps the
// request it got.
func rcaServer(t *testing.T, status int, body string) (*httptest.Server, *map[string]any, *http.Header) {
	t.Helper()
	got, header := map[string]any{}, http.Header{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/analyses" {
			http.Error(w, "wrong endpoint "+r.Method+" "+r.URL.Path, http.StatusTeapot)
			return
		}
		header = r.Header.Clone()
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Errorf("request body %s: %v", raw, err)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got, &header
}

func runRCA(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	t.Setenv("RCA_API_TOKEN", "")
	var stdout, stderr bytes.Buffer
	err := rca(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// The flags become the request, and the text format prints one candidate
// per line, best first, the name as the first word.
func TestRCAText(t *testing.T) {
	srv, got, header := rcaServer(t, http.StatusOK, analysisJSON)
	out, errOut, err := runRCA(t, "--rca-url", srv.URL, "--from", "2026-01-02T15:04:05Z", "--to", "1767366305",
		"--symptom", "service=gateway,metric=latency,operation=POST /predict", "--baseline", "2m", "--kinds", "service,change",
		"--api-token", "t0k")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"from": "2026-01-02T15:04:05Z", "to": "1767366305", "baseline": "2m",
		"symptom":    map[string]any{"service": "gateway", "metric": "latency", "operation": "POST /predict"},
		"candidates": map[string]any{"kinds": []any{"service", "change"}}}
	if g, w := mustJSON(t, *got), mustJSON(t, want); g != w {
		t.Errorf("request %s, want %s", g, w)
	}
	if a := header.Get("Authorization"); a != "Bearer t0k" {
		t.Errorf("Authorization %q, want the token", a)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout %q, want 2 lines", out)
	}
	for i, want := range [][]string{{"feature-service", "service", "0.800", "explains 100% of the excess latency"},
		{"chg-deploy-v2", "change", "0.012", "deploy chg-deploy-v2"}} {
		f := strings.Fields(lines[i])
		if f[0] != want[0] || f[1] != want[1] || f[2] != want[2] || !strings.Contains(lines[i], want[3]) {
			t.Errorf("line %d = %q, want name %s, kind %s, score %s and %q", i, lines[i], want[0], want[1], want[2], want[3])
		}
	}
	if !strings.Contains(errOut, "confidence 0.80") {
		t.Errorf("stderr %q, want the confidence", errOut)
	}
}

// The json format prints the service's answer whole.
func TestRCAJSON(t *testing.T) {
	srv, _, _ := rcaServer(t, http.StatusOK, analysisJSON)
	out, _, err := runRCA(t, "--rca-url", srv.URL, "--from", "1767366245", "--to", "1767366305", "--symptom", "service=gateway", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	if out != analysisJSON {
		t.Fatalf("stdout %q, want the answer as it came", out)
	}
}

// The service's 4xx message is shown as it is.
func TestRCAServiceMessage(t *testing.T) {
	msg := `unknown service "checkout": no spans or metrics of it in [2026-01-02T15:03:05Z, 2026-01-02T15:04:05Z); services with data there: gateway`
	body, _ := json.Marshal(map[string]string{"error": msg})
	srv, _, _ := rcaServer(t, http.StatusNotFound, string(body))
	_, _, err := runRCA(t, "--rca-url", srv.URL, "--from", "1767366245", "--to", "1767366305", "--symptom", "service=checkout")
	if !errors.Is(err, ErrRCARefused) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %v, want ErrRCARefused with 404 and %q", err, msg)
	}
}

// Bad input is refused before any request, with the flag to fix.
func TestRCABadInput(t *testing.T) {
	srv, got, _ := rcaServer(t, http.StatusOK, analysisJSON)
	ok := []string{"--rca-url", srv.URL, "--from", "1767366245", "--to", "1767366305", "--symptom", "service=gateway"}
	with := func(args ...string) []string { return append(append([]string{}, ok...), args...) }
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no from", args: []string{"--rca-url", srv.URL, "--to", "1767366305", "--symptom", "service=gateway"}, want: "--from is missing"},
		{name: "bad to", args: with("--to", "now"), want: `--to "now" is no time`},
		{name: "milliseconds", args: with("--to", "1767366305000"), want: "milliseconds?"},
		{name: "from after to", args: with("--from", "1767366400"), want: "--from (1767366400) must be before --to"},
		{name: "no symptom", args: with("--symptom", ""), want: "--symptom is missing"},
		{name: "symptom without service", args: with("--symptom", "metric=latency"), want: "names no service"},
		{name: "symptom with a typo", args: with("--symptom", "service=gateway,metrc=latency"), want: `unknown key "metrc"`},
		{name: "symptom not key=value", args: with("--symptom", "gateway"), want: `"gateway" is no key=value`},
		{name: "bad baseline", args: with("--baseline", "5 min"), want: `--baseline "5 min"`},
		{name: "bad format", args: with("--format", "yaml"), want: `--format "yaml": want text or json`},
		{name: "stray argument", args: with("gateway"), want: "flags only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runRCA(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
	if len(*got) != 0 {
		t.Errorf("the service got %v, want no request", *got)
	}
}

// No service at the URL says how to point the command at one.
func TestRCANoService(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, _, err := runRCA(t, "--rca-url", url, "--from", "1767366245", "--to", "1767366305", "--symptom", "service=gateway")
	if err == nil || !strings.Contains(err.Error(), "no rca service answered at "+url) || !strings.Contains(err.Error(), "RCA_URL") {
		t.Fatalf("err = %v, want it to name the URL and RCA_URL", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
