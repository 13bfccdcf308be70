// Package suite measures the detector's rules on labelled scenarios that
// the simulator records (`simulator record`): it reads a recording as the
// detector would see it (inference records through the ingest's mapping,
// and the points of the signals the inference log lacks), replays it
// through the rule engine on simulated time, and scores the anomalies
// against the recording's ground truth (labels.json), which only the
// scoring reads.
package suite

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/inferencemap"
)

// Truth is a recording's labels.json.
type Truth struct {
	Scenario    string  `json:"scenario"`
	Seed        uint64  `json:"seed"`
	StartUnixMs int64   `json:"start_unix_ms"`
	EndUnixMs   int64   `json:"end_unix_ms"`
	Faults      []Fault `json:"faults"`
}

// Fault is one injected fault's interval.
type Fault struct {
	Kind        string `json:"kind"`
	Service     string `json:"service"`
	StartUnixMs int64  `json:"start_unix_ms"`
	EndUnixMs   int64  `json:"end_unix_ms"`
}

// Recording is one scenario run: its points in time order and its truth.
type Recording struct {
	Truth  Truth
	Points []events.Point
}

// InferenceMapping reads the simulator's inference log as a team would
// configure the ingest's Kafka source for it (see the simulator's
// inferencelog.Mapping), plus the channel feature the recorder adds.
var InferenceMapping = inferencemap.Mapping{Service: "service", Model: "model", Version: "model_version",
	LatencyMS: "latency_ms", Prediction: "score", Timestamp: "ts", TimestampUnit: "ms",
	Features: []string{"features.amount", "features.account_age_days", "features.merchant_risk", "features.channel"}}

// recordedPoint is one line of points.jsonl.
type recordedPoint struct {
	TimeUnixMs   int64   `json:"ts"`
	Service      string  `json:"service"`
	Model        string  `json:"model"`
	ModelVersion string  `json:"model_version"`
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
}

// Load reads the recording in dir.
func Load(dir string) (*Recording, error) {
	var rec Recording
	raw, err := os.ReadFile(filepath.Join(dir, "labels.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &rec.Truth); err != nil {
		return nil, fmt.Errorf("labels.json: %w", err)
	}
	err = eachLine(filepath.Join(dir, "inference.jsonl"), func(line []byte) error {
		pts, err := InferenceMapping.MapRecord(line, time.Time{})
		rec.Points = append(rec.Points, pts...)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = eachLine(filepath.Join(dir, "points.jsonl"), func(line []byte) error {
		var p recordedPoint
		if err := json.Unmarshal(line, &p); err != nil {
			return err
		}
		rec.Points = append(rec.Points, events.Point{Name: p.Name, Value: p.Value, TimeUnixNano: p.TimeUnixMs * 1e6,
			Service: p.Service, Model: p.Model, ModelVersion: p.ModelVersion})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rec.Points, func(a, b events.Point) int { return int(a.TimeUnixNano - b.TimeUnixNano) })
	return &rec, nil
}

func eachLine(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}
