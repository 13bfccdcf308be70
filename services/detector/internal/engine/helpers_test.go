package engine

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/mlstats"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// t0 is an arbitrary, step-aligned event time that tests count from.
const t0 = int64(1_700_000_000) * int64(time.Second)

const step = 100 * time.Millisecond

// noLimit lets every point in, whatever its time.
const noLimit = math.MaxInt64

var wallClock = time.Unix(1_800_000_000, 0)

func ms(n int) int64 { return int64(n) * int64(time.Millisecond) }

// pts makes points of one metric every `every` ms in [from, to) ms after
// t0, all with value v, for service s and model m.
func pts(name, svc, model string, from, to, every int, v float64) []events.Point {
	var out []events.Point
	for at := from; at < to; at += every {
		out = append(out, events.Point{Name: name, Value: v, TimeUnixNano: t0 + ms(at), Service: svc, Model: model, ModelVersion: "v1"})
	}
	return out
}

func cat(batches ...[]events.Point) []events.Point {
	var out []events.Point
	for _, b := range batches {
		out = append(out, b...)
	}
	return out
}

// errorRule fires when prediction.error averages above 0.5 over 100ms for
// 500ms, and resolves after 500ms below.
func errorRule() rules.Rule {
	resolve := 500 * time.Millisecond
	return rules.Rule{Name: "errors", Metric: "prediction.error", GroupBy: []string{"service", "model"},
		Aggregate: "avg", Window: 100 * time.Millisecond, Op: ">", Threshold: 0.5, For: 500 * time.Millisecond,
		ResolveFor: &resolve, MinPoints: 5, Severity: "critical", Summary: "{{.Labels.service}} at {{.Value}}"}
}

func newEngine(t testing.TB, rs ...rules.Rule) *Engine {
	t.Helper()
	e, err := New(rs, step)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run feeds each batch then evaluates, as the detector does per batch.
func run(e *Engine, batches ...[]events.Point) []Emission {
	var out []Emission
	for _, b := range batches {
		e.Observe(b, 0, noLimit)
		out = append(out, e.Evaluate(wallClock)...)
	}
	return out
}

// describe renders emissions as "detected errors{svc} +since ms" so that
// tests compare readable timelines.
func describe(out []Emission) []string {
	var s []string
	for _, em := range out {
		switch d := em.Data.(type) {
		case events.AnomalyDetected:
			s = append(s, fmt.Sprintf("detected %s{%s} +%dms", d.Rule, d.Service, (d.StartedUnixNano-t0)/ms(1)))
		case events.AnomalyResolved:
			s = append(s, fmt.Sprintf("resolved %s{%s}", d.Rule, d.Service))
		}
	}
	return s
}

func sameTimeline(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got timeline\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

var (
	inf = math.Inf(1)
	nan = math.NaN()
)

// bucketPoints makes a histogram export every `every` ms in [from, to) ms
// after t0, as the ingest service maps one: a name_bucket point per bound
// in les, holding the le-cumulative count of that export's observations.
func bucketPoints(name, svc string, from, to, every int, les []string, counts []float64) []events.Point {
	var out []events.Point
	for at := from; at < to; at += every {
		for i, le := range les {
			out = append(out, events.Point{Name: name + "_bucket", Value: counts[i], TimeUnixNano: t0 + ms(at),
				Service: svc, Model: "fraud", ModelVersion: "v1", Attributes: map[string]string{"le": le}})
		}
	}
	return out
}

// sortByTime orders points of several metrics by time, as a sender
// exporting them together would.
func sortByTime(p []events.Point) []events.Point {
	slices.SortStableFunc(p, func(a, b events.Point) int { return cmp.Compare(a.TimeUnixNano, b.TimeUnixNano) })
	return p
}

// detectInExports runs points through a new engine over rs at the default
// step, as the detector would: one batch per 500ms export, evaluated after
// it is observed. It
// returns the anomalies detected and the event time (the last point of its
// batch) the last of them came at.
func detectInExports(t *testing.T, rs []rules.Rule, points []events.Point) (fired []events.AnomalyDetected, at int64) {
	t.Helper()
	e, err := New(rs, DefaultStep)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range byTime(points, ms(500)) {
		if rej := e.Observe(b, 0, noLimit); rej.Total() != 0 {
			t.Fatalf("rejected %+v", rej)
		}
		for _, em := range e.Evaluate(wallClock) {
			if d, ok := em.Data.(events.AnomalyDetected); ok {
				fired, at = append(fired, d), b[len(b)-1].TimeUnixNano
			}
		}
	}
	return fired, at
}

// firedOnly fails t unless fired is one anomaly of rule, or none when rule
// is empty; it reports whether there is an anomaly to check further.
func firedOnly(t *testing.T, fired []events.AnomalyDetected, rule string) bool {
	t.Helper()
	if rule == "" {
		if len(fired) != 0 {
			t.Fatalf("fired %v, want none", rulesOf(fired))
		}
		return false
	}
	if len(fired) != 1 || fired[0].Rule != rule {
		t.Fatalf("fired %v, want one anomaly of %s", rulesOf(fired), rule)
	}
	return true
}

// rulesOf names the rules of anomalies, with their summaries.
func rulesOf(ds []events.AnomalyDetected) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Rule+": "+d.Summary)
	}
	return out
}

// saveProfile writes p to a file named for its feature in a temporary
// directory, and returns the file's path.
func saveProfile(t *testing.T, p *mlstats.Profile) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), p.Feature+".json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := mlstats.SaveProfile(f, p); err != nil {
		t.Fatal(err)
	}
	return path
}

// categoricalProfile saves the profile of feature's reference categories
// ref, and returns its path.
func categoricalProfile(t *testing.T, feature string, ref []string) string {
	t.Helper()
	p, err := mlstats.NewCategoricalProfile(feature, ref, mlstats.ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return saveProfile(t, p)
}
