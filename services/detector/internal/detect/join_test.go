package detect

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/medic-sre/medic/services/detector/internal/rules"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// stampedJoin stands for the label join: each batch's outcomes are n
// quality.correct points at a fixed prediction time; it fails while fail > 0.
type stampedJoin struct {
	at    time.Time
	n     int
	fail  int
	calls int
}

func (j *stampedJoin) Join(context.Context, string, []events.Point) ([]events.Point, error) {
	j.calls++
	if j.fail > 0 {
		j.fail--
		return nil, errors.New("kv: timeout")
	}
	out := make([]events.Point, j.n)
	for i := range out {
		out[i] = events.Point{Name: rules.PointCorrect, Value: 1, TimeUnixNano: j.at.UnixNano(), Service: "model-server", ModelVersion: "v1"}
	}
	return out, nil
}

func (j *stampedJoin) Rejoin(context.Context, string, []events.Point) ([]events.Point, error) {
	return nil, nil
}

func qualityEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.New([]rules.Rule{{Name: "acc", Detector: rules.DetectorQuality, Metric: rules.MeasureAccuracy,
		GroupBy: []string{"model_version"}, Window: time.Minute, LabelDelay: 10 * time.Minute, Threshold: 0.8, Severity: "warning"}}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Outcome points are stamped at their predictions' times, older than live
// points by up to the label delay: the lateness guard lets them in up to
// --max-lateness plus the label window back, and no further; the batch's
// own points keep the plain guard.
func TestOutcomesPassTheLatenessGuardWithinTheLabelWindow(t *testing.T) {
	tests := []struct {
		name        string
		age         time.Duration
		labelWindow time.Duration
		tooOld      float64
	}{
		{name: "older than max-lateness, within the label window", age: 8 * time.Minute, labelWindow: 11 * time.Minute},
		{name: "without a label window", age: 8 * time.Minute, tooOld: 5},
		{name: "older than both", age: 17 * time.Minute, labelWindow: 11 * time.Minute, tooOld: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			join := &stampedJoin{at: time.Now().Add(-tc.age), n: 5}
			d := New(slog.New(slog.DiscardHandler), nil, qualityEngine(t), Options{MaxLateness: 5 * time.Minute,
				Join: join, LabelWindow: tc.labelWindow})
			d.feed(context.Background(), batchOf("e1", events.TelemetryPoints{Source: "test", Points: []events.Point{
				{Name: "inference.label", Value: 1, TimeUnixNano: time.Now().UnixNano(), Service: "labeler"},
			}}))
			if got := testutil.ToFloat64(d.metrics.rejected.WithLabelValues(ReasonTooOld)); got != tc.tooOld {
				t.Fatalf("%v outcome points rejected as too old, want %v", got, tc.tooOld)
			}
		})
	}
}

// A join that fails leaves its event unmarked, so that the redelivered
// batch joins it again instead of skipping it as seen.
func TestFailedJoinIsRetriedOnRedelivery(t *testing.T) {
	join := &stampedJoin{at: time.Now(), n: 3, fail: 1}
	d := New(slog.New(slog.DiscardHandler), nil, qualityEngine(t), Options{Join: join, LabelWindow: time.Hour})
	batch := batchOf("e1", events.TelemetryPoints{Source: "test", Points: []events.Point{
		{Name: "inference.label", Value: 1, TimeUnixNano: time.Now().UnixNano(), Service: "labeler"},
	}})
	if err := d.feed(context.Background(), batch); err == nil {
		t.Fatal("a failed join: no error, want one so the batch is redelivered")
	}
	if err := d.feed(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if err := d.feed(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if join.calls != 2 || testutil.ToFloat64(d.metrics.points) != 4 {
		t.Fatalf("%d joins, %v points evaluated; want 2 joins (the failure, the redelivery) and 4 points once", join.calls, testutil.ToFloat64(d.metrics.points))
	}
}
