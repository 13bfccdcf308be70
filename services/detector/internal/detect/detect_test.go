package detect

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/medic-sre/medic/services/detector/internal/firing"
	"github.com/medic-sre/medic/services/detector/internal/rules"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// flakyBus fails the first publishes with err, then publishes on the real bus.
type flakyBus struct {
	real      *bus.Bus
	failures  int
	err       error
	published []string
}

func (f *flakyBus) Emit(ctx context.Context, id string, data events.Data) (events.Meta, error) {
	if f.failures > 0 {
		f.failures--
		return events.Meta{}, f.err
	}
	ev, err := f.real.Emit(ctx, id, data)
	if err == nil {
		f.published = append(f.published, id)
	}
	return ev, err
}

// A batch whose publish fails is redelivered: the anomaly is then published
// once, and the batch's points are not counted twice. A publish that can
// never succeed is dropped rather than blocking every later batch.
func TestPublishFailures(t *testing.T) {
	b := servicetest.Bus(t)
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	f, err := rules.Load("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := firing.Open(ctx, b.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		err           error
		wantFirstErr  bool
		wantPublished int
	}{
		{name: "transient failure is retried on redelivery", err: errors.New("nats: timeout"), wantFirstErr: true, wantPublished: 1},
		{name: "permanent failure is dropped", err: outcome.Permanent(errors.New("schema")), wantPublished: 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.Rules[0]
			r.Name += string(rune('a' + i)) // its own fingerprint, so JetStream does not fold across cases
			eng, err := engine.New([]rules.Rule{r}, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			pub := &flakyBus{real: b, failures: 1, err: tc.err}
			d := New(log, pub, eng, Options{Firing: fs})
			batch := telemetry(t, tc.name)
			before := testutil.ToFloat64(d.metrics.points)
			if err := d.Handle(ctx, batch); (err != nil) != tc.wantFirstErr {
				t.Fatalf("first delivery: err %v, want error: %v", err, tc.wantFirstErr)
			}
			if err := d.Handle(ctx, batch); err != nil {
				t.Fatalf("redelivery: %v", err)
			}
			if len(pub.published) != tc.wantPublished {
				t.Errorf("published %d events, want %d", len(pub.published), tc.wantPublished)
			}
			if got, want := testutil.ToFloat64(d.metrics.points)-before, float64(pointCount(t, batch)); got != want {
				t.Errorf("engine saw %v points, want %v (each once)", got, want)
			}
			// A dropped anomaly keeps no record: it would be announced
			// again at every restart.
			records, _, err := fs.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			kept := 0
			for _, rec := range records {
				if rec.Detected.Rule == r.Name {
					kept++
				}
			}
			if want := tc.wantPublished; kept != want {
				t.Errorf("the firing store keeps %d records of the rule, want %d", kept, want)
			}
		})
	}
}

// A point stamped far ahead of the detector's clock is counted
// and not evaluated; the fault in the same batch is still detected.
func TestFuturePointsAreNotEvaluated(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	f, err := rules.Load("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := firing.Open(ctx, b.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		ahead        time.Duration
		wantRejected float64
	}{
		{name: "an hour ahead is rejected", ahead: time.Hour, wantRejected: 1},
		{name: "within the skew is evaluated", ahead: 2 * time.Second, wantRejected: 0},
		{name: "50s ahead is beyond the default skew", ahead: 50 * time.Second, wantRejected: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := engine.New(f.Rules, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			pub := &flakyBus{real: b}
			d := New(slog.New(slog.DiscardHandler), pub, eng, Options{Firing: fs})
			batch := telemetry(t, tc.name, events.Point{Name: "prediction.error", Value: 0,
				TimeUnixNano: time.Now().Add(tc.ahead).UnixNano(), Service: "model-server", Model: "other"})
			before := testutil.ToFloat64(d.metrics.rejected.WithLabelValues("future"))
			if err := d.Handle(ctx, batch); err != nil {
				t.Fatal(err)
			}
			if got := testutil.ToFloat64(d.metrics.rejected.WithLabelValues("future")) - before; got != tc.wantRejected {
				t.Errorf("%s counts %v rejected points, want %v", "medic_detector_points_rejected_total", got, tc.wantRejected)
			}
			if tc.wantRejected > 0 && len(pub.published) != 1 {
				t.Errorf("published %d anomaly events, want the fault's anomaly.detected", len(pub.published))
			}
		})
	}
}

// Telemetry stamped long ago (a user loading recorded data through OTLP) is
// backfill: an error spike in it raises no anomaly, and its points are
// counted as too old. The same spike stamped now fires.
func TestBackfillRaisesNoAnomaly(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	f, err := rules.Load("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := firing.Open(ctx, b.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		ago           time.Duration
		wantRejected  float64
		wantPublished int
	}{
		{name: "a spike 3 hours ago is backfill", ago: 3 * time.Hour, wantRejected: 100, wantPublished: 0},
		{name: "a spike a year ago is backfill", ago: 365 * 24 * time.Hour, wantRejected: 100, wantPublished: 0},
		{name: "the same spike now fires", ago: 0, wantRejected: 0, wantPublished: 1},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.Rules[0]
			r.Name += "-backfill-" + string(rune('a'+i)) // its own fingerprint, so JetStream does not fold across cases
			eng, err := engine.New([]rules.Rule{r}, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			pub := &flakyBus{real: b}
			d := New(slog.New(slog.DiscardHandler), pub, eng, Options{Firing: fs})
			batch := telemetry(t, tc.name)
			for j := range batch[0].Data.Points {
				batch[0].Data.Points[j].TimeUnixNano -= int64(tc.ago)
			}
			before := testutil.ToFloat64(d.metrics.rejected.WithLabelValues(ReasonTooOld))
			if err := d.Handle(ctx, batch); err != nil {
				t.Fatal(err)
			}
			if got := testutil.ToFloat64(d.metrics.rejected.WithLabelValues(ReasonTooOld)) - before; got != tc.wantRejected {
				t.Errorf("medic_detector_points_rejected_total{reason=%q} moved by %v, want %v", ReasonTooOld, got, tc.wantRejected)
			}
			if len(pub.published) != tc.wantPublished {
				t.Errorf("published %d anomaly events, want %d", len(pub.published), tc.wantPublished)
			}
		})
	}
}

// The log about backfill says at most one line a minute, with the count of
// the points since the line before.
func TestThrottle(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	th := throttle{every: time.Minute}
	steps := []struct {
		at     time.Duration
		n      int
		want   int
		wantOK bool
	}{
		{at: 0, n: 5, want: 5, wantOK: true},
		{at: time.Second, n: 7, wantOK: false},
		{at: 59 * time.Second, n: 1, wantOK: false},
		{at: time.Minute, n: 2, want: 10, wantOK: true},
	}
	for _, s := range steps {
		if got, ok := th.add(s.n, start.Add(s.at)); got != s.want || ok != s.wantOK {
			t.Fatalf("at %v: got %d, %v; want %d, %v", s.at, got, ok, s.want, s.wantOK)
		}
	}
}

// With a skew wide enough to let it in, one point 50s ahead on another
// service's metric moves event time for its own series only: the batches
// after it are evaluated on their own time, and the fault in them is
// detected (issue #5, defect 2).
func TestAFuturePointDoesNotBlindOtherSeries(t *testing.T) {
	ctx := context.Background()
	d, pub := testDetector(t, slog.New(slog.DiscardHandler), Options{MaxClockSkew: time.Minute})
	future := batchOf("future", events.TelemetryPoints{Source: "test", Points: []events.Point{{
		Name: "request.error", TimeUnixNano: time.Now().Add(50 * time.Second).UnixNano(), Service: "gateway", Model: "fraud"}}})
	if err := d.Handle(ctx, future); err != nil {
		t.Fatal(err)
	}
	// The fault's batch, with the feature-service reporting too, as the
	// simulator's three services do.
	var others []events.Point
	for at := time.Duration(0); at < 2*time.Second; at += 20 * time.Millisecond {
		others = append(others, events.Point{Name: "feature.latency_ms", Value: 5,
			TimeUnixNano: time.Now().Truncate(time.Second).Add(at).UnixNano(), Service: "feature-service", Model: "fraud"})
	}
	if err := d.Handle(ctx, telemetry(t, "fault after a future point", others...)); err != nil {
		t.Fatal(err)
	}
	if len(pub.published) != 1 {
		t.Fatalf("published %d anomaly events, want the fault's anomaly.detected", len(pub.published))
	}
}

// telemetry is one event with 2s of model-server errors, enough to fire the
// test rule, and any extra points after them.
func telemetry(t *testing.T, id string, extra ...events.Point) []events.Item[events.TelemetryPoints] {
	t.Helper()
	base := time.Now().Truncate(time.Second)
	var points []events.Point
	for at := time.Duration(0); at < 2*time.Second; at += 20 * time.Millisecond {
		points = append(points, events.Point{Name: "prediction.error", Value: 1, TimeUnixNano: base.Add(at).UnixNano(),
			Service: "model-server", Model: "fraud"})
	}
	points = append(points, extra...)
	return batchOf(id, events.TelemetryPoints{Source: "test", Points: points})
}

// batchOf is a batch of one telemetry event, as the bus hands it over.
func batchOf(id string, tp events.TelemetryPoints) []events.Item[events.TelemetryPoints] {
	return []events.Item[events.TelemetryPoints]{{Meta: events.Meta{ID: id, Type: tp.EventType(), Time: time.Now()}, Data: tp}}
}

func pointCount(t *testing.T, batch []events.Item[events.TelemetryPoints]) int {
	n := 0
	for _, it := range batch {
		n += len(it.Data.Points)
	}
	return n
}

func TestRecentForgetsOldest(t *testing.T) {
	r := newRecent(2)
	tests := []struct {
		id   string
		want bool
	}{
		{"a", true}, {"a", false}, {"b", true}, {"c", true}, {"b", false}, {"a", true},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			if got := r.add(tc.id); got != tc.want {
				t.Fatalf("add(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}

// testDetector is a detector of the test rules, evaluated every 100 ms,
// with its firing store on an embedded bus it publishes to through a
// flakyBus; o.Firing is filled in.
func testDetector(t *testing.T, log *slog.Logger, o Options) (*Detector, *flakyBus) {
	t.Helper()
	b := servicetest.Bus(t)
	f, err := rules.Load("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if o.Firing, err = firing.Open(context.Background(), b.JetStream()); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(f.Rules, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	pub := &flakyBus{real: b}
	return New(log, pub, eng, o), pub
}
