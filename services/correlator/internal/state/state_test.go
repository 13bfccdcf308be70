package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/services/correlator/internal/incident"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, servicetest.Bus(t).JetStream())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Saving, linking and resolving an incident moves the pointers as the
// correlator relies on; a stale revision is refused.
func TestStoreRoundTrip(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a := events.AnomalyDetected{AnomalyID: "a.1", Rule: "r", Metric: "m", Severity: events.SeverityWarning, Service: "svc", Model: "fraud"}
	st, _ := incident.Open("inc-1", "model=fraud", a, "e1", 1)
	if err := s.Save(ctx, st, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Link(ctx, st); err != nil {
		t.Fatal(err)
	}
	if id, err := s.OpenIncident(ctx, "model=fraud"); err != nil || id != "inc-1" {
		t.Fatalf("OpenIncident = %q, %v; want inc-1", id, err)
	}
	if id, err := s.IncidentOf(ctx, "a.1"); err != nil || id != "inc-1" {
		t.Fatalf("IncidentOf = %q, %v; want inc-1", id, err)
	}
	got, rev, err := s.Incident(ctx, "inc-1")
	if err != nil || got.Title != st.Title || !got.Has("a.1") {
		t.Fatalf("Incident = %+v, %v", got, err)
	}
	if err := s.Save(ctx, got, 0); err == nil {
		t.Fatal("creating an incident twice succeeded")
	}
	if _, err := got.ResolveAnomaly(events.AnomalyResolved{AnomalyID: "a.1", ResolvedUnixNano: 5}, "e2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, got, rev); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, got, rev); err == nil {
		t.Fatal("saving at a stale revision succeeded")
	}
	if err := s.Link(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenIncident(ctx, "model=fraud"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("group still points at a resolved incident: %v", err)
	}
	if _, _, err := s.Incident(ctx, "absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Incident(absent) err = %v, want ErrNotFound", err)
	}
}

// The first claim of a group wins; a later one learns the holder, and can
// replace it only at the revision it saw.
func TestClaimGroup(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	holder, rev, err := s.ClaimGroup(ctx, "model=fraud", "inc-1")
	if err != nil || holder != "inc-1" {
		t.Fatalf("first claim: holder %q, %v; want inc-1", holder, err)
	}
	tests := []struct {
		name, id, wantHolder string
	}{
		{name: "another incident finds the holder", id: "inc-2", wantHolder: "inc-1"},
		{name: "the holder's own retry finds itself", id: "inc-1", wantHolder: "inc-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, gotRev, err := s.ClaimGroup(ctx, "model=fraud", tc.id)
			if err != nil || got != tc.wantHolder || gotRev != rev {
				t.Fatalf("claim by %s: holder %q at %d, %v; want %s at %d", tc.id, got, gotRev, err, tc.wantHolder, rev)
			}
		})
	}
	if err := s.TakeGroup(ctx, "model=fraud", "inc-2", rev); err != nil {
		t.Fatal(err)
	}
	if err := s.TakeGroup(ctx, "model=fraud", "inc-3", rev); err == nil {
		t.Fatal("taking the group at a stale revision succeeded")
	}
	if id, err := s.OpenIncident(ctx, "model=fraud"); err != nil || id != "inc-2" {
		t.Fatalf("group points at %q, %v; want inc-2", id, err)
	}
}
