package firing

import (
	"context"
	"slices"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// Load returns what was put and not deleted since, and names the records it
// cannot read instead of failing on them.
func TestPutDeleteLoad(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name           string
		put            []string // fingerprints
		del            []string
		junk           []string // keys holding records that do not decode
		want, wantJunk []string
	}{
		{name: "empty bucket"},
		{name: "put then load", put: []string{"a", "b"}, want: []string{"a", "b"}},
		{name: "a resolved alert is gone", put: []string{"a", "b"}, del: []string{"a"}, want: []string{"b"}},
		{name: "deleting what is not there is harmless", del: []string{"c"}},
		{name: "an unreadable record is named, not fatal", put: []string{"a"}, junk: []string{"x"}, want: []string{"a"}, wantJunk: []string{"x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			js := servicetest.Bus(t).JetStream()
			s, err := Open(ctx, js)
			if err != nil {
				t.Fatal(err)
			}
			for _, fp := range tc.put {
				if err := s.Put(ctx, events.AnomalyDetected{AnomalyID: "id-" + fp, Fingerprint: fp}); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range tc.junk {
				if _, err := s.kv.PutString(ctx, k, "{not json"); err != nil {
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
			var fps []string
			for _, a := range got {
				fps = append(fps, a.Fingerprint)
			}
			slices.Sort(fps)
			if !slices.Equal(fps, tc.want) || !slices.Equal(junk, tc.wantJunk) {
				t.Fatalf("loaded %v and unreadable %v, want %v and %v", fps, junk, tc.want, tc.wantJunk)
			}
		})
	}
}
