package engine

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// accuracyRule judges one-minute windows of prediction time, two minutes
// after each ends, per model version.
func accuracyRule() rules.Rule {
	return rules.Rule{Name: "model_accuracy", Detector: rules.DetectorQuality, Metric: rules.MeasureAccuracy,
		GroupBy: []string{"service", "model", "model_version"}, Window: time.Minute, LabelDelay: 2 * time.Minute,
		Threshold: 0.8, MinPoints: 20, Severity: "warning"}
}

// m0 is a minute-aligned event time: quality windows tumble on the minute.
const m0 = t0 + 40*int64(time.Second)

// served is what a model server does in one second of a scenario: the
// version it serves and the share of its predictions that are right.
type served struct {
	version  string
	accuracy float64
}

// simulateLabels runs the scenario of serve (one entry per second from
// t0): each second, the server exports a live heartbeat, makes 10
// predictions, and the labels of the predictions made delay seconds
// earlier arrive as the label join emits them: quality.correct stamped at
// the prediction's time with its version. The engine evaluates each second
// at the wall clock of that second; it returns what the engine emitted.
func simulateLabels(t *testing.T, e *Engine, serve []served, delay, extra int) []Emission {
	t.Helper()
	var out []Emission
	for sec := range len(serve) + delay + extra {
		now := time.Unix(0, m0+int64(sec)*int64(time.Second))
		batch := []events.Point{{Name: "request.latency_ms", Value: 5, TimeUnixNano: now.UnixNano(), Service: "model-server"}}
		if p := sec - delay; p >= 0 && p < len(serve) {
			s := serve[p]
			for i := range 10 {
				correct := 0.0
				if float64(i) < s.accuracy*10 {
					correct = 1
				}
				batch = append(batch, events.Point{Name: rules.PointCorrect, Value: correct,
					TimeUnixNano: m0 + int64(p)*int64(time.Second) + int64(i), Service: "model-server", Model: "fraud", ModelVersion: s.version})
			}
		}
		if rej := e.Observe(batch, 0, math.MaxInt64); rej.Total() != 0 {
			t.Fatalf("second %d: %+v rejected", sec, rej)
		}
		out = append(out, e.Evaluate(now)...)
	}
	return out
}

// rollout is v1 (accurate) for 10 minutes, v2 (half right) for 10, then a
// rollback to v1 for 20.
func rollout() []served {
	var s []served
	for sec := range 2400 {
		switch {
		case sec >= 600 && sec < 1200:
			s = append(s, served{"v2", 0.5})
		default:
			s = append(s, served{"v1", 0.9})
		}
	}
	return s
}

// A bad version's accuracy alert fires, dated at the prediction time its
// bad window began; after the rollback its late labels keep arriving and
// land in its own past windows, so nothing fires again: neither v2 anew nor
// v1, whose series stays quiet all along. v2's alert resolves once its
// windows hold no more predictions (no_data: resolve).
func TestQualityNoStaleRefireAfterRollback(t *testing.T) {
	e, err := New([]rules.Rule{accuracyRule()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	out := simulateLabels(t, e, rollout(), 120, 600)
	var timeline []string
	for _, em := range out {
		switch d := em.Data.(type) {
		case events.AnomalyDetected:
			timeline = append(timeline, fmt.Sprintf("detected %s at %ds started %ds value %.2f",
				d.ModelVersion, (d.DetectedUnixNano-m0)/int64(time.Second), (d.StartedUnixNano-m0)/int64(time.Second), d.Value))
			if d.Detector != rules.DetectorQuality || *d.Expected != 0.8 || *d.Statistic != 600 {
				t.Errorf("evidence %s, expected %v, statistic %v: want quality, 0.8, 600 labels", d.Detector, *d.Expected, *d.Statistic)
			}
		case events.AnomalyResolved:
			timeline = append(timeline, fmt.Sprintf("resolved %s at %ds (%s)",
				d.ModelVersion, (d.ResolvedUnixNano-m0)/int64(time.Second), d.Reason))
		}
	}
	// v2's first window [600s, 660s) is judged 2m after it ends, once the
	// stream has gone a window past that: 660 + 120 + 60.
	sameTimeline(t, timeline, []string{
		"detected v2 at 840s started 600s value 0.50",
		"resolved v2 at 1440s (no_data)",
	})
}

// Judged too early, a window sees its first labels only; a quality window
// waits label_delay, so a window whose labels trickle in over the delay is
// judged on all of them: here every prediction's label comes 100s late, and
// the bad window fires with the whole window's accuracy, no sooner.
func TestQualityWaitsForTheLabelDelay(t *testing.T) {
	e, err := New([]rules.Rule{accuracyRule()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var serve []served
	for sec := range 600 {
		v := served{"v1", 0.9}
		if sec >= 300 && sec < 360 {
			v = served{"v1", 0.6}
		}
		serve = append(serve, v)
	}
	out := simulateLabels(t, e, serve, 100, 300)
	ds := detectedOf(out)
	if len(ds) != 1 {
		t.Fatalf("%d detections, want 1", len(ds))
	}
	if d := ds[0]; d.StartedUnixNano != m0+300*int64(time.Second) || d.Value != 0.6 || d.DetectedUnixNano < m0+480*int64(time.Second) {
		t.Fatalf("detected %+v: want the window at 300s, accuracy 0.6, judged no sooner than 360s + 120s", d)
	}
}

func detectedOf(out []Emission) []events.AnomalyDetected {
	var ds []events.AnomalyDetected
	for _, em := range out {
		if d, ok := em.Data.(events.AnomalyDetected); ok {
			ds = append(ds, d)
		}
	}
	return ds
}

// Each measure is computed from its outcome points.
func TestQualityMeasures(t *testing.T) {
	// 6 tp, 2 fp, 3 fn, 9 tn; errors 1, 2, 3, 4 (squares 1, 4, 9, 16).
	var batch []events.Point
	add := func(name string, n int, v float64) {
		for i := range n {
			batch = append(batch, events.Point{Name: name, Value: v, TimeUnixNano: t0 + int64(len(batch)+i),
				Service: "s", Model: "m", ModelVersion: "v1"})
		}
	}
	add(rules.PointTP, 6, 1)
	add(rules.PointFP, 2, 1)
	add(rules.PointFN, 3, 1)
	add(rules.PointTN, 9, 1)
	add(rules.PointCorrect, 15, 1)
	add(rules.PointCorrect, 5, 0)
	for _, v := range []float64{1, 2, 3, 4} {
		add(rules.PointAbsError, 1, v)
		add(rules.PointSqError, 1, v*v)
	}
	tests := []struct {
		measure, op string
		want        float64
	}{
		{rules.MeasureAccuracy, "<", 0.75},
		{rules.MeasurePrecision, "<", 0.75},
		{rules.MeasureRecall, "<", 6.0 / 9},
		{rules.MeasureF1, "<", 12.0 / 17},
		{rules.MeasureMAE, ">", 2.5},
		{rules.MeasureRMSE, ">", math.Sqrt(7.5)},
	}
	for _, tc := range tests {
		t.Run(tc.measure, func(t *testing.T) {
			r := rules.Rule{Name: "q", Detector: rules.DetectorQuality, Metric: tc.measure, GroupBy: []string{"model_version"},
				Window: time.Second, Threshold: 0.01, Op: tc.op, MinPoints: 1, Severity: "warning"}
			if tc.op == "<" {
				r.Threshold = 1
			}
			e, err := New([]rules.Rule{r}, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			e.Observe(batch, 0, math.MaxInt64)
			e.Observe([]events.Point{{Name: "heartbeat", TimeUnixNano: t0 + 3*int64(time.Second), Service: "s"}}, 0, math.MaxInt64)
			d := onlyOne(t, detectedOf(e.Evaluate(wallClock)))
			near(t, tc.measure, d.Value, tc.want, 1e-9)
		})
	}
}

// A backlog replayed in one batch (after a restart, say) spans far more
// windows than the label delay; each window is still judged on all its
// labels, as when they came a second at a time.
func TestQualityOneBatchOfManyWindows(t *testing.T) {
	e, err := New([]rules.Rule{accuracyRule()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var batch []events.Point
	for sec, s := range rollout() {
		for i := range 10 {
			correct := 0.0
			if float64(i) < s.accuracy*10 {
				correct = 1
			}
			batch = append(batch, events.Point{Name: rules.PointCorrect, Value: correct,
				TimeUnixNano: m0 + int64(sec)*int64(time.Second) + int64(i), Service: "model-server", Model: "fraud", ModelVersion: s.version})
		}
	}
	batch = append(batch, events.Point{Name: "request.latency_ms", Value: 5, TimeUnixNano: m0 + 3000*int64(time.Second), Service: "model-server"})
	e.Observe(batch, 0, math.MaxInt64)
	d := onlyOne(t, detectedOf(e.Evaluate(wallClock)))
	if d.ModelVersion != "v2" || d.StartedUnixNano != m0+600*int64(time.Second) || d.Value != 0.5 || *d.Statistic != 600 {
		t.Fatalf("detected %+v: want v2 from its first window, on all 600 of its labels", d)
	}
}
