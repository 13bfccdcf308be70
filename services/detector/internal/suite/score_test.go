package suite

import (
	"testing"
	"time"
)

func TestScore(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	at := func(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }
	truth := Truth{Seed: 4, StartUnixMs: t0.UnixMilli(), EndUnixMs: at(60).UnixMilli(),
		Faults: []Fault{{Kind: "bad_model_version", StartUnixMs: at(30).UnixMilli(), EndUnixMs: at(40).UnixMilli()}}}
	k := Kind{Name: "bad_model_version", Rules: []string{"errors"}}
	sc := Scoring{Grace: 2 * time.Minute, Warmup: 10 * time.Minute, Step: 15 * time.Second}
	for _, tc := range []struct {
		name      string
		ds        []Detection
		caught    int
		delay     time.Duration
		falseAlms int
	}{
		{name: "nothing raised", caught: 0},
		{name: "caught", ds: []Detection{{Rule: "errors", At: at(30.5)}}, caught: 1, delay: 30 * time.Second},
		{name: "first catch counts", ds: []Detection{{Rule: "errors", At: at(31)}, {Rule: "errors", At: at(33)}}, caught: 1, delay: time.Minute},
		{name: "within the grace", ds: []Detection{{Rule: "errors", At: at(41.5)}}, caught: 1, delay: 11*time.Minute + 30*time.Second},
		{name: "after the grace is a false alarm", ds: []Detection{{Rule: "errors", At: at(43)}}, falseAlms: 1},
		{name: "before the fault is a false alarm", ds: []Detection{{Rule: "errors", At: at(29)}}, falseAlms: 1},
		{name: "another rule in the fault is neither", ds: []Detection{{Rule: "accuracy", At: at(31)}}},
		{name: "another rule in healthy time is a false alarm", ds: []Detection{{Rule: "accuracy", At: at(50)}}, falseAlms: 1},
		{name: "the warm-up is not scored", ds: []Detection{{Rule: "accuracy", At: at(5)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Score(k, truth, tc.ds, sc)
			if r.Faults != 1 || r.Caught != tc.caught || len(r.FalseAlarms) != tc.falseAlms {
				t.Fatalf("faults %d caught %d false alarms %d, want 1 %d %d", r.Faults, r.Caught, len(r.FalseAlarms), tc.caught, tc.falseAlms)
			}
			if tc.caught > 0 && r.Delays[0] != tc.delay {
				t.Errorf("delay %s, want %s", r.Delays[0], tc.delay)
			}
			// 60 min less 10 of warm-up and 12 of fault and grace.
			if r.Healthy != 38*time.Minute {
				t.Errorf("healthy time %s, want 38m", r.Healthy)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	runs := []Run{
		{Faults: 1, Caught: 1, Delays: []time.Duration{30 * time.Second}, Healthy: time.Hour},
		{Faults: 1, Caught: 1, Delays: []time.Duration{45 * time.Second}, Healthy: time.Hour, FalseAlarms: make([]Detection, 3)},
		{Faults: 1, Caught: 0, Healthy: time.Hour},
		{Faults: 1, Caught: 1, Delays: []time.Duration{90 * time.Second}, Healthy: time.Hour},
	}
	s := Summarize(Kind{Name: "x"}, runs)
	if s.Recall != 0.75 || s.PerHour != 0.75 || s.MedianDelay != 45*time.Second || s.P95Delay != 90*time.Second {
		t.Errorf("got recall %v, %v false alarms/h, median %s, p95 %s; want 0.75, 0.75, 45s, 1m30s", s.Recall, s.PerHour, s.MedianDelay, s.P95Delay)
	}
}
