package firing

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/kv"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// Load returns what was put and not deleted since, in the state it was last
// put in, and names the records it cannot read instead of failing on them.
func TestPutDeleteLoad(t *testing.T) {
	ctx := context.Background()
	fired := func(fp string) Record {
		return Record{Detected: events.AnomalyDetected{AnomalyID: "id-" + fp, Fingerprint: fp}, DetectedID: "ev-" + fp}
	}
	announced := func(fp string) Record { r := fired(fp); r.Announced = true; return r }
	resolving := func(fp string) Record {
		return Record{Resolved: &events.AnomalyResolved{AnomalyID: "id-" + fp, Fingerprint: fp}, ResolvedID: "res-" + fp}
	}
	tests := []struct {
		name     string
		put      []Record
		del      []string
		raw      map[string]string // records written as they are
		want     []string          // fingerprint and state of each record loaded
		wantJunk []string
	}{
		{name: "empty bucket"},
		{name: "put then load", put: []Record{fired("a"), announced("b")}, want: []string{"a fired", "b announced"}},
		{name: "the last put wins", put: []Record{fired("a"), announced("a"), resolving("a")}, want: []string{"a resolving"}},
		{name: "a resolved alert is gone", put: []Record{announced("a"), announced("b")}, del: []string{"a"}, want: []string{"b announced"}},
		{name: "deleting what is not there is harmless", del: []string{"c"}},
		{name: "an unreadable record is named, not fatal", put: []Record{fired("a")}, raw: map[string]string{"x": "{not json"},
			want: []string{"a fired"}, wantJunk: []string{"x"}},
		{name: "a record under another series' key is unreadable", raw: map[string]string{"x": mustJSON(t, announced("y"))},
			wantJunk: []string{"x"}},
		{name: "a record from before states was announced", raw: map[string]string{"old": mustJSON(t, events.AnomalyDetected{AnomalyID: "id-old", Fingerprint: "old"})},
			want: []string{"old announced"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			js := servicetest.Bus(t).JetStream()
			s, err := Open(ctx, js)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.put {
				if err := s.Put(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			text, err := kv.OpenText(ctx, kv.JetStream(js), config)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.raw {
				if _, err := text.Put(ctx, k, v); err != nil {
					t.Fatal(err)
				}
			}
			for _, fp := range tc.del {
				if err := s.Delete(ctx, fp); err != nil {
					t.Fatal(err)
				}
			}
			got, junk, err := s.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var states []string
			for _, r := range got {
				states = append(states, r.Fingerprint()+" "+state(r))
			}
			slices.Sort(states)
			if !slices.Equal(states, tc.want) || !slices.Equal(junk, tc.wantJunk) {
				t.Fatalf("loaded %v and unreadable %v, want %v and %v", states, junk, tc.want, tc.wantJunk)
			}
		})
	}
}

func state(r Record) string {
	switch {
	case r.Resolved != nil:
		return "resolving"
	case r.Announced:
		return "announced"
	}
	return "fired"
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
