package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// Through the bus: a channel code the reference never held fires an
// unseen_category anomaly that names it, with its evidence.
func TestUnseenCategoryThroughTheBus(t *testing.T) {
	h := runLate(t, "testdata/unseen.yaml")

	base := time.Now().Add(-3 * time.Minute).Truncate(10 * time.Second)
	window := func(w int) time.Time { return base.Add(time.Duration(w) * 10 * time.Second) }
	for w := range 4 {
		h.publish(t, fmt.Sprintf("channel-%d", w), records(window(w), "feature.channel", "v1", 400, func(i int) float64 {
			// Window 3: 12 records of channel 8 and 4 of 9, 16 of 400.
			if w == 3 && i%25 == 0 {
				return 9 - float64(min(i%100, 1))
			}
			return float64(i % 3)
		}))
	}
	h.publish(t, "tick", records(window(4).Add(2*time.Second), "feature.channel", "v1", 1, func(int) float64 { return 0 }))
	servicetest.Poll(t, "an anomaly.detected", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) >= 1 })

	got := h.ofType(events.TypeAnomalyDetected)
	if len(got) != 1 {
		t.Fatalf("%d anomalies, want 1", len(got))
	}
	d := servicetest.As[events.AnomalyDetected](t, got[0])
	checkAll(t, []check{
		{name: "detector", ok: d.Detector == "unseen_category", got: d.Detector},
		{name: "share", ok: d.Value == 0.04 && d.Threshold == 0.01 && d.Expected != nil && *d.Expected == 0.01, got: d.Value},
		{name: "unseen records", ok: d.Statistic != nil && *d.Statistic == 16, got: d.Statistic},
		{name: "names the values", ok: d.Labels["unseen_values"] == "8 (12), 9 (4)", got: d.Labels},
		{name: "summary", ok: d.Summary == "new channels on fraud: 8 (12), 9 (4) (0.04 of records)", got: d.Summary},
		{name: "starts with the window", ok: d.StartedUnixNano == window(3).UnixNano(), got: time.Unix(0, d.StartedUnixNano).Sub(window(3))},
		{name: "window and reference", ok: d.WindowSeconds == 10 && d.BaselineSeconds == 20 && d.Reference == "trailing window 20s",
			got: [3]any{d.WindowSeconds, d.BaselineSeconds, d.Reference}},
		{name: "model version", ok: d.ModelVersion == "v1" && d.Model == "fraud" && d.Service == "model-server", got: d.ModelVersion},
	})
}
