package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// unseenRule judges feature.channel on 10s windows against the 20s before
// each (judged 1s after the window ends), from 100 records.
func unseenRule() rules.Rule {
	return rules.Rule{Name: "channel-unseen", Detector: rules.DetectorUnseen, Metric: "feature.channel",
		GroupBy: []string{"service", "model"}, Window: 10 * time.Second, MinPoints: 100, Severity: "warning",
		Reference: &rules.Reference{Window: 20 * time.Second}}
}

// channels makes window w's n records: values 0 to 3 in turn, except the
// records extra lists at its end, value by value.
func channels(w, n int, extra ...float64) []events.Point {
	return evenly("feature.channel", "v1", w*10_000, 10_000, n, func(i int) float64 {
		if j := i - (n - len(extra)); j >= 0 {
			return extra[j]
		}
		return float64(i % 4)
	})
}

// judge is a record past window w's end and grace, which judges it.
func judge(w int) []events.Point {
	return evenly("feature.channel", "v1", (w+1)*10_000+1_500, 100, 1, constant(0))
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestUnseenCategoryShare(t *testing.T) {
	tests := []struct {
		name      string
		extra     []float64
		n         int
		wantShare float64 // 0: no anomaly
		wantNamed string
	}{
		// 2 of 200 is 0.01: not above the default threshold.
		{name: "at the threshold", n: 200, extra: []float64{7, 9}},
		// 6 of 200: 0.03.
		{name: "above", n: 200, extra: []float64{7, 7, 7, 7, 9, 9}, wantShare: 0.03, wantNamed: "7 (4), 9 (2)"},
		// 50 records, all new: under min_points, decides nothing.
		{name: "thin window", n: 50, extra: repeat(7, 50)},
		// 8 new values, 3 records of 12 and one of each other: the five
		// most frequent, ties by value, then how many more.
		{name: "named, bounded", n: 200, extra: []float64{12, 12, 12, 20, 19, 18, 17, 16, 15, 14},
			wantShare: 0.05, wantNamed: "12 (3), 14 (1), 15 (1), 16 (1), 17 (1), +3 more"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := detections(t, newEngine(t, unseenRule()), channels(0, 200), channels(1, 200), channels(2, tc.n, tc.extra...), judge(2))
			if tc.wantShare == 0 {
				if len(ds) != 0 {
					t.Fatalf("fired %+v", ds)
				}
				return
			}
			d := onlyOne(t, ds)
			near(t, "share", d.Value, tc.wantShare, 1e-12)
			near(t, "expected", *d.Expected, rules.DefaultUnseenShare, 0)
			near(t, "unseen records", *d.Statistic, tc.wantShare*200, 1e-9)
			if got := d.Labels[unseenValuesLabel]; got != tc.wantNamed {
				t.Errorf("unseen values %q, want %q", got, tc.wantNamed)
			}
			if !strings.Contains(d.Summary, tc.wantNamed) || !strings.HasPrefix(d.Summary, "feature.channel: ") {
				t.Errorf("summary %q does not name the values", d.Summary)
			}
			if d.Detector != rules.DetectorUnseen || d.StartedUnixNano != t0+ms(20_000) || d.WindowSeconds != 10 ||
				d.BaselineSeconds != 20 || d.Reference != "trailing window 20s" || d.ModelVersion != "v1" {
				t.Errorf("evidence: %+v", d)
			}
			if d.Labels["service"] != "model-server" || d.Fingerprint == "" {
				t.Errorf("labels %v: the series' labels are kept", d.Labels)
			}
		})
	}
}

// A value first seen in one window is known to the next: the alert
// resolves once the reference holds it, here after its 20s.
func TestUnseenCategoryIsLearnt(t *testing.T) {
	r := unseenRule()
	e := newEngine(t, r)
	var got []string
	for _, em := range run(e, channels(0, 200), channels(1, 200),
		channels(2, 200, repeat(7, 20)...), channels(3, 200, repeat(7, 20)...), channels(4, 200, repeat(7, 20)...),
		judge(4)) {
		switch d := em.Data.(type) {
		case events.AnomalyDetected:
			got = append(got, "detected +"+time.Duration(d.StartedUnixNano-t0).String())
		case events.AnomalyResolved:
			got = append(got, "resolved")
		}
	}
	// Window 2 is new (0.1); window 3 knows 7 from window 2, so the share
	// is 0 and the alert resolves.
	sameTimeline(t, got, []string{"detected +20s", "resolved"})
}

// The values a series remembers are bounded: past MaxKnownCategories, the
// records of the current window that find no room are unseen (the
// reference's values all hold theirs); a reference that overflowed
// decides nothing; and values that left every window free their room.
func TestUnseenCategoryMemoryBound(t *testing.T) {
	distinct := func(from float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = from + float64(i)
		}
		return out
	}
	e := newEngine(t, unseenRule())
	// Window 2: 1000 new values; 4 known + 508 fit, 492 do not.
	ds := detections(t, e, channels(0, 200), channels(1, 200), channels(2, 1000, distinct(100, 1000)...), judge(2))
	d := onlyOne(t, ds)
	near(t, "share", d.Value, 1, 0)
	if want := "100 (1), 101 (1), 102 (1), 103 (1), 104 (1), +503 more, 492 records of values past the 512 remembered"; d.Labels[unseenValuesLabel] != want {
		t.Errorf("unseen values %q, want %q", d.Labels[unseenValuesLabel], want)
	}
	// Windows 3 and 4 have window 2 in their reference, which overflowed:
	// they decide nothing, so the alert holds though they are healthy;
	// window 5's reference is whole again, and it resolves.
	if out := run(e, channels(3, 200), channels(4, 200), judge(4)); len(out) != 0 {
		t.Fatalf("judged against an overflowed reference: %v", describe(out))
	}
	if out := describe(run(e, channels(5, 200), judge(5))); len(out) != 1 || !strings.HasPrefix(out[0], "resolved") {
		t.Fatalf("got %v, want the alert resolved by window 5", out)
	}
	// Windows 6 to 8 hold 0 to 3 only: the room of window 2's values is
	// free again, so a new value in window 9 is named itself.
	var batches [][]events.Point
	for w := 6; w <= 8; w++ {
		batches = append(batches, channels(w, 200))
	}
	d = onlyOne(t, detections(t, e, append(batches, channels(9, 200, 5000, 5000, 5000), judge(9))...))
	if d.Labels[unseenValuesLabel] != "5000 (3)" {
		t.Errorf("unseen values %q, want 5000 (3)", d.Labels[unseenValuesLabel])
	}
}

// With a profile, its categories are the reference, from the first window.
func TestUnseenCategoryAgainstProfile(t *testing.T) {
	var ref []string
	for i := range 300 {
		ref = append(ref, []string{"0", "1", "2", "3", "web"}[i%5])
	}
	path := categoricalProfile(t, "channel", ref)
	r := unseenRule()
	r.Reference = &rules.Reference{Profile: path}
	// 4 of 200 records are 5, which the profile does not name: 0.02.
	d := onlyOne(t, detections(t, newEngine(t, r), channels(0, 200, 5, 5, 5, 5), judge(0)))
	near(t, "share", d.Value, 0.02, 1e-12)
	if d.Reference != "profile "+path || d.BaselineSeconds != 0 || d.Labels[unseenValuesLabel] != "5 (4)" {
		t.Errorf("evidence: %+v", d)
	}
}

// An unseen_category anomaly restored into a new engine is held by its
// rule (its unseen_values label notwithstanding), and resolves under its
// id once the windows hold no new value.
func TestUnseenCategoryRestoreAndResolve(t *testing.T) {
	d := onlyOne(t, detections(t, newEngine(t, unseenRule()), channels(0, 200), channels(1, 200), channels(2, 200, repeat(7, 10)...), judge(2)))
	e := newEngine(t, unseenRule())
	if out := e.Restore([]events.AnomalyDetected{d}, wallClock); len(out) != 0 {
		t.Fatalf("restore emitted %v", describe(out))
	}
	// The new engine's reference starts empty: windows 3 and 4 build it,
	// window 5 judges and finds nothing new.
	out := run(e, channels(3, 200), channels(4, 200), channels(5, 200), judge(5))
	if len(out) != 1 {
		t.Fatalf("want one resolution, got %v", describe(out))
	}
	if r, ok := out[0].Data.(events.AnomalyResolved); !ok || r.AnomalyID != d.AnomalyID {
		t.Fatalf("got %+v, want anomaly %s resolved", out[0].Data, d.AnomalyID)
	}
}
