package control

import (
	"fmt"
	"net/http"
	"time"
)

func (h *handlers) inject(w http.ResponseWriter, r *http.Request) {
	req, err := decode(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d, err := parseDuration(req.Duration)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, err := h.c.Inject(r.Context(), req.Kind, d, actor(r, req, "fault-injection"))
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// parseDuration reads a fault's optional duration, such as "1s"; empty
// means until cleared.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("duration %q: give a duration above 0 such as 1s or 500ms, or none for a fault that lasts until cleared", s)
	}
	return d, nil
}

func (h *handlers) clear(w http.ResponseWriter, r *http.Request) {
	out, err := h.c.Clear(r.Context(), r.PathValue("kind"), actor(r, request{}, "fault-injection"))
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handlers) rollback(w http.ResponseWriter, r *http.Request) {
	req, err := decode(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.answer(w)(h.c.Rollback(r.Context(), r.PathValue("model"), actor(r, req, "api")))
}

func (h *handlers) deploy(w http.ResponseWriter, r *http.Request) {
	req, err := decode(r)
	if err == nil && req.Version == "" {
		err = fmt.Errorf(`body needs {"version": "..."}`)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.answer(w)(h.c.Deploy(r.Context(), r.PathValue("model"), req.Version, actor(r, req, "api")))
}

func (h *handlers) failover(w http.ResponseWriter, r *http.Request) {
	req, err := decode(r)
	if err == nil && req.Enabled == nil {
		err = fmt.Errorf(`body needs {"enabled": true} or {"enabled": false}`)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.answer(w)(h.c.Failover(r.Context(), r.PathValue("model"), *req.Enabled, actor(r, req, "api")))
}

// answer writes a model action's outcome or its failure.
func (h *handlers) answer(w http.ResponseWriter) func(Outcome, error) {
	return func(out Outcome, err error) {
		if err != nil {
			writeFailure(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}
