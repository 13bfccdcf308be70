package labeljoin

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/kv"
	"github.com/medic-sre/medic/services/detector/internal/rules"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newJoiner(t *testing.T, maxBytes int64) *Joiner {
	t.Helper()
	store, err := OpenKV(context.Background(), kv.NewMemory(), time.Hour, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	return New(slog.New(slog.DiscardHandler), store, 0.5, nil)
}

func prediction(id, version string, at int64, score float64) events.Point {
	return events.Point{Name: PointPrediction, Value: score, TimeUnixNano: at, Service: "model-server", Model: "fraud",
		ModelVersion: version, Attributes: map[string]string{AttrPredictionID: id}}
}

func label(id string, at int64, v float64) events.Point {
	return events.Point{Name: PointLabel, Value: v, TimeUnixNano: at, Service: "labeler", Attributes: map[string]string{AttrPredictionID: id}}
}

// Each label becomes its prediction's outcomes, at the prediction's time
// and with its version, whatever the label's own time and service.
func TestOutcomes(t *testing.T) {
	tests := []struct {
		score, label float64
		correct      float64
		cell         string
	}{
		{0.9, 1, 1, rules.PointTP},
		{0.9, 0, 0, rules.PointFP},
		{0.2, 1, 0, rules.PointFN},
		{0.2, 0, 1, rules.PointTN},
	}
	for i, tc := range tests {
		t.Run(tc.cell, func(t *testing.T) {
			j := newJoiner(t, 0)
			id := fmt.Sprint("p", i)
			out, err := j.Join(context.Background(), "ev-1", []events.Point{prediction(id, "v2", 1000, tc.score), label(id, 9000, tc.label)})
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 4 {
				t.Fatalf("%d outcome points, want 4", len(out))
			}
			diff := tc.score - tc.label
			want := map[string]float64{rules.PointCorrect: tc.correct, tc.cell: 1, rules.PointAbsError: max(diff, -diff), rules.PointSqError: diff * diff}
			for _, p := range out {
				if p.TimeUnixNano != 1000 || p.ModelVersion != "v2" || p.Service != "model-server" || p.Model != "fraud" || p.Attributes != nil {
					t.Errorf("point %+v: want the prediction's time, version, service and model, and no prediction id", p)
				}
				if w, ok := want[p.Name]; !ok || p.Value != w {
					t.Errorf("%s = %v, want %v (in %v)", p.Name, p.Value, w, want)
				}
			}
		})
	}
}

// A label for no known prediction, and a label sent twice, are counted and
// make nothing; points without a prediction id are left alone.
func TestUnmatchedLabels(t *testing.T) {
	j := newJoiner(t, 0)
	ctx := context.Background()
	out, err := j.Join(ctx, "ev-1", []events.Point{
		prediction("p1", "v1", 1, 0.9), label("p1", 2, 1), label("p1", 3, 1), label("nobody", 4, 1),
		{Name: PointLabel, Value: 1, TimeUnixNano: 5, Service: "labeler"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 {
		t.Fatalf("%d outcome points, want the 4 of p1's first label", len(out))
	}
	if got := testutil.ToFloat64(j.metrics.unmatched); got != 2 {
		t.Fatalf("%v unmatched labels, want 2 (p1's repeat, nobody)", got)
	}
}

// A full store drops predictions and counts them, and so does an id too
// long to keep; neither is an error that would hold up the batch.
func TestFullStoreAndBadIDs(t *testing.T) {
	j := newJoiner(t, 2048)
	var pts []events.Point
	for i := range 100 {
		pts = append(pts, prediction(fmt.Sprint("p", i), "v1", int64(i), 0.9))
	}
	pts = append(pts, prediction(strings.Repeat("x", 5000), "v1", 1, 0.9))
	if _, err := j.Join(context.Background(), "ev-1", pts); err != nil {
		t.Fatal(err)
	}
	full, bad := testutil.ToFloat64(j.metrics.dropped.WithLabelValues("full")), testutil.ToFloat64(j.metrics.dropped.WithLabelValues("bad_id"))
	kept := testutil.ToFloat64(j.metrics.remembered)
	if full == 0 || kept == 0 || full+kept != 100 || bad != 1 {
		t.Fatalf("kept %v, dropped %v as full and %v as bad ids; want some of each, 100 in all, and 1 bad id", kept, full, bad)
	}
}

// A label joins its prediction once: its event redelivered (after a crash
// before its outcomes were counted) joins it again, another label or
// another event with the same label does not, and Rejoin gives a restarted
// detector the outcomes of the labels that joined, from the event that
// joined them only. A prediction sent again after its label stays joined.
func TestJoinIsOncePerLabelAndRejoinable(t *testing.T) {
	j := newJoiner(t, 0)
	ctx := context.Background()
	if _, err := j.Join(ctx, "ev-p", []events.Point{prediction("p1", "v1", 1, 0.9)}); err != nil {
		t.Fatal(err)
	}
	labels := []events.Point{label("p1", 2, 1)}
	first, err := j.Join(ctx, "ev-l", labels)
	if err != nil || len(first) != 4 {
		t.Fatalf("first join: %d points, %v; want 4", len(first), err)
	}
	again, err := j.Join(ctx, "ev-l", labels)
	if err != nil || len(again) != 4 {
		t.Fatalf("the same event redelivered: %d points, %v; want its 4 again", len(again), err)
	}
	// The prediction sent again does not make it wait for a label anew.
	if _, err := j.Join(ctx, "ev-p", []events.Point{prediction("p1", "v1", 1, 0.9)}); err != nil {
		t.Fatal(err)
	}
	other, err := j.Join(ctx, "ev-other", labels)
	if err != nil || len(other) != 0 {
		t.Fatalf("another event's label: %d points, %v; want none", len(other), err)
	}
	re, err := j.Rejoin(ctx, "ev-l", labels)
	if err != nil || len(re) != 4 || !reflect.DeepEqual(re, first) {
		t.Fatalf("rejoin of the joining event: %v, %v; want %v", re, err, first)
	}
	if re, err := j.Rejoin(ctx, "ev-other", labels); err != nil || len(re) != 0 {
		t.Fatalf("rejoin of another event: %v, %v; want nothing", re, err)
	}
}
