package frontdoor

import (
	"testing"
	"time"
)

// rowsTimeout bounds the wait for data to reach ClickHouse through the
// bus and the archiver (whose batches wait up to a second).
const rowsTimeout = 30 * time.Second

// TestFrontDoor runs the OTLP and alert transports against one stack of
// the archiver and the ingest service; each sub-test sends as a service
// of its own, so their rows do not mix. The restart runs last: it kills
// the ingest service.
func TestFrontDoor(t *testing.T) {
	integration(t)
	t.Parallel()
	d := startDoor(t)
	for _, tr := range sdkTransports {
		t.Run("sdk over "+tr.name, func(t *testing.T) { testSDK(t, d, tr) })
	}
	t.Run("collector json", func(t *testing.T) { testCollectorJSON(t, d) })
	t.Run("alertmanager", func(t *testing.T) { testAlertmanager(t, d) })
	t.Run("ingest restart mid-stream", func(t *testing.T) { testRestart(t, d) })
}
