package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/nats-io/nats.go/jetstream"
)

type claim struct {
	Owner string `json:"owner"`
	Done  bool   `json:"done"`
}

func openClaims(t *testing.T) (*bus.Claims[claim], jetstream.JetStream) {
	t.Helper()
	js := servicetest.Bus(t).JetStream()
	c, err := bus.OpenClaims[claim](context.Background(), js, "test_claims", "claims of the test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return c, js
}

// The first claim of a key wins and later ones see it; only the holder of
// the current revision can update or release it; a released key can be
// claimed again.
func TestClaims(t *testing.T) {
	c, js := openClaims(t)
	ctx := context.Background()
	if _, _, err := c.Get(ctx, "k"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("Get of a new key: %v, want ErrKeyNotFound", err)
	}
	rev, err := c.Claim(ctx, "k", claim{Owner: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Claim(ctx, "k", claim{Owner: "second"}); !errors.Is(err, jetstream.ErrKeyExists) {
		t.Fatalf("second Claim: %v, want ErrKeyExists", err)
	}
	if got, gotRev, err := c.Get(ctx, "k"); err != nil || got != (claim{Owner: "first"}) || gotRev != rev {
		t.Fatalf("Get = %+v rev %d, %v; want the first claim at rev %d", got, gotRev, err, rev)
	}
	if err := c.Update(ctx, "k", rev+10, claim{Owner: "stale", Done: true}); err == nil {
		t.Fatal("Update at a stale revision succeeded")
	}
	if err := c.Update(ctx, "k", rev, claim{Owner: "first", Done: true}); err != nil {
		t.Fatal(err)
	}
	got, rev, err := c.Get(ctx, "k")
	if err != nil || got != (claim{Owner: "first", Done: true}) {
		t.Fatalf("Get after Update = %+v, %v", got, err)
	}
	if err := c.Release(ctx, "k", rev-1); err == nil {
		t.Fatal("Release at a stale revision succeeded")
	}
	if err := c.Release(ctx, "k", rev); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Claim(ctx, "k", claim{Owner: "after release"}); err != nil {
		t.Fatalf("Claim after Release: %v", err)
	}
	kv, err := js.KeyValue(ctx, "test_claims")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := kv.Status(ctx); err != nil || st.TTL() != time.Hour {
		t.Fatalf("bucket status %v, %v; want a TTL of an hour", st, err)
	}
}

// A record that is not JSON of the claim's type is reported, not returned.
func TestClaimsUnreadableRecord(t *testing.T) {
	c, js := openClaims(t)
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, "test_claims")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "k", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.Get(ctx, "k"); err == nil || got != (claim{}) {
		t.Fatalf("Get = %+v, %v; want an error and no record", got, err)
	}
}
