package serving

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
)

// Faults show in the requests and in the instruments the tiers export:
// error rates, null features, latencies, and the version serving.
func TestFaultsShowInRequests(t *testing.T) {
	tests := []struct {
		name                string
		faults              []string
		minErr, maxErr      float64
		minMissing, maxMiss float64
		minP50, maxP50      float64
		wantVersion         string
	}{
		{name: "healthy", minErr: 0, maxErr: 0.02, minP50: 20, maxP50: 35, wantVersion: model.V1},
		{name: "bad model version", faults: []string{fault.BadModelVersion}, minErr: 0.3, maxErr: 0.4, minP50: 25, maxP50: 40, wantVersion: model.V2},
		{name: "feature nulls", faults: []string{fault.FeatureNulls}, minErr: 0.55, maxErr: 0.65, minMissing: 0.55, maxMiss: 0.65, minP50: 20, maxP50: 35, wantVersion: model.V1},
		{name: "slow dependency", faults: []string{fault.SlowDependency}, minErr: 0, maxErr: 0.02, minP50: 420, maxP50: 440, wantVersion: model.V1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.faults...)
			const n = 4000
			t0 := time.Now()
			var failed, missing int
			var latencySum, featureMsSum, predictMsSum, scoreSum float64
			lat := make([]float64, 0, n)
			for i := range n {
				res := r.pipe.Serve(context.Background(), t0.Add(time.Duration(i)*time.Millisecond))
				if res.Version != tc.wantVersion {
					t.Fatalf("served by %s, want %s", res.Version, tc.wantVersion)
				}
				if res.Failed() {
					failed++
				}
				if res.Features.MerchantRisk == nil {
					missing++
				}
				lat = append(lat, res.LatencyMs)
				latencySum += res.LatencyMs
				featureMsSum += res.FeatureMs
				predictMsSum += res.Prediction.LatencyMs
				scoreSum += res.Prediction.Score
			}
			slices.Sort(lat)
			errRate, missRate, p50 := float64(failed)/n, float64(missing)/n, lat[n/2]
			t.Logf("error rate %.3f, missing %.3f, p50 %.1fms", errRate, missRate, p50)
			if errRate < tc.minErr || errRate > tc.maxErr || missRate < tc.minMissing || missRate > tc.maxMiss || p50 < tc.minP50 || p50 > tc.maxP50 {
				t.Errorf("out of range: error rate %.3f [%v,%v], missing %.3f [%v,%v], p50 %.1f [%v,%v]",
					errRate, tc.minErr, tc.maxErr, missRate, tc.minMissing, tc.maxMiss, p50, tc.minP50, tc.maxP50)
			}
			if s := r.pipe.Stats.Summary(t0.Add(n*time.Millisecond), time.Hour); s.Requests != n || s.ErrorRate != errRate {
				t.Errorf("stats %+v, want %d requests at error rate %v", s, n, errRate)
			}

			// The instruments count exactly what the requests did, under
			// the version that served them.
			m := r.collect(t)
			if got := m.versions(); len(got) != 1 || !got["fraud/"+tc.wantVersion] {
				t.Errorf("model versions on the metrics %v, want only fraud/%s", got, tc.wantVersion)
			}
			v := version(tc.wantVersion)
			counters := []struct {
				tier, name string
				want       int
			}{
				{Gateway, "requests", n}, {Gateway, "request.errors", failed},
				{ModelServer, "predictions", n}, {ModelServer, "prediction.errors", failed},
			}
			for _, c := range counters {
				if got := m.count(c.tier, c.name, v); got != int64(c.want) {
					t.Errorf("%s/%s = %d, want %d", c.tier, c.name, got, c.want)
				}
			}
			for _, f := range []string{"amount", "account_age_days", "merchant_risk"} {
				wantMissing := 0
				if f == "merchant_risk" {
					wantMissing = missing
				}
				if got := m.count(FeatureService, "feature.values", v, feature(f)); got != n {
					t.Errorf("feature.values{%s} = %d, want %d", f, got, n)
				}
				if got := m.count(FeatureService, "feature.missing", v, feature(f)); got != int64(wantMissing) {
					t.Errorf("feature.missing{%s} = %d, want %d", f, got, wantMissing)
				}
			}
			histograms := []struct {
				tier, name string
				count      int
				sum        float64
			}{
				{Gateway, "request.latency_ms", n, latencySum},
				{FeatureService, "feature.latency_ms", n, featureMsSum},
				{ModelServer, "prediction.latency_ms", n, predictMsSum},
				{ModelServer, "prediction.score", n - failed, scoreSum},
			}
			for _, h := range histograms {
				count, sum := m.histogram(h.tier, h.name, v)
				if count != uint64(h.count) || math.Abs(sum-h.sum) > 1e-6*math.Max(1, h.sum) {
					t.Errorf("%s/%s: %d values summing to %v, want %d summing to %v", h.tier, h.name, count, sum, h.count, h.sum)
				}
			}
		})
	}
}

// One request's instruments, tier by tier.
func TestInstrumentsOfARequest(t *testing.T) {
	tests := []struct {
		name        string
		faults      []string
		want        func(Result) bool // which request to look at
		wantMissing int64             // merchant_risk served null
		wantErrors  int64
	}{
		{name: "null merchant_risk fails", faults: []string{fault.FeatureNulls},
			want: func(r Result) bool { return r.Features.MerchantRisk == nil }, wantMissing: 1, wantErrors: 1},
		{name: "scored request", want: func(r Result) bool { return !r.Failed() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r rig
			var res Result
			for i := 0; i < 50 && (i == 0 || !tc.want(res)); i++ {
				r = newRig(t, tc.faults...) // one request per rig
				r.pipe.Seed(uint64(i))
				res = r.pipe.Serve(context.Background(), time.Now())
			}
			if !tc.want(res) {
				t.Fatal("no such request in 50")
			}
			m := r.collect(t)
			v := version(model.V1)
			for _, c := range []struct {
				tier, name string
				want       int64
			}{
				{Gateway, "requests", 1}, {Gateway, "request.errors", tc.wantErrors},
				{ModelServer, "predictions", 1}, {ModelServer, "prediction.errors", tc.wantErrors},
			} {
				if got := m.count(c.tier, c.name, v); got != c.want {
					t.Errorf("%s/%s = %d, want %d", c.tier, c.name, got, c.want)
				}
			}
			if got := m.count(FeatureService, "feature.missing", v, feature("merchant_risk")); got != tc.wantMissing {
				t.Errorf("feature.missing{merchant_risk} = %d, want %d", got, tc.wantMissing)
			}
			if got := m.count(FeatureService, "feature.missing", v, feature("amount")); got != 0 {
				t.Errorf("feature.missing{amount} = %d, want 0", got)
			}
			type recorded struct {
				tier, name string
				value      float64
			}
			histograms := []recorded{
				{Gateway, "request.latency_ms", res.LatencyMs},
				{FeatureService, "feature.latency_ms", res.FeatureMs},
				{ModelServer, "prediction.latency_ms", res.Prediction.LatencyMs},
			}
			// A failed prediction has no score.
			if tc.wantErrors == 0 {
				histograms = append(histograms, recorded{ModelServer, "prediction.score", res.Prediction.Score})
			} else if m.exports(ModelServer, "prediction.score") {
				t.Error("a failed prediction recorded a score")
			}
			for _, h := range histograms {
				if count, sum := m.histogram(h.tier, h.name, v); count != 1 || sum != h.value {
					t.Errorf("%s/%s: %d values summing to %v, want one of %v", h.tier, h.name, count, sum, h.value)
				}
			}
		})
	}
}
