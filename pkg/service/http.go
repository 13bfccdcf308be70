package service

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// mux serves the operational endpoints. /healthz says the process is alive;
// /readyz really checks NATS, ClickHouse and the consumers.
func (rt *Runtime) newMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": rt.Name})
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		failing := rt.readiness()
		if len(failing) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "service": rt.Name, "failing": failing})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "service": rt.Name})
	})
	m.Handle("GET /metrics", promhttp.Handler())
	return m
}

// readiness returns the failing checks by name, with their reasons.
func (rt *Runtime) readiness() map[string]string {
	failing := map[string]string{}
	if err := rt.Bus.Ready(); err != nil {
		failing["nats"] = err.Error()
	}
	if err := rt.Store.Ready(); err != nil {
		failing["clickhouse"] = err.Error()
	}
	rt.mu.Lock()
	started, stopping := rt.started, rt.stopping
	for _, c := range rt.consumers {
		if err := c.Err(); err != nil {
			failing["consumer"] = err.Error()
		}
	}
	rt.mu.Unlock()
	switch {
	case stopping:
		failing["service"] = "shutting down"
	case !started:
		failing["service"] = "starting"
	}
	return failing
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
