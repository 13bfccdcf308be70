package detect

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A model label with unbounded values (a new model per point) fills the
// series limit: the points past it are counted as series_limit, one error
// line says what to change, and the series held are still evaluated.
func TestSeriesLimitIsCountedAndExplained(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	d, _ := testDetector(t, slog.New(slog.NewJSONHandler(&logs, nil)), Options{MaxSeries: 1})
	now := time.Now().UnixNano()
	var extra []events.Point
	for i := range 5 {
		extra = append(extra, events.Point{Name: "prediction.error", Value: 0, TimeUnixNano: now,
			Service: "model-server", Model: "request-" + string(rune('a'+i))})
	}
	if err := d.Handle(ctx, telemetry(t, "limit", extra...)); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(d.metrics.rejected.WithLabelValues(ReasonOverLimit)); got != 5 {
		t.Errorf("medic_detector_points_rejected_total{reason=%q} = %v, want 5", ReasonOverLimit, got)
	}
	if got := testutil.ToFloat64(d.metrics.limit); got != 1 {
		t.Errorf("medic_detector_series_limit = %v, want 1", got)
	}
	if got := testutil.ToFloat64(d.metrics.series); got > 1 {
		t.Errorf("medic_detector_series = %v past the limit of 1", got)
	}
	out := logs.String()
	for _, want := range []string{`"level":"ERROR"`, "--max-series (MAX_SERIES)", "group_by", `"points":5`, `"max_series":1`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log does not say %s:\n%s", want, out)
		}
	}
}
