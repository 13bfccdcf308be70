package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// labelDelay is how late the scenarios' labels come (the rule waits 30s).
const labelDelay = 25 * time.Second

// prediction is one prediction of a scenario, at base + at.
type prediction struct {
	at      time.Duration
	version string
	right   bool
}

// predictions are 5 a second in [from, to), of version, right as often as
// accuracy says.
func predictions(from, to time.Duration, version string, accuracy float64) []prediction {
	var out []prediction
	for at := from; at < to; at += 200 * time.Millisecond {
		i := int(at / (200 * time.Millisecond))
		out = append(out, prediction{at: at, version: version, right: float64(i%10) < accuracy*10})
	}
	return out
}

// predictionPoint is a prediction as the ingest service maps an inference
// record with a prediction_id: its score is 0.9 (positive class).
func predictionPoint(base time.Time, p prediction) events.Point {
	return events.Point{Name: "inference.prediction", Value: 0.9, TimeUnixNano: base.Add(p.at).UnixNano(),
		Service: "model-server", Model: "fraud", ModelVersion: p.version,
		Attributes: map[string]string{"prediction_id": fmt.Sprintf("%s-%d", p.version, p.at.Milliseconds())}}
}

// labelPoint is the prediction's label as the ingest service maps a label
// record: stamped when it arrives, labelDelay after the prediction, from
// a labelling service that knows nothing of the model or its version.
func labelPoint(base time.Time, p prediction) events.Point {
	label := 0.0
	if p.right {
		label = 1
	}
	return events.Point{Name: "inference.label", Value: label, TimeUnixNano: base.Add(p.at + labelDelay).UnixNano(),
		Service: "labeler", Attributes: map[string]string{"prediction_id": fmt.Sprintf("%s-%d", p.version, p.at.Milliseconds())}}
}

// publishArrivals publishes the scenario as it would arrive, one event per
// second of arrival time up to end: the predictions made in that second and
// the labels that came in it.
func publishArrivals(t *testing.T, h *harness, base time.Time, ps []prediction, end time.Duration) {
	t.Helper()
	for sec := time.Duration(0); sec < end; sec += time.Second {
		var pts []events.Point
		for _, p := range ps {
			if p.at >= sec && p.at < sec+time.Second {
				pts = append(pts, predictionPoint(base, p))
			}
			if at := p.at + labelDelay; at >= sec && at < sec+time.Second {
				pts = append(pts, labelPoint(base, p))
			}
		}
		// The labeller's clock, so that event time moves on once the
		// predictions stop.
		pts = append(pts, events.Point{Name: "labeler.up", Value: 1, TimeUnixNano: base.Add(sec).UnixNano(), Service: "labeler"})
		h.publish(t, fmt.Sprintf("arrivals-%d", sec/time.Second), pts)
	}
}

// Through the bus: version v2 serves badly for a minute, its accuracy
// alert fires (dated at the prediction time its bad window began, naming
// v2, with its evidence); the model is rolled back to v1, and v2's late
// labels keep coming for another 25s. They land in v2's past windows, so
// nothing new fires: neither v2 again nor v1, whose series stays quiet; v2's
// alert resolves once its windows hold no predictions (no_data: resolve).
func TestAccuracyAfterRollbackDoesNotRefire(t *testing.T) {
	h := newHarness(t, "testdata/quality.yaml")
	opts := h.opts
	opts.EvalInterval, opts.MaxLateness = time.Second, 10*time.Minute
	h.runWith(t, opts)

	base := time.Now().Add(-6 * time.Minute).Truncate(10 * time.Second)
	ps := append(predictions(0, 60*time.Second, "v1", 0.9), predictions(60*time.Second, 120*time.Second, "v2", 0.5)...)
	ps = append(ps, predictions(120*time.Second, 240*time.Second, "v1", 0.9)...)
	publishArrivals(t, h, base, ps, 320*time.Second)

	servicetest.Poll(t, "anomaly.resolved", func() bool { return len(h.ofType(events.TypeAnomalyResolved)) > 0 })
	servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
	checkOneAnomaly(t, h)
	d := servicetest.As[events.AnomalyDetected](t, h.ofType(events.TypeAnomalyDetected)[0])
	if d.ModelVersion != "v2" || d.Metric != "quality.accuracy" || d.Detector != "quality" || d.Value != 0.5 ||
		d.StartedUnixNano != base.Add(60*time.Second).UnixNano() || d.Expected == nil || *d.Expected != 0.8 || *d.Statistic != 50 {
		t.Fatalf("detected %+v (statistic %v, started %v after base): want v2's accuracy 0.5 over 50 labels against 0.8, started at its first bad prediction window", d, *d.Statistic, time.Duration(d.StartedUnixNano-base.UnixNano()))
	}
	r := servicetest.As[events.AnomalyResolved](t, h.ofType(events.TypeAnomalyResolved)[0])
	if r.ModelVersion != "v2" || r.Reason != events.ResolvedNoData {
		t.Fatalf("resolved %+v: want v2, for want of predictions", r)
	}
	if got := h.metric(t, "medic_detector_labels_joined_total"); got != float64(len(ps)) {
		t.Fatalf("%v labels joined, want %d", got, len(ps))
	}
}

// A detector restarted between predictions and their labels still joins
// them: the predictions wait in JetStream KV, not in the detector's
// memory. The bad window's predictions go in before the restart, their
// labels after it, and v2's alert fires from the new detector.
func TestLabelsJoinAcrossARestart(t *testing.T) {
	h := newHarness(t, "testdata/quality.yaml")
	opts := h.opts
	opts.EvalInterval, opts.MaxLateness = time.Second, 10*time.Minute
	first := h.runWith(t, opts)

	base := time.Now().Add(-3 * time.Minute).Truncate(10 * time.Second)
	ps := predictions(0, 10*time.Second, "v2", 0.5)
	var before, after []events.Point
	for _, p := range ps {
		before = append(before, predictionPoint(base, p))
		after = append(after, labelPoint(base, p))
	}
	h.publish(t, "predictions", before)
	servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
	first.Stop()

	h.runWith(t, opts)
	h.publish(t, "labels", after)
	// The labeller's clock moves event time past the window and its delay.
	h.publish(t, "later", []events.Point{{Name: "labeler.up", Value: 1, TimeUnixNano: base.Add(60 * time.Second).UnixNano(), Service: "labeler"}})
	servicetest.Poll(t, "anomaly.detected", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) > 0 })
	d := servicetest.As[events.AnomalyDetected](t, h.ofType(events.TypeAnomalyDetected)[0])
	if d.ModelVersion != "v2" || d.Value != 0.5 || d.StartedUnixNano != base.UnixNano() {
		t.Fatalf("detected %+v: want v2 at 0.5 from the window of its predictions", d)
	}
	if got := h.metric(t, "medic_detector_labels_joined_total"); got != float64(len(ps)) {
		t.Fatalf("the restarted detector joined %v labels, want %d", got, len(ps))
	}
}

// Labels joined before a restart still count: the restarted detector
// replays the telemetry it had evaluated (its warm-up), and each label it
// had joined gives its outcomes again, from the join's record of which
// label joined which prediction. 30 of a window's 50 labels come before the
// restart, 20 after; the alert is judged on all 50, not on the 20.
func TestJoinedLabelsCountAcrossARestart(t *testing.T) {
	h := newHarness(t, "testdata/quality.yaml")
	opts := h.opts
	opts.EvalInterval, opts.MaxLateness, opts.MaxWarmUp = time.Second, 10*time.Minute, time.Hour
	first := h.runWith(t, opts)

	base := time.Now().Add(-3 * time.Minute).Truncate(10 * time.Second)
	ps := predictions(0, 10*time.Second, "v2", 0.5)
	var preds, early, late []events.Point
	for i, p := range ps {
		preds = append(preds, predictionPoint(base, p))
		if i < 30 {
			early = append(early, labelPoint(base, p))
		} else {
			late = append(late, labelPoint(base, p))
		}
	}
	h.publish(t, "predictions", preds)
	h.publish(t, "early-labels", early)
	servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
	first.Stop()
	if n := len(h.ofType(events.TypeAnomalyDetected)); n != 0 {
		t.Fatalf("%d anomalies before the window's label delay passed", n)
	}

	h.runWith(t, opts)
	h.publish(t, "late-labels", late)
	h.publish(t, "later", []events.Point{{Name: "labeler.up", Value: 1, TimeUnixNano: base.Add(60 * time.Second).UnixNano(), Service: "labeler"}})
	servicetest.Poll(t, "anomaly.detected", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) > 0 })
	servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
	detected := h.ofType(events.TypeAnomalyDetected)
	d := servicetest.As[events.AnomalyDetected](t, detected[0])
	labels := -1.0
	if d.Statistic != nil {
		labels = *d.Statistic
	}
	if len(detected) != 1 || d.ModelVersion != "v2" || labels != 50 {
		t.Fatalf("%d anomalies, the first for %s on %v labels: want one, for v2, on all 50", len(detected), d.ModelVersion, labels)
	}
}

// Until labels arrive, the score distribution is the proxy: a new version
// whose scores shift fires the drift rule on inference.prediction within a
// window, while the accuracy rule, with no labels yet, says nothing. The
// prediction ids on the points make no series of their own.
func TestScoreShiftIsTheProxyUntilLabelsArrive(t *testing.T) {
	h := newHarness(t, "testdata/quality.yaml")
	opts := h.opts
	opts.EvalInterval, opts.MaxLateness = time.Second, 10*time.Minute
	h.runWith(t, opts)

	base := time.Now().Add(-2 * time.Minute).Truncate(10 * time.Second)
	var ps []events.Point
	for i := range 250 { // 50s of 5 predictions a second: v1 for 30s, v2 after
		at := time.Duration(i) * 200 * time.Millisecond
		version, score := "v1", 0.1+float64(i%40)/100
		if at >= 30*time.Second {
			version, score = "v2", 0.5+float64(i%40)/100
		}
		ps = append(ps, predictionPoint(base, prediction{at: at, version: version}))
		ps[len(ps)-1].Value = score
	}
	h.publish(t, "predictions", ps)
	h.publish(t, "later", []events.Point{{Name: "labeler.up", Value: 1, TimeUnixNano: base.Add(45 * time.Second).UnixNano(), Service: "labeler"}})
	servicetest.Poll(t, "anomaly.detected", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) > 0 })
	servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)

	detected := h.ofType(events.TypeAnomalyDetected)
	if len(detected) != 1 {
		t.Fatalf("%d anomalies, want the score shift alone", len(detected))
	}
	d := servicetest.As[events.AnomalyDetected](t, detected[0])
	if d.Rule != "prediction_score_shift" || d.Detector != "drift_ks" || d.ModelVersion != "v2" ||
		d.StartedUnixNano != base.Add(30*time.Second).UnixNano() || d.PValue == nil || *d.PValue > 1e-6 {
		t.Fatalf("detected %+v: want the KS drift of v2's scores from its first window", d)
	}
	if got := h.metric(t, "medic_detector_series"); got > 2 {
		t.Fatalf("%v series for 250 prediction ids, want one per rule and group", got)
	}
}
