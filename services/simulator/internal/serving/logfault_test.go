package serving

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/log"
)

// log_errors is a log-only failure: the feature-service logs an error line
// per request, in the request's trace, whose shard, request and count
// vary, while every span stays ok and every error and missing counter at 0.
func TestLogErrorsFaultOnlyLogs(t *testing.T) {
	tests := []struct {
		name   string
		faults []string
		want   int
	}{
		{name: "healthy", want: 0},
		{name: "log_errors", faults: []string{fault.LogErrors}, want: 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.faults...)
			for range 20 {
				r.pipe.Serve(context.Background(), time.Now())
			}
			records := r.featureLogs.all()
			if len(records) != tc.want {
				t.Fatalf("%d feature-service records, want %d", len(records), tc.want)
			}
			bodies := map[string]bool{}
			for _, rec := range records {
				body := rec.Body().AsString()
				if rec.Severity() != log.SeverityError || !strings.HasPrefix(body, "feature cache shard 0x") || !rec.TraceID().IsValid() {
					t.Fatalf("record %q severity %v trace %v", body, rec.Severity(), rec.TraceID())
				}
				bodies[body] = true
			}
			if len(bodies) != len(records) {
				t.Fatalf("%d distinct lines of %d: the ids in them should vary", len(bodies), len(records))
			}
			for _, s := range r.spans.Ended() {
				if s.Status().Code == codes.Error {
					t.Fatalf("span %s of %s failed", s.Name(), serviceOf(s))
				}
			}
			m := r.collect(t)
			if n := m.count(Gateway, "request.errors") + m.count(ModelServer, "prediction.errors") + m.count(FeatureService, "feature.missing"); n != 0 {
				t.Fatalf("error and missing counters add up to %d, want 0", n)
			}
			if len(r.logs.all()) != 0 {
				t.Fatalf("the model-server logged %d records", len(r.logs.all()))
			}
		})
	}
}
