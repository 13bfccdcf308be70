package app

import (
	"testing"
	"time"
)

// Stopping flushes: the telemetry of the last requests reaches the receiver
// before Run returns, though no periodic export or batch timer fired. The
// three signals then agree request for request, in either protocol.
func TestShutdownFlushes(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			s := startSim(t, protocol, func(o *Options) {
				o.MetricInterval = time.Hour
				t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "3600000")
				t.Setenv("OTEL_BLRP_SCHEDULE_DELAY", "3600000")
			})
			if code := call(t, "POST", s.control+"/v1/faults", "", `{"kind":"bad_model_version"}`, nil); code != 200 {
				t.Fatalf("inject answered %d", code)
			}
			var st statsAnswer
			pollFor(t, "100 requests", 10*time.Second, func() bool {
				call(t, "GET", s.control+"/v1/stats?window=1m", "", "", &st)
				return st.Requests >= 100 && st.ErrorRate > 0
			})
			if n := s.otlp.metrics().exports; n != 0 {
				t.Fatalf("%d metric exports before the stop, want none with an interval of an hour", n)
			}
			if err := s.stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			m := s.otlp.metrics()
			if m.exports == 0 {
				t.Fatal("no metrics exported at the stop")
			}
			requests, failed := m.count("gateway", "requests"), m.count("model-server", "prediction.errors")
			var gatewaySpans, failedPredictions, warnings int
			for _, sp := range s.otlp.allSpans() {
				gatewaySpans += bit(sp.service == "gateway")
				failedPredictions += bit(sp.service == "model-server" && sp.failed)
			}
			for _, l := range s.otlp.allLogs() {
				warnings += bit(l.service == "model-server" && l.body == "prediction failed")
			}
			t.Logf("%v requests, %v failed", requests, failed)
			if requests < float64(st.Requests) || float64(gatewaySpans) != requests {
				t.Errorf("requests counter %v, gateway spans %d; want equal, and at least the %d requests seen before the stop",
					requests, gatewaySpans, st.Requests)
			}
			if failed == 0 || float64(failedPredictions) != failed || float64(warnings) != failed {
				t.Errorf("prediction.errors %v, failed model-server spans %d, warnings %d: want equal and above 0",
					failed, failedPredictions, warnings)
			}
		})
	}
}
