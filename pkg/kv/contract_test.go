package kv_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/kv"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/nats-io/nats.go/jetstream"
)

// record is the type the contract stores.
type record struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// implementations are every kind of Buckets; the contract runs on each.
var implementations = []struct {
	name string
	open func(t *testing.T) kv.Buckets
}{
	{name: "jetstream", open: func(t *testing.T) kv.Buckets { return kv.JetStream(startJetStream(t)) }},
	{name: "memory", open: func(*testing.T) kv.Buckets { return kv.NewMemory() }},
}

func startJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	return servicetest.Bus(t).JetStream()
}

// contract is what every store does, whatever keeps its buckets.
var contract = []struct {
	name string
	test func(t *testing.T, b kv.Buckets, cfg kv.Config)
}{
	{"create then get", testCreateGet},
	{"create is first writer wins", testCreateOnce},
	{"update checks the revision", testUpdate},
	{"put overwrites", testPut},
	{"delete", testDelete},
	{"keys", testKeys},
	{"any string is a key", testHostileKeys},
	{"an over-long key is refused", testLongKey},
	{"one of racing creators wins", testRacingCreates},
	{"racing updates lose nothing", testRacingUpdates},
	{"modify", testModify},
	{"racing modifies lose nothing", testRacingModifies},
	{"an unreadable value is reported", testUnreadable},
	{"text values are stored unquoted", testText},
	{"stores of one bucket share it", testShared},
	{"records age out after the ttl", testTTL},
	{"a full bucket refuses writes until a delete", testFull},
}

func TestContract(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			b := impl.open(t)
			for i, c := range contract {
				t.Run(c.name, func(t *testing.T) {
					c.test(t, b, kv.Config{Bucket: fmt.Sprintf("contract_%d", i), Description: c.name})
				})
			}
		})
	}
}

func open(t *testing.T, b kv.Buckets, cfg kv.Config) *kv.Store[record] {
	t.Helper()
	s, err := kv.Open[record](context.Background(), b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mustGet returns the record under key, failing the test on an error.
func mustGet(t *testing.T, s *kv.Store[record], key string) kv.Entry[record] {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return e
}

func testCreateGet(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	if _, err := s.Get(ctx, "k"); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("Get of a new key: %v, want ErrNotFound", err)
	}
	before := time.Now().Add(-time.Second)
	rev, err := s.Create(ctx, "k", record{Name: "first", N: 1})
	if err != nil || rev == 0 {
		t.Fatalf("Create = %d, %v", rev, err)
	}
	e := mustGet(t, s, "k")
	if e.Key != "k" || e.Value != (record{Name: "first", N: 1}) || e.Revision != rev || e.Created.Before(before) {
		t.Fatalf("Get = %+v, want the record at revision %d written now", e, rev)
	}
}

func testCreateOnce(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	rev, err := s.Create(ctx, "k", record{Name: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "k", record{Name: "second"}); !errors.Is(err, kv.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	if e := mustGet(t, s, "k"); e.Value.Name != "first" || e.Revision != rev {
		t.Fatalf("after a second Create: %+v, want the first record at %d", e, rev)
	}
}

func testUpdate(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	if _, err := s.Update(ctx, "absent", record{}, 1); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("Update of an absent key: %v, want ErrConflict", err)
	}
	rev, err := s.Create(ctx, "k", record{Name: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	rev2, err := s.Update(ctx, "k", record{Name: "v2"}, rev)
	if err != nil || rev2 <= rev {
		t.Fatalf("Update at the current revision = %d, %v; want a revision past %d", rev2, err, rev)
	}
	for _, stale := range []uint64{rev, rev2 + 10} {
		if _, err := s.Update(ctx, "k", record{Name: "stale"}, stale); !errors.Is(err, kv.ErrConflict) || errors.Is(err, kv.ErrExists) {
			t.Fatalf("Update at stale revision %d: %v, want ErrConflict only", stale, err)
		}
	}
	if e := mustGet(t, s, "k"); e.Value.Name != "v2" || e.Revision != rev2 {
		t.Fatalf("after stale updates: %+v, want v2 at %d", e, rev2)
	}
}

func testPut(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	for _, name := range []string{"v1", "v2"} {
		rev, err := s.Put(ctx, "k", record{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if e := mustGet(t, s, "k"); e.Value.Name != name || e.Revision != rev {
			t.Fatalf("after Put %s: %+v at %d", name, e, rev)
		}
	}
}

func testDelete(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	if err := s.Delete(ctx, "absent"); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
	rev, err := s.Create(ctx, "k", record{Name: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Update(ctx, "k", record{Name: "zombie"}, rev); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("Update of a deleted key at its old revision: %v, want ErrConflict", err)
	}
	if rev, err = s.Create(ctx, "k", record{Name: "again"}); err != nil {
		t.Fatalf("Create after Delete: %v", err)
	}
	for _, stale := range []uint64{rev - 1, rev + 1} {
		if err := s.DeleteAt(ctx, "k", stale); !errors.Is(err, kv.ErrConflict) {
			t.Fatalf("DeleteAt stale revision %d: %v, want ErrConflict", stale, err)
		}
	}
	if err := s.DeleteAt(ctx, "k", rev); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("Get after DeleteAt: %v, want ErrNotFound", err)
	}
}

func testKeys(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	if ks, err := s.Keys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("Keys of an empty bucket = %v, %v", ks, err)
	}
	for _, k := range []string{"b", "a.1", "c d", "gone"} {
		if _, err := s.Put(ctx, k, record{Name: k}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	ks, err := s.Keys(ctx)
	if want := []string{"a.1", "b", "c d"}; err != nil || !slices.Equal(ks, want) {
		t.Fatalf("Keys = %q, %v; want %q", ks, err, want)
	}
}

// hostileKeys are strings no JetStream key may be as they are, and some
// that look like escapes.
var hostileKeys = []string{
	"a b", "ü", "é", ".x", "x.", "a..b", "a*b>", "*", ">", "", "_", "__", "_41", "A", "a_b",
	"$KV.x", "model=fraud", "service=a.b,model=x", "tab\there", "nul\x00", "\xff\xfe", "日本",
	"line\nbreak", "quote\"s", strings.Repeat("x", 1000), strings.Repeat("ü", 150),
}

// Every hostile key can be created, read, updated and deleted, no two of
// them meet, and Keys returns them as they were given.
func testHostileKeys(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	revs := map[string]uint64{}
	for i, k := range hostileKeys {
		rev, err := s.Create(ctx, k, record{N: i}) // N: a name may not be UTF-8, which JSON cannot hold
		if err != nil {
			t.Fatalf("Create(%q): %v", k, err)
		}
		revs[k] = rev
	}
	for i, k := range hostileKeys {
		e := mustGet(t, s, k)
		if e.Value != (record{N: i}) || e.Key != k {
			t.Fatalf("Get(%q) = %+v, want its own record", k, e)
		}
		if _, err := s.Update(ctx, k, record{N: -i}, revs[k]); err != nil {
			t.Fatalf("Update(%q): %v", k, err)
		}
	}
	ks, err := s.Keys(ctx)
	want := slices.Sorted(slices.Values(hostileKeys))
	if err != nil || !slices.Equal(ks, want) {
		t.Fatalf("Keys = %q, %v; want %q", ks, err, want)
	}
	for _, k := range hostileKeys {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
	}
	if ks, err := s.Keys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("Keys after deleting all = %q, %v", ks, err)
	}
}

func testLongKey(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	longest := strings.Repeat("k", kv.MaxKeyLen)
	if _, err := s.Create(ctx, longest, record{Name: "longest"}); err != nil {
		t.Fatalf("Create of a key of MaxKeyLen: %v", err)
	}
	if e := mustGet(t, s, longest); e.Value.Name != "longest" {
		t.Fatalf("Get of a key of MaxKeyLen = %+v", e)
	}
	for _, k := range []string{longest + "k", strings.Repeat(".", kv.MaxKeyLen/3+1)} {
		if _, err := s.Put(ctx, k, record{}); !errors.Is(err, kv.ErrInvalidKey) {
			t.Fatalf("Put of a key of %d bytes: %v, want ErrInvalidKey", len(k), err)
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, kv.ErrInvalidKey) {
			t.Fatalf("Get of a key of %d bytes: %v, want ErrInvalidKey", len(k), err)
		}
	}
}

// Replicas creating one key at once: exactly one wins, the others learn
// that the key exists.
func testRacingCreates(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	const racers = 8
	errs := make(chan error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			_, err := s.Create(ctx, "claim", record{N: i})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, kv.ErrExists):
			t.Fatalf("losing Create: %v, want ErrExists", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creators won, want 1", won)
	}
}

// Increments by read, Update at the read revision and retry on conflict
// lose none of each other's writes.
func testRacingUpdates(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	if _, err := s.Create(ctx, "counter", record{}); err != nil {
		t.Fatal(err)
	}
	countConcurrently(t, s, func() error { return increment(ctx, s) })
}

// countConcurrently runs inc from several writers at once, a few times
// each, and checks that the counter saw every run.
func countConcurrently(t *testing.T, s *kv.Store[record], inc func() error) {
	t.Helper()
	const writers, each = 4, 5
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				errs <- inc()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e := mustGet(t, s, "counter"); e.Value.N != writers*each {
		t.Fatalf("counter = %d, want %d", e.Value.N, writers*each)
	}
}

func increment(ctx context.Context, s *kv.Store[record]) error {
	for {
		e, err := s.Get(ctx, "counter")
		if err != nil {
			return err
		}
		e.Value.N++
		_, err = s.Update(ctx, "counter", e.Value, e.Revision)
		if !errors.Is(err, kv.ErrConflict) {
			return err
		}
	}
}

func testUnreadable(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	text, err := kv.OpenText(ctx, b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := text.Put(ctx, "k", "not json"); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Get(ctx, "k"); !errors.Is(err, kv.ErrUnreadable) || e.Value != (record{}) {
		t.Fatalf("Get of a value that is not JSON = %+v, %v; want ErrUnreadable and no record", e, err)
	}
}

func testText(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	text, err := kv.OpenText(ctx, b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := text.Create(ctx, "k", `{"name":"raw","n":7}`); err != nil {
		t.Fatal(err)
	}
	if e := mustGet(t, s, "k"); e.Value != (record{Name: "raw", N: 7}) {
		t.Fatalf("text written, JSON read: %+v", e.Value)
	}
	if e, err := text.Get(ctx, "k"); err != nil || e.Value != `{"name":"raw","n":7}` {
		t.Fatalf("text Get = %q, %v", e.Value, err)
	}
}

func testShared(t *testing.T, b kv.Buckets, cfg kv.Config) {
	one, other, ctx := open(t, b, cfg), open(t, b, cfg), context.Background()
	rev, err := one.Create(ctx, "k", record{Name: "one"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Create(ctx, "k", record{Name: "other"}); !errors.Is(err, kv.ErrExists) {
		t.Fatalf("Create through another store: %v, want ErrExists", err)
	}
	if e := mustGet(t, other, "k"); e.Value.Name != "one" || e.Revision != rev {
		t.Fatalf("the other store reads %+v", e)
	}
}

func testTTL(t *testing.T, b kv.Buckets, cfg kv.Config) {
	cfg.TTL = 500 * time.Millisecond
	s, ctx := open(t, b, cfg), context.Background()
	if _, err := s.Create(ctx, "k", record{Name: "short-lived"}); err != nil {
		t.Fatal(err)
	}
	servicetest.PollFor(t, "the record to age out", 10*time.Second, func() bool {
		_, err := s.Get(ctx, "k")
		return errors.Is(err, kv.ErrNotFound)
	})
	if ks, err := s.Keys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("Keys after the ttl = %q, %v", ks, err)
	}
	if _, err := s.Create(ctx, "k", record{Name: "again"}); err != nil {
		t.Fatalf("Create after the ttl: %v", err)
	}
}

func testModify(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	add := func(cur record, found bool) (record, bool) {
		if found && cur.N >= 2 {
			return cur, false
		}
		cur.N++
		return cur, true
	}
	rev, err := s.Modify(ctx, "k", 1, add)
	if e := mustGet(t, s, "k"); err != nil || e.Value.N != 1 || e.Revision != rev {
		t.Fatalf("Modify of an absent key = %d, %v; stored %+v", rev, err, e)
	}
	if _, err := s.Modify(ctx, "k", 1, add); err != nil {
		t.Fatal(err)
	}
	before := mustGet(t, s, "k")
	if rev, err := s.Modify(ctx, "k", 1, add); err != nil || rev != 0 {
		t.Fatalf("Modify that writes nothing = %d, %v; want 0, nil", rev, err)
	}
	if after := mustGet(t, s, "k"); after.Value.N != 2 || after.Revision != before.Revision {
		t.Fatalf("a Modify that writes nothing moved the record from %+v to %+v", before, after)
	}
	// One that loses every race (here to a write of its own) gives up.
	calls := 0
	_, err = s.Modify(ctx, "busy", 3, func(cur record, _ bool) (record, bool) {
		calls++
		if _, err := s.Put(ctx, "busy", record{N: calls}); err != nil {
			t.Error(err)
		}
		return cur, true
	})
	if calls != 3 || !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("Modify losing every race: %d attempts, %v; want 3 and ErrConflict", calls, err)
	}
}

// Replicas modifying one key at once, even one that is not there yet,
// lose none of each other's writes.
func testRacingModifies(t *testing.T, b kv.Buckets, cfg kv.Config) {
	s, ctx := open(t, b, cfg), context.Background()
	countConcurrently(t, s, func() error {
		_, err := s.Modify(ctx, "counter", 1000, func(cur record, _ bool) (record, bool) { cur.N++; return cur, true })
		return err
	})
}

func testFull(t *testing.T, b kv.Buckets, cfg kv.Config) {
	cfg.MaxBytes = 4096
	s, ctx := open(t, b, cfg), context.Background()
	filler := strings.Repeat("x", 200)
	var n int
	var err error
	for n = 0; n < 100; n++ {
		if _, err = s.Put(ctx, fmt.Sprintf("k%d", n), record{Name: filler}); err != nil {
			break
		}
	}
	if !errors.Is(err, kv.ErrFull) || n < 5 || n > 20 {
		t.Fatalf("after %d records of 200 bytes in 4096: %v, want ErrFull after 5 to 20", n, err)
	}
	if _, err := s.Create(ctx, "another", record{Name: filler}); !errors.Is(err, kv.ErrFull) {
		t.Fatalf("Create in a full bucket: %v, want ErrFull", err)
	}
	for i := range 3 {
		if err := s.Delete(ctx, fmt.Sprintf("k%d", i)); err != nil {
			t.Fatalf("Delete in a full bucket: %v", err)
		}
	}
	if _, err := s.Put(ctx, "again", record{Name: filler}); err != nil {
		t.Fatalf("Put after deletes freed room: %v", err)
	}
}
