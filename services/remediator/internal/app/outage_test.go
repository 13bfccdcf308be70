package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/remediator/internal/remediate"
)

// ClickHouse goes down while the remediator verifies a rollback, for
// longer than the verify timeout (3s): the run is not recorded as failed;
// once ClickHouse is back the recovery is checked again, without rolling
// back again, and the run ends succeeded.
func TestVerifyThroughAClickHouseOutage(t *testing.T) {
	proxy := storetest.NewProxy(t, storetest.Addr())
	proxy.On()
	h := startAt(t, false, proxy.Addr())
	ctx := context.Background()
	insertPoints(ctx, t, h.st, 1, 20)
	incident := h.open(t, time.Now().Add(-time.Minute), "an-1")
	if _, err := h.pub.Emit(ctx, uuid.NewString(), rcaCompleted(incident, badVersion, "an-1")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.serving.first:
	case <-time.After(30 * time.Second):
		t.Fatal("the serving system got no call")
	}
	proxy.Off()
	// The system recovers meanwhile; the points go to ClickHouse directly.
	stop := emit(t, h.st, 0.01)
	defer stop()

	execID := remediate.ExecutionID(incident, badVersion)
	kv, err := h.js.KeyValue(ctx, remediate.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	servicetest.PollFor(t, "the verify timeout to pass during the outage", 30*time.Second, func() bool {
		e, err := kv.Get(ctx, execID)
		return err == nil && strings.Contains(string(e.Value()), `"unverified":"could not verify: ClickHouse unreachable`)
	})
	for _, typ := range []string{events.TypeRemediationSucceeded, events.TypeRemediationFailed} {
		if evs := h.readEvents(t, events.Subject(typ)); len(evs) != 0 {
			t.Fatalf("%s published during the outage", typ)
		}
	}

	proxy.On()
	checkOutcome(t, h, events.TypeRemediationSucceeded, execID, "", false)
	checkCalls(t, h.serving.Calls(), 1, execID, rollback)
	// Ready again, so that its telemetry is written before it stops.
	servicetest.PollFor(t, "the remediator ready again", 30*time.Second, func() bool {
		resp, err := http.Get(h.url + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
