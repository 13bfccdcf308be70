// Package alerts receives the alert webhooks teams already have, from
// Prometheus Alertmanager (payload version 4) and Grafana alerting, and
// turns each firing alert into dev.medic.anomaly.detected.v1 and each
// resolved one into dev.medic.anomaly.resolved.v1 (see Map).
//
// A request is answered 200 only once every event it carried is
// acknowledged by JetStream; when publishing fails it is answered 503 with
// Retry-After, and the sender's retry publishes the same event ids, which
// the stream folds. A bearer token guards the endpoints.
package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/services/ingest/internal/webhook"
	"github.com/prometheus/client_golang/prometheus"
)

// Publisher publishes one event and returns once JetStream has acknowledged
// it; (*bus.Bus).Emit is one. An outcome.Permanent error means the event
// can never be published.
type Publisher interface {
	Emit(ctx context.Context, id string, data events.Data) (events.Meta, error)
}

// Options configure the receiver.
type Options struct {
	// Token is the shared secret a sender presents as
	// "Authorization: Bearer <token>" (Alertmanager's http_config
	// authorization, Grafana's webhook authorization header), or, where it
	// cannot set a header, as ?token=<token>, which ends up in access logs
	// and is the weaker choice. It is required.
	Token string
	// RetryAfter is what a 503 asks the sender to wait (default 30s).
	RetryAfter time.Duration
	// MaxBodyBytes bounds a request body (default 1 MiB).
	MaxBodyBytes int64
}

// Senders, the sender label of the metrics.
const (
	SenderAlertmanager = "alertmanager"
	SenderGrafana      = "grafana"
)

// Results of a request, the result label of medic_ingest_alerts_requests_total.
const (
	ResultOK                 = "ok"
	ResultUnauthorized       = webhook.ResultUnauthorized
	ResultMethod             = webhook.ResultMethod
	ResultContentType        = webhook.ResultContentType
	ResultTooLarge           = "too_large"
	ResultMalformed          = "malformed"
	ResultUnsupportedVersion = "unsupported_version"
	ResultInvalidAlert       = "invalid_alert"
	ResultPublishFailed      = "publish_failed"
)

// Receiver holds the webhook handlers.
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
	guard, err := webhook.NewGuard(opts.Token, true)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 30 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	r := &Receiver{opts: opts, guard: guard, pub: pub, log: log, now: time.Now,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_alerts_requests_total", Help: "Alert webhook requests, by sender and result (ok or why not).",
		}, []string{"sender", "result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_alerts_events_total", Help: "Anomaly events published from alert webhooks, by sender and event type.",
		}, []string{"sender", "type"}),
	}
	for _, c := range []prometheus.Collector{r.requests, r.events} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("alerts: metrics: %w", err)
		}
	}
	return r, nil
}

// Register serves the webhooks on mux at /v1/alerts/alertmanager and
// /v1/alerts/grafana.
func (r *Receiver) Register(mux *http.ServeMux) {
	mux.Handle("/v1/alerts/alertmanager", r.Alertmanager())
	mux.Handle("/v1/alerts/grafana", r.Grafana())
}

// Alertmanager handles Alertmanager's webhook (payload version 4).
func (r *Receiver) Alertmanager() http.Handler { return r.handler(SenderAlertmanager) }

// Grafana handles Grafana alerting's webhook.
func (r *Receiver) Grafana() http.Handler { return r.handler(SenderGrafana) }

// failure is a request answered with an error status.
type failure struct {
	status int
	result string
	msg    string
}

func (r *Receiver) handler(sender string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n, f := r.serve(sender, w, req)
		if f != nil {
			r.requests.WithLabelValues(sender, f.result).Inc()
			if f.status >= 500 {
				r.log.Warn("alert webhook not accepted", "sender", sender, "result", f.result, "err", f.msg)
				w.Header().Set("Retry-After", webhook.RetryAfter(r.opts.RetryAfter))
			}
			http.Error(w, f.msg, f.status)
			return
		}
		r.requests.WithLabelValues(sender, ResultOK).Inc()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"published":%d}`+"\n", n)
	})
}

// serve checks, decodes and publishes one request, and returns the number of
// events published or why it failed.
func (r *Receiver) serve(sender string, w http.ResponseWriter, req *http.Request) (int, *failure) {
	if rf := r.guard.Precheck(w, req); rf != nil {
		return 0, &failure{rf.Status, rf.Result, rf.Msg}
	}
	p, f := r.decode(sender, w, req)
	if f != nil {
		return 0, f
	}
	return r.publish(req.Context(), sender, p)
}

func (r *Receiver) decode(sender string, w http.ResponseWriter, req *http.Request) (Payload, *failure) {
	var p Payload
	body := http.MaxBytesReader(w, req.Body, r.opts.MaxBodyBytes)
	if err := json.NewDecoder(body).Decode(&p); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return p, &failure{http.StatusRequestEntityTooLarge, ResultTooLarge, fmt.Sprintf("body over %d bytes", r.opts.MaxBodyBytes)}
		}
		return p, &failure{http.StatusBadRequest, ResultMalformed, "malformed webhook body: " + err.Error()}
	}
	if sender == SenderAlertmanager && p.Version != "4" {
		return p, &failure{http.StatusBadRequest, ResultUnsupportedVersion, fmt.Sprintf("payload version %q: only Alertmanager's version 4 is understood", p.Version)}
	}
	return p, nil
}

// publish publishes every alert that maps; the valid ones are published even
// when others are not, and the request then fails with 400 naming those.
func (r *Receiver) publish(ctx context.Context, sender string, p Payload) (int, *failure) {
	now := r.now()
	var bad []string
	published := 0
	for i, a := range p.Alerts {
		em, err := Map(a, now)
		if err == nil {
			_, err = r.pub.Emit(ctx, em.ID, em.Data)
			if err != nil && !outcome.IsPermanent(err) {
				return published, &failure{http.StatusServiceUnavailable, ResultPublishFailed, r.retryLater(err)}
			}
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("alerts[%d]: %v", i, err))
			continue
		}
		published++
		r.events.WithLabelValues(sender, em.Data.EventType()).Inc()
	}
	if len(bad) > 0 {
		return published, &failure{http.StatusBadRequest, ResultInvalidAlert,
			fmt.Sprintf("%d of %d alerts published; not: %s", published, len(p.Alerts), strings.Join(bad, "; "))}
	}
	return published, nil
}

func (r *Receiver) retryLater(err error) string {
	return fmt.Sprintf("could not publish to JetStream (%v); retry after %s", err, r.opts.RetryAfter)
}
