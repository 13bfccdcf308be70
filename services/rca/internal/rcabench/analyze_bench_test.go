package rcabench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// Shape of the benchmark: a 30-minute window after the service's default
// 5-minute baseline, at a fixed date (nothing in the analysis reads the
// clock) inside one month partition.
var (
	windowStart = time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
	window      = 30 * time.Minute
)

// spansPerScale is the window's spans (and log lines) at scale 1.
const spansPerScale = 1_000_000

// scales are the multiples of spansPerScale to measure: MEDIC_BENCH_SCALES
// ("1,10"), default 1.
func scales(b *testing.B) []int64 {
	raw := os.Getenv("MEDIC_BENCH_SCALES")
	if raw == "" {
		return []int64{1}
	}
	var out []int64
	for _, f := range strings.Split(raw, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < 1 {
			b.Fatalf("MEDIC_BENCH_SCALES=%q: want positive integers separated by commas", raw)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkAnalyzeWindow times one on-demand analysis of the window, with
// the symptom on the entry service (the gateway): its latency, then its
// errors (which also read the logs and the metrics). Before timing, it
// checks that the analysis ranks the faulty service first.
func BenchmarkAnalyzeWindow(b *testing.B) {
	if os.Getenv("MEDIC_INTEGRATION") != "1" || os.Getenv("MEDIC_BENCH") != "1" {
		b.Skip("loads millions of rows: set MEDIC_INTEGRATION=1 and MEDIC_BENCH=1 (make bench-rca)")
	}
	for _, scale := range scales(b) {
		b.Run(fmt.Sprintf("spans=%dM", scale), func(b *testing.B) {
			ctx := context.Background()
			st := storetest.New(b)
			w := newWorld(windowStart, window, engine.DefaultConfig.Baseline, scale*spansPerScale)
			began := time.Now()
			if err := w.load(ctx, st.Conn()); err != nil {
				b.Fatal(err)
			}
			b.Logf("loaded %d spans and %d log lines (baseline and window) in %v", w.rows(), w.rows(), time.Since(began).Round(time.Millisecond))
			eng := engine.New(query.New(st.Conn()), engine.DefaultConfig)
			for _, metric := range []string{"latency", "error"} {
				b.Run("symptom="+metric, func(b *testing.B) {
					req := w.request(b, metric)
					checkRanking(b, eng, req)
					for b.Loop() {
						if _, err := eng.Analyze(ctx, req); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// request is the on-demand analysis of metric on the gateway over the
// window, as POST /v1/analyses builds it.
func (w world) request(b testing.TB, metric string) engine.Request {
	sym, err := engine.ParseSymptom(tree[0].service, "", metric, "")
	if err != nil {
		b.Fatal(err)
	}
	return engine.Request{Symptom: sym,
		Baseline:   analysis.Range{From: w.baselineStart.UnixNano(), To: w.windowStart.UnixNano()},
		Window:     analysis.Range{From: w.windowStart.UnixNano(), To: w.windowEnd.UnixNano()},
		AnalyzedAt: w.windowEnd}
}

// checkRanking fails the benchmark unless the faulty service ranks first:
// a faster analysis that names the wrong cause is no improvement.
func checkRanking(b *testing.B, eng *engine.Engine, req engine.Request) {
	b.Helper()
	began := time.Now()
	res, err := eng.Analyze(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	want := "service:" + tree[faulty].service
	if len(res.Causes) == 0 || res.Causes[0].ID != want {
		b.Fatalf("%s: want %s first, got %+v", req.Symptom.Metric, want, res.Causes)
	}
	b.Logf("%s: %s first (score %.2f, confidence %.2f) of %d causes; first run %v", req.Symptom.Metric, want,
		res.Causes[0].Score, res.Confidence, len(res.Causes), time.Since(began).Round(time.Millisecond))
}
