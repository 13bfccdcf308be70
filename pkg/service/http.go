package service

import (
	"encoding/json"
	"github.com/medic-sre/medic/pkg/bus"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// mux serves the operational endpoints. /healthz says the process is alive;
// /readyz really checks NATS, ClickHouse and the consumers.
func (rt *Runtime) newMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		// A consumer that stopped by itself will not come back: failing
		// liveness gets the process restarted, which recreates it.
		if err := rt.consumersErr(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "broken", "service": rt.Name, "consumer": err.Error()})
			return
		}
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
	if err := rt.consumersErr(); err != nil {
		failing["consumer"] = err.Error()
	}
	rt.mu.Lock()
	started, stopping := rt.started, rt.stopping
	rt.mu.Unlock()
	switch {
	case stopping:
		failing["service"] = "shutting down"
	case !started:
		failing["service"] = "starting"
	}
	return failing
}

// consumersErr is the first consumer's error, if any. Err may ask the
// server, so it runs outside the runtime's lock.
func (rt *Runtime) consumersErr() error {
	rt.mu.Lock()
	consumers := append([]*bus.Consumer(nil), rt.consumers...)
	rt.mu.Unlock()
	for _, c := range consumers {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
