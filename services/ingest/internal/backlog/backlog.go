// Package backlog tells the ingest service's receivers when to push back:
// when the archiver has fallen too far behind the telemetry it should
// write to ClickHouse. A Watcher asks JetStream, every Every, for the
// pending messages (NumPending + NumAckPending) of the archiver's telemetry
// consumers (archiver-metrics, archiver-spans, archiver-logs) and for the
// telemetry stream's state, and keeps the verdict where Behind reads it
// without a lock.
//
// The archiver is behind when one of its consumers has more than
// MaxBacklog events pending (--max-backlog, MAX_BACKLOG; an event holds up
// to a few thousand points), or when the messages some consumer has not
// read yet fill MaxStreamFill of the stream's byte limit
// (--max-stream-fill, MAX_STREAM_FILL). The second limit counts unread
// messages only, not the stream's bytes: the stream keeps telemetry for
// hours after it is archived and, with DiscardOld, sits at its limit under
// steady heavy traffic; pushing back on that would stop ingest for good
// while the archiver keeps up. What matters is the oldest unread message
// nearing the front of the stream, where DiscardOld would drop it.
//
// While the archiver is behind, OTLP exports are answered 429 /
// RESOURCE_EXHAUSTED with a retry delay and counted in
// medic_ingest_otlp_rejected_total{reason="backpressure"}, and the Kafka
// source stops fetching (its offsets stay put) until it catches up. The
// alert webhooks stay open: their few, small messages are what an operator
// needs most during an overload. The watcher exports
// medic_ingest_backlog_pending{consumer}, medic_ingest_backlog_unread_fill,
// medic_ingest_backpressure (1 while pushing back) and
// medic_ingest_backlog_stale (1 while JetStream does not answer).
package backlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Limits are how far behind the archiver may fall.
type Limits struct {
	// MaxBacklog is the most events any archiver telemetry consumer may
	// have pending (default 2000: at up to ~5000 points an event, about
	// ten million points).
	MaxBacklog uint64
	// MaxStreamFill is the largest share of the telemetry stream's byte
	// limit that messages the archiver has not read may fill (default 0.9).
	MaxStreamFill float64
}

// Options configure a Watcher; zero fields take the defaults.
type Options struct {
	Limits
	// Every is how often the watcher asks JetStream (default 1s).
	Every time.Duration
	// RetryAfter is the delay Behind asks clients to wait (default 5s).
	RetryAfter time.Duration
	// Stream and Consumers name what to watch: Stream is required (the
	// app names the telemetry stream); Consumers default to the archiver's
	// durable consumers on it.
	Stream    string
	Consumers []string
}

// Defaults of Options.
const (
	DefaultMaxBacklog    = 2000
	DefaultMaxStreamFill = 0.9
	DefaultEvery         = time.Second
	DefaultRetryAfter    = 5 * time.Second
)

// infoTimeout bounds one look at the stream and its consumers.
const infoTimeout = 2 * time.Second

func (o Options) withDefaults() Options {
	if o.MaxBacklog == 0 {
		o.MaxBacklog = DefaultMaxBacklog
	}
	if o.MaxStreamFill == 0 {
		o.MaxStreamFill = DefaultMaxStreamFill
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.Consumers == nil {
		for _, c := range archive.Consumers() {
			if c.Stream == o.Stream {
				o.Consumers = append(o.Consumers, c.Durable)
			}
		}
	}
	return o
}

// Validate reports limits that cannot work.
func (l Limits) Validate() error {
	if l.MaxStreamFill < 0 || l.MaxStreamFill > 1 {
		return fmt.Errorf("backlog: MaxStreamFill %g is outside 0..1", l.MaxStreamFill)
	}
	return nil
}

// state is one verdict, swapped whole so that Behind reads it lock-free.
type state struct {
	behind bool
	reason string
	stale  bool
}

// Watcher watches the archiver's backlog; Behind is safe for concurrent
// use.
type Watcher struct {
	js    jetstream.JetStream
	opts  Options
	log   *slog.Logger
	state atomic.Pointer[state]
	m     *metrics
}

// New makes a Watcher over js and registers its metrics with reg; Run
// starts watching. Until its first look it reports nothing behind.
func New(js jetstream.JetStream, opts Options, reg prometheus.Registerer, log *slog.Logger) (*Watcher, error) {
	// The stream is the caller's to name: this package stays off the bus.
	if opts.Stream == "" {
		return nil, errors.New("backlog: Options.Stream names no stream to watch")
	}
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	w := &Watcher{js: js, opts: opts, log: log, m: m}
	w.state.Store(&state{})
	return w, nil
}

// Behind reports whether the archiver is past a limit, with a reason that
// names the limit and how long clients should wait before they retry.
func (w *Watcher) Behind() (behind bool, reason string, retryAfter time.Duration) {
	s := w.state.Load()
	return s.behind, s.reason, w.opts.RetryAfter
}

// Stale reports whether the last look failed, so that the verdict is the
// one before it.
func (w *Watcher) Stale() bool { return w.state.Load().stale }

// Run looks at once and then every Every until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.opts.Every)
	defer t.Stop()
	for {
		if err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.log.Debug("backlog not refreshed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check looks once and updates the verdict. When JetStream does not answer
// it keeps the last verdict and marks it stale: publishing fails then too,
// and those requests are answered 503 on their own.
func (w *Watcher) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	s, cs, err := w.look(ctx)
	prev := w.state.Load()
	if err != nil {
		if !prev.stale {
			w.log.Warn("cannot read the archiver's backlog; keeping the last verdict", "behind", prev.behind, "err", err)
		}
		w.state.Store(&state{behind: prev.behind, reason: prev.reason, stale: true})
		w.m.stale.Set(1)
		return err
	}
	v := assess(w.opts.Limits, s, cs)
	w.state.Store(&state{behind: v.behind, reason: v.reason})
	w.m.observe(v, cs)
	switch {
	case v.behind && !prev.behind:
		w.log.Warn("pushing back on telemetry senders", "why", v.reason)
	case !v.behind && prev.behind:
		w.log.Info("archiver caught up; taking telemetry again")
	}
	if prev.stale {
		w.log.Info("reading the archiver's backlog again")
	}
	return nil
}

// look reads the stream and the consumers that exist. A consumer that does
// not exist (the archiver has never started) holds nothing back: nothing
// would ever drain it, so waiting for it would stop ingest for good, and
// DiscardOld keeps the stream bounded meanwhile.
func (w *Watcher) look(ctx context.Context) (streamView, []consumerView, error) {
	st, err := w.js.Stream(ctx, w.opts.Stream)
	if err != nil {
		return streamView{}, nil, fmt.Errorf("stream %s info: %w", w.opts.Stream, err)
	}
	si := st.CachedInfo()
	s := streamView{name: w.opts.Stream, firstSeq: si.State.FirstSeq, lastSeq: si.State.LastSeq,
		bytes: si.State.Bytes, maxBytes: si.Config.MaxBytes}
	var cs []consumerView
	for _, name := range w.opts.Consumers {
		c, err := st.Consumer(ctx, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			continue
		}
		if err != nil {
			return s, nil, fmt.Errorf("consumer %s info: %w", name, err)
		}
		cs = append(cs, viewOf(c.CachedInfo()))
	}
	return s, cs, nil
}

// viewOf reads a consumer's info. Without acks pending, everything it was
// given is done, and its ack floor may lag behind the messages of other
// subjects it skipped.
func viewOf(ci *jetstream.ConsumerInfo) consumerView {
	done := ci.AckFloor.Stream
	if ci.NumAckPending == 0 {
		done = max(done, ci.Delivered.Stream)
	}
	return consumerView{name: ci.Name, pending: ci.NumPending + uint64(ci.NumAckPending), done: done}
}
