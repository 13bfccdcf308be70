package service

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// mux serves the operational endpoints. /healthz says the process is alive;
// /readyz says whether each dependency the service declared (NATS, and
// ClickHouse for a service that needs it) and each consumer works: 200 when
// all do, 503 otherwise, with a JSON body whose "checks" holds one entry
// per check ("nats": "ok", "clickhouse": "error: ...") and whose "failing"
// holds the failing ones with their reasons. Both answer
// at once from state kept in memory (see health.go): a probe that waited for
// an unreachable server would time out, and a failed liveness probe during a
// NATS outage would restart every pod.
func (rt *Runtime) newMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		// A consumer that stopped by itself, or that the server said it
		// no longer has, will not come back: failing liveness gets the
		// process restarted, which recreates it. An unreachable server
		// fails nothing here.
		if err := rt.consumersErr(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "broken", "service": rt.Name, "consumer": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": rt.Name})
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		checks, failing := rt.readiness()
		if len(failing) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "service": rt.Name, "checks": checks, "failing": failing})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "service": rt.Name, "checks": checks})
	})
	// The runtime's own registry, instrumented as promhttp.Handler
	// instruments the default one.
	m.Handle("GET /metrics", promhttp.InstrumentMetricHandler(rt.Metrics, promhttp.HandlerFor(rt.Metrics, promhttp.HandlerOpts{})))
	return m
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
