package store

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// insertTimeout bounds one insert of one batch.
const insertTimeout = 30 * time.Second

// BatchOptions shape a BatchWriter. Zero values take defaults.
type BatchOptions struct {
	// MaxRows flushes as soon as this many rows wait (unless the writer
	// is backing off after a failure), and is the size of a spill file.
	MaxRows int
	// MaxDelay flushes rows that waited this long.
	MaxDelay time.Duration
	// MaxBuffered bounds the rows waiting in memory (besides the batch
	// an insert is sending): past it, the oldest rows move to a file in
	// SpillDir. Default 20 * MaxRows.
	MaxBuffered int
	// SpillDir is where rows wait on disk while ClickHouse cannot take
	// them; each writer makes a directory of its own in it. Default
	// os.TempDir()/medic-spill.
	SpillDir string
	// MaxSpillBytes bounds the writer's spill directory: past it, the
	// oldest spilled rows are dropped, counted in
	// medic_store_rows_dropped_total, and warned about. Default 256 MiB.
	MaxSpillBytes int64
	// RetryBase and RetryMax bound the wait after a failed flush: it
	// doubles from RetryBase up to RetryMax and starts over after a
	// success. Defaults 250 ms and 5 s.
	RetryBase, RetryMax time.Duration
	// WarnEvery is the least time between two warnings about failing
	// flushes; each one sums up what happened since the last. Default 10 s.
	WarnEvery time.Duration
	// Log receives the writer's warnings. It must not lead back into this
	// writer (telemetry passes a logger that writes to stdout only):
	// otherwise every failure adds a row to the rows that failed. Default:
	// the store's logger.
	Log *slog.Logger
}

func (o *BatchOptions) defaults(s *Store) {
	if o.MaxRows <= 0 {
		o.MaxRows = 5000
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = time.Second
	}
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = 20 * o.MaxRows
	}
	if o.SpillDir == "" {
		o.SpillDir = filepath.Join(os.TempDir(), "medic-spill")
	}
	if o.MaxSpillBytes <= 0 {
		o.MaxSpillBytes = 256 << 20
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 250 * time.Millisecond
	}
	if o.RetryMax < o.RetryBase {
		o.RetryMax = max(5*time.Second, o.RetryBase)
	}
	if o.WarnEvery <= 0 {
		o.WarnEvery = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = s.log
	}
}

// BatchWriter buffers rows for one table and inserts them by size and by
// time. It is for best-effort streams (logs, spans): a caller that must not
// lose a row calls Flush and acts on its error.
//
// While ClickHouse is down the writer retries with backoff, marks the
// store not ready, warns at most once per WarnEvery, and keeps rows within
// MaxBuffered in memory and MaxSpillBytes on disk; spilled rows are
// inserted first, in order, when ClickHouse is back.
type BatchWriter struct {
	store   *Store
	table   string
	columns []string
	opts    BatchOptions

	// mu guards rows, spill and the counters below. Spilling happens
	// under it, in Add, so that memory stays bounded however fast rows
	// come.
	mu       sync.Mutex
	rows     [][]any
	spill    spill
	inflight int   // rows taken from memory by an insert under way
	dropped  int   // rows dropped since the last warning
	spillErr error // the last spill or replay problem since the last warning
	replayed int   // spilled rows inserted since the outage began

	flushMu sync.Mutex
	kick    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}

	// The outage's state, kept by the loop only (and by Close once the
	// loop has ended).
	failures int       // failed flushes since the last warning
	outage   int       // failed flushes since the last success
	began    time.Time // first failure of the outage
	warned   time.Time // last warning about failing flushes
	// warnedDrop is when lost rows were last reported (guarded by mu).
	warnedDrop time.Time
}

// NewBatchWriter starts a writer; Close flushes and stops it.
func (s *Store) NewBatchWriter(table string, columns []string, opts BatchOptions) *BatchWriter {
	opts.defaults(s)
	w := &BatchWriter{store: s, table: table, columns: columns, opts: opts,
		spill: spill{parent: opts.SpillDir, prefix: table, maxBytes: opts.MaxSpillBytes},
		kick:  make(chan struct{}, 1), done: make(chan struct{})}
	if adopted, err := w.spill.open(); err != nil {
		// Rows can still spill: the directory is then made on first use.
		opts.Log.Warn("clickhouse export: no spill directory of its own yet", "table", table, "err", err)
	} else if adopted > 0 {
		opts.Log.Info("clickhouse export: adopted rows a stopped writer left on disk", "table", table, "rows", adopted, "spill_dir", w.spill.dir)
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.loop()
	return w
}

// Add queues one row, in column order. It never blocks on ClickHouse; it
// writes a spill file when the rows in memory pass MaxBuffered.
func (w *BatchWriter) Add(row ...any) {
	w.mu.Lock()
	w.rows = append(w.rows, row)
	w.spillOver(w.opts.MaxBuffered)
	full := len(w.rows) >= w.opts.MaxRows
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// spillOver moves the oldest rows to disk, a batch at a time, until at
// most limit are in memory. w.mu is held.
func (w *BatchWriter) spillOver(limit int) {
	for len(w.rows) > limit {
		n := min(w.opts.MaxRows, len(w.rows))
		dropped, err := w.spill.write(w.rows[:n])
		w.rows = w.rows[n:]
		w.drop(dropped) // older files made room, or this batch was lost (err)
		if err != nil {
			w.spillErr = err
		} else {
			w.store.metrics.rowsSpilled.WithLabelValues(w.table).Add(float64(n))
		}
		w.store.metrics.spillBytes.WithLabelValues(w.table).Set(float64(w.spill.bytes))
	}
}

// drop counts lost rows. w.mu is held.
func (w *BatchWriter) drop(n int) {
	if n > 0 {
		w.dropped += n
		w.store.metrics.rowsDropped.WithLabelValues(w.table).Add(float64(n))
	}
}

// Pending is the number of rows not yet written: waiting in memory, being
// sent, or on disk.
func (w *BatchWriter) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.rows) + w.inflight + w.spill.rows
}

// BatchStats is what a BatchWriter holds at one moment.
type BatchStats struct {
	// Memory and Spilled are the rows waiting in memory and on disk.
	Memory, Spilled int
	// SpillFiles is the number of files in SpillDir holding them.
	SpillFiles int
}

// Stats says where the writer's pending rows are.
func (w *BatchWriter) Stats() BatchStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return BatchStats{Memory: len(w.rows), Spilled: w.spill.rows, SpillFiles: len(w.spill.files)}
}

// Flush writes every queued row now: spilled ones first, oldest first,
// then those in memory. On failure the rows stay queued for the next
// attempt.
func (w *BatchWriter) Flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	if w.Pending() == 0 {
		return nil
	}
	if err := w.store.reachable(); err != nil {
		return err
	}
	if err := w.replay(ctx); err != nil {
		return err
	}
	w.mu.Lock()
	rows := w.rows
	w.rows, w.inflight = nil, len(rows)
	w.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	err := w.insert(ctx, rows)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight = 0
	if err != nil {
		w.rows = append(rows, w.rows...)
		w.spillOver(w.opts.MaxBuffered)
	}
	return err
}

// replay inserts the spill files in order, including those written
// meanwhile, and removes each once it is in ClickHouse.
func (w *BatchWriter) replay(ctx context.Context) error {
	for {
		w.mu.Lock()
		f, ok := w.spill.oldest()
		w.spill.busy = f.path
		w.mu.Unlock()
		if !ok {
			return nil
		}
		rows, err := readSpill(f.path)
		if err == nil {
			err = w.insert(ctx, rows)
			if err != nil {
				w.mu.Lock()
				w.spill.busy = ""
				w.mu.Unlock()
				return err
			}
			w.store.metrics.rowsReplayed.WithLabelValues(w.table).Add(float64(len(rows)))
		}
		w.mu.Lock()
		w.spill.busy = ""
		w.spill.remove(f)
		if err != nil { // unreadable: retrying cannot help
			w.spillErr = err
			w.drop(f.rows)
		} else {
			w.replayed += f.rows
		}
		w.store.metrics.spillBytes.WithLabelValues(w.table).Set(float64(w.spill.bytes))
		w.mu.Unlock()
	}
}

func (w *BatchWriter) insert(ctx context.Context, rows [][]any) error {
	ctx, cancel := context.WithTimeout(ctx, insertTimeout)
	defer cancel()
	if err := w.store.Insert(ctx, w.table, w.columns, rows); err != nil {
		w.store.metrics.flushErrors.WithLabelValues(w.table).Inc()
		return err
	}
	return nil
}

// loop flushes by time and by size. After a failure it waits out a
// backoff first: neither the clock nor a full buffer may bring the next
// attempt forward, so an outage costs one attempt per backoff step.
func (w *BatchWriter) loop() {
	defer close(w.done)
	tick := time.NewTicker(w.opts.MaxDelay)
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	bo := backoff{base: w.opts.RetryBase, max: w.opts.RetryMax}
	waiting := false
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-tick.C:
		case <-w.kick:
		case <-retry.C:
			waiting = false
		}
		if waiting {
			continue
		}
		err := w.Flush(w.ctx)
		if err != nil && w.ctx.Err() != nil {
			return // closing: Close flushes once more
		}
		if err != nil {
			retry.Reset(bo.failed())
			waiting = true
		} else {
			bo.reset()
		}
		w.report(err)
	}
}

// report keeps the store's readiness and the warnings in step with the
// last flush. While flushes fail it warns at most once per WarnEvery,
// summing up the failures since the last warning; lost rows get an error
// of their own, at most once per WarnEvery too. The first success after an
// outage says so once.
func (w *BatchWriter) report(err error) {
	now := time.Now()
	// Before Setup has succeeded, Setup itself says what is wrong.
	if err != nil && w.store.ready.Load() {
		w.store.exportFailed(w, err)
		if w.outage == 0 {
			w.began = now
		}
		w.failures++
		w.outage++
	}
	w.mu.Lock()
	stats := BatchStats{Memory: len(w.rows), Spilled: w.spill.rows, SpillFiles: len(w.spill.files)}
	dropped, spillErr, replayed := w.dropped, w.spillErr, w.replayed
	warnDrop := dropped > 0 && now.Sub(w.warnedDrop) >= w.opts.WarnEvery
	if warnDrop {
		w.dropped, w.spillErr = 0, nil
	}
	if err == nil && w.outage > 0 {
		w.replayed = 0
	}
	w.mu.Unlock()

	attrs := []any{"table", w.table, "memory_rows", stats.Memory, "spilled_rows", stats.Spilled,
		"spill_files", stats.SpillFiles, "spill_dir", w.spill.dir}
	switch {
	case err == nil && w.outage > 0:
		w.store.exportFailed(w, nil)
		w.opts.Log.Info("clickhouse export recovered", "table", w.table, "failed_flushes", w.outage,
			"outage", now.Sub(w.began).Round(time.Millisecond).String(), "replayed_rows", replayed)
		w.outage, w.failures = 0, 0
	case w.failures > 0 && now.Sub(w.warned) >= w.opts.WarnEvery:
		w.opts.Log.Warn("clickhouse export failing; rows kept in memory and on disk, retrying with backoff",
			append(attrs, "failed_flushes", w.failures, "err", err)...)
		w.warned, w.failures = now, 0
	}
	if warnDrop {
		w.opts.Log.Error("clickhouse export: rows dropped, memory and spill directory full", append(attrs,
			"dropped_rows", dropped, "max_buffered", w.opts.MaxBuffered, "max_spill_bytes", w.opts.MaxSpillBytes,
			"spill_err", spillErr)...)
		w.warnedDrop = now
	}
}

// Close stops the background flushes and writes what is left. Rows it
// cannot write are left in the spill directory, which a warning names;
// no later process replays them.
func (w *BatchWriter) Close(ctx context.Context) error {
	w.cancel()
	<-w.done
	err := w.Flush(ctx)
	w.store.exportFailed(w, nil) // a closed writer no longer holds readiness
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		dropped := w.dropped
		w.spillOver(0)
		w.opts.Log.Warn("clickhouse export: rows not written at close; they wait on disk", "table", w.table,
			"spilled_rows", w.spill.rows, "spill_dir", w.spill.dir, "dropped_rows", w.dropped, "err", err)
		if w.dropped == dropped {
			// Every row is on disk: the shutdown lost nothing, so it is
			// no failure (a service stopped during a ClickHouse outage
			// still exits cleanly).
			err = nil
		}
	}
	w.spill.close()
	return err
}
