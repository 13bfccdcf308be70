package app

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/nats-io/nats.go/jetstream"
)

// The archiver, on real NATS and ClickHouse, writes each table from the bus:
// points to metrics only (no telemetry row in events), spans, log records,
// every event of the events stream, and the incident states the correlator
// saves, from a bucket created after the archiver started. Before the
// archiver, points were written by the detector, events and incidents by
// the correlator, and spans and logs of a watched system never crossed the
// bus.
func TestArchivesEveryTableFromTheBus(t *testing.T) {
	nats := servicetest.StartNATS(t)
	db := storetest.New(t)
	opts := Options{Service: service.Options{NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 10 * time.Second,
		ClickHouse: store.Config{Addr: storetest.Addr(), Database: db.Database()}}}
	svc := servicetest.Run(t, "archiver", func(ctx context.Context, ln net.Listener) error {
		return RunWithListener(ctx, opts, ln)
	})
	svc.WaitReady(t)
	pub := servicetest.Connect(t, nats.URL())
	ctx := context.Background()
	now := time.Now().UnixNano()
	emit := func(id string, d events.Data) {
		t.Helper()
		if _, err := pub.Emit(ctx, id, d); err != nil {
			t.Fatalf("emit %s: %v", id, err)
		}
	}
	const points, spans, records = 50, 3, 2
	for i := range 2 {
		var pts []events.Point
		for j := range points / 2 {
			pts = append(pts, events.Point{Name: "request.latency_ms", Value: float64(j), TimeUnixNano: now + int64(j), Service: "gateway"})
		}
		emit(fmt.Sprintf("points-%d", i), events.TelemetryPoints{Source: "sim", Points: pts})
	}
	trace := fmt.Sprintf("%032x", now)
	emit("spans-1", events.TelemetrySpans{Source: "sim", Spans: []events.Span{
		{TraceID: trace, SpanID: "0000000000000001", Name: "POST /predict", Kind: "server", StartUnixNano: now, EndUnixNano: now + 9e6, Service: "gateway"},
		{TraceID: trace, SpanID: "0000000000000002", ParentSpanID: "0000000000000001", Name: "GET /features", StartUnixNano: now, EndUnixNano: now + 3e6, Service: "feature-service"},
		{TraceID: trace, SpanID: "0000000000000003", ParentSpanID: "0000000000000001", Name: "predict", StartUnixNano: now + 3e6,
			EndUnixNano: now + 8e6, StatusCode: 2, StatusMessage: "shape mismatch", Service: "model-server", Model: "fraud", ModelVersion: "v2"}}})
	emit("logs-1", events.TelemetryLogs{Source: "sim", Records: []events.LogRecord{
		{TimeUnixNano: now, Severity: "WARN", Body: "prediction failed", TraceID: trace, SpanID: "0000000000000003", Service: "model-server", Model: "fraud", ModelVersion: "v2"},
		{TimeUnixNano: now + 1, Severity: "INFO", Body: "served", Service: "gateway"}}})
	emit("change-1", events.ChangeRecorded{ChangeID: "deploy-1", Kind: "deploy", Service: "model-server", Model: "fraud", ModelVersion: "v2", TimeUnixNano: now})
	saveIncident(t, pub.JetStream(), `{"id":"inc-1","group_key":"model=fraud","title":"t","severity":"critical","version":2,
		"detected_unix_nano":1,"opened_unix_nano":2,"acknowledged_unix_nano":3}`)

	count := func(q string) uint64 {
		var n uint64
		if err := db.Conn().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Logf("%s: %v", q, err)
		}
		return n
	}
	want := map[string]uint64{
		"SELECT count() FROM metrics FINAL": points,
		// The archiver's own spans and logs land in these tables too.
		"SELECT count() FROM spans WHERE trace_id = '" + trace + "'":                                       spans,
		"SELECT count() FROM spans WHERE status_code = 2 AND model = 'fraud' AND service = 'model-server'": 1,
		"SELECT count() FROM logs WHERE body IN ('prediction failed', 'served')":                           records,
		"SELECT count() FROM logs WHERE severity = 'WARN' AND trace_id != ''":                              1,
		"SELECT count() FROM events FINAL WHERE type = 'dev.medic.change.recorded.v1'":                     1,
		"SELECT count() FROM incidents FINAL WHERE status = 'acknowledged' AND version = 2":                1,
	}
	for q, n := range want {
		servicetest.Poll(t, q+" to be "+fmt.Sprint(n), func() bool { return count(q) == n })
	}
	for _, c := range archive.Consumers() {
		servicetest.WaitConsumed(t, pub.JetStream(), c.Stream, c.Durable)
	}
	if n := count("SELECT count() FROM events WHERE type LIKE 'dev.medic.telemetry.%'"); n != 0 {
		t.Fatalf("%d telemetry rows in the events table, want 0: telemetry lands in metrics, spans and logs only", n)
	}
}

// saveIncident saves an incident state as the correlator does, creating its
// bucket.
func saveIncident(t *testing.T, js jetstream.JetStream, state string) {
	t.Helper()
	ctx := context.Background()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: archive.IncidentsBucket})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "inc-1", []byte(state)); err != nil {
		t.Fatal(err)
	}
}
