package changes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	mux.Handle(Path, r.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, r
}

// post sends body and returns the status, the decoded JSON answer and the
// response.
func post(t *testing.T, url, auth, body string) (int, map[string]any, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
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
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var answer map[string]any
	if err := json.Unmarshal(raw, &answer); err != nil {
		t.Fatalf("status %d, answer not JSON: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, answer, resp
}

// changes reads the change.recorded events on the stream.
func recorded(t *testing.T, b *bus.Bus) map[string]events.ChangeRecorded {
	t.Helper()
	out := map[string]events.ChangeRecorded{}
	for _, ev := range servicetest.ReadEvents(t, b.JetStream(), bus.StreamEvents, events.Subject(events.TypeChangeRecorded)) {
		c := servicetest.As[events.ChangeRecorded](t, ev)
		if ev.ID() != c.ChangeID {
			t.Fatalf("event id %q is not the change id %q", ev.ID(), c.ChangeID)
		}
		out[c.ChangeID] = c
	}
	return out
}

// Two changes, one with an id and an RFC 3339 time, one without either,
// reach the real bus as change.recorded with the change id as the event id;
// the same request again adds nothing, since the ids repeat and the
// stream's duplicate window drops them.
func TestPostedChangesReachTheBus(t *testing.T) {
	b := servicetest.Bus(t)
	srv, r := serve(t, b)
	body := `[
		{"change_id":"deploy-42","kind":"deploy","time":"2026-11-30T10:00:00Z","service":"model-server","model":"fraud","model_version":"v2","previous_version":"v1","actor":"ci"},
		{"kind":"config","description":"feature store timeout 2s","service":"feature-store"}
	]`
	var ids []any
	for range 2 {
		status, answer, _ := post(t, srv.URL+Path, "Bearer "+token, body)
		if status != http.StatusAccepted || answer["accepted"] != 2.0 {
			t.Fatalf("status %d %v, want 202 with 2 accepted", status, answer)
		}
		ids = answer["change_ids"].([]any)
	}
	got := recorded(t, b)
	if len(got) != 2 {
		t.Fatalf("%d change events after posting twice, want 2: %+v", len(got), got)
	}
	d := got["deploy-42"]
	if d.Kind != "deploy" || d.Service != "model-server" || d.Model != "fraud" || d.ModelVersion != "v2" || d.PreviousVersion != "v1" ||
		d.Actor != "ci" || d.TimeUnixNano != 1796032800000000000 {
		t.Errorf("deploy-42 recorded as %+v", d)
	}
	derived, ok := got[ids[1].(string)]
	if !ok || derived.Kind != "config" || derived.Service != "feature-store" || derived.TimeUnixNano == 0 {
		t.Errorf("the change without an id: answered id %v, recorded %+v", ids[1], got)
	}
	if n := testutil.ToFloat64(r.requests.WithLabelValues(ResultOK)); n != 2 {
		t.Errorf("%v ok requests counted, want 2", n)
	}
	if n := testutil.ToFloat64(r.events.WithLabelValues("deploy")); n != 2 {
		t.Errorf("%v deploy events counted, want 2 (both requests published)", n)
	}
}

// One bad change fails the whole request with 400 naming its index and
// field, and nothing of the request is published.
func TestABadChangePublishesNothing(t *testing.T) {
	b := servicetest.Bus(t)
	srv, r := serve(t, b)
	body := `[{"change_id":"ok-1","kind":"deploy","service":"s"},{"change_id":"bad-1","kind":"reboot","service":"s"}]`
	status, answer, _ := post(t, srv.URL+Path, "Bearer "+token, body)
	if status != http.StatusBadRequest {
		t.Fatalf("status %d %v, want 400", status, answer)
	}
	problems, _ := answer["problems"].([]any)
	if len(problems) != 1 {
		t.Fatalf("problems %v, want one", answer)
	}
	p := problems[0].(map[string]any)
	if p["index"] != 1.0 || p["field"] != "kind" || !strings.Contains(answer["error"].(string), "change 1: kind:") {
		t.Fatalf("answer %v, want change 1's kind named", answer)
	}
	if n := servicetest.Count(t, b.JetStream(), bus.StreamEvents, events.Subject(events.TypeChangeRecorded)); n != 0 {
		t.Fatalf("%d change events published from a request with a bad change, want 0", n)
	}
	if n := testutil.ToFloat64(r.requests.WithLabelValues(ResultInvalid)); n != 1 {
		t.Errorf("%v invalid requests counted, want 1", n)
	}
}

// down fails every publish, as a JetStream outage does.
type down struct{}

func (down) Emit(context.Context, string, events.Data) (events.Meta, error) {
	return events.Meta{}, errors.New("jetstream down")
}

// Requests that cannot be taken are answered so that the sender knows what
// to do, and each is counted by why.
func TestRejections(t *testing.T) {
	b := servicetest.Bus(t)
	srv, r := serve(t, b)
	outage, outageRecv := serve(t, down{})
	one := `{"kind":"deploy","service":"s"}`
	var many bytes.Buffer
	many.WriteString("[")
	for i := range MaxItems + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"kind":"deploy","service":"s%d"}`, i)
	}
	many.WriteString("]")
	tests := []struct {
		name, auth, body, want, result string
		recv                           *Receiver
		url                            string
		status                         int
	}{
		{name: "no token", body: one, status: http.StatusUnauthorized, result: ResultUnauthorized},
		{name: "wrong token", auth: "Bearer nope", body: one, status: http.StatusUnauthorized, result: ResultUnauthorized},
		{name: "token in the query is not taken", url: srv.URL + Path + "?token=" + token, body: one, status: http.StatusUnauthorized, result: ResultUnauthorized},
		{name: "publisher down", recv: outageRecv, url: outage.URL + Path, auth: "Bearer " + token, body: one, status: http.StatusServiceUnavailable, want: "retry after", result: ResultPublishFailed},
		{name: "not JSON", auth: "Bearer " + token, body: `[{"kind":`, status: http.StatusBadRequest, want: "malformed", result: ResultMalformed},
		{name: "neither object nor array", auth: "Bearer " + token, body: `"deploy"`, status: http.StatusBadRequest, want: "neither", result: ResultMalformed},
		{name: "empty array", auth: "Bearer " + token, body: `[]`, status: http.StatusBadRequest, want: "no change", result: ResultMalformed},
		{name: "too many changes", auth: "Bearer " + token, body: many.String(), status: http.StatusBadRequest, want: "at most 100", result: ResultTooMany},
		{name: "too large", auth: "Bearer " + token, body: `{"kind":"deploy","service":"s","description":"` + strings.Repeat("x", 1<<20) + `"}`,
			status: http.StatusRequestEntityTooLarge, want: "body over", result: ResultTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, recv := tc.url, tc.recv
			if url == "" {
				url = srv.URL + Path
			}
			if recv == nil {
				recv = r
			}
			before := testutil.ToFloat64(recv.requests.WithLabelValues(tc.result))
			status, answer, resp := post(t, url, tc.auth, tc.body)
			if msg, _ := answer["error"].(string); status != tc.status || !strings.Contains(msg, tc.want) {
				t.Fatalf("status %d %v, want %d containing %q", status, answer, tc.status, tc.want)
			}
			if tc.status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "30" {
				t.Errorf("Retry-After %q, want 30", resp.Header.Get("Retry-After"))
			}
			if n := testutil.ToFloat64(recv.requests.WithLabelValues(tc.result)) - before; n != 1 {
				t.Errorf("%v requests counted as %s, want 1", n, tc.result)
			}
		})
	}
	if n := servicetest.Count(t, b.JetStream(), bus.StreamEvents, events.Subject(events.TypeChangeRecorded)); n != 0 {
		t.Fatalf("%d change events published by rejected requests, want 0", n)
	}
}

// Only POST with JSON is taken.
func TestMethodAndContentType(t *testing.T) {
	srv, _ := serve(t, down{})
	resp, err := http.Get(srv.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET answered %d Allow %q, want 405 POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+Path, strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/plain")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain answered %d, want 415", resp.StatusCode)
	}
}

func TestTokenRequired(t *testing.T) {
	if _, err := New(Options{}, down{}, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("New without a token succeeded; the endpoint must not be served unguarded")
	}
}
