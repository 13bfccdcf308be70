// Command simulator is a small ML serving system (gateway -> feature-service
// -> model-server, model "fraud" in versions v1, v2 and backup) that Medic
// watches. It sends synthetic traffic and is instrumented with the
// OpenTelemetry Go SDK: metrics, traces and logs go over OTLP to
// OTEL_EXPORTER_OTLP_ENDPOINT, deploys and rollbacks to --changes-url, and
// optionally an inference log to Kafka. It links nothing of Medic. Its
// control API injects faults and takes the model actions Medic's runbooks
// call.
//
// `simulator record --scenario NAME --seed N --out DIR` instead runs the
// serving path on simulated time and writes a labelled scenario to files
// (see internal/record), for the detector's scenario suite.
package main

import (
	"os"

	"github.com/medic-sre/medic/services/simulator/internal/app"
	"github.com/medic-sre/medic/services/simulator/internal/record"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "record" {
		os.Exit(record.Main(os.Args[2:]))
	}
	app.Main()
}
