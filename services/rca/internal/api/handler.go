// Package api serves on-demand root-cause analyses over HTTP: POST
// /v1/analyses ranks the candidates that explain a symptom in any window,
// through the same engine as incidents. Bad input gets a 4xx whose message
// says what to fix, never a 500.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/engine"
)

// Path is where the handler is mounted.
const Path = "POST /v1/analyses"

// RetryAfter is what a 503 asks the client to wait, in seconds.
const RetryAfter = "5"

// Engine runs analyses; *engine.Engine is one.
type Engine interface {
	Analyze(ctx context.Context, req engine.Request) (engine.Result, error)
	Services(ctx context.Context, rg analysis.Range) ([]string, error)
}

// Options configure the handler.
type Options struct {
	// MaxWindow is the longest window (and baseline) a request may ask for.
	MaxWindow time.Duration
	// DefaultBaseline is the baseline of a request that names none.
	DefaultBaseline time.Duration
	// Token, when set, must come as "Authorization: Bearer <token>".
	Token string
	// Ready says whether ClickHouse can be queried (store.Ready); nil
	// means always.
	Ready func() error
}

// Handler serves POST /v1/analyses.
type Handler struct {
	eng  Engine
	opts Options
	log  *slog.Logger
	now  func() time.Time
}

// New returns the handler.
func New(eng Engine, opts Options, log *slog.Logger) *Handler {
	return &Handler{eng: eng, opts: opts, log: log, now: time.Now}
}

// httpError is an answer other than 200, with the message a person reads.
type httpError struct {
	status  int
	message string
}

func (e *httpError) Error() string { return e.message }

func fail(status int, format string, args ...any) *httpError {
	return &httpError{status: status, message: fmt.Sprintf(format, args...)}
}

// ServeHTTP answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := h.serve(r)
	var he *httpError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, out)
	case errors.As(err, &he):
		if he.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", RetryAfter)
		}
		if he.status >= 500 {
			h.log.Warn("analysis failed", "status", he.status, "err", err)
		}
		writeJSON(w, he.status, map[string]string{"error": he.message})
	default:
		h.log.Error("analysis failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	}
}

func (h *Handler) serve(r *http.Request) (Analysis, error) {
	if !h.authorized(r) {
		return Analysis{}, fail(http.StatusUnauthorized, "missing or wrong bearer token (--api-token, env RCA_API_TOKEN, on the rca service)")
	}
	body, err := decode(r.Body)
	if err != nil {
		return Analysis{}, fail(http.StatusBadRequest, "%v", err)
	}
	req, err := body.toEngine(limits{maxWindow: h.opts.MaxWindow, defaultBaseline: h.opts.DefaultBaseline}, h.now())
	if err != nil {
		return Analysis{}, fail(http.StatusBadRequest, "%v", err)
	}
	if h.opts.Ready != nil {
		if err := h.opts.Ready(); err != nil {
			return Analysis{}, fail(http.StatusServiceUnavailable, "ClickHouse is not available, retry later: %v", err)
		}
	}
	res, err := h.eng.Analyze(r.Context(), req)
	if err != nil {
		return Analysis{}, queryFailed(err)
	}
	if res.WindowSeconds == 0 {
		return Analysis{}, h.noData(r.Context(), req)
	}
	return analysisOf(req, res), nil
}

// authorized reports whether r carries the token, when one is set.
func (h *Handler) authorized(r *http.Request) bool {
	if h.opts.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(h.opts.Token)) == 1
}

// noData says why the window held no symptom data: no data at all, a
// service with no data there (404, with the services that have some), or
// a symptom the service does not report.
func (h *Handler) noData(ctx context.Context, req engine.Request) error {
	sym, w := req.Symptom, req.Window
	span := fmt.Sprintf("[%s, %s)", stamp(w.From), stamp(w.To))
	services, err := h.eng.Services(ctx, w)
	if err != nil {
		return queryFailed(err)
	}
	switch {
	case len(services) == 0:
		return fail(http.StatusUnprocessableEntity, "no data in %s: tables spans and metrics hold no rows of any service in that window", span)
	case !slices.Contains(services, sym.Service):
		return fail(http.StatusNotFound, "unknown service %q: no spans or metrics of it in %s; services with data there: %s",
			sym.Service, span, fewOf(services))
	case sym.Logs:
		return fail(http.StatusUnprocessableEntity, "no data for symptom logs: tables logs and spans hold no records or spans of service %q in %s",
			sym.Service, span)
	case sym.Span != "":
		what := "entry spans (server, consumer or root)"
		if sym.Operation != "" {
			what += fmt.Sprintf(" named %q", sym.Operation)
		}
		if sym.Model != "" {
			what += fmt.Sprintf(" of model %q", sym.Model)
		}
		return fail(http.StatusUnprocessableEntity, "no data for symptom %s: table spans holds no %s of service %q in %s",
			sym.Metric, what, sym.Service, span)
	default:
		return fail(http.StatusUnprocessableEntity, "no data for symptom: table metrics holds no points of %s for service %q in %s",
			strings.Join(sym.Expr.Names(), " and "), sym.Service, span)
	}
}

// fewOf lists the first services and says how many more there are.
func fewOf(services []string) string {
	const few = 10
	if len(services) <= few {
		return strings.Join(services, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(services[:few], ", "), len(services)-few)
}

// queryFailed maps a failed query: an error the server answered with is a
// fault of the analysis (500); any other (refused, reset, timed out) means
// ClickHouse could not be reached, which a retry may fix (503).
func queryFailed(err error) error {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return err
	}
	return fail(http.StatusServiceUnavailable, "ClickHouse did not answer, retry later: %v", err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// The status is sent; a client that went away has nothing to be told.
	_ = enc.Encode(v)
}
