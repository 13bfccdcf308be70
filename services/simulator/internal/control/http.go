package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/stats"
)

// ActorHeader names who asks for an action; a JSON "actor" field does too.
const ActorHeader = "X-Medic-Actor"

// DefaultWindow is the stats window when the request names none.
const DefaultWindow = 10 * time.Second

const maxBody = 1 << 20

// Handler serves the control API; its routes all start with /v1/. A
// mutating request with an Idempotency-Key runs once per key.
func Handler(c *Controller) http.Handler {
	h := &handlers{c: c}
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/state", h.state)
	m.HandleFunc("GET /v1/stats", h.stats)
	m.HandleFunc("POST /v1/faults", h.inject)
	m.HandleFunc("DELETE /v1/faults/{kind}", h.clear)
	m.HandleFunc("POST /v1/models/{model}/rollback", h.rollback)
	m.HandleFunc("PUT /v1/models/{model}/active", h.deploy)
	m.HandleFunc("POST /v1/models/{model}/failover", h.failover)
	return Idempotent(m, DefaultIdempotencyKeys)
}

type handlers struct {
	c *Controller
}

// statsAnswer is a stats summary with the versions it describes.
type statsAnswer struct {
	stats.Summary
	ActiveVersion  string `json:"active_version"`
	ServingVersion string `json:"serving_version"`
}

func (h *handlers) summary(window time.Duration) statsAnswer {
	st := h.c.Models[model.Name].State()
	return statsAnswer{Summary: h.c.StatsSummary(window), ActiveVersion: st.ActiveVersion, ServingVersion: st.Serving()}
}

func (h *handlers) state(w http.ResponseWriter, _ *http.Request) {
	models := map[string]model.State{}
	for name, r := range h.c.Models {
		models[name] = r.State()
	}
	active := h.c.ActiveFaults()
	kinds := make([]string, 0, len(active))
	for _, f := range active {
		kinds = append(kinds, f.Kind)
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": models, "faults": kinds, "active_faults": active,
		"stats": h.summary(DefaultWindow)})
}

func (h *handlers) stats(w http.ResponseWriter, r *http.Request) {
	window, err := parseWindow(r.URL.Query().Get("window"), h.c.Stats.Keep())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h.summary(window))
}

// parseWindow reads "5s" or a number of seconds, up to keep.
func parseWindow(s string, keep time.Duration) (time.Duration, error) {
	if s == "" {
		return DefaultWindow, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, fmt.Errorf("window %q: give a duration such as 5s or a number of seconds", s)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 || d > keep {
		return 0, fmt.Errorf("window %q: must be above 0 and at most %s", s, keep)
	}
	return d, nil
}

// request is the union of the control requests' JSON bodies.
type request struct {
	Kind string `json:"kind"`
	// Duration, such as "1s", ends an injected fault by itself.
	Duration string `json:"duration"`
	Version  string `json:"version"`
	Enabled  *bool  `json:"enabled"`
	Actor    string `json:"actor"`
}

// decode reads an optional JSON body; an empty body is an empty request.
func decode(r *http.Request) (request, error) {
	var req request
	err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req)
	if err != nil && !errors.Is(err, io.EOF) {
		return req, fmt.Errorf("request body is not the expected JSON object: %w", err)
	}
	return req, nil
}

// actor is who asked: the header, else the body's field, else def.
func actor(r *http.Request, req request, def string) string {
	if a := r.Header.Get(ActorHeader); a != "" {
		return a
	}
	if req.Actor != "" {
		return req.Actor
	}
	return def
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// writeFailure maps the domain errors to HTTP statuses.
func writeFailure(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnknownModel):
		code = http.StatusNotFound
	case errors.Is(err, model.ErrUnknownVersion), errors.Is(err, fault.ErrUnknownKind),
		errors.Is(err, ErrBadDuration):
		code = http.StatusBadRequest
	case errors.Is(err, model.ErrNoPrevious), errors.Is(err, ErrFailoverOn):
		code = http.StatusConflict
	}
	writeError(w, code, err.Error())
}
