package detect

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// A backlog comes in batches that span more event time than an ML rule's
// ring of windows (here one batch of a minute against a missing_rate rule
// that keeps two 10s windows): the detector evaluates within the batch as
// event time moves on, so the window whose records were half null is judged
// before a later window takes its slot, and fires.
func TestABacklogBatchJudgesEveryMLWindow(t *testing.T) {
	e, err := engine.New([]rules.Rule{{Name: "nulls", Detector: rules.DetectorMissingRate, Metric: "feature.amount",
		GroupBy: []string{"model"}, Window: 10 * time.Second, Threshold: 0.2, MinPoints: 10, Severity: "warning"}}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if e.JudgeEvery() != 10*time.Second {
		t.Fatalf("JudgeEvery %v, want the rule's window", e.JudgeEvery())
	}
	d := New(slog.New(slog.DiscardHandler), nil, e, Options{MaxLateness: time.Hour})
	base := time.Now().Add(-2 * time.Minute).Truncate(10 * time.Second)
	var batch []events.Item[events.TelemetryPoints]
	for sec := range 60 { // one event a second, 10 records in each
		var pts []events.Point
		for i := range 10 {
			at := base.Add(time.Duration(sec)*time.Second + time.Duration(i)*100*time.Millisecond)
			name := "feature.amount"
			if sec >= 20 && sec < 30 && i%2 == 0 {
				name = "feature.amount.missing"
			}
			pts = append(pts, events.Point{Name: name, Value: 1, TimeUnixNano: at.UnixNano(), Service: "model-server", Model: "fraud"})
		}
		batch = append(batch, batchOf(fmt.Sprint("e", sec), events.TelemetryPoints{Source: "test", Points: pts})...)
	}
	if err := d.feed(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	ems := append(d.outbox, d.engine.Evaluate(d.now())...)
	var fired []string
	for _, em := range ems {
		if a, ok := em.Data.(events.AnomalyDetected); ok {
			fired = append(fired, fmt.Sprintf("%s at +%v", a.Rule, time.Unix(0, a.StartedUnixNano).Sub(base)))
		}
	}
	if len(fired) != 1 || fired[0] != "nulls at +20s" {
		t.Fatalf("fired %v, want the null window at +20s", fired)
	}
}
