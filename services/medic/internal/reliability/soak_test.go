package reliability_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/medic/internal/reliability"
)

// soakFaults rotate, one every soakEvery.
var soakFaults = []string{"bad_model_version", "feature_nulls", "slow_dependency"}

const (
	soakEvery  = 2 * time.Minute
	soakSample = 10 * time.Second
)

// TestSoak runs the stack for MEDIC_SOAK (e.g. 30m) at MEDIC_SOAK_POINTS
// points/s (default 20000), with a fault every 2 minutes, and reports
// every process's memory, every consumer's lag and each fault's recovery
// (`make soak`). It runs only when MEDIC_SOAK is set.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("MEDIC_SOAK"))
	if err != nil {
		t.Skip("set MEDIC_SOAK=30m (make soak) to run the soak")
	}
	points := 20000.0
	if v := os.Getenv("MEDIC_SOAK_POINTS"); v != "" {
		if points, err = strconv.ParseFloat(v, 64); err != nil {
			t.Fatalf("MEDIC_SOAK_POINTS=%q: %v", v, err)
		}
	}
	rps := points / reliability.PointsPerRequest
	ctx, cancel := context.WithTimeout(context.Background(), d+10*time.Minute)
	defer cancel()
	h := reliability.Start(t, reliability.Options{BinDir: binaries(t), Env: []string{fmt.Sprintf("SIM_RPS=%.0f", rps)},
		ProcessEnv: map[string][]string{"rca": reliability.ShortBaselineEnv}})
	h.WaitBaseline(ctx, baseline)

	s := &soak{h: h}
	start := time.Now()
	tick := time.NewTicker(soakSample)
	defer tick.Stop()
	nextFault := start
	for time.Since(start) < d {
		// Faults come at fixed offsets, whether or not the last one was
		// already recovered (and cleared) early.
		if !time.Now().Before(nextFault) {
			s.next(ctx, t)
			nextFault = nextFault.Add(soakEvery)
		}
		sample, err := h.Sample(ctx)
		if err != nil {
			t.Errorf("sample at +%.0fs: %v", time.Since(start).Seconds(), err)
		} else {
			s.samples = append(s.samples, sample)
		}
		s.settle(ctx, t)
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-tick.C:
		}
	}
	s.finish(ctx, t)
	report := reliability.SoakReport(s.samples, s.recs, s.deadLetters(ctx, t), rps, d)
	t.Logf("soak report:\n%s", report)
	if path := os.Getenv("MEDIC_SOAK_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// soak is the state of a soak run: the fault in play and what happened.
type soak struct {
	h       *reliability.Harness
	n       int
	current *reliability.Recovery
	samples []reliability.Sample
	recs    []reliability.Recovery
}

// next ends the fault in play, as a responder would, and injects the next.
func (s *soak) next(ctx context.Context, t *testing.T) {
	s.close(ctx, t, "not recovered in 2m; cleared", time.Now())
	kind := soakFaults[s.n%len(soakFaults)]
	s.n++
	if err := s.h.Inject(ctx, kind); err != nil {
		t.Errorf("inject %s: %v", kind, err)
		return
	}
	s.current = &reliability.Recovery{Kind: kind, InjectedAt: time.Now()}
}

// settle closes the fault in play once an incident opened after it
// resolved or was escalated, and clears it.
func (s *soak) settle(ctx context.Context, t *testing.T) {
	if s.current == nil || s.h.Log.Refresh(ctx) != nil {
		return
	}
	since := s.current.InjectedAt
	opened := map[string]bool{}
	for _, ev := range s.h.Log.Of(events.TypeIncidentOpened) {
		if ev.Meta.Time.After(since) {
			opened[reliability.Field(ev, "incident_id")] = true
		}
	}
	for _, ev := range s.h.Log.Of(events.TypeIncidentResolved) {
		if opened[reliability.Field(ev, "incident_id")] {
			s.close(ctx, t, "resolved", ev.Meta.Time)
			return
		}
	}
	for _, ev := range s.h.Log.Of(events.TypeRemediationEscalated) {
		if ev.Meta.Time.After(since) {
			s.close(ctx, t, "escalated", ev.Meta.Time)
			return
		}
	}
}

// close clears the fault in play and records its outcome, reached at at
// (the time of the event that says so).
func (s *soak) close(ctx context.Context, t *testing.T, outcome string, at time.Time) {
	if s.current == nil {
		return
	}
	// A responder also ends a failover Medic made, as the runbook leaves
	// the backup serving until a person fails back.
	if err := s.h.FailBack(ctx); err != nil {
		t.Errorf("fail back: %v", err)
	}
	if err := s.h.Clear(ctx, s.current.Kind); err != nil {
		t.Errorf("clear %s: %v", s.current.Kind, err)
	}
	s.current.Outcome, s.current.After = outcome, at.Sub(s.current.InjectedAt)
	s.recs = append(s.recs, *s.current)
	s.current = nil
}

func (s *soak) finish(ctx context.Context, t *testing.T) {
	s.close(ctx, t, "open at the end; cleared", time.Now())
}

func (s *soak) deadLetters(ctx context.Context, t *testing.T) int {
	n, err := s.h.DeadLetterCount(ctx)
	if err != nil {
		t.Error(err)
	}
	return n
}
