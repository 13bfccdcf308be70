package frontdoor

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

const (
	restartService = "fd-restart"
	restartMetric  = "restart_marker"
	// killAfter and stopAfter are the acknowledged requests before the
	// kill and in all.
	killAfter, stopAfter = 150, 1000
	// senders post at once, so that several requests are in flight when
	// the ingest service dies.
	senders = 4
	// giveUpAfter is how long a sender retries one request, as an SDK's
	// exporter does (theirs: a minute).
	giveUpAfter = 30 * time.Second
)

// testRestart kills the ingest service (SIGKILL) while senders post
// OTLP/HTTP metric requests, each with a marker of its own, and restarts
// it; the senders retry failed requests. Every request answered 2xx must
// then have exactly one row in ClickHouse.
func testRestart(t *testing.T, d *door) {
	s := &sender{url: "http://" + d.stack.OTLPHTTPAddr + "/v1/metrics", client: &http.Client{Timeout: 5 * time.Second},
		killNow: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range senders {
		wg.Go(func() {
			for ctx.Err() == nil && s.ackedCount() < stopAfter {
				s.send(ctx, int(next.Add(1)))
			}
		})
	}
	defer wg.Wait()
	defer cancel()

	select {
	case <-s.killNow:
	case <-time.After(rowsTimeout):
		t.Fatalf("after %s: %s", rowsTimeout, s.progress(killAfter))
	}
	if err := d.stack.Kill("ingest"); err != nil {
		t.Fatal(err)
	}
	killedAt := s.ackedCount()
	began := time.Now()
	if err := d.stack.Restart(ctx, "ingest"); err != nil {
		t.Fatal(err)
	}
	t.Logf("ingest killed after %d acknowledged requests; ready again in %s", killedAt, time.Since(began).Round(time.Millisecond))
	eventually(t, time.Minute, func() string { return s.progress(stopAfter) })
	cancel()
	wg.Wait()

	acked, retried, gaveUp, refused := s.results()
	t.Logf("%d requests acknowledged (%d of them after retries), %d given up, %d refused", len(acked), retried, len(gaveUp), len(refused))
	if len(refused) > 0 {
		t.Errorf("requests refused with a status no SDK retries: %v", refused)
	}
	var raw, folded map[string]int
	eventually(t, rowsTimeout, func() string {
		raw, folded = markerRows(t, d)
		var missing []int
		for _, m := range acked {
			if raw[strconv.Itoa(m)] == 0 {
				missing = append(missing, m)
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("%d of %d acknowledged requests have no row in metrics; markers %v", len(missing), len(acked), missing)
		}
		return ""
	})
	var dups []string
	collapsed := true
	for _, m := range acked {
		k := strconv.Itoa(m)
		if raw[k] != 1 {
			dups = append(dups, fmt.Sprintf("%s: %d rows", k, raw[k]))
			collapsed = collapsed && folded[k] == 1
		}
	}
	if len(dups) > 0 {
		t.Errorf("%d acknowledged requests have more than one row (LIMIT 1 BY event_id, point_index collapses them: %v): %v",
			len(dups), collapsed, dups)
	}
	present := 0
	for _, m := range gaveUp {
		if raw[strconv.Itoa(m)] > 0 {
			present++
		}
	}
	t.Logf("of the %d requests never acknowledged, %d are in ClickHouse anyway", len(gaveUp), present)
}

// markerRows counts the rows of each marker in metrics, as they are and
// folded by the convention LIMIT 1 BY event_id, point_index.
func markerRows(t *testing.T, d *door) (raw, folded map[string]int) {
	t.Helper()
	const marker = `arrayElement(attr_values, indexOf(attr_keys, 'marker'))`
	queries := []string{
		`SELECT ` + marker + ` AS m, count() FROM metrics WHERE service = ? AND name = ? GROUP BY m`,
		`SELECT m, count() FROM (SELECT ` + marker + ` AS m, event_id, point_index FROM metrics
			WHERE service = ? AND name = ? LIMIT 1 BY event_id, point_index) GROUP BY m`,
	}
	var out []map[string]int
	for _, q := range queries {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rows, err := d.store.Conn().Query(ctx, q, restartService, restartMetric)
		if err != nil {
			cancel()
			t.Fatalf("count markers: %v", err)
		}
		counts := map[string]int{}
		for rows.Next() {
			var m string
			var n uint64
			if err := rows.Scan(&m, &n); err != nil {
				t.Fatal(err)
			}
			counts[m] = int(n)
		}
		err = rows.Err()
		rows.Close()
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, counts)
	}
	return out[0], out[1]
}

// sender posts OTLP/HTTP metric requests and retries them as an SDK's
// exporter does: after a connection error or a 429, 502, 503 or 504, with
// a growing delay, until giveUpAfter.
type sender struct {
	url    string
	client *http.Client

	// killNow is closed when killAfter requests are acknowledged.
	killNow chan struct{}

	mu      sync.Mutex
	acked   []int
	retried int
	gaveUp  []int
	refused []string
}

// send posts the request of one marker until it is acknowledged, refused,
// or given up.
func (s *sender) send(ctx context.Context, marker int) {
	body := markerRequest(marker)
	delay := 20 * time.Millisecond
	deadline := time.Now().Add(giveUpAfter)
	for attempt := 1; ; attempt++ {
		status, err := s.post(ctx, body)
		s.mu.Lock()
		switch {
		case err == nil && status/100 == 2:
			s.acked = append(s.acked, marker)
			if len(s.acked) == killAfter {
				close(s.killNow)
			}
			if attempt > 1 {
				s.retried++
			}
			s.mu.Unlock()
			return
		case err == nil && !slices.Contains([]int{429, 502, 503, 504}, status):
			s.refused = append(s.refused, fmt.Sprintf("marker %d: %d", marker, status))
			s.mu.Unlock()
			return
		case time.Now().After(deadline) || ctx.Err() != nil:
			s.gaveUp = append(s.gaveUp, marker)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

func (s *sender) post(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close() // the status is the answer; the body is a protobuf response
	return resp.StatusCode, nil
}

func (s *sender) ackedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acked)
}

// progress reports how far the senders are from n acknowledged requests.
func (s *sender) progress(n int) string {
	if got := s.ackedCount(); got < n {
		return fmt.Sprintf("%d of %d requests acknowledged", got, n)
	}
	return ""
}

func (s *sender) results() (acked []int, retried int, gaveUp []int, refused []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acked), s.retried, slices.Clone(s.gaveUp), slices.Clone(s.refused)
}

// markerRequest is an OTLP metrics request of one gauge point whose value
// and attribute "marker" are the marker.
func markerRequest(marker int) []byte {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", restartService)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(restartMetric)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	dp.SetDoubleValue(float64(marker))
	dp.Attributes().PutStr("marker", strconv.Itoa(marker))
	raw, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		panic(err) // a request built in memory always marshals
	}
	return raw
}
