package otlp

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"sort"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"golang.org/x/sync/errgroup"
)

// Publisher publishes one event and returns once it is durable; it is the
// signature of the bus's Emit. An error wrapped by outcome.Permanent means
// the event itself is bad; any other error that the bus could not take it
// now.
type Publisher interface {
	Emit(ctx context.Context, id string, data events.Data) (events.Meta, error)
}

// ErrUnavailable means an event could not be published; the client should
// retry later.
var ErrUnavailable = errors.New("publisher unavailable")

// ErrOverloaded means the receiver has as many requests in flight as it
// takes; the client should retry later.
var ErrOverloaded = errors.New("too many requests in flight")

// batch is one event to publish and the number of OTLP items it holds.
type batch struct {
	id    string
	data  events.Data
	items int
}

// chunk splits items into runs of at most maxItems items and about
// maxBytes bytes, as size estimates them. An item larger than maxBytes on
// its own is dropped from items (which chunk reuses) and counted in tooBig.
func chunk[T any](items []T, size func(T) int, maxItems, maxBytes int) (runs [][]T, tooBig int) {
	w, start, bytes := 0, 0, 0
	for _, it := range items {
		n := size(it)
		if n > maxBytes {
			tooBig++
			continue
		}
		if w-start >= maxItems || (w > start && bytes+n > maxBytes) {
			runs = append(runs, items[start:w:w])
			start, bytes = w, 0
		}
		items[w] = it
		w++
		bytes += n
	}
	if w > start {
		runs = append(runs, items[start:w:w])
	}
	return runs, tooBig
}

// publish emits every batch, a few at a time, and returns once all are
// durable. Batches the publisher refuses as bad are counted as rejected;
// any other failure fails the whole request with ErrUnavailable (a retry
// republishes the same ids, which the duplicate window folds).
func (r *Receiver) publish(ctx context.Context, batches []batch, rj *rejects) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.PublishParallelism)
	bad := make([]error, len(batches))
	for i, b := range batches {
		g.Go(func() error {
			_, err := r.pub.Emit(gctx, b.id, b.data)
			switch {
			case err == nil:
				return nil
			case outcome.IsPermanent(err):
				bad[i] = err
				return nil
			}
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, err := range bad {
		if err != nil {
			rj.add(ReasonInvalidEvent, fmt.Sprintf("the bus refused an event: %v", err), batches[i].items)
		}
	}
	return nil
}

// hasher builds content ids: the same items give the same event id. It
// gathers fields in a buffer and hashes it in blocks, which spares an
// allocation and a hash call per field.
type hasher struct {
	h    hash.Hash
	buf  []byte
	keys []string
}

func newHasher() *hasher { return &hasher{h: sha256.New(), buf: make([]byte, 0, 8192)} }

func (h *hasher) flushIfFull() {
	if len(h.buf) >= 4096 {
		h.h.Write(h.buf)
		h.buf = h.buf[:0]
	}
}

func (h *hasher) str(s string) {
	h.i64(int64(len(s)))
	h.buf = append(h.buf, s...)
	h.flushIfFull()
}

func (h *hasher) i64(v int64) {
	h.buf = binary.LittleEndian.AppendUint64(h.buf, uint64(v))
}

func (h *hasher) f64(v float64) { h.i64(int64(math.Float64bits(v))) }

// attrs hashes a map in key order.
func (h *hasher) attrs(m map[string]string) {
	h.keys = h.keys[:0]
	for k := range m {
		h.keys = append(h.keys, k)
	}
	sort.Strings(h.keys)
	h.i64(int64(len(h.keys)))
	for _, k := range h.keys {
		h.str(k)
		h.str(m[k])
	}
}

// id is the event id of what was hashed, for events of type t.
func (h *hasher) id(t string) string {
	h.h.Write(h.buf)
	h.buf = h.buf[:0]
	return events.DerivedID("otlp", t, hex.EncodeToString(h.h.Sum(nil)))
}
