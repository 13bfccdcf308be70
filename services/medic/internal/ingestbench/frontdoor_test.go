package ingestbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// TestFrontDoorThroughput measures, in one run on this machine, the raw
// ceilings (JetStream publish and ClickHouse insert of the ingest service's
// event shape) and OTLP/HTTP metrics, spans and log records into the real
// ingest and archiver binaries until their rows are counted in ClickHouse.
// It asserts no speed: the numbers go in BENCHMARKS.md. Run it with
// `make bench-ingest`; MEDIC_BENCH_REQUESTS (requests of 10,000 items per
// signal) and MEDIC_BENCH_CLIENTS (concurrent exporters) size it;
// MEDIC_BENCH_LOGS keeps the services' logs in a directory of one's own.
func TestFrontDoorThroughput(t *testing.T) {
	if os.Getenv("MEDIC_BENCH") == "" {
		t.Skip("a benchmark: set MEDIC_BENCH=1, or run `make bench-ingest`")
	}
	requests, clients := envInt(t, "MEDIC_BENCH_REQUESTS", 60), envInt(t, "MEDIC_BENCH_CLIENTS", 4)
	binDir := os.Getenv("MEDIC_BIN_DIR")
	if binDir == "" {
		binDir = "../../../../.cache/bin"
	}
	srv := servicetest.StartNATS(t)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	var r report
	r.add("load", fmt.Sprintf("%d OTLP/HTTP protobuf requests of %d items per signal, %d clients at once", requests, itemsPerRequest, clients), 0)
	measureCeilings(t, nc, &r, requests, clients)

	db := storetest.New(t)
	logDir := os.Getenv("MEDIC_BENCH_LOGS")
	if logDir == "" {
		logDir = t.TempDir()
	}
	archiver := startProcess(t, binDir, logDir, "archiver", "NATS_URL="+srv.URL(),
		"CLICKHOUSE_ADDR="+storetest.Addr(), "CLICKHOUSE_DATABASE="+db.Database())
	otlpHTTP := freeAddr(t)
	ingest := startProcess(t, binDir, logDir, "ingest", "NATS_URL="+srv.URL(),
		"OTLP_HTTP_ADDR="+otlpHTTP, "OTLP_GRPC_ADDR="+freeAddr(t))
	archiver.waitReady(t)
	ingest.waitReady(t)
	for _, sig := range signals {
		res := runSignal(t, db, "http://"+otlpHTTP, sig, requests, clients)
		r.add("end to end: "+sig.name, res.String(), res.perSecond())
	}
	r.write(t, os.Getenv("MEDIC_BENCH_REPORT"))
}

// measureCeilings measures both ceilings on as many points as one signal's
// end-to-end run sends.
func measureCeilings(t *testing.T, nc *nats.Conn, r *report, requests, clients int) {
	t.Helper()
	items := ceilingEvents(t, requests*itemsPerRequest/pointsPerEvent)
	r.ceilingPublish = publishCeiling(t, nc, items, clients*publishParallelism)
	r.add("ceiling: JetStream publish", fmt.Sprintf("%d-point events, %d publishers each awaiting its ack", pointsPerEvent, clients*publishParallelism), r.ceilingPublish)
	r.ceilingInsert = insertCeiling(t, storetest.New(t), items, eventsPerInsert)
	r.add("ceiling: ClickHouse insert", fmt.Sprintf("archive.WritePoints, %d points per insert, one at a time", eventsPerInsert*pointsPerEvent), r.ceilingInsert)
}

// eventsPerInsert is the insert size of the ClickHouse ceiling, in events.
const eventsPerInsert = 10

// result is one signal's run.
type result struct {
	sent, rejected, retried int64
	accepted, landed        time.Duration // from the first request to the last answer, to the last row
}

func (r result) perSecond() float64 { return float64(r.sent-r.rejected) / r.landed.Seconds() }

func (r result) String() string {
	return fmt.Sprintf("%d items (%d rejected, %d retried requests); all answered after %.1fs (%.0f/s into JetStream), all rows after %.1fs",
		r.sent, r.rejected, r.retried, r.accepted.Seconds(), float64(r.sent-r.rejected)/r.accepted.Seconds(), r.landed.Seconds())
}

// runSignal sends requests export requests of sig from clients concurrent
// exporters and waits until every accepted item is a row of sig.table.
func runSignal(t *testing.T, db *store.Store, baseURL string, sig signal, requests, clients int) result {
	t.Helper()
	base := time.Now().Add(-30 * time.Minute)
	bodies := make([][]byte, requests)
	for n := range bodies {
		bodies[n] = sig.build(n, base)
	}
	before := countRows(t, db, sig.table)
	var (
		res    result
		next   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Pointer[error]
	)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for n := next.Add(1) - 1; n < int64(requests); n = next.Add(1) - 1 {
				rejected, retries, err := export(baseURL+sig.path, sig, bodies[n])
				if err != nil {
					failed.Store(&err)
					return
				}
				atomic.AddInt64(&res.rejected, rejected)
				atomic.AddInt64(&res.retried, retries)
			}
		})
	}
	wg.Wait()
	res.accepted = time.Since(start)
	if err := failed.Load(); err != nil {
		t.Fatalf("%s: %v", sig.name, *err)
	}
	res.sent = int64(requests * itemsPerRequest)
	want := before + uint64(res.sent-res.rejected)
	servicetest.PollFor(t, fmt.Sprintf("%d rows in %s", want, sig.table), 5*time.Minute, func() bool {
		return countRows(t, db, sig.table) >= want
	})
	res.landed = time.Since(start)
	t.Logf("%s: %s", sig.name, res)
	return res
}

// export posts one OTLP/HTTP protobuf request, retrying what the receiver
// asks to be retried (429, 503) as an SDK would, but after 50 ms rather
// than its Retry-After, and returns the items it rejected.
func export(url string, sig signal, body []byte) (rejected, retries int64, err error) {
	for {
		resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			return 0, retries, err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, retries, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			rejected, err := sig.rejected(raw)
			return rejected, retries, err
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			retries++
			time.Sleep(50 * time.Millisecond)
		default:
			return 0, retries, fmt.Errorf("POST %s: %s: %s", url, resp.Status, raw)
		}
	}
}

// countRows counts the benchmark's rows of table (the archiver's own logs
// and spans land in the same tables).
func countRows(t *testing.T, db *store.Store, table string) uint64 {
	var n uint64
	q := "SELECT count() FROM " + table + " WHERE service LIKE 'bench-svc-%'"
	if err := db.Conn().QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Logf("%s: %v", q, err)
	}
	return n
}

func rejectedPoints(raw []byte) (int64, error) {
	r := pmetricotlp.NewExportResponse()
	err := r.UnmarshalProto(raw)
	return r.PartialSuccess().RejectedDataPoints(), err
}

func rejectedSpans(raw []byte) (int64, error) {
	r := ptraceotlp.NewExportResponse()
	err := r.UnmarshalProto(raw)
	return r.PartialSuccess().RejectedSpans(), err
}

func rejectedRecords(raw []byte) (int64, error) {
	r := plogotlp.NewExportResponse()
	err := r.UnmarshalProto(raw)
	return r.PartialSuccess().RejectedLogRecords(), err
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// report is the table the benchmark prints and writes.
type report struct {
	ceilingPublish, ceilingInsert float64
	rows                          []row
}

type row struct {
	what, how string
	perSecond float64
}

func (r *report) add(what, how string, perSecond float64) {
	r.rows = append(r.rows, row{what, how, perSecond})
}

// rate is a row's rate and, for an end-to-end row, its share of the lower
// ceiling.
func (r *report) rate(x row) string {
	if x.perSecond == 0 {
		return ""
	}
	out := fmt.Sprintf("%.1f k/s", x.perSecond/1000)
	if strings.HasPrefix(x.what, "end to end") {
		out += fmt.Sprintf(" (%.0f%% of the lower ceiling)", 100*x.perSecond/min(r.ceilingPublish, r.ceilingInsert))
	}
	return out
}

func (r *report) write(t *testing.T, path string) {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "Front door, %s, %d cores\n\n| what | rate | how |\n|---|---|---|\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU())
	for _, x := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", x.what, r.rate(x), x.how)
	}
	t.Log("\n" + b.String())
	if path == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
