package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/telemetry"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// medicServices are the names Medic's own programs log and trace under.
var medicServices = []string{"detector", "correlator", "rca", "remediator", "notifier", "archiver", "medic"}

// TestMedicNeverBlamesItself writes Medic's own spans and logs through its
// real telemetry export, failing hard during the fault, beside a watched
// system's fault, and analyses a symptom that names no model (the case
// where every service seen is a candidate). No Medic program may be ranked:
// Medic's slowness while handling an incident is never its cause.
func TestMedicNeverBlamesItself(t *testing.T) {
	st, sc, _ := simulate(t, synthtest.FeatureNulls, false)
	ctx := context.Background()

	tel := telemetry.New("correlator", slog.LevelInfo, io.Discard)
	tel.Export(st)
	for _, svc := range medicServices {
		tr := tel.TracerProvider(svc).Tracer("test")
		log := tel.Logger().With("service", svc)
		from := sc.FaultAt.Add(-sc.Baseline)
		for at := from; at.Before(sc.FaultAt.Add(sc.FaultFor)); at = at.Add(500 * time.Millisecond) {
			failing := !at.Before(sc.FaultAt)
			dur := 2 * time.Millisecond
			if failing {
				dur = 900 * time.Millisecond
			}
			_, span := tr.Start(ctx, "handle", trace.WithTimestamp(at))
			if failing {
				span.SetStatus(codes.Error, "handler failed")
				log.Error("handler failed", "err", errors.New("boom"))
			}
			span.End(trace.WithTimestamp(at.Add(dur)))
		}
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var own uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM "+telemetry.SpansTable+" WHERE status_code = 2").Scan(&own); err != nil || own == 0 {
		t.Fatalf("Medic's own error spans stored: %d (%v); the test needs them", own, err)
	}

	inc := synthtest.Incident(sc, "inc-own", "request.error", "gateway")
	inc.Model = ""
	for i := range inc.Anomalies {
		inc.Anomalies[i].Model = ""
	}
	eng := engine.New(query.New(st.Conn()), engine.DefaultConfig)
	got, err := analyzeTask(eng, engine.OpenedTask("ev-own", inc), sc.FaultAt.Add(sc.FaultFor))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Causes) == 0 {
		t.Fatal("no causes: the watched system's fault should still be found")
	}
	for _, c := range got.Causes {
		t.Logf("#%d %-28s %.3f %s", c.Rank, c.ID, c.Score, c.Summary)
		for _, svc := range medicServices {
			if c.Service == svc || c.ID == "service:"+svc {
				t.Errorf("cause #%d %s is Medic's own %s", c.Rank, c.ID, svc)
			}
		}
	}
}
