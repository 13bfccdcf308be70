package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/pkg/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

func TestLogsAndSpansLandInClickHouse(t *testing.T) {
	s := storetest.New(t)
	var out bytes.Buffer
	tel := telemetry.New("unit-svc", slog.LevelInfo, &out)
	tel.Export(s)
	ctx, span := tel.TracerProvider("model-server").Tracer("t").Start(context.Background(), "predict")
	span.SetAttributes(attribute.String(telemetry.AttrModel, "fraud"), attribute.String(telemetry.AttrModelVersion, "v2"))
	span.SetStatus(codes.Error, "shape mismatch")
	tel.Logger().With("model", "fraud").WithGroup("req").InfoContext(ctx, "prediction failed", "model_version", "v2", "rows", 3)
	tel.Logger().DebugContext(ctx, "not at info")
	span.End()
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	var line map[string]any
	if err := json.Unmarshal(bytes.Split(out.Bytes(), []byte("\n"))[0], &line); err != nil || line["msg"] != "prediction failed" || line["service"] != "unit-svc" {
		t.Fatalf("stdout JSON %q (%v)", out.String(), err)
	}
	var body, traceID, model, keys string
	if err := s.Conn().QueryRow(ctx, "SELECT body, trace_id, model, arrayStringConcat(attr_keys, ',') FROM medic_logs WHERE service = 'unit-svc'").Scan(&body, &traceID, &model, &keys); err != nil {
		t.Fatal(err)
	}
	if body != "prediction failed" || traceID != span.SpanContext().TraceID().String() || model != "fraud" || keys != "model,req.model_version,req.rows" {
		t.Fatalf("log row: %q %q %q %q", body, traceID, model, keys)
	}
	var n uint64
	if err := s.Conn().QueryRow(ctx, "SELECT count() FROM medic_logs").Scan(&n); err != nil || n != 1 {
		t.Fatalf("logs rows %d (%v): the debug line must not be exported", n, err)
	}
	var svc, version string
	var status uint8
	if err := s.Conn().QueryRow(ctx, "SELECT service, model_version, status_code FROM medic_spans WHERE trace_id = ?", traceID).Scan(&svc, &version, &status); err != nil {
		t.Fatal(err)
	}
	if svc != "model-server" || version != "v2" || status != 2 {
		t.Fatalf("span row: %q %q %d", svc, version, status)
	}
}
