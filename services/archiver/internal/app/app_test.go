package app

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/logtemplate"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/nats-io/nats.go"
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

// The archiver mines the warning and error records of the logs it archives
// into template counts: lines that differ in ids and numbers are one
// template, INFO lines are none, and a redelivered event counts once, even
// when the miner, restarted meanwhile, would now give its lines another
// template.
func TestMinesLogTemplatesFromTheBus(t *testing.T) {
	nats := servicetest.StartNATS(t)
	db := storetest.New(t)
	opts := Options{Service: service.Options{NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 10 * time.Second,
		ClickHouse: store.Config{Addr: storetest.Addr(), Database: db.Database()}}}
	run := func() *servicetest.Service {
		svc := servicetest.Run(t, "archiver", func(ctx context.Context, ln net.Listener) error {
			return RunWithListener(ctx, opts, ln)
		})
		svc.WaitReady(t)
		return svc
	}
	svc := run()
	pub := servicetest.Connect(t, nats.URL())
	ctx := context.Background()
	now := time.Now().Truncate(time.Minute).Add(-time.Minute)
	// records are n lookup failures with varying ids, an INFO line each,
	// and one failure for user.
	records := func(n int, offset time.Duration, user string) []events.LogRecord {
		at := now.Add(offset).UnixNano()
		out := []events.LogRecord{{TimeUnixNano: at, Severity: "WARN", Service: "ranker", Body: "profile fetch failed for user " + user}}
		for i := range n {
			out = append(out,
				events.LogRecord{TimeUnixNano: at, Severity: "ERROR", Service: "ranker",
					Body: fmt.Sprintf("embedding lookup failed for item %d: shard 0x%x unavailable", 1000+i, 16+i)},
				events.LogRecord{TimeUnixNano: at, Severity: "INFO", Service: "ranker", Body: "served"})
		}
		return out
	}
	emit := func(id string, recs []events.LogRecord) {
		t.Helper()
		if _, err := pub.Emit(ctx, id, events.TelemetryLogs{Source: "sim", Records: recs}); err != nil {
			t.Fatalf("emit %s: %v", id, err)
		}
	}
	counts := func() string {
		q := `SELECT any(template), sum(count), toString(template_id) FROM (
			SELECT template_id, template, count FROM log_templates WHERE service = 'ranker'
			LIMIT 1 BY batch_id, service, template_id, severity, bucket)
		GROUP BY template_id ORDER BY any(template)`
		rows, err := db.Conn().Query(ctx, q)
		if err != nil {
			t.Logf("%s: %v", q, err)
			return ""
		}
		defer func() { _ = rows.Close() }()
		var out []string
		for rows.Next() {
			var id, text string
			var n uint64
			if err := rows.Scan(&text, &n, &id); err != nil {
				t.Fatal(err)
			}
			if id != fmt.Sprint(uint64(logtemplate.IDOf(text))) {
				t.Errorf("template %q has id %s, want the hash of its text", text, id)
			}
			out = append(out, fmt.Sprintf("%q %d", text, n))
		}
		return strings.Join(out, "\n")
	}
	const lookups = `"embedding lookup failed for item <NUM>: shard <HEX> unavailable"`
	emit("logs-a", records(5, 0, "alice"))
	emit("logs-b", records(3, 15*time.Second, "alice"))
	want := lookups + " 8\n" + `"profile fetch failed for user alice" 2`
	servicetest.Poll(t, "the templates of logs-a and logs-b", func() bool { return counts() == want })
	servicetest.WaitConsumed(t, pub.JetStream(), bus.StreamTelemetry, archive.DurableLogTemplates)

	// While the archiver is down, bob's failure arrives, then logs-a again
	// (a redelivery after an insert that succeeded but was never acked).
	// The restarted miner, having seen bob, would count alice's line as
	// "user <*>": a key the first write does not have.
	svc.Stop()
	emit("logs-c", records(2, 30*time.Second, "bob"))
	redeliver(t, pub, "logs-a", records(5, 0, "alice"))
	svc = run()
	want = lookups + " 10\n" + `"profile fetch failed for user alice" 2` + "\n" + `"profile fetch failed for user bob" 1`
	servicetest.WaitConsumed(t, pub.JetStream(), bus.StreamTelemetry, archive.DurableLogTemplates)
	servicetest.Poll(t, "logs-c counted and logs-a not again", func() bool { return counts() == want })
	if got := counts(); got != want {
		t.Fatalf("counts:\n%s\nwant:\n%s", got, want)
	}
	svc.Stop()
}

// redeliver publishes the event id with recs again, as a new stream
// message, so that the archiver receives the same CloudEvent twice.
func redeliver(t *testing.T, pub *bus.Bus, id string, recs []events.LogRecord) {
	t.Helper()
	ev, err := events.NewWithID(id, "sim", events.TelemetryLogs{Source: "sim", Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg(events.Subject(ev.Type()))
	msg.Data = raw
	msg.Header.Set(bus.HeaderMsgID, id+"/again")
	msg.Header.Set(bus.HeaderContentType, "application/cloudevents+json")
	msg.Header.Set(bus.HeaderEventType, ev.Type())
	if _, err := pub.JetStream().PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}
