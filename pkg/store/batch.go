package store

import (
	"context"
	"sync"
	"time"
)

// BatchOptions shape a BatchWriter. Zero values take defaults.
type BatchOptions struct {
	// MaxRows flushes as soon as this many rows wait.
	MaxRows int
	// MaxDelay flushes rows that waited this long.
	MaxDelay time.Duration
	// MaxBuffered bounds memory while ClickHouse is down: past it, the
	// oldest rows are dropped and counted in medic_store_rows_dropped_total.
	MaxBuffered int
}

// BatchWriter buffers rows for one table and inserts them by size and by
// time. It is for best-effort streams (logs, spans): a caller that must not
// lose a row calls Flush and acts on its error.
type BatchWriter struct {
	store   *Store
	table   string
	columns []string
	opts    BatchOptions

	mu      sync.Mutex
	rows    [][]any
	flushMu sync.Mutex
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// NewBatchWriter starts a writer; Close flushes and stops it.
func (s *Store) NewBatchWriter(table string, columns []string, opts BatchOptions) *BatchWriter {
	if opts.MaxRows <= 0 {
		opts.MaxRows = 5000
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Second
	}
	if opts.MaxBuffered <= 0 {
		opts.MaxBuffered = 20 * opts.MaxRows
	}
	w := &BatchWriter{store: s, table: table, columns: columns, opts: opts,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// Add queues one row, in column order. It never blocks on ClickHouse.
func (w *BatchWriter) Add(row ...any) {
	w.mu.Lock()
	w.rows = append(w.rows, row)
	if over := len(w.rows) - w.opts.MaxBuffered; over > 0 {
		w.rows = w.rows[over:]
		rowsDropped.WithLabelValues(w.table).Add(float64(over))
	}
	full := len(w.rows) >= w.opts.MaxRows
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Pending is the number of rows not yet written.
func (w *BatchWriter) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.rows)
}

// Flush writes every queued row now. On failure the rows stay queued for
// the next attempt.
func (w *BatchWriter) Flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	rows := w.rows
	w.rows = nil
	w.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	if err := w.store.Ready(); err != nil {
		w.requeue(rows)
		return err
	}
	if err := w.store.Insert(ctx, w.table, w.columns, rows); err != nil {
		flushErrors.WithLabelValues(w.table).Inc()
		w.requeue(rows)
		return err
	}
	return nil
}

func (w *BatchWriter) requeue(rows [][]any) {
	w.mu.Lock()
	w.rows = append(rows, w.rows...)
	if over := len(w.rows) - w.opts.MaxBuffered; over > 0 {
		w.rows = w.rows[over:]
		rowsDropped.WithLabelValues(w.table).Add(float64(over))
	}
	w.mu.Unlock()
}

func (w *BatchWriter) loop() {
	defer close(w.done)
	t := time.NewTicker(w.opts.MaxDelay)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		case <-w.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := w.Flush(ctx); err != nil && w.store.ready.Load() {
			w.store.log.Warn("batch flush failed; rows kept for the next try", "table", w.table, "err", err)
		}
		cancel()
	}
}

// Close stops the background flushes and writes what is left.
func (w *BatchWriter) Close(ctx context.Context) error {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.Flush(ctx)
}
