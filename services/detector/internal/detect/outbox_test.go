package detect

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/medic-sre/medic/services/detector/internal/firing"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// checkingPublisher checks, at the moment each anomaly event is published,
// what the firing store holds for its series.
type checkingPublisher struct {
	t      *testing.T
	store  *firing.Store
	states []string // "type: record state" at each publish
}

func (c *checkingPublisher) Emit(ctx context.Context, id string, data events.Data) (events.Meta, error) {
	records, _, err := c.store.Load(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	state := "no record"
	for _, r := range records {
		if r.Fingerprint() != data.EventSubject() {
			continue
		}
		switch {
		case r.Resolved != nil && r.ResolvedID == id:
			state = "resolution recorded"
		case r.Resolved == nil && !r.Announced && r.DetectedID == id:
			state = "recorded, not announced"
		default:
			state = fmt.Sprintf("other record %+v", r)
		}
	}
	c.states = append(c.states, data.EventType()+": "+state)
	ev, err := events.NewWithID(id, "test", data)
	return events.MetaOf(ev), err
}

// Each anomaly event is recorded in the firing store before it is
// published, so that a detector that stops between the two leaves a record
// to finish from (issue #6, defect 2); the record goes once the resolution
// is out.
func TestRecordsBeforePublishing(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	fs, err := firing.Open(ctx, b.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	f, err := rules.Load("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(f.Rules, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	pub := &checkingPublisher{t: t, store: fs}
	d := New(slog.New(slog.DiscardHandler), pub, eng, Options{Firing: fs})
	bad := telemetry(t, "bad")
	if err := d.Handle(ctx, bad); err != nil {
		t.Fatal(err)
	}
	tp := bad[0].Data
	last := time.Unix(0, tp.Points[len(tp.Points)-1].TimeUnixNano)
	var clean []events.Point
	for at := 20 * time.Millisecond; at < 3*time.Second; at += 20 * time.Millisecond {
		clean = append(clean, events.Point{Name: "prediction.error", Value: 0, TimeUnixNano: last.Add(at).UnixNano(),
			Service: "model-server", Model: "fraud"})
	}
	if err := d.Handle(ctx, batchOf("clean", events.TelemetryPoints{Source: "test", Points: clean})); err != nil {
		t.Fatal(err)
	}
	want := []string{events.TypeAnomalyDetected + ": recorded, not announced", events.TypeAnomalyResolved + ": resolution recorded"}
	if fmt.Sprint(pub.states) != fmt.Sprint(want) {
		t.Fatalf("the store held, at each publish: %v; want %v", pub.states, want)
	}
	if records, _, err := fs.Load(ctx); err != nil || len(records) != 0 {
		t.Fatalf("after the resolution the store holds %v (err %v), want nothing", records, err)
	}
}

// Restore finishes what the previous detector recorded: an alert not yet
// announced is announced, a resolution is published, each under the id it
// was recorded with; an announced alert is not announced again.
func TestRestoreFinishesRecords(t *testing.T) {
	now := time.Now().UnixNano()
	a := events.AnomalyDetected{AnomalyID: "anomaly-a", Rule: "gone", Fingerprint: "fp-a", Metric: "m", Severity: "critical",
		StartedUnixNano: now, DetectedUnixNano: now, Service: "s"}
	res := events.AnomalyResolved{AnomalyID: "anomaly-b", Rule: "gone", Fingerprint: "fp-b", Metric: "m", ResolvedUnixNano: now, Service: "s"}
	resolvedA := events.DerivedID("anomaly.resolved", "fp-a", strconv.FormatInt(now, 10))
	tests := []struct {
		name   string
		record firing.Record
		want   []string // event ids published, in order
	}{
		{name: "recorded, never announced", record: firing.Record{Detected: a, DetectedID: "detected-a"},
			// Announced, then resolved at once: its rule is gone.
			want: []string{"detected-a", resolvedA}},
		{name: "announced", record: firing.Record{Detected: a, DetectedID: "detected-a", Announced: true},
			want: []string{resolvedA}},
		{name: "resolution recorded", record: firing.Record{Resolved: &res, ResolvedID: "resolved-b"}, want: []string{"resolved-b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := servicetest.Bus(t)
			ctx := context.Background()
			fs, err := firing.Open(ctx, b.JetStream())
			if err != nil {
				t.Fatal(err)
			}
			eng, err := engine.New(nil, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			pub := &flakyBus{real: b}
			d := New(slog.New(slog.DiscardHandler), pub, eng, Options{Firing: fs})
			d.Restore([]firing.Record{tc.record})
			if err := d.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(pub.published) != fmt.Sprint(tc.want) {
				t.Fatalf("published %v, want %v", pub.published, tc.want)
			}
			if records, _, err := fs.Load(ctx); err != nil || len(records) != 0 {
				t.Fatalf("the store holds %v (err %v), want nothing once every anomaly is resolved", records, err)
			}
		})
	}
}
