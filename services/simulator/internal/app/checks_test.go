package app

import (
	"testing"
	"time"
)

// v2 selects the bad version's series.
var v2 = []string{"ml.model.name", "fraud", "ml.model.version", "v2"}

// checkMetrics waits for 400 v2 predictions and their first labels in the
// exported metrics, checks their error rate, that it keeps rising, and that
// every tier reports v2.
func checkMetrics(t *testing.T, r *receiver) {
	var m metricView
	pollFor(t, "400 v2 predictions and their labels in the exported metrics", 15*time.Second, func() bool {
		m = r.metrics()
		return m.count("model-server", "predictions", v2...) >= 400 && m.count("model-server", "labels", v2...) > 0
	})
	predictions, failed := m.count("model-server", "predictions", v2...), m.count("model-server", "prediction.errors", v2...)
	if rate := failed / predictions; rate < 0.25 || rate > 0.45 {
		t.Errorf("v2 prediction.errors rate %.3f over %.0f predictions, want about 0.35", rate, predictions)
	}
	pollFor(t, "prediction.errors of v2 to keep rising", 10*time.Second, func() bool {
		return r.metrics().count("model-server", "prediction.errors", v2...) > failed
	})
	for _, want := range []struct{ service, name string }{
		{"gateway", "requests"}, {"gateway", "request.errors"}, {"gateway", "request.latency_ms"},
		{"feature-service", "feature.values"}, {"feature-service", "feature.missing"}, {"feature-service", "feature.latency_ms"},
		{"model-server", "prediction.latency_ms"}, {"model-server", "prediction.score"}, {"model-server", "labels.correct"},
	} {
		if _, _, found := m.total(want.service, want.name, v2...); !found {
			t.Errorf("no %s/%s series of v2", want.service, want.name)
		}
	}
	// Nothing is exported under a tier it does not belong to.
	if _, _, found := m.total("gateway", "predictions"); found {
		t.Error("the gateway exports predictions")
	}
}

// checkTrace finds a failed v2 prediction among the exported spans and
// checks its trace: gateway -> feature-service (-> feature-store) and
// model-server, and the
// warning logged with the same trace id.
func checkTrace(t *testing.T, r *receiver) {
	var traceID string
	pollFor(t, "a failed v2 prediction span", 15*time.Second, func() bool {
		for _, sp := range r.allSpans() {
			if sp.service == "model-server" && sp.failed && sp.attrs["ml.model.version"] == "v2" {
				traceID = sp.traceID
				return true
			}
		}
		return false
	})
	spans := map[string]span{}
	pollFor(t, "all four spans of trace "+traceID, 10*time.Second, func() bool {
		for _, sp := range r.allSpans() {
			if sp.traceID == traceID {
				spans[sp.service] = sp
			}
		}
		return len(spans) == 4
	})
	gw, fs, ms, st := spans["gateway"], spans["feature-service"], spans["model-server"], spans["feature-store"]
	if gw.name != "POST /predict" || gw.parentID != "" || !gw.failed ||
		fs.name != "GET /features" || fs.parentID != gw.spanID || st.name != "GET /rows" || st.parentID != fs.spanID ||
		ms.name != "predict" || ms.parentID != gw.spanID {
		t.Errorf("trace %s: %+v", traceID, spans)
	}
	const severityWarn = 13 // OTLP's SEVERITY_NUMBER_WARN
	pollFor(t, "the failure's warning in the exported logs", 10*time.Second, func() bool {
		for _, l := range r.allLogs() {
			if l.traceID == traceID && l.spanID == ms.spanID && l.severity == severityWarn && l.service == "model-server" &&
				l.attrs["ml.model.name"] == "fraud" && l.attrs["ml.model.version"] == "v2" && l.body == "prediction failed" {
				return true
			}
		}
		return false
	})
}
