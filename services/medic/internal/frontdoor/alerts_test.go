package frontdoor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/prometheus/common/model"
)

// amAlert is the part of an Alertmanager webhook alert the test reads.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
}

// The fixtures follow the example of Alertmanager's documentation
// (webhook_config), and their fingerprints are the ones Alertmanager
// computes from the labels.
func TestAlertmanagerFixtures(t *testing.T) {
	for _, name := range []string{"alertmanager_firing.json", "alertmanager_resolved.json"} {
		a := firstAlert(t, testdata(t, name))
		if fp := labelsFingerprint(a.Labels); a.Fingerprint != fp {
			t.Errorf("%s: fingerprint %s, but Alertmanager's for its labels is %s", name, a.Fingerprint, fp)
		}
	}
}

// testAlertmanager posts a firing alert and then its resolution with the
// bearer token, and finds anomaly.detected and anomaly.resolved on the bus
// and in the events table; posts without the token are refused and
// publish nothing.
func testAlertmanager(t *testing.T, d *door) {
	firing, resolved := testdata(t, "alertmanager_firing.json"), testdata(t, "alertmanager_resolved.json")
	alert := firstAlert(t, firing)
	fp := alert.Fingerprint
	// The refused posts carry another alert (another instance, so another
	// fingerprint), so the duplicate window cannot hide what they published.
	other := otherInstance(t, firing)
	otherFP := firstAlert(t, other).Fingerprint
	for _, auth := range []string{"", "Bearer not-" + d.stack.IngestToken, "Basic bWVkaWM6" + d.stack.IngestToken} {
		if code, body := postAlert(t, d, auth, other); code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d %s, want 401", auth, code, body)
		}
	}
	if code, body := postAlert(t, d, "Bearer "+d.stack.IngestToken, firing); code/100 != 2 {
		t.Fatalf("firing alert: %d %s", code, body)
	}
	var detected events.Item[events.Data]
	eventually(t, rowsTimeout, func() string {
		found := anomalies(t, d, events.TypeAnomalyDetected, fp)
		if len(found) != 1 {
			return fmt.Sprintf("%d anomaly.detected events of fingerprint %s on the bus, want 1", len(found), fp)
		}
		detected = found[0]
		return ""
	})
	det := detected.Data.(events.AnomalyDetected)
	if det.Rule != "FraudModelLatencyHigh" || det.Service != "fraud-serving" || det.Model != "fraud" || det.ModelVersion != "v7" ||
		det.Severity != "critical" || det.StartedUnixNano != alert.StartsAt.UnixNano() || det.Summary == "" {
		t.Errorf("anomaly.detected %+v: want rule FraudModelLatencyHigh, fraud-serving fraud v7, critical, started %s, a summary",
			det, alert.StartsAt)
	}
	// Published in order: had a refused post published, its event would
	// be on the stream before this one.
	if n := len(anomalies(t, d, events.TypeAnomalyDetected, otherFP)); n != 0 {
		t.Errorf("%d anomaly.detected events of the refused alert (fingerprint %s) on the bus, want none", n, otherFP)
	}
	eventuallyEventRow(t, d, detected, fp)

	if code, body := postAlert(t, d, "Bearer "+d.stack.IngestToken, resolved); code/100 != 2 {
		t.Fatalf("resolved alert: %d %s", code, body)
	}
	var res events.Item[events.Data]
	eventually(t, rowsTimeout, func() string {
		found := anomalies(t, d, events.TypeAnomalyResolved, fp)
		if len(found) != 1 {
			return fmt.Sprintf("%d anomaly.resolved events of fingerprint %s on the bus, want 1", len(found), fp)
		}
		res = found[0]
		return ""
	})
	end := firstAlert(t, resolved).EndsAt
	if r := res.Data.(events.AnomalyResolved); r.AnomalyID != det.AnomalyID || r.ResolvedUnixNano != end.UnixNano() || r.Service != "fraud-serving" {
		t.Errorf("anomaly.resolved %+v: want anomaly %s (the detected one's), resolved at %s, service fraud-serving", r, det.AnomalyID, end)
	}
	eventuallyEventRow(t, d, res, fp)
}

// anomalies are the anomaly events of type eventType on the bus with the
// fingerprint fp.
func anomalies(t *testing.T, d *door, eventType, fp string) []events.Item[events.Data] {
	var out []events.Item[events.Data]
	for _, ev := range d.busEvents(t, bus.StreamEvents, events.Subject(eventType)) {
		switch a := ev.Data.(type) {
		case events.AnomalyDetected:
			if a.Fingerprint == fp {
				out = append(out, ev)
			}
		case events.AnomalyResolved:
			if a.Fingerprint == fp {
				out = append(out, ev)
			}
		}
	}
	return out
}

// eventuallyEventRow waits for ev's row in the events table, and checks
// its columns.
func eventuallyEventRow(t *testing.T, d *door, ev events.Item[events.Data], fp string) {
	t.Helper()
	eventually(t, rowsTimeout, func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rows, err := d.store.Conn().Query(ctx, `SELECT source, service, model, model_version, data FROM events WHERE type = ? AND id = ?`,
			ev.Meta.Type, ev.Meta.ID)
		if err != nil {
			return fmt.Sprintf("query events: %v", err)
		}
		defer rows.Close()
		var found []string
		for rows.Next() {
			var source, service, model, version, data string
			if err := rows.Scan(&source, &service, &model, &version, &data); err != nil {
				return err.Error()
			}
			if service != "fraud-serving" || model != "fraud" || version != "v7" || !strings.Contains(data, fp) {
				return fmt.Sprintf("events row of %s %s: service %q model %q %q data %s; want fraud-serving fraud v7 and fingerprint %s",
					ev.Meta.Type, ev.Meta.ID, service, model, version, data, fp)
			}
			found = append(found, source)
		}
		if len(found) != 1 {
			return fmt.Sprintf("%d rows of %s %s in the events table, want 1", len(found), ev.Meta.Type, ev.Meta.ID)
		}
		return ""
	})
}

func postAlert(t *testing.T, d *door, auth string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.stack.IngestURL+"/v1/alerts/alertmanager", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	// What Alertmanager's webhook notifier sends.
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Alertmanager/0.28.1")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST /v1/alerts/alertmanager: %v", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func firstAlert(t *testing.T, body []byte) amAlert {
	t.Helper()
	var p struct{ Alerts []amAlert }
	if err := json.Unmarshal(body, &p); err != nil || len(p.Alerts) == 0 {
		t.Fatalf("webhook body with no alert (%v): %s", err, body)
	}
	return p.Alerts[0]
}

// otherInstance is the webhook body with its alert moved to another
// instance, and so with another fingerprint.
func otherInstance(t *testing.T, body []byte) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	p["commonLabels"].(map[string]any)["instance"] = "10.42.0.18:8080"
	a := p["alerts"].([]any)[0].(map[string]any)
	labels := map[string]string{}
	for k, v := range a["labels"].(map[string]any) {
		labels[k] = v.(string)
	}
	labels["instance"] = "10.42.0.18:8080"
	a["labels"], a["fingerprint"] = labels, labelsFingerprint(labels)
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// labelsFingerprint is Alertmanager's fingerprint of an alert's labels.
func labelsFingerprint(labels map[string]string) string {
	ls := model.LabelSet{}
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}
