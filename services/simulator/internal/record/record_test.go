package record

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/inferencelog"
)

func short(t *testing.T, scenario string, seed uint64) string {
	t.Helper()
	o := Options{Seed: seed, Scenario: scenario, Duration: 6 * time.Minute, FaultAt: 2 * time.Minute,
		FaultFor: 2 * time.Minute, DeployAt: time.Minute, RPS: 20, Season: time.Hour, Swing: 0.25,
		LabelDelay: 5 * time.Second, Export: 5 * time.Second, Out: t.TempDir()}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o.Out
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSameSeedSameRecording(t *testing.T) {
	a, b := short(t, fault.ErrorBurst, 7), short(t, fault.ErrorBurst, 7)
	for _, f := range []string{"inference.jsonl", "points.jsonl", "labels.json"} {
		if !bytes.Equal(read(t, a, f), read(t, b, f)) {
			t.Errorf("%s differs between two runs of seed 7", f)
		}
	}
	if c := short(t, fault.ErrorBurst, 8); bytes.Equal(read(t, a, "inference.jsonl"), read(t, c, "inference.jsonl")) {
		t.Error("seeds 7 and 8 recorded the same inference log")
	}
}

// inFault counts inference records inside and outside the fault, and
// those that satisfy pred.
func inFault(t *testing.T, dir string, pred func(inferencelog.Record) bool) (in, inHit, out, outHit int) {
	t.Helper()
	var truth Truth
	if err := json.Unmarshal(read(t, dir, "labels.json"), &truth); err != nil {
		t.Fatal(err)
	}
	if len(truth.Faults) != 1 {
		t.Fatalf("labels.json has %d faults, want 1", len(truth.Faults))
	}
	f := truth.Faults[0]
	for line := range bytes.Lines(read(t, dir, "inference.jsonl")) {
		var r inferencelog.Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		hit := pred(r)
		if r.Timestamp >= f.StartUnixMs && r.Timestamp < f.EndUnixMs {
			in, inHit = in+1, inHit+bit(hit)
		} else {
			out, outHit = out+1, outHit+bit(hit)
		}
	}
	return in, inHit, out, outHit
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestFaultsBiteOnlyWhileInjected(t *testing.T) {
	for _, tc := range []struct {
		kind string
		hit  func(inferencelog.Record) bool
	}{
		{fault.OutOfRange, func(r inferencelog.Record) bool { return *r.Features["account_age_days"] >= 36500 }},
		{fault.WorseCanary, func(r inferencelog.Record) bool { return r.ModelVersion == "v3" }},
		{fault.CategoricalShift, func(r inferencelog.Record) bool { return *r.Features["channel"] == 2 }},
		{fault.ErrorBurst, func(r inferencelog.Record) bool { return r.Error != "" }},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			in, inHit, out, outHit := inFault(t, short(t, tc.kind, 1), tc.hit)
			inShare, outShare := float64(inHit)/float64(in), float64(outHit)/float64(out)
			if inShare < 0.15 || outShare > 0.12 {
				t.Errorf("share hit in the fault %.3f (want >= 0.15), outside %.3f (want <= 0.12)", inShare, outShare)
			}
		})
	}
	t.Run(fault.ThroughputDrop, func(t *testing.T) {
		in, _, out, _ := inFault(t, short(t, fault.ThroughputDrop, 1), func(inferencelog.Record) bool { return true })
		// The fault lasts 2 of 6 minutes: at full traffic, in is out/2.
		if ratio := float64(in) / float64(out/2); ratio > 0.5 {
			t.Errorf("traffic in the fault is %.2f of the usual, want about %.2f", ratio, 0.35)
		}
	})
}

func TestValidate(t *testing.T) {
	good := func() Options {
		return Options{Seed: 1, Scenario: fault.SlowDependency, Duration: time.Hour, FaultAt: 35 * time.Minute,
			FaultFor: 10 * time.Minute, DeployAt: 20 * time.Minute, RPS: 10, Season: time.Hour, Swing: 0.25,
			LabelDelay: 5 * time.Second, Export: 5 * time.Second, Out: "x"}
	}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		ok   bool
	}{
		{name: "good", edit: func(*Options) {}, ok: true},
		{name: "unknown scenario", edit: func(o *Options) { o.Scenario = "meteor" }},
		{name: "fault past the end", edit: func(o *Options) { o.FaultAt = 55 * time.Minute }},
		{name: "fault between ticks", edit: func(o *Options) { o.FaultAt += 50 * time.Millisecond }},
		{name: "no out", edit: func(o *Options) { o.Out = "" }},
		{name: "healthy ignores the fault", edit: func(o *Options) { o.Scenario, o.FaultAt = Healthy, 2*time.Hour }, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good()
			tc.edit(&o)
			if err := o.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
