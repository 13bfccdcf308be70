package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/api"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
)

// recorded holds two simulated faults, backfilled days in the past as a
// replay of recorded data would be: a bad model version three days ago and
// a slow dependency two days ago. No analysis may look at the clock.
type recorded struct {
	h                  *api.Handler
	badVersion, slowAt time.Time
	// conn reaches the database the analyses read, to rerun their SQL.
	conn driver.Conn
}

func record(t *testing.T) recorded {
	t.Helper()
	day := 24 * time.Hour
	rec := recorded{badVersion: time.Now().Add(-3 * day).Truncate(time.Second), slowAt: time.Now().Add(-2 * day).Truncate(time.Second)}
	st := storetest.New(t)
	for i, sc := range []synthtest.Scenario{
		{Fault: synthtest.BadModelVersion, FaultAt: rec.badVersion, Seed: 21},
		{Fault: synthtest.SlowDependency, FaultAt: rec.slowAt, Seed: 22},
	} {
		sc.Baseline, sc.FaultFor, sc.RPS = 3*time.Minute, 30*time.Second, 50
		data, err := synthtest.Generate(sc)
		if err != nil {
			t.Fatal(err)
		}
		if err := data.Insert(context.Background(), st); err != nil {
			t.Fatalf("scenario %d: %v", i, err)
		}
	}
	rec.conn = st.Conn()
	eng := engine.New(query.New(st.Conn()), engine.DefaultConfig)
	rec.h = api.New(eng, api.Options{MaxWindow: time.Hour, DefaultBaseline: 2 * time.Minute}, slog.New(slog.DiscardHandler))
	return rec
}

// post sends body to h and returns the status and the decoded answer.
func post(t *testing.T, h http.Handler, body string, header ...string) (*httptest.ResponseRecorder, api.Analysis, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/analyses", strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var out api.Analysis
	var fail struct {
		Error string `json:"error"`
	}
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("200 with a body that is no analysis: %v\n%s", err, w.Body)
		}
	} else if err := json.Unmarshal(w.Body.Bytes(), &fail); err != nil || fail.Error == "" {
		t.Fatalf("%d with a body that is no error: %s", w.Code, w.Body)
	}
	return w, out, fail.Error
}

func window(from, to time.Time) string {
	return fmt.Sprintf(`"from": %q, "to": %d`, from.Format(time.RFC3339), to.Unix())
}

// The on-demand analysis of a recorded fault's window ranks its true cause
// first, from the spans (span signals) and from the metrics (a metric
// name), and explains every candidate.
func TestOnDemandRanksTheTrueCauseFirst(t *testing.T) {
	rec := record(t)
	bad := window(rec.badVersion.Add(-10*time.Second), rec.badVersion.Add(30*time.Second))
	slow := window(rec.slowAt.Add(-10*time.Second), rec.slowAt.Add(30*time.Second))
	tests := []struct {
		name, body, wantTop, wantTable string
		// onlyKind, when set, is the one kind of candidate wanted.
		onlyKind string
	}{
		{name: "bad model version, span errors", wantTop: "fraud@v2", wantTable: "spans",
			body: `{` + bad + `, "symptom": {"service": "model-server", "metric": "error"}}`},
		{name: "bad model version, metric", wantTop: "fraud@v2", wantTable: "metrics",
			body: `{` + bad + `, "symptom": {"service": "model-server", "metric": "prediction.error", "model": "fraud"}, "baseline": "3m"}`},
		{name: "slow dependency, span latency", wantTop: "feature-service", wantTable: "spans",
			body: `{` + slow + `, "symptom": {"service": "gateway", "metric": "latency"}}`},
		{name: "slow dependency, explicit baseline", wantTop: "feature-service", wantTable: "spans",
			body: `{` + slow + `, "symptom": {"service": "gateway", "metric": "latency"}, "baseline": {` +
				window(rec.slowAt.Add(-3*time.Minute), rec.slowAt.Add(-10*time.Second)) + `}}`},
		{name: "slow dependency, one operation", wantTop: "feature-service", wantTable: "spans",
			body: `{` + slow + `, "symptom": {"service": "gateway", "operation": "POST /predict"}}`},
		{name: "bad model version, services only", wantTop: "model-server", wantTable: "spans", onlyKind: "service",
			body: `{` + bad + `, "symptom": {"service": "model-server", "metric": "error"}, "candidates": {"kinds": ["service"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, got, msg := post(t, rec.h, tt.body)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, msg)
			}
			for _, c := range got.Candidates {
				t.Logf("#%d %-16s %-13s %.3f %s", c.Rank, c.Name, c.Kind, c.Score, c.Explanation)
			}
			if len(got.Candidates) == 0 || got.Candidates[0].Name != tt.wantTop || got.Candidates[0].Rank != 1 {
				t.Fatalf("candidates %+v, want %s first", got.Candidates, tt.wantTop)
			}
			if got.Symptom.Table != tt.wantTable || !got.Baseline.Sufficient || got.Confidence <= 0 {
				t.Errorf("table %s, baseline %+v, confidence %v: want %s, a sufficient baseline and some confidence",
					got.Symptom.Table, got.Baseline, got.Confidence, tt.wantTable)
			}
			checkExplained(t, got)
			for _, c := range got.Candidates {
				if tt.onlyKind != "" && c.Kind != tt.onlyKind {
					t.Errorf("candidate %s of kind %s, want only %s", c.ID, c.Kind, tt.onlyKind)
				}
			}
		})
	}
}

// Every candidate carries the SQL behind its evidence, values written in:
// the symptom's series, then what its signal read. A responder can paste
// each statement into clickhouse-client and get the rows the analysis used.
func TestEvidenceSQLReruns(t *testing.T) {
	rec := record(t)
	slow := window(rec.slowAt.Add(-10*time.Second), rec.slowAt.Add(30*time.Second))
	bad := window(rec.badVersion.Add(-10*time.Second), rec.badVersion.Add(30*time.Second))
	for _, body := range []string{
		`{` + slow + `, "symptom": {"service": "gateway", "metric": "latency"}}`,
		`{` + bad + `, "symptom": {"service": "model-server", "metric": "prediction.error", "model": "fraud"}, "baseline": "3m"}`,
	} {
		w, got, msg := post(t, rec.h, body)
		if w.Code != http.StatusOK || len(got.Candidates) == 0 {
			t.Fatalf("status %d %s, %d candidates", w.Code, msg, len(got.Candidates))
		}
		for i, c := range got.Candidates {
			if len(c.SQL) == 0 || i == 0 && c.Kind == "service" && len(c.SQL) < 2 {
				t.Errorf("%s carries SQL %q: want the symptom's query and its signal's", c.ID, c.SQL)
			}
			for _, q := range c.SQL {
				if strings.Contains(q, "?") {
					t.Errorf("%s: a placeholder is left in %s", c.ID, q)
				}
				var n uint64
				if err := rec.conn.QueryRow(context.Background(), "SELECT count() FROM ("+q+")").Scan(&n); err != nil {
					t.Fatalf("%s: rerunning its SQL: %v\n%s", c.ID, err, q)
				}
				if n == 0 {
					t.Errorf("%s: its SQL returns no rows on rerun:\n%s", c.ID, q)
				}
			}
		}
	}
}

// checkExplained wants every candidate to carry its explanation, evidence
// and score parts, and the parts to multiply to the score.
func checkExplained(t *testing.T, got api.Analysis) {
	t.Helper()
	for _, c := range got.Candidates {
		product := 1.0
		for _, v := range c.ScoreParts {
			product *= v
		}
		if c.Explanation == "" || len(c.Evidence) == 0 || len(c.ScoreParts) == 0 || fmt.Sprintf("%.6f", product) != fmt.Sprintf("%.6f", c.Score) {
			t.Errorf("%s: explanation %q, evidence %v, parts %v (product %v, score %v)", c.ID, c.Explanation, c.Evidence, c.ScoreParts, product, c.Score)
		}
		if got.Candidates[0].Confidence == nil || *got.Candidates[0].Confidence != got.Confidence {
			t.Errorf("rank 1 carries confidence %v, want the analysis's %v", got.Candidates[0].Confidence, got.Confidence)
		}
	}
}

// Each bad input gets its 4xx and a message that says what to fix.
func TestBadInput(t *testing.T) {
	rec := record(t)
	slow := window(rec.slowAt.Add(-10*time.Second), rec.slowAt.Add(30*time.Second))
	empty := window(rec.slowAt.Add(-10*time.Hour), rec.slowAt.Add(-9*time.Hour))
	tests := []struct {
		name, body string
		status     int
		want       []string
	}{
		{name: "from after to", status: http.StatusBadRequest, want: []string{"from (", "must be before to"},
			body: fmt.Sprintf(`{"from": %d, "to": %d, "symptom": {"service": "gateway"}}`, rec.slowAt.Unix(), rec.slowAt.Unix()-60)},
		{name: "window over the limit", status: http.StatusBadRequest, want: []string{"longer than the limit of 1h0m0s", "--max-analysis-window", "RCA_MAX_ANALYSIS_WINDOW"},
			body: `{` + window(rec.slowAt.Add(-2*time.Hour), rec.slowAt) + `, "symptom": {"service": "gateway"}}`},
		{name: "malformed JSON", status: http.StatusBadRequest, want: []string{"malformed JSON"}, body: `{"from": `},
		{name: "two values", status: http.StatusBadRequest, want: []string{"more than one value"}, body: `{"from": 1} {}`},
		{name: "unknown field", status: http.StatusBadRequest, want: []string{`unknown field "form"`},
			body: `{"form": 1, "to": 2, "symptom": {"service": "gateway"}}`},
		{name: "bad from", status: http.StatusBadRequest, want: []string{`from: "yesterday" is no time`, "RFC 3339"},
			body: `{"from": "yesterday", "to": 2, "symptom": {"service": "gateway"}}`},
		{name: "milliseconds for to", status: http.StatusBadRequest, want: []string{"to: ", "milliseconds?"},
			body: fmt.Sprintf(`{"from": 1, "to": %d, "symptom": {"service": "gateway"}}`, rec.slowAt.UnixMilli())},
		{name: "missing to", status: http.StatusBadRequest, want: []string{"to is missing"},
			body: `{"from": 1, "symptom": {"service": "gateway"}}`},
		{name: "no service", status: http.StatusBadRequest, want: []string{"symptom: ", "no service"},
			body: `{` + slow + `, "symptom": {"metric": "latency"}}`},
		{name: "malformed metric", status: http.StatusBadRequest, want: []string{"symptom: ", `"a / "`},
			body: `{` + slow + `, "symptom": {"service": "gateway", "metric": "a / "}}`},
		{name: "operation of a metric", status: http.StatusBadRequest, want: []string{`operation "predict" applies to the span signals`},
			body: `{` + slow + `, "symptom": {"service": "gateway", "metric": "request.latency_ms", "operation": "predict"}}`},
		{name: "operation of the logs", status: http.StatusBadRequest, want: []string{`operation "predict" applies to the span signals`},
			body: `{` + slow + `, "symptom": {"service": "gateway", "metric": "logs", "operation": "predict"}}`},
		{name: "bad baseline", status: http.StatusBadRequest, want: []string{`baseline "5 minutes"`},
			body: `{` + slow + `, "symptom": {"service": "gateway"}, "baseline": "5 minutes"}`},
		{name: "baseline over the limit", status: http.StatusBadRequest, want: []string{"baseline 2h0m0s", "--max-analysis-window"},
			body: `{` + slow + `, "symptom": {"service": "gateway"}, "baseline": "2h"}`},
		{name: "explicit baseline overlapping the window", status: http.StatusBadRequest, want: []string{"overlaps the window", "outside the window"},
			body: `{` + slow + `, "symptom": {"service": "gateway"}, "baseline": {` + window(rec.slowAt.Add(-time.Minute), rec.slowAt.Add(time.Minute)) + `}}`},
		{name: "explicit baseline backwards", status: http.StatusBadRequest, want: []string{"baseline.from", "must be before baseline.to"},
			body: `{` + slow + `, "symptom": {"service": "gateway"}, "baseline": {` + window(rec.slowAt.Add(-time.Hour), rec.slowAt.Add(-2*time.Hour)) + `}}`},
		{name: "explicit baseline without to", status: http.StatusBadRequest, want: []string{"baseline.to is missing"},
			body: `{` + slow + `, "symptom": {"service": "gateway"}, "baseline": {"from": 1}}`},
		{name: "explicit baseline with an unknown field", status: http.StatusBadRequest, want: []string{"baseline: want", `unknown field "length"`},
			body: `{` + slow + `, "symptom": {"service": "gateway"}, "baseline": {"length": "5m"}}`},
		{name: "explicit baseline over the limit", status: http.StatusBadRequest, want: []string{"longer than the limit of 1h0m0s", "--max-analysis-window"},
			body: `{` + slow + `, "symptom": {"service": "gateway"}, "baseline": {` + window(rec.slowAt.Add(-5*time.Hour), rec.slowAt.Add(-2*time.Hour)) + `}}`},
		{name: "baseline of another type", status: http.StatusBadRequest, want: []string{"baseline 300", "want a duration"},
			body: `{` + slow + `, "symptom": {"service": "gateway"}, "baseline": 300}`},
		{name: "unknown kind", status: http.StatusBadRequest, want: []string{`candidates.kinds: "pod"`, "service, model_version, change, log_template, operation, feature"},
			body: `{` + slow + `, "symptom": {"service": "gateway"}, "candidates": {"kinds": ["pod"]}}`},
		{name: "window with no data", status: http.StatusUnprocessableEntity, want: []string{"no data in [", "spans and metrics hold no rows"},
			body: `{` + empty + `, "symptom": {"service": "gateway"}}`},
		{name: "unknown service", status: http.StatusNotFound, want: []string{`unknown service "checkout"`, "feature-service, gateway, model-server"},
			body: `{` + slow + `, "symptom": {"service": "checkout", "metric": "latency"}}`},
		{name: "metric the service lacks", status: http.StatusUnprocessableEntity, want: []string{"table metrics holds no points of checkout.latency_ms", `service "gateway"`},
			body: `{` + slow + `, "symptom": {"service": "gateway", "metric": "checkout.latency_ms"}}`},
		{name: "operation the service lacks", status: http.StatusUnprocessableEntity, want: []string{"table spans holds no entry spans", `named "GET /cart"`},
			body: `{` + slow + `, "symptom": {"service": "gateway", "operation": "GET /cart"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _, msg := post(t, rec.h, tt.body)
			if w.Code != tt.status {
				t.Fatalf("status %d (%s), want %d", w.Code, msg, tt.status)
			}
			for _, s := range tt.want {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q lacks %q", msg, s)
				}
			}
		})
	}
}

// ClickHouse down is a 503 with Retry-After, whether the store says so
// first or a query finds out.
func TestClickHouseDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{dead}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	eng := engine.New(query.New(conn), engine.DefaultConfig)
	body := `{"from": 1700000000, "to": 1700000060, "symptom": {"service": "gateway"}}`
	tests := []struct {
		name  string
		ready func() error
	}{
		{name: "store not ready", ready: func() error { return errors.New("clickhouse: not ready") }},
		{name: "query fails", ready: func() error { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := api.New(eng, api.Options{MaxWindow: time.Hour, DefaultBaseline: time.Minute, Ready: tt.ready}, slog.New(slog.DiscardHandler))
			w, _, msg := post(t, h, body)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(msg, "ClickHouse") {
				t.Fatalf("status %d, Retry-After %q, message %q: want 503 with Retry-After naming ClickHouse",
					w.Code, w.Header().Get("Retry-After"), msg)
			}
		})
	}
}

// With a token set, a request without it is refused before anything runs.
func TestToken(t *testing.T) {
	h := api.New(nil, api.Options{MaxWindow: time.Hour, Token: "s3cret"}, slog.New(slog.DiscardHandler))
	for _, auth := range []string{"", "Bearer wrong", "s3cret"} {
		w, _, msg := post(t, h, `{}`, "Authorization", auth)
		if w.Code != http.StatusUnauthorized || !strings.Contains(msg, "RCA_API_TOKEN") {
			t.Errorf("Authorization %q: status %d (%s), want 401 naming RCA_API_TOKEN", auth, w.Code, msg)
		}
	}
	w, _, msg := post(t, h, `{}`, "Authorization", "Bearer s3cret")
	if w.Code != http.StatusBadRequest {
		t.Errorf("with the token: status %d (%s), want 400 for the empty request", w.Code, msg)
	}
}

// Without a start, the analysis dates the symptom at its onset in the
// recorded window (90 s after from), not at from and not by the clock; the
// deploy's proximity to it is what ranks the deploy.
func TestSymptomStartIsTheOnset(t *testing.T) {
	rec := record(t)
	body := `{` + window(rec.badVersion.Add(-90*time.Second), rec.badVersion.Add(30*time.Second)) +
		`, "symptom": {"service": "model-server", "metric": "error"}, "baseline": "1m"}`
	w, got, msg := post(t, rec.h, body)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, msg)
	}
	start, err := time.Parse(time.RFC3339Nano, got.SymptomStart)
	if err != nil {
		t.Fatal(err)
	}
	if off := start.Sub(rec.badVersion); off < -time.Second || off > 2*time.Second {
		t.Errorf("symptom start %s is %v from the fault, want within a second or two", got.SymptomStart, off)
	}
	if len(got.Candidates) == 0 || got.Candidates[0].Name != "fraud@v2" || got.FaultStartSource != "change" {
		t.Errorf("candidates %+v, fault start %s: want fraud@v2 first, dated by its deploy", got.Candidates, got.FaultStartSource)
	}
}
