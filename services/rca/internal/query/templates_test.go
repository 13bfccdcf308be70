package query_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/logtemplate"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// A template's count of a 10-second bucket is spread over its seconds, a
// batch written twice (a redelivery) counts once, and only the seconds of
// the range are returned.
func TestTemplateCountsPerSecond(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	counter := logtemplate.NewCounter(logtemplate.New(logtemplate.Config{}), logtemplate.CounterOptions{})
	var recs []logtemplate.Record
	for i := range 40 {
		recs = append(recs, logtemplate.Record{Service: "ranker", Severity: "ERROR", Time: t0.Add(time.Duration(i) * 500 * time.Millisecond),
			Body: fmt.Sprintf("shard %d unavailable", i)})
	}
	rows := counter.Count("ev-1", recs)
	for range 2 {
		if err := logtemplate.Write(ctx, st, rows); err != nil {
			t.Fatal(err)
		}
	}
	got, err := query.New(st.Conn()).TemplateCounts(ctx, query.Range{From: t0.Add(5 * time.Second).UnixNano(), To: t0.Add(time.Minute).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, b := range got {
		lines = append(lines, fmt.Sprintf("%s %d %q %.1f", b.Service, b.Bucket-t0.Unix(), b.Template, b.PerSecond))
	}
	slices.Sort(lines)
	// 20 lines per 10 s: 2 a second in seconds 5 to 9 of the first
	// bucket (the range starts at 5), 2 a second in the second bucket.
	var want []string
	for s := 5; s < 20; s++ {
		want = append(want, fmt.Sprintf("ranker %d %q 2.0", s, "shard <NUM> unavailable"))
	}
	slices.Sort(want)
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("counts:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
