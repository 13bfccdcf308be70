package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/kv"
)

// DefaultLeaseTTL is how long an execution's lease lasts without renewal:
// how soon after its remediator dies a running execution is taken over.
const DefaultLeaseTTL = 10 * time.Second

// errLeaseLost means another delivery took the execution over: this one
// must stop acting and leave the outcome to it.
var errLeaseLost = errors.New("execution taken over by another delivery")

// lease is a delivery's hold on a running execution's record: every write
// goes through it, at the revision it last wrote.
type lease struct {
	g   *guard
	id  string
	ttl time.Duration
	now func() time.Time
	log *slog.Logger

	mu   sync.Mutex
	rev  uint64
	rec  record
	lost bool
}

// update applies fn to the record and stores it. When the record moved on
// without this lease, the lease is lost for good.
func (l *lease) update(ctx context.Context, fn func(*record)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return errLeaseLost
	}
	r := l.rec
	fn(&r)
	rev, err := l.g.update(ctx, l.id, l.rev, r)
	if errors.Is(err, kv.ErrConflict) {
		l.lost = true
		return fmt.Errorf("%w: %w", errLeaseLost, err)
	}
	if err != nil {
		return err
	}
	l.rev, l.rec = rev, r
	return nil
}

// current returns the record as last stored and its revision.
func (l *lease) current() (uint64, record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rev, l.rec
}

// renew extends the lease by its TTL from now.
func (l *lease) renew(ctx context.Context) error {
	return l.update(ctx, func(r *record) { r.LeaseUntilUnixNano = l.now().Add(l.ttl).UnixNano() })
}

// keep renews the lease every third of its TTL until the returned stop is
// called. When the lease is lost it calls onLost, which stops the run.
func (l *lease) keep(ctx context.Context, onLost func()) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(l.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := l.renew(ctx)
			switch {
			case errors.Is(err, errLeaseLost):
				l.log.Error("another delivery took the execution over; stopping this run", "err", err)
				onLost()
				return
			case err != nil && ctx.Err() == nil:
				// NATS may be back before the lease runs out.
				l.log.Warn("could not renew the execution's lease", "err", err)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// newLease is the lease of the execution in r, stored at revision rev.
func (x *Executor) newLease(log *slog.Logger, rev uint64, r record) *lease {
	return &lease{g: x.guard, id: r.Outcome.ExecutionID, ttl: x.leaseTTL(), now: x.now, log: log, rev: rev, rec: r}
}

func (x *Executor) leaseTTL() time.Duration {
	if x.LeaseTTL <= 0 {
		return DefaultLeaseTTL
	}
	return x.LeaseTTL
}
