package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/logtemplate"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// A log-only failure: the ranker serves as before (its spans do not fail),
// but starts writing a new error line, with a varying id and number, five
// times a second. Its old warning goes on as before. Asked about the
// ranker's logs, the analysis names the new template first, in words.
func TestLogOnlyFailureRanksItsNewTemplateFirst(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	// The fault starts mid-way through one of the miner's 10 s buckets,
	// and the window 3 s before it: that bucket's count is spread over the
	// baseline's last 2 s too, and must not make the template look known.
	faultAt := time.Now().Add(-50 * time.Second).Truncate(10 * time.Second).Add(5 * time.Second)
	start, end := faultAt.Add(-3*time.Minute), faultAt.Add(40*time.Second)
	var spans, logs [][]any
	var records []logtemplate.Record
	for i, at := 0, start; at.Before(end); i, at = i+1, at.Add(100*time.Millisecond) {
		trace := fmt.Sprintf("%032x", i+1)
		spans = append(spans, []any{at, at.UnixNano(), at.Add(5 * time.Millisecond).UnixNano(), int64(5 * time.Millisecond),
			trace, fmt.Sprintf("%016x", i+1), "", "ranker", "POST /rank", "server", uint8(1), "", "", "", []string{}, []string{}})
		rec := events.LogRecord{TimeUnixNano: at.UnixNano(), Severity: "INFO", Service: "ranker", Body: fmt.Sprintf("ranked %d items", 10+i%7)}
		switch {
		case i%20 == 0:
			rec.Severity, rec.Body = "WARN", fmt.Sprintf("slow cache read took %dms", 40+i%9)
		case !at.Before(faultAt) && i%2 == 0:
			rec.Severity, rec.Body = "ERROR", fmt.Sprintf("embedding shard 0x%x returned %d stale vectors for request %d", 4096+i%5, i%13, 9000+i)
		}
		logs = append(logs, archive.LogRow(fmt.Sprintf("ev/%d", i), rec))
		records = append(records, logtemplate.Record{Service: rec.Service, Severity: rec.Severity, Time: time.Unix(0, rec.TimeUnixNano), Body: rec.Body})
	}
	for table, rows := range map[string][][]any{"spans": spans, "logs": logs} {
		cols := archive.SpanColumns
		if table == "logs" {
			cols = archive.LogColumns
		}
		if err := st.Insert(ctx, table, cols, rows); err != nil {
			t.Fatal(err)
		}
	}
	// The archiver mines in batches of events; one batch per 10 s here.
	counter := logtemplate.NewCounter(logtemplate.New(logtemplate.Config{}), logtemplate.CounterOptions{})
	for i := 0; i < len(records); i += 100 {
		batch := records[i:min(i+100, len(records))]
		if err := logtemplate.Write(ctx, st, counter.Count(fmt.Sprintf("ev-%d", i), batch)); err != nil {
			t.Fatal(err)
		}
	}

	sym, err := engine.ParseSymptom("ranker", "", query.LogRecords, "")
	if err != nil {
		t.Fatal(err)
	}
	from := faultAt.Add(-3 * time.Second)
	eng := engine.New(query.New(st.Conn()), engine.DefaultConfig)
	res, err := eng.Analyze(ctx, engine.Request{Symptom: sym,
		Baseline: analysis.Range{From: from.Add(-2 * time.Minute).UnixNano(), To: from.UnixNano()},
		Window:   analysis.Range{From: from.UnixNano(), To: end.UnixNano()}, AnalyzedAt: end,
		AnalysisID: "rca-1", Trigger: events.TriggerOpened, IncidentID: "inc-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Causes {
		t.Logf("#%d %-40s %.3f %s", c.Rank, c.ID, c.Score, c.Summary)
	}
	if _, err := events.NewWithID("x", "test", res.RCACompleted); err != nil {
		t.Fatalf("result does not validate against its schema: %v", err)
	}
	const text = "embedding shard <HEX> returned <NUM> stale vectors for request <NUM>"
	if len(res.Causes) < 2 || res.Causes[0].Kind != events.CauseLogTemplate || res.Tie {
		t.Fatalf("causes %+v, want the new template first, alone", res.Causes)
	}
	if top := res.Causes[0]; !strings.Contains(top.Summary, text) || top.Service != "ranker" {
		t.Fatalf("top cause %+v, want its summary to name %q", top, text)
	}
	if res.Confidence < 0.8 {
		t.Fatalf("confidence %.2f: the template's own service is no rival", res.Confidence)
	}
	if !res.Baseline.Sufficient {
		t.Fatalf("baseline %+v: seconds with spans and no warning are data", res.Baseline)
	}
	// The template counts for its service too, just below it.
	if c := res.Causes[1]; c.ID != "service:ranker" || c.Evidence["signal_log_template"] <= 0 {
		t.Fatalf("second cause %+v, want service:ranker by its template", c)
	}
	for _, c := range res.Causes {
		if strings.Contains(c.Summary, "slow cache read") {
			t.Fatalf("the steady warning was proposed: %+v", c)
		}
	}
}
