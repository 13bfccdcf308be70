package stack

import (
	"context"
	"time"
)

// Supervise restarts any process of the stack that exits on its own, as a
// service manager would, until ctx ends: `medic up` runs for days, and a
// crashed service must not leave a hole in the pipeline. Restarts back off
// from 1 s to 30 s per process while it keeps failing. Call Stop only
// after ctx ended and Supervise returned.
func (s *Stack) Supervise(ctx context.Context) {
	backoff := map[string]time.Duration{}
	next := map[string]time.Time{}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for _, p := range append([]*Process(nil), s.order...) {
				if p.ready != nil || !p.Exited() || now.Before(next[p.Name]) {
					continue // NATS (a child only in tests), running, or backing off
				}
				s.progress("%s exited unexpectedly (see %s); restarting", p.Name, p.LogPath)
				err := s.Restart(ctx, p.Name)
				if ctx.Err() != nil {
					return
				}
				d := backoff[p.Name]
				if err != nil {
					d = min(max(2*d, time.Second), 30*time.Second)
					s.progress("restarting %s failed: %v; next try in %s", p.Name, err, d)
				} else {
					d = 0
				}
				backoff[p.Name], next[p.Name] = d, now.Add(d)
			}
		}
	}
}
