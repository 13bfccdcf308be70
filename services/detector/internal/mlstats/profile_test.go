package mlstats

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestNumericProfileRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	ref := normalSample(rng, 5000, 10)
	p, err := NewNumericProfile("latency", ref, ProfileOptions{SampleSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Numeric.Edges) != DefaultPSIBins-1 || len(p.Numeric.Sample) != 200 || p.Count != 5000 {
		t.Fatalf("edges %d, sample %d, count %d", len(p.Numeric.Edges), len(p.Numeric.Sample), p.Count)
	}
	var buf bytes.Buffer
	if err := SaveProfile(&buf, p); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadProfile(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, loaded) {
		t.Fatal("profile changed through JSON")
	}
	// The loaded profile measures drift like the raw reference does.
	cur := normalSample(rng, 1000, 10.5)
	fromProfile, _ := loaded.Numeric.PSI(cur)
	fromData, _ := NumericPSI(ref, cur)
	if fromProfile.PSI != fromData.PSI {
		t.Fatalf("PSI from profile %v, from data %v", fromProfile.PSI, fromData.PSI)
	}
	ks, err := loaded.Numeric.KS(cur)
	if err != nil || !ks.Drifted() {
		t.Fatalf("KS of a half-sigma shift against the profile sample: %+v, %v", ks, err)
	}
}

func TestNumericProfileSampleIsReproducible(t *testing.T) {
	ref := make([]float64, 10000)
	for i := range ref {
		ref[i] = float64(i)
	}
	a, _ := NewNumericProfile("x", ref, ProfileOptions{SampleSize: 50})
	b, _ := NewNumericProfile("x", ref, ProfileOptions{SampleSize: 50})
	c, _ := NewNumericProfile("x", ref, ProfileOptions{SampleSize: 50, Seed: 2})
	if !reflect.DeepEqual(a.Numeric.Sample, b.Numeric.Sample) {
		t.Fatal("same seed, different samples")
	}
	if reflect.DeepEqual(a.Numeric.Sample, c.Numeric.Sample) {
		t.Fatal("different seeds, same sample")
	}
}

func TestLoadProfileFixtures(t *testing.T) {
	for _, name := range []string{"testdata/numeric_profile.json", "testdata/categorical_profile.json"} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := LoadProfile(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Feature == "" {
			t.Fatalf("%s: no feature", name)
		}
	}
}

func TestLoadProfileErrorsNameTheField(t *testing.T) {
	valid, err := os.ReadFile("testdata/numeric_profile.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		old, new  string
		wantField string
	}{
		{"version", `"version": 1`, `"version": 2`, "version"},
		{"feature", `"feature": "age"`, `"feature": ""`, "feature"},
		{"kind", `"kind": "numeric"`, `"kind": "text"`, "kind"},
		{"count", `"count": 4`, `"count": 0`, "count"},
		{"edges order", `[20, 40]`, `[40, 20]`, "numeric.edges[1]"},
		{"shares length", `[0.25, 0.5, 0.25]`, `[0.5, 0.5]`, "numeric.shares"},
		{"share range", `[0.25, 0.5, 0.25]`, `[-0.25, 1, 0.25]`, "numeric.shares[0]"},
		{"shares sum", `[0.25, 0.5, 0.25]`, `[0.25, 0.5, 0.5]`, "numeric.shares"},
		{"sample order", `[18, 25, 33, 61]`, `[18, 33, 25, 61]`, "numeric.sample[2]"},
		{"sample empty", `[18, 25, 33, 61]`, `[]`, "numeric.sample"},
		{"wrong type", `"count": 4`, `"count": "four"`, "count"},
		{"kind mismatch", `"kind": "numeric"`, `"kind": "categorical"`, "numeric"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Contains(valid, []byte(tt.old)) {
				t.Fatalf("fixture lacks %s", tt.old)
			}
			_, err := LoadProfile(bytes.NewReader(bytes.Replace(valid, []byte(tt.old), []byte(tt.new), 1)))
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("err = %v, want a FieldError on %s", err, tt.wantField)
			}
		})
	}
}

func TestLoadProfileCategoricalErrors(t *testing.T) {
	valid, err := os.ReadFile("testdata/categorical_profile.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ old, new, wantField string }{
		{`"value": "fr"`, `"value": "de"`, "categorical.categories[1].value"},
		{`"share": 0.3`, `"share": 1.3`, "categorical.categories[1].share"},
		{`"other": 0.2`, `"other": 0.3`, "categorical.categories"},
		{`"other": 0.2`, `"other": 1`, "categorical.other"},
	}
	for _, tt := range tests {
		_, err := LoadProfile(bytes.NewReader(bytes.Replace(valid, []byte(tt.old), []byte(tt.new), 1)))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.wantField {
			t.Errorf("%s → %s: err = %v, want a FieldError on %s", tt.old, tt.new, err, tt.wantField)
		}
	}
}

func TestLoadProfileRejectsUnknownAndTrailing(t *testing.T) {
	valid, _ := os.ReadFile("testdata/numeric_profile.json")
	unknown := bytes.Replace(valid, []byte(`"count": 4`), []byte(`"count": 4, "bins": 10`), 1)
	if _, err := LoadProfile(bytes.NewReader(unknown)); err == nil || !strings.Contains(err.Error(), `"bins"`) {
		t.Errorf("unknown field: err = %v", err)
	}
	if _, err := LoadProfile(bytes.NewReader(append(valid, "{}"...))); err == nil {
		t.Error("trailing data accepted")
	}
}

func TestSaveProfileRefusesInvalid(t *testing.T) {
	p := &Profile{Version: 1, Feature: "x", Kind: KindNumeric, Count: 1,
		Numeric: &NumericProfile{Shares: []float64{1}, Sample: []float64{math.NaN()}}}
	var fe *FieldError
	if err := SaveProfile(&bytes.Buffer{}, p); !errors.As(err, &fe) || fe.Field != "numeric.sample[0]" {
		t.Fatalf("err = %v", err)
	}
}

// FuzzLoadProfile checks that the loader never panics and that whatever it
// accepts is safe to use: it survives a JSON round trip unchanged, and the
// drift functions return finite statistics on it.
func FuzzLoadProfile(f *testing.F) {
	for _, name := range []string{"testdata/numeric_profile.json", "testdata/categorical_profile.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"feature":"f","kind":"numeric","count":1,"numeric":{"edges":[],"shares":[1],"sample":[0]}}`))
	f.Add([]byte(`{"version":1,"feature":"f","kind":"categorical","count":1,"categorical":{"categories":[{"value":"","share":1}],"other":0}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := LoadProfile(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := SaveProfile(&buf, p); err != nil {
			t.Fatalf("accepted profile does not save: %v", err)
		}
		again, err := LoadProfile(&buf)
		if err != nil || !reflect.DeepEqual(p, again) {
			t.Fatalf("round trip: %v", err)
		}
		switch p.Kind {
		case KindNumeric:
			res, err := p.Numeric.PSI([]float64{-1e300, 0, 1, 1e300})
			if err != nil || math.IsNaN(res.PSI) || math.IsInf(res.PSI, 0) {
				t.Fatalf("numeric PSI = %v, %v", res.PSI, err)
			}
			ks, err := p.Numeric.KS([]float64{0, 1})
			if err != nil || math.IsNaN(ks.PValue) {
				t.Fatalf("KS = %+v, %v", ks, err)
			}
		case KindCategorical:
			res, err := p.Categorical.PSI([]string{"", "a", "zz"})
			if err != nil || math.IsNaN(res.PSI) || math.IsInf(res.PSI, 0) {
				t.Fatalf("categorical PSI = %v, %v", res.PSI, err)
			}
		}
	})
}
