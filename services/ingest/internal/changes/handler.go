// Package changes receives the changes a watched system announces (a
// deploy, a rollback, a config change) over HTTP, at POST /v1/changes, and
// publishes each as dev.medic.change.recorded.v1, which the RCA ranks as
// root-cause candidates.
//
// The body is one change, or a JSON array of at most MaxItems, in the
// event's own data format (see Parse for the two conveniences). A request
// is all or nothing: one bad change answers 400 naming each bad change's
// index and field, and publishes none. 202 is answered only once JetStream
// acknowledged every event; a failed publish answers 503 with Retry-After,
// and the retry publishes the same event ids (the change ids), which the
// stream's duplicate window folds. So a change id must name one change: a
// different change posted under an id seen within that window (two hours)
// is answered 202 and dropped as a repeat. A bearer token guards the
// endpoint.
package changes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/services/ingest/internal/webhook"
	"github.com/prometheus/client_golang/prometheus"
)

// Path is where the handler is served.
const Path = "/v1/changes"

// MaxItems is the most changes one request may carry.
const MaxItems = 100

// Publisher publishes one event and returns once JetStream has acknowledged
// it; (*bus.Bus).Emit is one. An outcome.Permanent error means the event
// can never be published.
type Publisher interface {
	Emit(ctx context.Context, id string, data events.Data) (events.Meta, error)
}

// Options configure the receiver.
type Options struct {
	// Token is the shared secret a sender presents as
	// "Authorization: Bearer <token>". It is required.
	Token string
	// RetryAfter is what a 503 asks the sender to wait (default 30s).
	RetryAfter time.Duration
	// MaxBodyBytes bounds a request body (default 1 MiB).
	MaxBodyBytes int64
	// PublishTimeout bounds the wait for JetStream's acknowledgements
	// (default 10s).
	PublishTimeout time.Duration
}

// Results of a request, the result label of medic_ingest_changes_requests_total.
const (
	ResultOK            = "ok"
	ResultUnauthorized  = webhook.ResultUnauthorized
	ResultMethod        = webhook.ResultMethod
	ResultContentType   = webhook.ResultContentType
	ResultTooLarge      = "too_large"
	ResultMalformed     = "malformed"
	ResultTooMany       = "too_many"
	ResultInvalid       = "invalid_change"
	ResultPublishFailed = "publish_failed"
)

// Receiver is the change endpoint.
type Receiver struct {
	opts     Options
	guard    webhook.Guard
	pub      Publisher
	log      *slog.Logger
	requests *prometheus.CounterVec
	events   *prometheus.CounterVec
	now      func() time.Time
}

// New creates a receiver publishing with pub; its metrics are registered
// with reg.
func New(opts Options, pub Publisher, reg prometheus.Registerer, log *slog.Logger) (*Receiver, error) {
	guard, err := webhook.NewGuard(opts.Token, false)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 30 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 10 * time.Second
	}
	r := &Receiver{opts: opts, guard: guard, pub: pub, log: log, now: time.Now,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_changes_requests_total", Help: "Requests to POST /v1/changes, by result (ok or why not).",
		}, []string{"result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_changes_events_total", Help: "change.recorded events published from POST /v1/changes, by kind.",
		}, []string{"kind"}),
	}
	for _, c := range []prometheus.Collector{r.requests, r.events} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("changes: metrics: %w", err)
		}
	}
	return r, nil
}

// failure is a request answered with an error status.
type failure struct {
	status   int
	result   string
	msg      string
	problems []Problem
}

// accepted is the answer to a request whose changes are all durable.
type accepted struct {
	Accepted  int      `json:"accepted"`
	ChangeIDs []string `json:"change_ids"`
}

// Handler serves POST /v1/changes.
func (r *Receiver) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ids, f := r.serve(w, req)
		if f != nil {
			r.requests.WithLabelValues(f.result).Inc()
			if f.status >= 500 {
				r.log.Warn("changes not accepted", "result", f.result, "err", f.msg)
				w.Header().Set("Retry-After", webhook.RetryAfter(r.opts.RetryAfter))
			}
			writeJSON(w, f.status, struct {
				Error    string    `json:"error"`
				Problems []Problem `json:"problems,omitempty"`
			}{f.msg, f.problems})
			return
		}
		r.requests.WithLabelValues(ResultOK).Inc()
		writeJSON(w, http.StatusAccepted, accepted{Accepted: len(ids), ChangeIDs: ids})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serve checks, parses and publishes one request, and returns the change
// ids published or why it failed.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) ([]string, *failure) {
	if rf := r.guard.Precheck(w, req); rf != nil {
		return nil, &failure{status: rf.Status, result: rf.Result, msg: rf.Msg}
	}
	items, f := r.decode(w, req)
	if f != nil {
		return nil, f
	}
	changes, f := r.parse(items)
	if f != nil {
		return nil, f
	}
	return r.publish(req.Context(), changes)
}

// decode reads the body: one JSON object, or an array of them.
func (r *Receiver) decode(w http.ResponseWriter, req *http.Request) ([]json.RawMessage, *failure) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.opts.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &failure{status: http.StatusRequestEntityTooLarge, result: ResultTooLarge, msg: fmt.Sprintf("body over %d bytes", r.opts.MaxBodyBytes)}
		}
		return nil, &failure{status: http.StatusBadRequest, result: ResultMalformed, msg: "reading the body: " + err.Error()}
	}
	malformed := func(why string) ([]json.RawMessage, *failure) {
		return nil, &failure{status: http.StatusBadRequest, result: ResultMalformed, msg: why}
	}
	trimmed := strings.TrimSpace(string(body))
	switch {
	case strings.HasPrefix(trimmed, "{"):
		var one json.RawMessage
		if err := json.Unmarshal(body, &one); err != nil {
			return malformed("malformed JSON: " + err.Error())
		}
		return []json.RawMessage{one}, nil
	case strings.HasPrefix(trimmed, "["):
		var many []json.RawMessage
		if err := json.Unmarshal(body, &many); err != nil {
			return malformed("malformed JSON: " + err.Error())
		}
		if len(many) == 0 {
			return malformed("the array holds no change")
		}
		if len(many) > MaxItems {
			return nil, &failure{status: http.StatusBadRequest, result: ResultTooMany, msg: fmt.Sprintf("%d changes in one request; at most %d", len(many), MaxItems)}
		}
		return many, nil
	}
	return malformed("the body is neither a JSON object (one change) nor an array of changes")
}

// parse turns every item into its event, or fails naming every bad one.
func (r *Receiver) parse(items []json.RawMessage) ([]events.ChangeRecorded, *failure) {
	now := r.now()
	out := make([]events.ChangeRecorded, 0, len(items))
	var problems []Problem
	for i, raw := range items {
		c, ps := Parse(i, raw, now)
		problems = append(problems, ps...)
		out = append(out, c)
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.String()
		}
		return nil, &failure{status: http.StatusBadRequest, result: ResultInvalid, problems: problems,
			msg: "nothing published: " + strings.Join(msgs, "; ")}
	}
	return out, nil
}

// publish publishes the changes one by one, each with its change id as the
// event id, and returns once all are acknowledged.
func (r *Receiver) publish(ctx context.Context, changes []events.ChangeRecorded) ([]string, *failure) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.PublishTimeout)
	defer cancel()
	ids := make([]string, 0, len(changes))
	for i, c := range changes {
		if _, err := r.pub.Emit(ctx, c.ChangeID, c); err != nil {
			if outcome.IsPermanent(err) {
				p := Problem{Index: i, Message: err.Error()}
				return nil, &failure{status: http.StatusBadRequest, result: ResultInvalid, msg: p.String(), problems: []Problem{p}}
			}
			return nil, &failure{status: http.StatusServiceUnavailable, result: ResultPublishFailed,
				msg: fmt.Sprintf("%d of %d changes published; could not publish to JetStream (%v); retry after %s", i, len(changes), err, r.opts.RetryAfter)}
		}
		r.events.WithLabelValues(c.Kind).Inc()
		ids = append(ids, c.ChangeID)
	}
	return ids, nil
}
