package model

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

type outcome struct{ errorRate, accuracy, p50 float64 }

func run(t *testing.T, version string, n int) outcome {
	t.Helper()
	spec, err := Lookup(version)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	var failed, scored, correct int
	lat := make([]float64, 0, n)
	for range n {
		f := SampleFeatures(rng)
		fraud := rng.Float64() < FraudProbability(f)
		p := spec.Predict(rng, f)
		lat = append(lat, p.LatencyMs)
		if p.Err != nil {
			failed++
			if !errors.Is(p.Err, spec.Err) {
				t.Fatalf("%s failed with %v, want %v", version, p.Err, spec.Err)
			}
			continue
		}
		scored++
		if (p.Score >= 0.5) == fraud {
			correct++
		}
	}
	slices.Sort(lat)
	return outcome{float64(failed) / float64(n), float64(correct) / float64(scored), lat[n/2]}
}

func TestVersionsBehaveAsSpecified(t *testing.T) {
	tests := []struct {
		name           string
		version        string
		minErr, maxErr float64
		minAcc, maxAcc float64
		minP50, maxP50 float64
	}{
		{name: "v1 is good", version: V1, minErr: 0.002, maxErr: 0.009, minAcc: 0.92, maxAcc: 1, minP50: 18, maxP50: 22},
		{name: "v2 fails a third of requests and skews scores", version: V2, minErr: 0.32, maxErr: 0.38, minAcc: 0.3, maxAcc: 0.8, minP50: 20, maxP50: 28},
		{name: "backup is good but slightly worse", version: Backup, minErr: 0.005, maxErr: 0.016, minAcc: 0.85, maxAcc: 0.94, minP50: 19, maxP50: 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.version, 20000)
			t.Logf("%s: %+v", tc.version, got)
			if got.errorRate < tc.minErr || got.errorRate > tc.maxErr {
				t.Errorf("error rate %.4f, want [%v, %v]", got.errorRate, tc.minErr, tc.maxErr)
			}
			if got.accuracy < tc.minAcc || got.accuracy > tc.maxAcc {
				t.Errorf("accuracy %.4f, want [%v, %v]", got.accuracy, tc.minAcc, tc.maxAcc)
			}
			if got.p50 < tc.minP50 || got.p50 > tc.maxP50 {
				t.Errorf("p50 latency %.1fms, want [%v, %v]", got.p50, tc.minP50, tc.maxP50)
			}
		})
	}
	if v1, b := run(t, V1, 20000), run(t, Backup, 20000); b.accuracy >= v1.accuracy {
		t.Errorf("backup accuracy %.4f should be below v1's %.4f", b.accuracy, v1.accuracy)
	}
}

func TestMissingFeatureFailsEveryVersion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, v := range []string{V1, V2, Backup} {
		t.Run(v, func(t *testing.T) {
			f := Features{Amount: 10, AccountAgeDays: 3}
			if got := f.MissingRatio(); got != 1.0/3 {
				t.Fatalf("missing ratio %v", got)
			}
			if p := Specs[v].Predict(rng, f); !errors.Is(p.Err, ErrMissingFeature) || p.LatencyMs <= 0 {
				t.Fatalf("got %+v, want ErrMissingFeature with a latency", p)
			}
		})
	}
	if _, err := Lookup("v9"); err == nil {
		t.Fatal("Lookup of an unknown version must fail")
	}
}
