package incident_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/services/remediator/internal/incident"
)

func opened(id string, detected int64, anomalies ...string) events.IncidentOpened {
	o := events.IncidentOpened{IncidentID: id, GroupKey: "g", Title: "t", Severity: events.SeverityCritical,
		StartedUnixNano: detected, DetectedUnixNano: detected, OpenedUnixNano: detected + 1}
	for _, a := range anomalies {
		o.Anomalies = append(o.Anomalies, events.AnomalyRef{AnomalyID: a, Rule: "r", Metric: "m", Service: "s"})
	}
	return o
}

func TestMerges(t *testing.T) {
	upd := events.IncidentUpdated{IncidentOpened: opened("i", 100, "a1", "a2"), AddedAnomalyIDs: []string{"a2"}, UpdatedUnixNano: 300}
	resolved := events.IncidentTransition{IncidentID: "i", AtUnixNano: 500, ResolvedUnixNano: 490}
	ack := events.IncidentTransition{IncidentID: "i", AtUnixNano: 600}
	tests := []struct {
		name  string
		steps []func(incident.Record) incident.Record
		want  incident.Record
	}{
		{name: "opened", steps: []func(incident.Record) incident.Record{
			func(r incident.Record) incident.Record { return incident.Opened(r, opened("i", 100, "a1")) }},
			want: incident.Record{ID: "i", Members: []string{"a1"}, DetectedUnixNano: 100, OpenedUnixNano: 101, Status: incident.StatusOpen}},
		{name: "updated adds members, twice changes nothing", steps: []func(incident.Record) incident.Record{
			func(r incident.Record) incident.Record { return incident.Opened(r, opened("i", 100, "a1")) },
			func(r incident.Record) incident.Record { return incident.Updated(r, upd) },
			func(r incident.Record) incident.Record { return incident.Updated(r, upd) }},
			want: incident.Record{ID: "i", Members: []string{"a1", "a2"}, DetectedUnixNano: 100, OpenedUnixNano: 101, Status: incident.StatusOpen}},
		{name: "resolved is sticky, even before opened", steps: []func(incident.Record) incident.Record{
			func(r incident.Record) incident.Record {
				return incident.Transitioned(r, incident.StatusResolved, resolved)
			},
			func(r incident.Record) incident.Record { return incident.Opened(r, opened("i", 100, "a1")) },
			func(r incident.Record) incident.Record {
				return incident.Transitioned(r, incident.StatusAcknowledged, ack)
			}},
			want: incident.Record{ID: "i", Members: []string{"a1"}, DetectedUnixNano: 100, OpenedUnixNano: 101, Status: incident.StatusResolved, ResolvedUnixNano: 490}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r incident.Record
			for _, s := range tc.steps {
				r = s(r)
			}
			if !reflect.DeepEqual(r, tc.want) {
				t.Fatalf("got %+v\nwant %+v", r, tc.want)
			}
		})
	}
}

func TestAdmit(t *testing.T) {
	open := incident.Record{ID: "i", Members: []string{"a1", "a2"}, DetectedUnixNano: 100, Status: incident.StatusOpen}
	resolved := open
	resolved.Status, resolved.ResolvedUnixNano = incident.StatusResolved, 1000
	rca := func(analyzed int64, anomalies ...string) events.RCACompleted {
		return events.RCACompleted{IncidentID: "i", AnalysisID: "an", AnomalyIDs: anomalies, AnalyzedUnixNano: analyzed}
	}
	tests := []struct {
		name  string
		r     incident.Record
		found bool
		rca   events.RCACompleted
		want  incident.Verdict
		why   string
	}{
		{name: "members of an open incident", r: open, found: true, rca: rca(500, "a2", "a1"), want: incident.Admitted},
		{name: "unknown incident", rca: rca(500, "a1"), want: incident.Unconfirmed, why: "incident i does not exist"},
		{name: "foreign anomaly", r: open, found: true, rca: rca(500, "a1", "x9"), want: incident.Unconfirmed, why: "anomalies x9 of analysis an are not members of incident i"},
		{name: "no anomalies", r: open, found: true, rca: rca(500), want: incident.Refused, why: "names no anomalies"},
		{name: "resolved before the analysis", r: resolved, found: true, rca: rca(2000, "a1"), want: incident.Refused, why: "was resolved at"},
		{name: "resolved after the analysis", r: resolved, found: true, rca: rca(500, "a1"), want: incident.Over, why: "after analysis an"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, why := incident.Admit(tc.r, tc.found, tc.rca)
			if v != tc.want || !strings.Contains(why, tc.why) || (tc.why == "" && why != "") {
				t.Fatalf("verdict %v %q, want %v %q", v, why, tc.want, tc.why)
			}
		})
	}
}

// The view is built from incident events, through the real KV bucket.
func TestViewFromEvents(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	v, err := incident.Open(ctx, b.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	id := "inc-" + uuid.NewString()
	var none events.Meta
	steps := []func() error{
		func() error { return v.Opened(ctx, none, opened(id, 100, "a1")) },
		func() error {
			return v.Updated(ctx, none, events.IncidentUpdated{IncidentOpened: opened(id, 100, "a1", "a2"), AddedAnomalyIDs: []string{"a2"}, UpdatedUnixNano: 300})
		},
		func() error {
			return v.Transition(ctx, none, events.IncidentTransition{Status: events.StatusAcknowledged, IncidentID: id, AtUnixNano: 400})
		},
		func() error {
			return v.Transition(ctx, none, events.IncidentTransition{Status: events.StatusResolved, IncidentID: id, AtUnixNano: 500})
		},
	}
	for i, step := range steps {
		// Twice each: a redelivery changes nothing.
		for range 2 {
			if err := step(); err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
	}
	r, found, err := v.Get(ctx, id)
	want := incident.Record{ID: id, Members: []string{"a1", "a2"}, DetectedUnixNano: 100, OpenedUnixNano: 101,
		Status: incident.StatusResolved, ResolvedUnixNano: 500}
	if err != nil || !found || !reflect.DeepEqual(r, want) {
		t.Fatalf("record %+v found %v (%v)\nwant %+v", r, found, err, want)
	}
	if _, found, err := v.Get(ctx, "inc-never"); found || err != nil {
		t.Fatalf("unknown incident found %v (%v)", found, err)
	}
}

// Any incident id can be kept: ids come from events, and before the view
// escaped its keys an id that is no valid KV key ("inc 1", "inc.") could
// not be stored, so its incident was never admitted.
func TestViewTakesAnyIncidentID(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	v, err := incident.Open(ctx, b.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"inc 1", "inc.", ".inc", "inc*>", "incident-ü"} {
		t.Run(id, func(t *testing.T) {
			if err := v.Apply(ctx, id, func(r incident.Record) incident.Record { return incident.Opened(r, opened(id, 100, "a1")) }); err != nil {
				t.Fatal(err)
			}
			if r, found, err := v.Get(ctx, id); err != nil || !found || r.ID != id {
				t.Fatalf("Get(%q) = %+v, %v, %v", id, r, found, err)
			}
		})
	}
}
