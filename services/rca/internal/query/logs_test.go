package query_test

import (
	"context"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

var logColumns = []string{"time", "time_unix_nano", "service", "severity", "body", "trace_id", "span_id",
	"model", "model_version", "attr_keys", "attr_values"}

func TestErrorLogs(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	base := time.Now().Truncate(time.Second)
	row := func(offset time.Duration, service, severity, model string) []any {
		at := base.Add(offset)
		return []any{at, at.UnixNano(), service, severity, "prediction failed", "", "", model, "v2", []string{}, []string{}}
	}
	rows := [][]any{
		row(100*time.Millisecond, "model-server", "WARN", "fraud"),
		row(200*time.Millisecond, "model-server", "ERROR", "fraud"),
		row(300*time.Millisecond, "model-server", "INFO", "fraud"),     // not an error
		row(400*time.Millisecond, "model-server", "WARN", "churn"),     // another model
		row(1100*time.Millisecond, "feature-service", "WARN", "fraud"), // next bucket
		row(5*time.Second, "model-server", "ERROR", "fraud"),           // out of range
	}
	if err := st.Insert(ctx, "logs", logColumns, rows); err != nil {
		t.Fatal(err)
	}
	got, err := query.New(st.Conn()).ErrorLogs(ctx, "fraud", query.Range{From: base.UnixNano(), To: base.Add(2 * time.Second).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, b := range got {
		counts[b.Service] += b.Errors
		if b.Bucket != base.Unix() && b.Bucket != base.Unix()+1 {
			t.Fatalf("bucket %d outside the range", b.Bucket)
		}
	}
	if counts["model-server"] != 2 || counts["feature-service"] != 1 || len(counts) != 2 {
		t.Fatalf("error logs %v, want model-server 2 and feature-service 1", counts)
	}
}
