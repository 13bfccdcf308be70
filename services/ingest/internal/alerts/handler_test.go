package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const token = "s3cret-token"

// serve runs the receiver over real HTTP, publishing with pub.
func serve(t *testing.T, pub Publisher) (*httptest.Server, *Receiver) {
	t.Helper()
	r, err := New(Options{Token: token}, pub, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	r.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, r
}

func post(t *testing.T, url, auth string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func unix(t *testing.T, rfc3339 string) int64 {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		t.Fatal(err)
	}
	return ts.UnixNano()
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The Alertmanager body (the documented version 4 format) becomes one
// anomaly.detected for its firing alert and one anomaly.resolved for its
// resolved one, on the real bus, with the labels mapped; sent again, it adds
// no event: the ids are the same and the duplicate window drops them.
func TestAlertmanagerBodyBecomesAnomalies(t *testing.T) {
	b := servicetest.Bus(t)
	srv, r := serve(t, b)
	body := fixture(t, "alertmanager.json")
	for range 2 {
		if resp := post(t, srv.URL+"/v1/alerts/alertmanager", "Bearer "+token, body); resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(resp.Body)
			t.Fatalf("status %d: %s", resp.StatusCode, msg)
		}
	}
	js := b.JetStream()
	detected := servicetest.ReadEvents(t, js, bus.StreamEvents, events.Subject(events.TypeAnomalyDetected))
	resolved := servicetest.ReadEvents(t, js, bus.StreamEvents, events.Subject(events.TypeAnomalyResolved))
	if len(detected) != 1 || len(resolved) != 1 {
		t.Fatalf("%d detected and %d resolved events after sending twice, want 1 and 1", len(detected), len(resolved))
	}
	d := servicetest.As[events.AnomalyDetected](t, detected[0])
	want := events.AnomalyDetected{Rule: "ModelLatencyHigh", Fingerprint: "1a30ba71cca2921f", Metric: "ModelLatencyHigh", Severity: "critical",
		Summary: "p99 latency of fraud v2 above 250ms", Service: "model-server", Model: "fraud", ModelVersion: "v2", StartedUnixNano: unix(t, "2026-11-30T10:00:00Z")}
	if d.Rule != want.Rule || d.Fingerprint != want.Fingerprint || d.Metric != want.Metric || d.Severity != want.Severity || d.Summary != want.Summary ||
		d.Service != want.Service || d.Model != want.Model || d.ModelVersion != want.ModelVersion || d.StartedUnixNano != want.StartedUnixNano {
		t.Errorf("detected %+v, want %+v", d, want)
	}
	res := servicetest.As[events.AnomalyResolved](t, resolved[0])
	if res.Fingerprint != "5cf1e6c8b0c4b3a2" || res.ModelVersion != "v1" || res.ResolvedUnixNano != unix(t, "2026-11-30T09:30:00Z") {
		t.Errorf("resolved %+v", res)
	}
	if got := testutil.ToFloat64(r.requests.WithLabelValues(SenderAlertmanager, ResultOK)); got != 2 {
		t.Errorf("%v ok requests counted, want 2", got)
	}
}

// A firing alert's resolution carries the anomaly id of its detection, so
// the correlator can close what it opened.
func TestResolvedKeepsTheAnomalyID(t *testing.T) {
	body := fixture(t, "alertmanager.json")
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	a := p.Alerts[0]
	fired, err := Map(a, a.StartsAt)
	if err != nil {
		t.Fatal(err)
	}
	a.Status, a.EndsAt = StatusResolved, a.StartsAt.Add(600e9)
	done, err := Map(a, a.EndsAt)
	if err != nil {
		t.Fatal(err)
	}
	if fired.Data.(events.AnomalyDetected).AnomalyID != done.Data.(events.AnomalyResolved).AnomalyID || fired.ID == done.ID {
		t.Fatalf("detected %+v and resolved %+v", fired, done)
	}
}

// Grafana's documented body: two firing alerts, each with its values; the
// first ref id's value is the anomaly's value.
func TestGrafanaBodyBecomesAnomalies(t *testing.T) {
	b := servicetest.Bus(t)
	srv, _ := serve(t, b)
	if resp := post(t, srv.URL+"/v1/alerts/grafana", "Bearer "+token, fixture(t, "grafana.json")); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	detected := servicetest.ReadEvents(t, b.JetStream(), bus.StreamEvents, events.Subject(events.TypeAnomalyDetected))
	if len(detected) != 2 {
		t.Fatalf("%d detected, want 2", len(detected))
	}
	d := servicetest.As[events.AnomalyDetected](t, detected[0])
	if d.Value != 44.23943737541908 || d.Severity != "warning" || d.Summary != "This alert was triggered for zone us-1" || d.Labels["zone"] != "us-1" {
		t.Errorf("detected %+v", d)
	}
}

// down fails every publish, as a JetStream outage does.
type down struct{}

func (down) Emit(context.Context, string, events.Data) (events.Meta, error) {
	return events.Meta{}, errors.New("jetstream down")
}

// Requests that cannot be taken are answered so that the sender knows what
// to do: 401 without the right token, 503 with Retry-After while JetStream
// is down (Alertmanager retries), 400 naming what is wrong with a body.
func TestRejections(t *testing.T) {
	b := servicetest.Bus(t)
	srv, _ := serve(t, b)
	outage, _ := serve(t, down{})
	body := fixture(t, "alertmanager.json")
	tests := []struct {
		name, url, auth, body, want string
		status                      int
	}{
		{name: "no token", url: srv.URL + "/v1/alerts/alertmanager", status: http.StatusUnauthorized},
		{name: "wrong token", url: srv.URL + "/v1/alerts/alertmanager", auth: "Bearer nope", status: http.StatusUnauthorized},
		{name: "token in query", url: srv.URL + "/v1/alerts/alertmanager?token=" + token, status: http.StatusOK},
		{name: "basic auth", url: srv.URL + "/v1/alerts/alertmanager", auth: "Basic " + token, status: http.StatusUnauthorized},
		{name: "publisher down", url: outage.URL + "/v1/alerts/alertmanager", auth: "Bearer " + token, status: http.StatusServiceUnavailable, want: "retry after"},
		{name: "not json", url: srv.URL + "/v1/alerts/alertmanager", auth: "Bearer " + token, body: `{"alerts":[`, status: http.StatusBadRequest, want: "malformed webhook body"},
		{name: "wrong version", url: srv.URL + "/v1/alerts/alertmanager", auth: "Bearer " + token, body: `{"version":"3","alerts":[]}`, status: http.StatusBadRequest, want: "version"},
		{name: "no alertname", url: srv.URL + "/v1/alerts/grafana", auth: "Bearer " + token,
			body: `{"alerts":[{"status":"firing","labels":{"job":"x"},"startsAt":"2026-11-30T10:00:00Z"}]}`, status: http.StatusBadRequest, want: "alerts[0]: an alert has no alertname"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := body
			if tc.body != "" {
				raw = []byte(tc.body)
			}
			resp := post(t, tc.url, tc.auth, raw)
			msg, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(msg), tc.want) {
				t.Fatalf("status %d %q, want %d containing %q", resp.StatusCode, msg, tc.status, tc.want)
			}
			if tc.status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "30" {
				t.Errorf("Retry-After %q, want 30", resp.Header.Get("Retry-After"))
			}
		})
	}
}
