// Command simulator is a small ML serving system (gateway -> feature-service
// -> model-server, model "fraud" in versions v1, v2 and backup) that Medic
// watches. It sends synthetic traffic and is instrumented with the
// OpenTelemetry Go SDK: metrics, traces and logs go over OTLP to
// OTEL_EXPORTER_OTLP_ENDPOINT, deploys and rollbacks to --changes-url, and
// optionally an inference log to Kafka. It links nothing of Medic. Its
// control API injects faults and takes the model actions Medic's runbooks
// call.
package main

import "github.com/medic-sre/medic/services/simulator/internal/app"

func main() { app.Main() }
