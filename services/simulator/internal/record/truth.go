package record

import (
	"encoding/json"
	"os"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
)

// Truth is labels.json: what really happened in a recording. It is for
// scoring detectors only; nothing a detector reads carries it.
type Truth struct {
	Scenario    string          `json:"scenario"`
	Seed        uint64          `json:"seed"`
	StartUnixMs int64           `json:"start_unix_ms"`
	EndUnixMs   int64           `json:"end_unix_ms"`
	Faults      []FaultInterval `json:"faults"`
	Changes     []ChangeMark    `json:"changes"`
}

// FaultInterval is one injected fault, on the service where it bites.
type FaultInterval struct {
	Kind        string `json:"kind"`
	Service     string `json:"service"`
	StartUnixMs int64  `json:"start_unix_ms"`
	EndUnixMs   int64  `json:"end_unix_ms"`
}

// ChangeMark is one deploy or rollback; Benign marks the good deploy.
type ChangeMark struct {
	Kind     string `json:"kind"`
	Version  string `json:"version"`
	AtUnixMs int64  `json:"at_unix_ms"`
	Benign   bool   `json:"benign"`
}

// faultService is the tier a fault kind bites.
func faultService(kind string) string {
	switch kind {
	case fault.SlowDependency, fault.FeatureNulls, fault.OutOfRange:
		return serving.FeatureService
	case fault.ThroughputDrop:
		return serving.Gateway
	}
	return serving.ModelServer
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
