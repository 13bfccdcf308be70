package service

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// mux serves the operational endpoints. /healthz says the process is alive;
// /readyz really checks NATS, ClickHouse and the service's own checks.
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
	started := rt.started
	checks := make([]string, 0, len(rt.checks))
	for name := range rt.checks {
		checks = append(checks, name)
	}
	sort.Strings(checks)
	fns := make(map[string]func() error, len(rt.checks))
	for name, fn := range rt.checks {
		fns[name] = fn
	}
	rt.mu.Unlock()
	if !started {
		failing["service"] = "starting"
	}
	for _, name := range checks {
		if err := fns[name](); err != nil {
			failing[name] = err.Error()
		}
	}
	return failing
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
