package otlp

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// FuzzMapJSON feeds OTLP/JSON of any signal through pdata and the mapping,
// and holds every event the mapping builds to its JSON Schema: whatever a
// client sends, the receiver either rejects an item or publishes a valid
// event, never one the bus would refuse. Seeds: testdata/*.json and
// testdata/fuzz/FuzzMapJSON.
func FuzzMapJSON(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	r, err := New(Config{MaxEventItems: 50}, nil, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var batches []batch
		var rj rejects
		if md := pmetricotlp.NewExportRequest(); md.UnmarshalJSON(data) == nil {
			batches = append(batches, r.pointBatches(r.mapMetrics(md.Metrics(), &rj), &rj)...)
		}
		if td := ptraceotlp.NewExportRequest(); td.UnmarshalJSON(data) == nil {
			batches = append(batches, r.spanBatches(r.mapTraces(td.Traces(), &rj), &rj)...)
		}
		if ld := plogotlp.NewExportRequest(); ld.UnmarshalJSON(data) == nil {
			batches = append(batches, r.logBatches(r.mapLogs(ld.Logs(), &rj), &rj)...)
		}
		for _, b := range batches {
			raw, err := json.Marshal(b.data)
			if err != nil {
				t.Fatalf("encode %s: %v", b.data.EventType(), err)
			}
			if err := events.ValidateData(b.data.EventType(), raw); err != nil {
				t.Fatalf("mapping built an invalid %s: %v\n%s", b.data.EventType(), err, raw)
			}
		}
		if rj.n > 0 && rj.message() == "" {
			t.Fatal("rejections without a message")
		}
	})
}
