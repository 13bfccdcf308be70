package engine_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// fraudPipeline writes 10 requests a second from start to end, as the
// simulator serves them: the gateway calls the feature-service, which
// reads the feature-store, then the model-server, which fails a request
// whose merchant_risk is null. The feature-service counts the values it
// served and the nulls per feature (as rates, model fraud); the store
// counts the rows it was asked for and lacked, for no model. From faultAt
// on, 80% of merchant_risk values are null: lost by the store when
// storeLost, else by the feature-service itself.
func fraudPipeline(t *testing.T, st *store.Store, start, faultAt, end time.Time, storeLost bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 8))
	var spans, points [][]any
	span := func(trace, id, parent, service, name string, at time.Time, d time.Duration, failed bool) {
		status := uint8(1)
		if failed {
			status = 2
		}
		spans = append(spans, []any{at, at.UnixNano(), at.Add(d).UnixNano(), int64(d), trace, id, parent, service, name,
			"server", status, "", "fraud", "v1", []string{}, []string{}})
	}
	missing := map[string]map[int64]float64{"feature-service": {}, "feature-store": {}}
	for i, at := 0, start; at.Before(end); i, at = i+1, at.Add(100*time.Millisecond) {
		null := !at.Before(faultAt) && rng.Float64() < 0.8
		trace, gw, fs := fmt.Sprintf("%032x", i+1), fmt.Sprintf("%016x", 4*i+1), fmt.Sprintf("%016x", 4*i+2)
		span(trace, gw, "", "gateway", "POST /predict", at, 20*time.Millisecond, null)
		span(trace, fs, gw, "feature-service", "GET /features", at.Add(time.Millisecond), 6*time.Millisecond, false)
		span(trace, fmt.Sprintf("%016x", 4*i+3), fs, "feature-store", "GET /rows", at.Add(2*time.Millisecond), 3*time.Millisecond, false)
		span(trace, fmt.Sprintf("%016x", 4*i+4), gw, "model-server", "predict", at.Add(8*time.Millisecond), 10*time.Millisecond, null)
		if null {
			b := at.Unix()
			missing["feature-service"][b]++
			if storeLost {
				missing["feature-store"][b]++
			}
		}
	}
	for at := start; at.Before(end); at = at.Add(time.Second) {
		rate := func(service, model, name, feature string, v float64) {
			points = append(points, archive.PointRow(fmt.Sprintf("%s-%s-%s-%d", service, name, feature, at.Unix()), 0, events.Point{
				Name: name, Value: v, Service: service, Model: model, TimeUnixNano: at.Add(999 * time.Millisecond).UnixNano(),
				Attributes: map[string]string{"feature": feature}}))
		}
		for _, f := range []string{"amount", "merchant_risk"} {
			nulls := 0.0
			if f == "merchant_risk" {
				nulls = missing["feature-service"][at.Unix()]
			}
			rate("feature-service", "fraud", "feature.values_rate", f, 10)
			rate("feature-service", "fraud", "feature.missing_rate", f, nulls)
		}
		rate("feature-store", "", "lookup.values_rate", "merchant_risk", 10)
		rate("feature-store", "", "lookup.missing_rate", "merchant_risk", missing["feature-store"][at.Unix()])
	}
	for table, rows := range map[string][][]any{"spans": spans, "metrics": points} {
		cols := archive.SpanColumns
		if table == "metrics" {
			cols = archive.MetricColumns
		}
		if err := st.Insert(context.Background(), table, cols, rows); err != nil {
			t.Fatal(err)
		}
	}
}

// A feature whose values went null is proposed, named by its model, just
// below the feature-service that served the nulls and above the
// model-server that failed on them; a feature that stayed whole is not.
// When the store lost the rows, the store is the cause and the feature the
// feature-service passed on is not proposed.
func TestNullFeatureRanksJustBelowItsService(t *testing.T) {
	tests := []struct {
		name      string
		storeLost bool
		wantTop   string
	}{
		{name: "feature-service serves nulls", wantTop: "service:feature-service"},
		{name: "store lost the rows", storeLost: true, wantTop: "service:feature-store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := storetest.New(t)
			faultAt := time.Now().Add(-time.Minute).Truncate(time.Second)
			start, end := faultAt.Add(-2*time.Minute), faultAt.Add(30*time.Second)
			fraudPipeline(t, st, start, faultAt, end, tc.storeLost)
			sym, err := engine.ParseSymptom("gateway", "", "error", "")
			if err != nil {
				t.Fatal(err)
			}
			from := faultAt.Add(-3 * time.Second)
			eng := engine.New(query.New(st.Conn()), engine.DefaultConfig)
			res, err := eng.Analyze(context.Background(), engine.Request{Symptom: sym,
				Baseline: analysis.Range{From: start.UnixNano(), To: from.UnixNano()},
				Window:   analysis.Range{From: from.UnixNano(), To: end.UnixNano()}, AnalyzedAt: end,
				AnalysisID: "rca-1", Trigger: events.TriggerOpened, IncidentID: "inc-1"})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Causes {
				t.Logf("#%d %-32s %.3f %s", c.Rank, c.ID, c.Score, c.Summary)
			}
			if _, err := events.NewWithID("x", "test", res.RCACompleted); err != nil {
				t.Fatalf("result does not validate against its schema: %v", err)
			}
			if len(res.Causes) < 2 || res.Causes[0].ID != tc.wantTop || res.Tie {
				t.Fatalf("causes %+v, want %s first, alone", res.Causes, tc.wantTop)
			}
			i := slices.IndexFunc(res.Causes, func(c events.Cause) bool { return c.ID == "feature:fraud/merchant_risk" })
			if tc.storeLost {
				if i >= 0 {
					t.Errorf("the feature the store lost is proposed for the feature-service: %+v", res.Causes[i])
				}
				return
			}
			if i != 1 {
				t.Fatalf("feature:fraud/merchant_risk at %d, want second", i)
			}
			f := res.Causes[1]
			if f.Kind != events.CauseFeature || f.Model != "fraud" || f.Service != "feature-service" ||
				f.Score < 0.9*res.Causes[0].Score || f.Evidence["feature_nulls_window"] < 0.5 {
				t.Errorf("feature cause %+v, want fraud's, served by feature-service, just below it, nulls in the window", f)
			}
			if !strings.Contains(f.Summary, "feature merchant_risk of model fraud") {
				t.Errorf("summary %q does not name the feature", f.Summary)
			}
			// The margin is over the first rival after the feature.
			s1, want := res.Causes[0].Score, min(1, res.Causes[0].Score)
			if len(res.Causes) > 2 {
				want *= min(1, (s1-res.Causes[2].Score)/s1/analysis.FullMargin)
			}
			if math.Abs(res.Confidence-want) > 1e-9 {
				t.Errorf("confidence %.3f, want %.3f: the feature is no rival of the service that served it", res.Confidence, want)
			}
			for _, q := range res.SQL[f.ID] {
				var n uint64
				if err := st.Conn().QueryRow(context.Background(), "SELECT count() FROM ("+q+")").Scan(&n); err != nil || n == 0 {
					t.Errorf("rerunning the feature's SQL: %d rows, %v\n%s", n, err, q)
				}
			}
			if slices.ContainsFunc(res.Causes, func(c events.Cause) bool { return c.ID == "feature:fraud/amount" }) {
				t.Error("feature amount, whole all along, was proposed")
			}
		})
	}
}

// From an inference log (pkg/inferencemap's points), a feature that went
// null and one whose distribution moved are proposed; a steady one is not.
func TestInferenceLogFeatures(t *testing.T) {
	st := storetest.New(t)
	rng := rand.New(rand.NewPCG(1, 2))
	faultAt := time.Now().Add(-time.Minute).Truncate(time.Second)
	start, end := faultAt.Add(-time.Minute), faultAt.Add(20*time.Second)
	var rows [][]any
	for i, at := 0, start; at.Before(end); i, at = i+1, at.Add(100*time.Millisecond) {
		faulty := !at.Before(faultAt)
		pts := map[string]float64{"feature.age": 40 + 5*rng.NormFloat64(), "feature.tenure": 12 + 2*rng.NormFloat64()}
		missing := 0.0
		if faulty {
			pts["feature.tenure"] += 20
		}
		if faulty && rng.Float64() < 0.6 {
			pts["feature.plan_price.missing"], missing = 1, 1
		} else {
			pts["feature.plan_price"] = 30 + rng.Float64()
		}
		pts["inference.features_missing"] = missing
		j := 0
		for name, v := range pts {
			rows = append(rows, archive.PointRow(fmt.Sprintf("rec-%d", i), j, events.Point{Name: name, Value: v,
				Service: "scorer", Model: "churn", ModelVersion: "v3", TimeUnixNano: at.UnixNano()}))
			j++
		}
	}
	if err := st.Insert(context.Background(), "metrics", archive.MetricColumns, rows); err != nil {
		t.Fatal(err)
	}
	from := faultAt.Add(-time.Second)
	sc := &engine.Scope{Symptom: engine.Symptom{Metric: "error", Service: "scorer", Span: query.SpanErrors},
		Baseline: analysis.Range{From: start.UnixNano(), To: from.UnixNano()},
		Window:   analysis.Range{From: from.UnixNano(), To: end.UnixNano()}}
	cands, err := engine.Features(context.Background(), query.New(st.Conn()), sc)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range cands {
		t.Logf("%s %s %v", c.ID, c.Signals[0].Name, c.Evidence)
		if c.Kind != events.CauseFeature || c.Model != "churn" || c.Service != "scorer" {
			t.Errorf("candidate %+v, want a feature of churn served by scorer", c)
		}
		got[c.ID] = c.Signals[0].Name
	}
	want := map[string]string{"feature:churn/plan_price": "feature_nulls", "feature:churn/tenure": "feature_out_of_range"}
	for id, signal := range want {
		if got[id] != signal {
			t.Errorf("%s proposed by %q, want by %s", id, got[id], signal)
		}
	}
	if _, ok := got["feature:churn/age"]; ok {
		t.Error("the steady feature age was proposed")
	}
}
