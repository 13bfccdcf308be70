package query_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/metricexpr"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// rateRows collects metric rows as the archiver writes counter exports: one
// event id per export, so that an export written twice is a redelivery.
type rateRows struct {
	t    *testing.T
	base time.Time
	rows [][]any
}

func (w *rateRows) export(id string, points ...events.Point) {
	for i, p := range points {
		w.rows = append(w.rows, archive.PointRow(id, i, p))
	}
}

func (w *rateRows) at(ms int) int64 {
	return w.base.Add(time.Duration(ms) * time.Millisecond).UnixNano()
}

func (w *rateRows) reader() *query.Reader {
	w.t.Helper()
	st := storetest.New(w.t)
	if err := st.Insert(context.Background(), "metrics", archive.MetricColumns, w.rows); err != nil {
		w.t.Fatal(err)
	}
	return query.New(st.Conn())
}

func ratio(t *testing.T, s string) metricexpr.Expr {
	t.Helper()
	e, err := metricexpr.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A ratio symptom sums its numerator's values per version and bucket over
// its denominator's, counts the denominator's points, and reads neither the
// counters' totals, nor other services, nor a redelivered copy twice.
func TestSymptomByVersionRatio(t *testing.T) {
	w := &rateRows{t: t, base: time.Now().Truncate(time.Second).Add(-time.Minute)}
	ms := func(ms int, name, version string, v float64) events.Point {
		return events.Point{Name: name, Value: v, TimeUnixNano: w.at(ms), Service: "model-server", Model: "fraud", ModelVersion: version}
	}
	w.export("e1", ms(100, "predictions_rate", "v1", 40), ms(100, "predictions", "v1", 4000),
		ms(100, "predictions_rate", "v2", 10), ms(100, "prediction.errors_rate", "v2", 5))
	w.export("e2", ms(600, "predictions_rate", "v1", 40), ms(600, "prediction.errors_rate", "v1", 2),
		ms(600, "predictions_rate", "v2", 10), ms(600, "prediction.errors_rate", "v2", 5), ms(600, "prediction.errors", "v2", 900))
	w.export("e2", ms(600, "predictions_rate", "v1", 40), ms(600, "prediction.errors_rate", "v1", 2)) // redelivered in part
	w.export("e3", events.Point{Name: "predictions_rate", Value: 500, TimeUnixNano: w.at(300), Service: "gateway", Model: "fraud", ModelVersion: "v1"})
	r := w.reader()
	rg := query.Range{From: w.base.UnixNano(), To: w.base.Add(time.Second).UnixNano()}
	got, err := r.SymptomByVersion(context.Background(), query.MetricSymptom(ratio(t, "prediction.errors_rate / predictions_rate"), "model-server"), rg)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].ModelVersion < got[j].ModelVersion })
	b := w.base.Unix()
	want := []query.VersionBucket{
		{Bucket: b, Model: "fraud", ModelVersion: "v1", Sum: 2, Total: 80, Count: 2},
		{Bucket: b, Model: "fraud", ModelVersion: "v2", Sum: 10, Total: 20, Count: 2},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("symptom = %+v\nwant %+v", got, want)
	}
}

// Coverage of a ratio counts the seconds that served requests and the
// denominator's points there; a second with no requests has no error rate.
func TestSymptomCoverageRatio(t *testing.T) {
	w := &rateRows{t: t, base: time.Now().Truncate(time.Second).Add(-time.Minute)}
	second := func(s int, errors, requests float64) {
		for _, ms := range []int{100, 600} {
			at := w.at(s*1000 + ms)
			id := fmt.Sprintf("s%d-%d", s, ms)
			w.export(id, events.Point{Name: "request.errors_rate", Value: errors, TimeUnixNano: at, Service: "gateway"},
				events.Point{Name: "requests_rate", Value: requests, TimeUnixNano: at, Service: "gateway"})
		}
	}
	second(0, 5, 100) // 0.05
	second(1, 0, 0)   // no requests
	second(2, 15, 100)
	r := w.reader()
	rg := query.Range{From: w.base.UnixNano(), To: w.base.Add(3 * time.Second).UnixNano()}
	got, err := r.SymptomCoverage(context.Background(), query.MetricSymptom(ratio(t, "request.errors_rate / requests_rate"), "gateway"), rg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seconds != 2 || got.Points != 4 || math.Abs(got.Mean-0.1) > 1e-9 || math.Abs(got.StdDev-0.05) > 1e-9 {
		t.Fatalf("coverage = %+v, want 2 s, 4 points, mean 0.1, stddev 0.05", got)
	}
	onset, ok, err := r.SymptomOnset(context.Background(), query.MetricSymptom(ratio(t, "request.errors_rate / requests_rate"), "gateway"), rg,
		query.Coverage{Seconds: 30, Points: 60, Mean: 0.05, StdDev: 0.001})
	if err != nil || ok {
		t.Fatalf("onset = %d, %v, %v: want none from one anomalous second", onset, ok, err)
	}
}

// Missing data from counters: per series (attributes in any stored order)
// the share of missing values, the largest of them or the pooled share when
// that is greater; counters that name no model count for every model.
func TestMissingDataCounters(t *testing.T) {
	w := &rateRows{t: t, base: time.Now().Truncate(time.Second).Add(-time.Minute)}
	row := func(id, service, model, name string, v float64, keys, values []string) {
		w.rows = append(w.rows, []any{w.base, w.at(200), name, v, service, model, "", keys, values, id, uint32(0)})
	}
	// Feature b is missing in half the responses, a never.
	row("f1", "feature-service", "", "feature.values_rate", 10, []string{"feature", "host.name"}, []string{"a", "h"})
	row("f2", "feature-service", "", "feature.values_rate", 10, []string{"feature", "host.name"}, []string{"b", "h"})
	row("f3", "feature-service", "", "feature.missing_rate", 5, []string{"host.name", "feature"}, []string{"h", "b"})
	row("f3", "feature-service", "", "feature.missing_rate", 5, []string{"host.name", "feature"}, []string{"h", "b"}) // redelivered
	// Another model's store is not this incident's.
	row("o1", "other-store", "credit", "feature.values_rate", 10, nil, nil)
	row("o2", "other-store", "credit", "feature.missing_rate", 10, nil, nil)
	// Missing counted without the attribute values carry: only the pooled
	// share pairs them.
	row("p1", "profile-store", "fraud", "profile.values_rate", 12, []string{"field"}, []string{"x"})
	row("p2", "profile-store", "fraud", "profile.missing_rate", 3, nil, nil)
	// No values at all: no share.
	row("n1", "idle-store", "fraud", "idle.missing_rate", 0, nil, nil)
	r := w.reader()
	got, err := r.MissingData(context.Background(), "fraud", query.Range{From: w.base.UnixNano(), To: w.base.Add(time.Second).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Service < got[j].Service })
	b := w.base.Unix()
	want := []query.MissingBucket{
		{Service: "feature-service", Name: "feature.missing_rate / feature.values_rate", Bucket: b, Share: 0.5},
		{Service: "profile-store", Name: "profile.missing_rate / profile.values_rate", Bucket: b, Share: 0.25},
	}
	if len(got) != len(want) {
		t.Fatalf("missing data = %+v\nwant %+v", got, want)
	}
	for i := range want {
		if !sameShare(got[i], want[i]) {
			t.Errorf("missing data [%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
